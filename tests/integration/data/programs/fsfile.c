/* The guest's storage from setup {}: `write PATH` writes 64 KiB of a
 * pattern and fsyncs it, in a file that must not exist yet (O_EXCL: a file
 * an earlier run from the same ready-state snapshot left on the disk fails
 * the write); `check PATH FS` reads it back, checks every byte
 * and that the file system under PATH is FS (statfs: "ext4", "xfs", or
 * "none" for the initramfs's own). Exit 0 when all holds, 1 (with the
 * reason on stderr) otherwise. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

enum { kSize = 65536 };

static unsigned char byte_at(long i) { return (unsigned char)(i * 7 + 3); }

static int fail(const char* what) {
  perror(what);
  return 1;
}

static int write_file(const char* path) {
  static unsigned char buf[kSize];
  for (long i = 0; i < kSize; ++i) buf[i] = byte_at(i);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return fail(path);
  if (write(fd, buf, kSize) != kSize) return fail("write");
  if (fsync(fd) != 0) return fail("fsync");
  return close(fd) == 0 ? 0 : fail("close");
}

static int check_file(const char* path, const char* fs) {
  static unsigned char buf[kSize];
  int fd = open(path, O_RDONLY);
  if (fd < 0) return fail(path);
  if (read(fd, buf, kSize) != kSize) return fail("read");
  close(fd);
  for (long i = 0; i < kSize; ++i)
    if (buf[i] != byte_at(i)) {
      fprintf(stderr, "byte %ld is 0x%02x, expected 0x%02x\n", i, buf[i], byte_at(i));
      return 1;
    }
  struct statfs st;
  if (statfs(path, &st) != 0) return fail("statfs");
  const unsigned long magic = (unsigned long)st.f_type;
  const int ok = strcmp(fs, "ext4") == 0  ? magic == 0xEF53
                 : strcmp(fs, "xfs") == 0 ? magic == 0x58465342
                                          : magic == 0x858458f6 || magic == 0x01021994; /* ramfs, tmpfs */
  if (!ok) {
    fprintf(stderr, "%s is on a file system of type 0x%lx, not %s\n", path, magic, fs);
    return 1;
  }
  printf("%s: %d bytes as written, on %s\n", path, kSize, fs);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "write") == 0) return write_file(argv[2]);
  if (argc == 4 && strcmp(argv[1], "check") == 0) return check_file(argv[2], argv[3]);
  fprintf(stderr, "usage: fsfile write PATH | fsfile check PATH ext4|xfs|none\n");
  return 2;
}
