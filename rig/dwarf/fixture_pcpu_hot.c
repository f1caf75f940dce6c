/* A test fixture shaped like x86-64 from 6.2 on: no current_task symbol, the
 * pointer is a member of the per-CPU struct pcpu_hot, inside an anonymous
 * struct in a union padded to a cache line. */
struct task_struct {
  int pid;
  char comm[16];
};

struct pcpu_hot {
  union {
    struct {
      struct task_struct* hot_first;
      int preempt_count;
      int cpu_number;
      struct task_struct* current_task;
    };
    unsigned char pad[64];
  };
};

typedef struct pcpu_hot pcpu_hot_t;
struct task_struct init_task = {.pid = 0, .comm = "swapper/0"};
volatile pcpu_hot_t pcpu_hot = {.current_task = &init_task};

int main(void) { return pcpu_hot.current_task->pid; }
