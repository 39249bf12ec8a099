#!/usr/bin/env bash
# A one-node Slurm cluster with 2 fake GPUs in DIR, as root without systemd (tests and benches):
#   scripts/slurm-one-node.sh start DIR   → prints SLURM_CONF=DIR/slurm.conf once a job can run
#   scripts/slurm-one-node.sh stop DIR    → stops the slurmctld, slurmd and munged that start started
# Needs Debian's slurm-wlm and munge (run as root). Each cluster has its own munged on its own
# socket (AuthInfo=socket=..., in a /tmp/exp-munged.* folder named in DIR/munge.dir): clusters
# started side by side (parallel test files, several checkouts on one machine) never share one,
# so stopping one cluster cannot break another's authentication.
set -euo pipefail
cmd=$1; dir=$(realpath -m "$2")
host=$(hostname -s)
if [ "$cmd" = stop ]; then
  # A pid file may be stale (the process died, or a test stopped it) and its pid reused by now:
  # pid_max is 32768 here and a test suite wraps it in minutes. So a pid is signalled only while
  # its command line still names this cluster (its slurm.conf, its munge socket), never bare.
  # SIGTERM, then SIGKILL after 5 s: a slurmd whose controller is gone can hang in its shutdown.
  ours() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }
  procs=""
  for f in "$dir/slurmctld.pid" "$dir/slurmd.pid"; do
    [ -f "$f" ] && procs="$procs $(cat "$f")@$dir/slurm.conf"
  done
  if [ -f "$dir/munge.dir" ]; then
    mdir=$(cat "$dir/munge.dir")
    [ -f "$mdir/munged.pid" ] && procs="$procs $(cat "$mdir/munged.pid")@$mdir/munge.socket"
  fi
  signal() { # SIGNAL PID@NAME...: signals those still ours; prints them
    local sig=$1 pp; shift
    for pp in "$@"; do ours "${pp%%@*}" "${pp#*@}" && kill "-$sig" "${pp%%@*}" 2>/dev/null && echo "$pp"; done
    return 0
  }
  # shellcheck disable=SC2086
  alive=$(signal TERM $procs)
  for _ in $(seq 50); do
    # shellcheck disable=SC2086
    alive=$(signal 0 $alive)
    [ -z "$alive" ] && break
    sleep 0.1
  done
  # shellcheck disable=SC2086
  [ -n "$alive" ] && signal KILL $alive >/dev/null
  [ -n "${mdir:-}" ] && rm -rf "$mdir"
  exit 0
fi
mkdir -p "$dir/state" "$dir/spool" "$dir/gpus"
# munged runs as the munge user: its folder must be reachable by it (DIR may sit in a private one).
mdir=$(mktemp -d /tmp/exp-munged.XXXXXX)
chown munge:munge "$mdir"
chmod 0755 "$mdir"
echo "$mdir" > "$dir/munge.dir"
for i in 0 1; do ln -sf /dev/null "$dir/gpus/gpu$i"; done
cat > "$dir/slurm.conf" <<CONF
ClusterName=exptest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmctldPort=${SLURMCTLD_PORT:-16817}
SlurmdPort=${SLURMD_PORT:-16818}
AuthType=auth/munge
AuthInfo=socket=$mdir/munge.socket
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
# munged refuses a key or a socket folder that others could read or write.
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
sock=$mdir/munge.socket
runuser -u munge -- /usr/sbin/munged --socket="$sock" --pid-file="$mdir/munged.pid" \
  --seed-file="$mdir/munged.seed" --log-file="$mdir/munged.log"
for _ in $(seq 50); do munge -n --socket="$sock" | unmunge --socket="$sock" >/dev/null 2>&1 && break; sleep 0.1; done
slurmctld -D -i -f "$SLURM_CONF" > "$dir/slurmctld.out" 2>&1 &
slurmd -D -f "$SLURM_CONF" > "$dir/slurmd.out" 2>&1 &
for _ in $(seq 100); do
  state=$(sinfo -h -N -o %T 2>/dev/null || true)
  [ "$state" = idle ] && { echo "SLURM_CONF=$SLURM_CONF"; exit 0; }
  sleep 0.2
done
echo "slurm did not come up (state: ${state:-none}); see $dir/*.log" >&2
exit 1
