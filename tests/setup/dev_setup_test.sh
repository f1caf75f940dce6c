#!/usr/bin/env bash
# Tests ./dev's set-up paths that only a fresh machine takes, on a machine
# that already has every package: the missing-package branch (through
# --dry-run and an extra package that is not installed) and the message a
# failing step prints. Usage: dev_setup_test.sh SOURCE_DIR
set -uo pipefail
src=$1
. "$src/tests/setup/check.sh"

missing=racerig-test-package-that-is-not-installed
out=$(RACERIG_EXTRA_PACKAGES="$missing" "$src/dev" setup --dry-run 2>/tmp/dev-setup-test.$$.err)
status=$?
err=$(cat /tmp/dev-setup-test.$$.err)
rm -f /tmp/dev-setup-test.$$.err
check "dry run exits 0 (got $status; stderr: $err)" test "$status" = 0
check "dry run lists the missing package (stdout: $out)" grep -q "^would install: .*\\b$missing\\b" <<<"$out"

# Without --dry-run the same package cannot be installed: the failing step
# must say which step, which command and which exit code, and exit non-zero.
# As a non-root user it must say that root is needed instead.
if [ "$(id -u)" = 0 ]; then
  err=$(RACERIG_EXTRA_PACKAGES="$missing" "$src/dev" setup 2>&1 >/dev/null)
  status=$?
  check "a failing install exits non-zero (got $status)" test "$status" != 0
  check "the failure names the step, the command and its exit code: $err" \
    grep -Eq 'step "installing packages: .*" failed: `apt-get .*` exited [0-9]+ \(dev line [0-9]+\)' <<<"$err"
fi

# An unknown subcommand is a usage error that says so.
err=$("$src/dev" frobnicate 2>&1)
status=$?
check "unknown subcommand exits 2 (got $status)" test "$status" = 2
check "unknown subcommand prints usage" grep -q "usage:" <<<"$err"
exit $fail
