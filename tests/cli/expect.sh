#!/usr/bin/env bash
# Runs a command and checks its exit code and output (stdout and stderr
# together): ctest's PASS_REGULAR_EXPRESSION alone ignores the exit code.
#   expect.sh CODE [PATTERN...] -- COMMAND [ARG...]
# Each PATTERN is an extended regex (grep -E) that some line must match; a
# PATTERN starting with '!' is one that no line may match.
set -u
want=$1
shift
patterns=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  patterns+=("$1")
  shift
done
[ $# -gt 1 ] || { echo "expect.sh: no command after --" >&2; exit 2; }
shift
# The output is shown as it comes, so that a run killed at its timeout still
# shows how far it got, and kept in a file for the checks below.
log=$(mktemp) || exit 2
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
out=$(cat "$log")
fail=0
if [ "$code" -ne "$want" ]; then
  echo "expect.sh: exit code $code, want $want" >&2
  fail=1
fi
for p in "${patterns[@]}"; do
  if [ "${p:0:1}" = "!" ]; then
    if printf '%s\n' "$out" | grep -Eq -- "${p:1}"; then
      echo "expect.sh: output matches '${p:1}', it must not" >&2
      fail=1
    fi
  elif ! printf '%s\n' "$out" | grep -Eq -- "$p"; then
    echo "expect.sh: no line matches '$p'" >&2
    fail=1
  fi
done
exit "$fail"
