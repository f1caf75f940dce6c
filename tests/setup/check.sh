# Sourced by the set-up tests: `check NAME CONDITION...` runs CONDITION,
# prints "ok: NAME" or "FAIL: NAME" (to stderr), and sets fail=1 on failure.
fail=0
check() {
  local name=$1
  shift
  if "$@"; then
    echo "ok: $name"
  else
    echo "FAIL: $name" >&2
    fail=1
  fi
}
