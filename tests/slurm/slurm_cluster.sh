# shellcheck shell=bash
# Sourceable library: a real single-node Slurm (munged + slurmctld + slurmd)
# started without systemd, entirely inside one work directory.
#
#   source tests/slurm/slurm_cluster.sh
#   slurm_start /tmp/some-dir     # exports SLURM_CONF; node is idle on return
#   sbatch --wait ...
#   slurm_stop                    # kills what slurm_start started
#
# Needs root: slurmd must be able to run jobs as the submitting user and
# SlurmUser=root keeps the state files writable without a slurm account.
# Nothing outside <workdir> is written: munge gets a private key and socket,
# Slurm a private config, state, spool, logs and two free TCP ports on
# loopback. Every wait is bounded; failures print the daemons' log tails.
#
# Tunables (environment): SLURM_START_TIMEOUT (s, default 60),
# SLURM_NODE_NAME (default `hostname -s`), SLURM_NODE_CPUS (default nproc,
# at least 2).
#
# The node name must be this host's short name: mpirun inside a job compares
# SLURM_JOB_NODELIST with its own hostname and would try to start remote
# daemons through srun for a name it does not recognise as itself. All
# traffic uses 127.0.0.1 (NodeAddr, SlurmctldHost), so no DNS is needed.

SLURM_CLUSTER_DIR=""

_slurm_log() { echo "slurm_cluster: $*" >&2; }

# Log tails of every daemon, for diagnosing a failed start.
_slurm_dump_logs() {
  local f
  for f in "$SLURM_CLUSTER_DIR"/munge/munged.log "$SLURM_CLUSTER_DIR"/log/slurmctld.log \
           "$SLURM_CLUSTER_DIR"/log/slurmd.log; do
    [ -f "$f" ] || continue
    echo "----- tail of $f -----" >&2
    tail -n 25 "$f" >&2 || true
  done
}

# True when process $1 is alive and is the program $2 (guards against a
# stale pid file whose pid the kernel has handed to someone else).
_slurm_alive() {
  local pid=$1 comm=$2
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
  # A zombie is already dead (its parent may simply not have reaped it).
  ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# Pids of our daemons $1 (comm) whose command line mentions $2 (this
# cluster's config, key or socket path): finds a daemon that has not written
# its pid file yet, or whose pid file is gone.
_slurm_find_pids() {
  local comm=$1 needle=$2 d
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = "$comm" ] || continue
    tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF -- "$needle" && echo "${d#/proc/}"
  done
  return 0
}

# TERM, bounded wait, then KILL: the daemon $1 (comm) named in pid file $2
# plus any other $1 whose command line mentions $3.
_slurm_kill() {
  local comm=$1 pidfile=$2 needle=$3 pid i alive
  local -a pids=()
  if [ -s "$pidfile" ]; then
    pid=$(tr -dc '0-9' 2>/dev/null <"$pidfile") || pid=""
    ! _slurm_alive "$pid" "$comm" || pids+=("$pid")
  fi
  mapfile -t -O "${#pids[@]}" pids < <(_slurm_find_pids "$comm" "$needle")
  rm -f "$pidfile"
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  # Wait on the processes, not the pid file: daemons drop it before exiting.
  for ((i = 0; i < 75; i++)); do   # up to 15 s for a clean shutdown
    alive=()
    for pid in "${pids[@]}"; do _slurm_alive "$pid" "$comm" && alive+=("$pid"); done
    [ ${#alive[@]} -gt 0 ] || return 0
    sleep 0.2
  done
  _slurm_log "$comm (pid ${alive[*]}) ignored SIGTERM; sending SIGKILL"
  kill -KILL "${alive[@]}" 2>/dev/null || true
  sleep 0.2
}

# True when every directory from / down to $1 is searchable by all (munged
# refuses a socket that other users could not reach).
_slurm_path_searchable() {
  local d=$1
  while [ -n "$d" ] && [ "$d" != / ]; do
    [ -n "$(find "$d" -maxdepth 0 -perm -o+x 2>/dev/null)" ] || return 1
    d=$(dirname "$d")
  done
}

# Is TCP port $1 free on this host? Uses ss when present, else a connect probe.
_slurm_port_free() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [ -z "$(ss -Htan "( sport = :$port )" 2>/dev/null)" ]
  else
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# Two consecutive free ports (ctld, slurmd) in a private range, picked at
# random so back-to-back runs do not trip over sockets in TIME_WAIT.
_slurm_pick_ports() {
  local i base
  for ((i = 0; i < 50; i++)); do
    base=$((20000 + (RANDOM * 32768 + RANDOM) % 30000))
    if _slurm_port_free "$base" && _slurm_port_free $((base + 1)); then
      echo "$base"
      return 0
    fi
  done
  _slurm_log "no free TCP port pair found"
  return 1
}

slurm_start() {
  local workdir=${1:?usage: slurm_start <workdir>}
  local timeout=${SLURM_START_TIMEOUT:-60}
  local node=${SLURM_NODE_NAME:-$(hostname -s)}
  local cmd
  for cmd in munged slurmctld slurmd sinfo scontrol; do
    command -v "$cmd" >/dev/null 2>&1 || { _slurm_log "$cmd not installed"; return 1; }
  done
  if [ "$(id -u)" -ne 0 ]; then
    _slurm_log "must run as root (slurmd launches jobs as other users)"
    return 1
  fi

  mkdir -p "$workdir"
  SLURM_CLUSTER_DIR=$(cd "$workdir" && pwd -P)
  local w=$SLURM_CLUSTER_DIR
  # A previous run in the same workdir may have left daemons or state behind.
  slurm_stop "$w" >/dev/null 2>&1 || true
  SLURM_CLUSTER_DIR=$w
  [ ! -s "$w/munge/socket_dir" ] || rm -rf "$(cat "$w/munge/socket_dir")"
  rm -rf "$w/state" "$w/spool" "$w/run" "$w/log" "$w/munge"
  # munged insists that every directory on the socket's path is searchable
  # by all (and the key not readable by others): mktemp -d gives 0700.
  chmod 755 "$w"
  mkdir -p "$w/state" "$w/spool/$node" "$w/run" "$w/log" "$w/munge"
  chmod 755 "$w/munge" "$w/run" "$w/log"
  local sockdir="$w/munge"
  # Fall back to a short private dir in /tmp when an ancestor of workdir is
  # private (e.g. inside another mktemp -d) or the path is too long for a
  # Unix socket (108 bytes).
  if ! _slurm_path_searchable "$w" || [ ${#sockdir} -gt 90 ]; then
    sockdir=$(mktemp -d /tmp/munge.XXXXXX)
    chmod 755 "$sockdir"
    echo "$sockdir" >"$w/munge/socket_dir"
  fi

  # --- munge: private key and socket; /etc/munge is left alone ---
  if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile="$w/munge/munge.key" --force >/dev/null 2>&1 || true
  fi
  if [ ! -s "$w/munge/munge.key" ]; then
    dd if=/dev/urandom of="$w/munge/munge.key" bs=1024 count=1 status=none
  fi
  chmod 400 "$w/munge/munge.key"
  if ! timeout 20 munged --key-file="$w/munge/munge.key" --socket="$sockdir/munge.socket" \
      --pid-file="$w/munge/munged.pid" --log-file="$w/munge/munged.log" \
      --seed-file="$w/munge/munged.seed" --num-threads=2; then
    _slurm_log "munged failed to start"
    _slurm_dump_logs
    return 1
  fi

  # --- slurm.conf ---
  local port cpus mem
  port=$(_slurm_pick_ports) || return 1
  # GNU nproc obeys OMP_NUM_THREADS (ctest sets it to 1): ask without it.
  # At least 2 so 2-rank jobs fit on a 1-core box (config_overrides below
  # lets the node line exceed the hardware).
  cpus=${SLURM_NODE_CPUS:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}
  ((cpus >= 2)) || cpus=2
  # Leave headroom so a job's --mem request never exceeds what the OS has.
  mem=$(free -m | awk '/^Mem:/ { m = int($2 * 0.9) - 256; print (m < 256 ? 256 : m) }')
  export SLURM_CONF="$w/slurm.conf"
  cat >"$SLURM_CONF" <<EOF
# Generated by tests/slurm/slurm_cluster.sh: throw-away single-node cluster.
ClusterName=phenoscale-test
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sockdir/munge.socket
StateSaveLocation=$w/state
SlurmdSpoolDir=$w/spool/%n
SlurmctldPidFile=$w/run/slurmctld.pid
SlurmdPidFile=$w/run/slurmd.pid
SlurmctldLogFile=$w/log/slurmctld.log
SlurmdLogFile=$w/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$w/plugstack.conf
# No cgroups (containers rarely delegate them): plain /proc process tracking.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Keep finished jobs visible to scontrol (there is no slurmdbd/sacct here).
MinJobAge=600
# A chain whose earlier job failed is cancelled instead of pending forever.
DependencyParameters=kill_invalid_depend
# Trust the node line below rather than slurmd's hardware probe.
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=10
InactiveLimit=0
SlurmdTimeout=300
MailProg=/bin/true
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  : >"$w/plugstack.conf"   # isolate from /etc/slurm/plugstack.conf (SPANK plugins)
  # Explicitly no cgroup plugin work: nothing above uses cgroups.
  echo "CgroupAutomount=no" >"$w/cgroup.conf"

  # --- daemons: both fork into the background and write their pid files ---
  if ! timeout 30 slurmctld -f "$SLURM_CONF" -c -i; then
    _slurm_log "slurmctld failed to start"
    _slurm_dump_logs
    return 1
  fi
  if ! timeout 30 slurmd -f "$SLURM_CONF" -N "$node"; then
    _slurm_log "slurmd failed to start"
    _slurm_dump_logs
    return 1
  fi

  # --- wait until the node is schedulable ---
  local deadline=$((SECONDS + timeout)) state=""
  while ((SECONDS < deadline)); do
    state=$(timeout 10 sinfo -h -N -n "$node" -o '%T' 2>/dev/null | head -n 1 || true)
    [ "$state" = idle ] && break
    case $state in
      down* | drain* | fail*)
        # A node left DOWN by an earlier incarnation: bring it back.
        timeout 10 scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    # By command line: the pid file may not be written yet right after fork.
    [ -n "$(_slurm_find_pids slurmctld "$SLURM_CONF")" ] || { state="slurmctld died"; break; }
    sleep 0.5
  done
  if [ "$state" != idle ]; then
    _slurm_log "node $node not idle after ${timeout}s (state: ${state:-unknown})"
    _slurm_dump_logs
    [ "$state" = "slurmctld died" ] || timeout 10 scontrol show node "$node" >&2 2>&1 || true
    return 1
  fi
  _slurm_log "up: node $node idle, ctld port $port, conf $SLURM_CONF"
}

# Stops what slurm_start started (optionally in workdir $1). Running jobs are
# cancelled first so no slurmstepd or job process outlives the cluster.
slurm_stop() {
  local w=${1:-$SLURM_CLUSTER_DIR}
  [ -n "$w" ] && [ -d "$w" ] || return 0
  local conf="$w/slurm.conf" pids i
  if [ -f "$conf" ] && _slurm_alive "$(cat "$w/run/slurmctld.pid" 2>/dev/null)" slurmctld; then
    SLURM_CONF=$conf timeout 10 scancel --user="$(id -un)" >/dev/null 2>&1 || true
    for ((i = 0; i < 30; i++)); do   # up to 15 s for jobs to wind down
      [ -z "$(SLURM_CONF=$conf timeout 5 squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  if [ -f "$conf" ] && _slurm_alive "$(cat "$w/run/slurmd.pid" 2>/dev/null)" slurmd; then
    # Anything still attached to a job step on this node gets killed outright.
    mapfile -t pids < <(SLURM_CONF=$conf timeout 5 scontrol listpids 2>/dev/null |
                        awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }' || true)
    [ ${#pids[@]} -eq 0 ] || kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  _slurm_kill slurmd "$w/run/slurmd.pid" "$conf"
  _slurm_kill slurmctld "$w/run/slurmctld.pid" "$conf"
  _slurm_kill munged "$w/munge/munged.pid" "$w/munge/munge.key"
  if [ -s "$w/munge/socket_dir" ]; then
    rm -rf "$(cat "$w/munge/socket_dir")"
    rm -f "$w/munge/socket_dir"
  fi
  SLURM_CLUSTER_DIR=""
}
