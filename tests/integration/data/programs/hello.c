/* A program actor: asks the kernel for its parent (the schedule holds it in
 * getppid), then prints its comm, pid, CPU and arguments. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  pid_t parent = getppid();
  char comm[32] = {0};
  FILE* f = fopen("/proc/self/comm", "r");
  if (f == NULL || fgets(comm, sizeof comm, f) == NULL) return 10;
  fclose(f);
  comm[strcspn(comm, "\n")] = 0;
  printf("comm=%s pid=%d ppid=%d cpu=%d argc=%d", comm, (int)getpid(), (int)parent, sched_getcpu(), argc);
  for (int i = 1; i < argc; ++i) printf(" %s", argv[i]);
  printf("\n");
  fprintf(stderr, "to stderr\n");
  return 0;
}
