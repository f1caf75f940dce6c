#!/usr/bin/env bash
# The set-up path for users that only a fresh machine takes, taken on a
# machine that has them: in a private mount namespace whose /etc is a copy
# without the users racerig and libvirt-qemu, `./dev setup` must create both,
# and `racerig doctor` (run by the set-up) must then run a build sandbox as
# the new racerig user. A second set-up keeps them and creates nothing.
# The real /etc is never written. Needs root (exit 77: skipped).
# Usage: fresh_users_test.sh SOURCE_DIR
set -uo pipefail
src=$1
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root (a mount namespace, useradd)"
  exit 77
fi
work=$(mktemp -d /tmp/racerig-fresh-users.XXXXXX)
trap 'rm -rf "$work"' EXIT
before=$(sha256sum /etc/passwd /etc/group /etc/shadow /etc/gshadow)

unshare --mount --propagation private bash -s "$src" "$work" <<'EOS'
set -uo pipefail
src=$1
work=$2
. "$src/tests/setup/check.sh"

cp -a /etc "$work/etc" || exit 1
mount --bind "$work/etc" /etc || exit 1
# Forget both users and their groups, as on a machine that never had them.
python3 - <<'EOP' || exit 1
gone = {"racerig", "libvirt-qemu"}
for name, member_field in (("passwd", None), ("shadow", None), ("group", 3), ("gshadow", 3)):
    path = "/etc/" + name
    out = []
    for line in open(path).read().splitlines():
        fields = line.split(":")
        if fields[0] in gone:
            continue
        if member_field is not None and len(fields) > member_field:
            fields[member_field] = ",".join(m for m in fields[member_field].split(",") if m and m not in gone)
        out.append(":".join(fields))
    open(path, "w").write("\n".join(out) + "\n")
EOP
check "the copy of /etc has no racerig user" bash -c '! getent passwd racerig >/dev/null'
check "the copy of /etc has no libvirt-qemu user" bash -c '! getent passwd libvirt-qemu >/dev/null'

# A cache of its own: doctor probes a fresh embedded libvirt root there.
export RACERIG_CACHE=$work/cache
out=$("$src/dev" setup 2>&1)
status=$?
check "a fresh set-up exits 0 (got $status): $out" test "$status" = 0
check "it says it creates the racerig user" grep -q 'creating the unprivileged racerig system user' <<<"$out"
entry=$(getent passwd racerig)
IFS=: read -r _ _ uid gid _ home shell <<<"$entry"
check "racerig exists: $entry" test -n "$entry"
check "racerig is a system user, not root (uid $uid)" test "${uid:-0}" -gt 0 -a "${uid:-0}" -lt 1000
check "racerig's group is its own (gid $gid)" test "$(getent group racerig | cut -d: -f3)" = "$gid"
check "racerig cannot log in (shell $shell, home $home)" test "$shell" = /usr/sbin/nologin -a "$home" = /nonexistent
check "libvirt-qemu exists" getent passwd libvirt-qemu
check "the group libvirt-qemu exists" getent group libvirt-qemu
check "doctor ran a build sandbox as the new user" \
  grep -Eq "ok +sandbox +kernel builds and QEMU run as the user racerig \\(uid $uid\\)" <<<"$out"
check "doctor says the sandbox confines" grep -Eq 'ok +sandbox +.*bwrap confines' <<<"$out"
check "doctor finds nothing missing" grep -q 'both backends are ready' <<<"$out"

out=$("$src/dev" setup 2>&1)
status=$?
check "a second set-up exits 0 (got $status): $out" test "$status" = 0
check "a second set-up creates no user" bash -c '! grep -q "creating the unprivileged" <<<"$1"' _ "$out"
check "racerig keeps its uid" test "$(id -u racerig)" = "$uid"
exit $fail
EOS
status=$?
if [ "$(sha256sum /etc/passwd /etc/group /etc/shadow /etc/gshadow)" != "$before" ]; then
  echo "FAIL: the real /etc's user database changed" >&2
  status=1
fi
exit $status
