#!/usr/bin/env bash
# A one-node Slurm cluster with 2 fake GPUs in DIR, as root without systemd (tests and benches):
#   scripts/slurm-one-node.sh start DIR   → prints SLURM_CONF=DIR/slurm.conf once a job can run
#   scripts/slurm-one-node.sh stop DIR    → stops slurmctld/slurmd started by start (and munged)
# Needs Debian's slurm-wlm and munge. See ../shared/design/DISTRIBUTED.md for the why of each line.
set -euo pipefail
cmd=$1; dir=$(realpath -m "$2")
host=$(hostname -s)
if [ "$cmd" = stop ]; then
  for f in slurmctld slurmd; do [ -f "$dir/$f.pid" ] && kill "$(cat "$dir/$f.pid")" 2>/dev/null || true; done
  # munged only when this script started it
  if [ -f "$dir/munged.started" ] && [ -f /run/munge/munged.pid ]; then kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true; fi
  exit 0
fi
mkdir -p "$dir/state" "$dir/spool" "$dir/gpus"
for i in 0 1; do ln -sf /dev/null "$dir/gpus/gpu$i"; done
cat > "$dir/slurm.conf" <<CONF
ClusterName=exptest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmctldPort=${SLURMCTLD_PORT:-16817}
SlurmdPort=${SLURMD_PORT:-16818}
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
GresTypes=gpu
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=2000 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
cat > "$dir/gres.conf" <<CONF
AutoDetect=off
NodeName=$host Name=gpu File=$dir/gpus/gpu[0-1]
CONF
export SLURM_CONF=$dir/slurm.conf
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  runuser -u munge -- /usr/sbin/munged
  touch "$dir/munged.started"
  for _ in $(seq 50); do munge -n | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi
slurmctld -D -i -f "$SLURM_CONF" > "$dir/slurmctld.out" 2>&1 &
slurmd -D -f "$SLURM_CONF" > "$dir/slurmd.out" 2>&1 &
for _ in $(seq 100); do
  state=$(sinfo -h -N -o %T 2>/dev/null || true)
  [ "$state" = idle ] && { echo "SLURM_CONF=$SLURM_CONF"; exit 0; }
  sleep 0.2
done
echo "slurm did not come up (state: ${state:-none}); see $dir/*.log" >&2
exit 1
