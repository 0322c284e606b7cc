#!/usr/bin/env bash
# Stop the test cluster of tests/slurm/up.sh by the PIDs in its pid files (TERM, then KILL after a grace
# period). Never by name: other Slurm or munge processes on the machine are left alone.
set -uo pipefail
dir=${VOCABSWAP_SLURM_DIR:-/tmp/vocabswap-slurm}
munged_pidfile=$(cat "$dir/munged.pidfile" 2>/dev/null || true)
for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" $munged_pidfile; do
  [ -s "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || continue
  for _ in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
done
rm -f "$dir/munged.pidfile"
if grep -q '^ClusterName=vocabswap-test$' /etc/slurm/slurm.conf 2>/dev/null; then
  rm -f /etc/slurm/slurm.conf
fi
