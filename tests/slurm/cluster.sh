#!/usr/bin/env bash
# A real single-node SLURM cluster with accounting, for the SLURM tests (Debian, as root).
#   cluster.sh install   Debian packages (slurm-wlm, munge, slurmdbd, mariadb-server)
#   cluster.sh start     munged → mariadbd → slurmdbd → slurmctld → slurmd; waits until the node is idle. The node
#                        has partitions `cpu` (default) and `gpu` and one GPU as SLURM counts it; account `study`
#   cluster.sh stop      every daemon stopped by its PID file, in reverse order
# The daemons' PID files live in $SLURM_TEST_RUN (default /run/compress-distill-slurm).
set -euo pipefail
RUN=${SLURM_TEST_RUN:-/run/compress-distill-slurm}
CLUSTER=compressdistill
CPUS=$(nproc)
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10 ))
DB_PASS=slurmtest
ACCOUNT=study

log() { echo "[slurm-cluster] $*" >&2; }
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

wait_for() {  # wait_for <seconds> <description> <command...>
    local limit=$1 what=$2; shift 2
    for _ in $(seq 1 $((limit * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
    log "timed out after ${limit}s waiting for: $what"; return 1
}

install() {
    if command -v slurmctld >/dev/null && command -v slurmdbd >/dev/null && command -v mariadbd >/dev/null; then
        log "packages already installed"; return
    fi
    [ "$(id -u)" = 0 ] || { log "installing Debian packages needs root"; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge slurmdbd mariadb-server >/dev/null
}

write_config() {
    mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm "$RUN"
    cat > /etc/slurm/slurm.conf <<CONF
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# a requeued job waits cred_expire seconds (default 120) before it may start again; nothing here needs that long
AuthInfo=cred_expire=10
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
JobAcctGatherType=jobacct_gather/linux
AccountingStorageTRES=gres/gpu
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
# one GPU as SLURM counts it (no device: a job granted it computes on CPU), and the two partitions a GPU cluster has
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP
CONF
    cat > /etc/slurm/gres.conf <<CONF
AutoDetect=off
NodeName=localhost Name=gpu File=/dev/null
CONF
    cat > /etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=$DB_PASS
CONF
    chmod 600 /etc/slurm/slurmdbd.conf
}

start() {
    [ "$(id -u)" = 0 ] || { log "the test cluster runs as root"; exit 1; }
    if [ -f "$RUN/slurmctld.pid" ] && timeout 10 sinfo -h -o %T 2>/dev/null | grep -qx idle; then
        log "already up (started earlier by this script)"; return
    fi
    write_config
    mkdir -p /run/munge /run/mysqld && chown munge:munge /run/munge && chown mysql:mysql /run/mysqld
    log "munged"
    runuser -u munge -- munged --pid-file=/run/munge/munged.pid
    cp /run/munge/munged.pid "$RUN/munged.pid"
    log "mariadbd"
    [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    # mariadbd stays in the foreground: detach it from our stdout so callers reading it do not wait on it
    setsid mariadbd --user=mysql --bind-address=127.0.0.1 --datadir=/var/lib/mysql \
        --socket=/run/mysqld/mysqld.sock --pid-file=/run/mysqld/mariadbd.pid --log-error=/run/mysqld/error.log \
        </dev/null >/dev/null 2>&1 &
    echo $! > "$RUN/mariadbd.pid"
    wait_for 60 "mariadb (log: /run/mysqld/error.log)" mariadb -e 'select 1'
    mariadb -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
                GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
    log "slurmdbd"
    slurmdbd
    wait_for 60 "slurmdbd" sacctmgr -n show cluster
    local clusters; clusters=$(sacctmgr -n -P show cluster format=cluster)
    grep -qxF "$CLUSTER" <<<"$clusters" || sacctmgr -i add cluster "$CLUSTER" >/dev/null
    # an account of the study's own, as clusters charge one (root's default stays root)
    sacctmgr -n -P show account format=account | grep -qx "$ACCOUNT" || {
        sacctmgr -i add account "$ACCOUNT" >/dev/null && sacctmgr -i add user root account="$ACCOUNT" >/dev/null; }
    log "slurmctld, slurmd"
    slurmctld
    slurmd -N localhost
    # a node a former configuration left invalid (state is kept across restarts) is checked again
    scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
    wait_for 60 "an idle node" bash -c "sinfo -h -o %T | grep -qx idle"
    log "up: $(sinfo -h -o '%P %D %T %c CPUs %m MB')"
}

stop() {
    for daemon in slurmd slurmctld slurmdbd mariadbd munged; do
        local pidfile="$RUN/$daemon.pid"
        [ -f "$pidfile" ] || continue
        local pid; pid=$(cat "$pidfile")
        if kill "$pid" 2>/dev/null; then
            for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
            log "stopped $daemon (pid $pid)"
        fi
        rm -f "$pidfile"
    done
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
