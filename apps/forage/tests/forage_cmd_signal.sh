#!/usr/bin/env bash
# `tidal forage` runs until SIGINT, then closes its server, app and cluster
# and exits 0.
#   forage_cmd_signal.sh TIDAL
# The command is started on a free port; the script waits for the printed
# URL, checks the server answers there (bash's /dev/tcp, no client needed),
# sends SIGINT and checks the exit code and what it said.  No fixed sleep:
# it polls for the URL, and ctest's timeout bounds a run that never stops.
set -u
tidal=$1
work=$(mktemp -d /tmp/forage-cmd-signal-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
# a script's background job starts with SIGINT ignored: give it the default
env --default-signal=INT "$tidal" forage --regions 2 --http 127.0.0.1:0 \
  >"$work/out" 2>"$work/err" &
pid=$!
until grep -qs "serving http://" "$work/out"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "forage_cmd_signal.sh: tidal forage ended before printing its URL" >&2
    cat "$work/err" >&2
    exit 1
  fi
  sleep 0.05
done
cat "$work/out"
port=$(sed -n 's|.*serving http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/out")
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /api/wait?region=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' >&3
reply=$(cat <&3)
exec 3<&-
fail=0
case $reply in
  "HTTP/1.1 200"*'"version"'*) ;;
  *) echo "forage_cmd_signal.sh: no version from /api/wait: $reply" >&2; fail=1 ;;
esac
kill -INT "$pid"
wait "$pid"
code=$?
pid=
cat "$work/err"
if [ "$code" -ne 0 ]; then
  echo "forage_cmd_signal.sh: exit code $code after SIGINT, want 0" >&2
  fail=1
fi
if ! grep -q "SIGINT: stopping" "$work/err" || ! grep -q "stopped" "$work/err"; then
  echo "forage_cmd_signal.sh: it did not say it stopped on SIGINT" >&2
  fail=1
fi
exit "$fail"
