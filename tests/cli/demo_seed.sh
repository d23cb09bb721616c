#!/usr/bin/env bash
# One seed, one report: `tidal demo --seed 7 --json` run twice prints the same
# JSON but for the fields in VARYING, and --seed 8 injects other faults in
# the replication phase (which runs in a simulation seeded from --seed).
#   demo_seed.sh TIDAL
set -u
tidal=$1
# What two runs of one seed may differ in, named here only: phase 2's timings
# (real-time figures, and how its envelopes happened to coalesce into frames)
# and the run's own addresses (node-a's holds the pid, node-b's a mkdtemp
# directory).  Everything else - every fault count, every check, the
# replication phase's figures in simulated time - must repeat.
VARYING="node_a node_b throughput_msgs_per_s frames ask_p50_us ask_p99_us"

run() {
  local out code
  out=$("$tidal" demo --seed "$1" --json)
  code=$?
  if [ "$code" -ne 0 ]; then
    echo "demo_seed.sh: tidal demo --seed $1 exited $code: $out" >&2
    exit 1
  fi
  printf '%s\n' "$out"
}

strip() {
  local j=$1 f
  for f in $VARYING; do
    if ! printf '%s' "$j" | grep -q "\"$f\":"; then
      echo "demo_seed.sh: the report has no field '$f' (update VARYING)" >&2
      exit 1
    fi
    j=$(printf '%s' "$j" | sed -E "s/\"$f\":(\"[^\"]*\"|[^,}]*),?//")
  done
  printf '%s\n' "$j"
}

# the replication phase's fault counts, as "name:value ..."
cluster_faults() {
  printf '%s' "$1" | grep -oE '"(duplicates_injected|reorders_injected|partition_drops|reconcile_entries)":[0-9]+' |
    tr '\n' ' '
}

a=$(run 7)
b=$(run 7)
c=$(run 8)
printf 'seed 7: %s\nseed 7: %s\nseed 8: %s\n' "$a" "$b" "$c"
fail=0
if ! printf '%s' "$a" | grep -q '"clock":"simulated"'; then
  echo "demo_seed.sh: the replication phase did not say it ran in simulated time" >&2
  fail=1
fi
sa=$(strip "$a") sb=$(strip "$b")
if [ "$sa" != "$sb" ]; then
  echo "demo_seed.sh: two runs of seed 7 differ beyond VARYING:" >&2
  diff <(printf '%s\n' "$sa" | tr ',' '\n') <(printf '%s\n' "$sb" | tr ',' '\n') >&2
  fail=1
fi
fa=$(cluster_faults "$a") fc=$(cluster_faults "$c")
if [ -z "$fa" ] || [ "$fa" = "$fc" ]; then
  echo "demo_seed.sh: seeds 7 and 8 injected the same replication faults: '$fa'" >&2
  fail=1
fi
exit "$fail"
