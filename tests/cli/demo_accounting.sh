#!/usr/bin/env bash
# The accounting formula `tidal demo` prints is the one it checks: the line
# gives each operand, and they must add up here to the handled count, with a
# sent count equal to the workload it announced and no other term.
#   demo_accounting.sh TIDAL
set -u
out=$("$1" demo --messages 400 2>&1)
code=$?
printf '%s\n' "$out"
[ "$code" -eq 0 ] || { echo "demo_accounting.sh: tidal demo exited $code" >&2; exit 1; }
num='([0-9]+)'
line=$(printf '%s\n' "$out" | grep 'exact accounting')
re="^\[PASS\] exact accounting: handled $num = sent $num - dropped $num \+ duplicated $num \(counted before the replay\)$"
if ! [[ $line =~ $re ]]; then
  echo "demo_accounting.sh: unexpected accounting line: '$line'" >&2
  exit 1
fi
handled=${BASH_REMATCH[1]} sent=${BASH_REMATCH[2]}
dropped=${BASH_REMATCH[3]} duplicated=${BASH_REMATCH[4]}
if [ "$handled" -ne $((sent - dropped + duplicated)) ]; then
  echo "demo_accounting.sh: $handled != $sent - $dropped + $duplicated" >&2
  exit 1
fi
re="^workload: $num counter increments .*, $num messages to"
if ! [[ $(printf '%s\n' "$out" | grep '^workload:') =~ $re ]]; then
  echo "demo_accounting.sh: no workload line" >&2
  exit 1
fi
if [ "$sent" -ne $((BASH_REMATCH[1] + BASH_REMATCH[2])) ]; then
  echo "demo_accounting.sh: sent $sent is not the workload's $((BASH_REMATCH[1] + BASH_REMATCH[2]))" >&2
  exit 1
fi
if [ "$dropped" -eq 0 ] || [ "$duplicated" -eq 0 ]; then
  echo "demo_accounting.sh: the profile dropped $dropped and duplicated $duplicated" >&2
  exit 1
fi
