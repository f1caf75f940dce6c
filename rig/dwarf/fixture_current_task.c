/* A test fixture shaped like x86-64 up to 6.1: the per-CPU pointer to the
 * running task is a variable of its own, current_task. */
struct task_struct {
  int pid;
  char comm[16];
};

struct task_struct init_task = {.pid = 0, .comm = "swapper/0"};
struct task_struct* volatile current_task = &init_task;

int main(void) { return current_task->pid; }
