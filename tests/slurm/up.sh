#!/usr/bin/env bash
# Start a real one-node Slurm cluster on 127.0.0.1 from Debian's packages, for the Slurm workflow test
# (../shared/SLURM-LOCAL.md): munged, slurmctld, slurmd, each with a pid file under $VOCABSWAP_SLURM_DIR.
# Needs root and apt; writes /etc/slurm/slurm.conf (only if absent or its own). Stop: tests/slurm/down.sh.
set -euo pipefail
dir=${VOCABSWAP_SLURM_DIR:-/tmp/vocabswap-slurm}
mkdir -p "$dir"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
  || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >&2
fi

# munge: the package creates /etc/munge/munge.key; munged runs as its own user.
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
fi
runuser -u munge -- munged --pid-file=/run/munge/vocabswap-munged.pid
echo /run/munge/vocabswap-munged.pid >"$dir/munged.pidfile"

cpus=$(nproc)
mem_mb=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
mem_mb=$((mem_mb * 9 / 10))
mkdir -p "$dir/ctld" "$dir/d" "$dir/log"
cat >"$dir/slurm.conf" <<CONF
ClusterName=vocabswap-test
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=300
ReturnToService=2
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/d
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
# Jobs' own srun calls read the default path (slurmd does not pass SLURM_CONF on), so the config goes
# there; a slurm.conf that is not ours is never overwritten.
conf=/etc/slurm/slurm.conf
if [ -e "$conf" ] && ! grep -q '^ClusterName=vocabswap-test$' "$conf"; then
  echo "slurm: $conf exists and is not the test cluster's; refusing to overwrite it" >&2
  exit 1
fi
mkdir -p /etc/slurm
cp "$dir/slurm.conf" "$conf"
export SLURM_CONF=$conf
slurmctld -c -f "$SLURM_CONF"
slurmd -N localhost -f "$SLURM_CONF"

for _ in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
    echo "$SLURM_CONF"
    exit 0
  fi
  sleep 1
done
echo "slurm: the node did not become idle within 60 s; see $dir/log" >&2
exit 1
