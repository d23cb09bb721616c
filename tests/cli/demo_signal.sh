#!/usr/bin/env bash
# A signal stops `tidal demo` cleanly: it exits 128 + the signal, says so, and
# leaves nothing in the directory it was given for its temporary directory
# (node-b's ipc sockets are there).
#   demo_signal.sh TIDAL INT|TERM
# The signal is sent once node-b's sockets exist, in a run far too long to
# end first.  No fixed sleep: the script polls for the sockets, and ctest's
# timeout bounds a run that never stops.
set -u
tidal=$1 sig=$2
case $sig in
  INT) want=130 ;;
  TERM) want=143 ;;
  *) echo "demo_signal.sh: INT or TERM, not '$sig'" >&2; exit 2 ;;
esac
work=$(mktemp -d /tmp/tidal-cli-signal-XXXXXX)
parent=$work/p
mkdir "$parent"
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
# a script's background job starts with SIGINT ignored (and the demo then
# leaves it ignored, as a shell expects): give it the default back
env --default-signal=INT "$tidal" demo --messages 400000000 --dir "$parent" \
  >"$work/out" 2>"$work/err" &
pid=$!
until compgen -G "$parent/tidal-demo-*/sink" >/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "demo_signal.sh: the demo ended before its sockets appeared" >&2
    cat "$work/err" >&2
    exit 1
  fi
  sleep 0.05
done
kill -"$sig" "$pid"
wait "$pid"
code=$?
pid=
cat "$work/err"
fail=0
if [ "$code" -ne "$want" ]; then
  echo "demo_signal.sh: exit code $code, want $want" >&2
  fail=1
fi
if ! grep -q "stopped by SIG$sig" "$work/err"; then
  echo "demo_signal.sh: no 'stopped by SIG$sig' on stderr" >&2
  fail=1
fi
left=$(ls -A "$parent")
if [ -n "$left" ]; then
  echo "demo_signal.sh: left behind in $parent: $left" >&2
  ls -lR "$parent" >&2
  fail=1
fi
exit "$fail"
