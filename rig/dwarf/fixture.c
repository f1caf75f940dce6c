/* A test fixture for the symbols tests: a struct with an anonymous union,
 * a static function, inlined functions (one also out of line, one without
 * code) and a global object. */
#include <string.h>

struct task_like {
  long state;
  union {
    int flags;
    struct {
      short a;
      short b;
    };
  };
  int pid;
  char comm[16];
};

struct task_like init_task = {.pid = 1, .comm = "swapper"};
volatile int sink;

static inline __attribute__((always_inline)) int twice(int x) {
  sink = x;      /* fixture.c: twice body */
  return x * 2;
}

__attribute__((noinline)) int target_function(int a, int b, int c) {
  int r = twice(a) + b;
  if (c == 1) r += init_task.pid; /* fixture.c: the check */
  return r;
}

/* Exported, so it has an out-of-line copy, and inlined into its callers. */
int scaled(int x);
__attribute__((always_inline)) inline int scaled(int x) {
  sink = x + 1; /* fixture.c: scaled first */
  return x * 3; /* fixture.c: scaled second */
}

__attribute__((noinline)) int scaled_caller(int v) {
  return scaled(v) + 1; /* fixture.c: scaled_caller body */
}

static __attribute__((noinline)) int helper_static(int v) { return v + (int)strlen(init_task.comm); }

/* Inlined where its result is unused: DWARF keeps it, with no code. */
static inline __attribute__((always_inline)) int no_code(int x) { return x * 2; }

int main(int argc, char** argv) {
  (void)argv;
  (void)no_code(argc);
  return target_function(argc, 2, 3) + helper_static(argc) + twice(argc + 1) + scaled_caller(argc) + scaled(argc);
}
