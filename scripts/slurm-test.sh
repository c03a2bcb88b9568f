#!/usr/bin/env bash
# `make slurm-test`: tinyr1 sweep on a real one-node Slurm cluster
# (../shared/SLURM.md's recipe), as root. It installs slurm-wlm and munge
# when missing, starts munged (unless one answers already), slurmctld and
# slurmd with a private configuration under $T, then:
#   1. runs scripts/slurm-test.json (2 arms x 2 seeds, tiny preset) locally
#      with `tinyr1 sweep run`;
#   2. submits the same file with `tinyr1 sweep slurm --submit` into another
#      folder, requeues the GRPO task of seed 1 mid-way (scontrol requeue:
#      SIGTERM, checkpoint, exit, requeue) and waits for every wave;
#   3. checks that the requeued run resumed (manifest resumed_at > 0), that
#      `sweep run` finds every Slurm job finished, and that every run's
#      latest checkpoint is byte-identical to the local one;
# and stops the daemons it started, by their process ids (trap).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
FILE=scripts/slurm-test.json
if [ -n "${T:-}" ]; then mkdir -p "$T"; own=0; else T=$(mktemp -d /tmp/tinyr1-slurm-test.XXXXXX); own=1; fi
pids=()
stop() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
}
trap stop EXIT
say() { echo "slurm-test: $*"; }
fail() { echo "slurm-test: FAIL: $*" >&2; for f in "$T"/slurmctld.log "$T"/slurmd.log; do [ -f "$f" ] && tail -5 "$f" >&2; done; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (it installs packages and starts daemons)"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; }
fi
for port in 6817 6818; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then fail "port $port is in use: another Slurm daemon runs here"; fi
done

# munge: reuse a running one, or start one with a new key.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    head -c 1024 /dev/urandom > /etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground > "$T/munged.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || fail "munged did not start"
fi

H=$(hostname -s)
C=$(nproc)
mkdir -p "$T/ctld" "$T/d"
cat > "$T/slurm.conf" <<CONF
ClusterName=tinyr1test
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/ctld
SlurmdSpoolDir=$T/d
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
MpiDefault=none
KillWait=30
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
NodeName=$H CPUs=$C RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$T/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >/dev/null 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 0.2; done
sinfo -h -o %T | grep -q idle || fail "the node did not come up: $(sinfo 2>&1 | tail -1)"
say "cluster up after $(( $(date +%s) - start )) s ($C CPUs on $H)"

BIN=$T/tinyr1
go build -buildvcs=auto -o "$BIN" ./cmd/tinyr1
LOCAL=$T/local
SLURM=$T/cluster
"$BIN" sweep run "$FILE" --out "$LOCAL" 2> "$T/local.log" || { cat "$T/local.log"; fail "local sweep run failed"; }
say "local sweep done after $(( $(date +%s) - start )) s"

"$BIN" sweep slurm "$FILE" --out "$SLURM" --submit | tee "$T/submit.log"
jids=$(awk '/^submitted/ {print $NF}' "$T/submit.log" | paste -sd,)
wave2=$(awk '/^submitted wave-2/ {print $NF}' "$T/submit.log")
index=$("$BIN" sweep plan "$FILE" --out "$SLURM" | awk '$2 == "grpo-s1" && $3 == "wave" {print $1}')
[ -n "$wave2" ] && [ -n "$index" ] || fail "no wave 2 job or no grpo-s1 in the plan"

# Requeue grpo-s1 once it has checkpointed a few steps.
for _ in $(seq 600); do
  s=$(sed -n 's/.*step-0*\([0-9][0-9]*\)\.ckpt/\1/p' "$SLURM/grpo-s1/latest" 2>/dev/null || true)
  [ -n "$s" ] && [ "$s" -ge 5 ] && break
  sleep 0.1
done
[ -n "$s" ] && [ "$s" -ge 5 ] || fail "grpo-s1 did not reach step 5"
scontrol requeue "${wave2}_$index" || fail "scontrol requeue ${wave2}_$index"
# Slurm holds a requeued job for about two minutes before it may start again;
# a test need not wait for that.
sleep 1
scontrol update JobId="${wave2}_$index" StartTime=now || true
say "requeued ${wave2}_$index (grpo-s1) at step $s"

for _ in $(seq 900); do
  [ -z "$(squeue -h -j "$jids" 2>/dev/null)" ] && break
  sleep 1
done
[ -z "$(squeue -h -j "$jids" 2>/dev/null)" ] || fail "jobs still queued: $(squeue -h -j "$jids")"
for j in ${jids//,/ }; do
  scontrol show job "$j" | grep -o 'JobState=[A-Z_]*' | sort -u | grep -qv 'JobState=COMPLETED' &&
    fail "job $j: $(scontrol show job "$j" | grep -o 'JobState=[A-Z_]*' | sort | uniq -c | tr '\n' ' ')"
done
say "every Slurm job completed after $(( $(date +%s) - start )) s"

resumed=$(tr -d ' \n' < "$SLURM/grpo-s1/manifest.json" | sed -n 's/.*"resumed_at":\[\([0-9,]*\)\].*/\1/p')
[ -n "$resumed" ] && [ "${resumed%%,*}" -gt 0 ] || fail "grpo-s1 was not resumed (resumed_at: '$resumed'): it restarted"
say "grpo-s1 resumed at step $resumed"
again=$("$BIN" sweep run "$FILE" --out "$SLURM" 2>&1)
echo "$again" | grep -Eq ' (fresh|resume): ' && fail "sweep run found unfinished jobs after Slurm: $again"
n=0
for dir in "$LOCAL"/*-s*/; do
  run=$(basename "$dir")
  a="$LOCAL/$run/$(cat "$LOCAL/$run/latest")"
  b="$SLURM/$run/$(cat "$SLURM/$run/latest")"
  cmp "$a" "$b" || fail "$run: the Slurm checkpoint differs from the local one"
  n=$((n + 1))
done
[ "$n" = 4 ] || fail "compared $n runs: want 4"
say "PASS: $n runs byte-identical to the local sweep, the requeued one resumed; $(( $(date +%s) - start )) s in all"
stop
pids=()
[ "$own" = 1 ] && rm -rf "$T"  # kept on failure, and when T was given
