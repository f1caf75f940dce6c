// Prints lines to the guest's console (/dev/console, the serial port racerig
// reads) until argv[1] MiB are written or argv[2] seconds have passed, then
// calls getppid (where the scenario holds it). Prints how much it wrote.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  const long long limit = (argc > 1 ? atoll(argv[1]) : 1) << 20;
  const long seconds = argc > 2 ? atol(argv[2]) : 30;
  int fd = open("/dev/console", O_WRONLY | O_NOCTTY);
  if (fd < 0) {
    perror("open /dev/console");
    return 1;
  }
  char block[4096];
  for (size_t i = 0; i < sizeof block; i += 64) {
    memset(block + i, 'f', 63);
    block[i + 63] = '\n';
  }
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  long long written = 0;
  while (written < limit) {
    ssize_t n = write(fd, block, sizeof block);
    if (n <= 0) {
      perror("write /dev/console");
      return 1;
    }
    written += n;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= seconds) break;
  }
  printf("wrote %lld bytes\n", written);
  getppid();
  return 0;
}
