#!/bin/sh
# Runs a test binary with a time limit a little under ctest's own.  A test
# that is still running at the limit has hung: before killing it, print the
# stack of every thread of it and of every process it started (Criterion
# runs each test in a child process), so that a hang seen once in CI can be
# read afterwards.  ctest's own timeout kills without a word.
#   watchdog.sh SECONDS BINARY [ARGS...]
# Exits with the test's status, or 124 if it hung.  Needs gdb for the stacks
# (scripts/deps installs it); without it, says so and only kills.
limit=$1
shift
"$@" &
pid=$!

# The process and its descendants, parents first, from /proc (no procps).
tree() {
  echo "$1"
  for f in /proc/[0-9]*/stat; do
    s=$(cat "$f" 2>/dev/null) || continue
    rest=${s##*) } # after the command name, which may hold spaces
    set -- "$1" $rest
    if [ "$3" = "$1" ]; then
      c=${f#/proc/}
      tree "${c%/stat}"
    fi
  done
}

dump() {
  echo "watchdog: $1 still running after ${limit} s: the stacks of every thread follow" >&2
  for p in $(tree "$pid"); do
    echo "watchdog: process $p: $(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null)" >&2
    if command -v gdb >/dev/null 2>&1; then
      gdb -p "$p" -batch -nx -q -ex "set pagination off" -ex "thread apply all bt" \
        </dev/null 2>&1 | grep -v "^\[New LWP\|^\[Thread debugging\|^Using host libthread" >&2
    else
      echo "watchdog: gdb is not installed: no stacks" >&2
    fi
  done
}

watch() {
  i=0
  while [ "$i" -lt "$limit" ]; do
    # Not holding ctest's output pipe: killed with the watcher, a sleep
    # that lingers must not keep ctest waiting for the pipe to close.
    sleep 1 </dev/null >/dev/null 2>&1
    kill -0 "$pid" 2>/dev/null || exit 0
    i=$((i + 1))
  done
  victims=$(tree "$pid")
  dump "$1"
  kill -KILL $victims 2>/dev/null
}

watch "$1" &
dog=$!
wait "$pid"
rc=$?
if kill -0 "$dog" 2>/dev/null; then
  kill -KILL "$dog" 2>/dev/null
elif [ "$rc" -eq 137 ]; then
  echo "watchdog: $1 hung (killed after ${limit} s)" >&2
  rc=124
fi
exit "$rc"
