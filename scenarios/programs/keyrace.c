// The keys read-vs-revoke race (CVE-2015-7550) from user space, one mode per
// role: `add` (prepare) adds a "user" key to the user keyring and records
// its serial in FILE; `read` (the reader actor) reads the key once;
// `revoke` (the revoker actor) revokes it; `check` succeeds only if the key
// now reads as revoked. Every mode prints what it did; a failure exits 1.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEY_SPEC_USER_KEYRING (-4)
#define KEYCTL_SETPERM 5
#define KEYCTL_REVOKE 3
#define KEYCTL_READ 11

static long keyctl(int op, long a, long b, long c) { return syscall(SYS_keyctl, op, a, b, c, 0L); }

static int fail(const char* what) {
  printf("%s: %s\n", what, strerror(errno));
  return 1;
}

static long read_serial(const char* file) {
  FILE* f = fopen(file, "r");
  long serial = -1;
  if (f == NULL) return -1;
  if (fscanf(f, "%ld", &serial) != 1) serial = -1;
  fclose(f);
  return serial;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: keyrace add|read|revoke|check FILE\n");
    return 2;
  }
  const char* mode = argv[1];
  const char* file = argv[2];
  if (strcmp(mode, "add") == 0) {
    static const char payload[] = "racerig key payload";
    long serial = syscall(SYS_add_key, "user", "racerig-race", payload, sizeof payload, KEY_SPEC_USER_KEYRING);
    if (serial < 0) return fail("add_key");
    // Every permission for possessor, user, group and other: the actors find
    // the key by its serial, possessed or not.
    if (keyctl(KEYCTL_SETPERM, serial, 0x3f3f3f3f, 0) != 0) return fail("keyctl(SETPERM)");
    FILE* f = fopen(file, "w");
    if (f == NULL || fprintf(f, "%ld\n", serial) < 0 || fclose(f) != 0) return fail(file);
    printf("key %ld added\n", serial);
    return 0;
  }
  long serial = read_serial(file);
  if (serial < 0) {
    printf("no key serial in %s\n", file);
    return 1;
  }
  char buf[64];
  if (strcmp(mode, "read") == 0) {
    long n = keyctl(KEYCTL_READ, serial, (long)buf, sizeof buf);
    if (n >= 0) {
      printf("read %ld bytes\n", n);
      return 0;
    }
    if (errno == EKEYREVOKED) {  // the revoke came first: a legal outcome
      printf("revoked before the read\n");
      return 0;
    }
    return fail("keyctl(READ)");
  }
  if (strcmp(mode, "revoke") == 0) {
    if (keyctl(KEYCTL_REVOKE, serial, 0, 0) != 0) return fail("keyctl(REVOKE)");
    printf("key %ld revoked\n", serial);
    return 0;
  }
  if (strcmp(mode, "check") == 0) {
    long n = keyctl(KEYCTL_READ, serial, (long)buf, sizeof buf);
    if (n < 0 && errno == EKEYREVOKED) {
      printf("key %ld reads as revoked\n", serial);
      return 0;
    }
    printf("key %ld: read returned %ld (%s), not EKEYREVOKED\n", serial, n, n < 0 ? strerror(errno) : "data");
    return 1;
  }
  fprintf(stderr, "keyrace: unknown mode %s\n", mode);
  return 2;
}
