#!/usr/bin/env bash
# The controlled experiment (README, "The experiment"): five arms, three seeds.
#
#   sft     the warm start: supervised on worked solutions of a fixed, small
#           dataset (SFT_DATA problems per task), R1's cold start
#   sftx    the warm start's recipe trained for longer on the same dataset:
#           SFT_STEPS + as many steps as GRPO's measured wall-clock buys
#   grpo    the warm start + GRPO with verifier rewards on fresh prompts of
#           the RL levels (no worked solutions)
#   shuffle the warm start + the same GRPO with each group's rewards permuted
#           inside the group (matched control: every group keeps its reward
#           multiset, so the zero-variance structure and per-prompt success
#           rate are the real ones; only the link to the completion is cut)
#   bernoulli the warm start + the same GRPO where each completion gets the
#           correct reward with probability RANDOM_P (Shao et al. 2025,
#           "Spurious Rewards")
#
# Every arm of a seed starts from the same warm start. The warm start is
# also evaluated on the validation split of the RL levels (the 30-80% band
# is measured there, never on test). Each final checkpoint is evaluated on
# the test split (greedy pass@1, sampled pass@1, pass@k, maj@k) and on the
# out-of-distribution level 5; `tinyr1 report` writes plots, summary.md and
# eval_summary.csv, averaging runs that differ only by seed (mean +- SE).
set -euo pipefail
BIN=${BIN:-bin/tinyr1}
OUT=${OUT:-runs/experiment}
SEEDS=${SEEDS:-"1 2 3"}
SFT_TASKS=${SFT_TASKS:-add:1-2,sort:1-2}   # the warm start's supervised data
SFT_DATA=${SFT_DATA:-128}                  # problems per task in that dataset
SFT_STEPS=${SFT_STEPS:-1000}
RL_TASKS=${RL_TASKS:-add:2,sort:1}         # the RL levels
GRPO_STEPS=${GRPO_STEPS:-100}
GRPO_FLAGS=${GRPO_FLAGS:-"--prompts 16 --dynamic"}
RANDOM_P=${RANDOM_P:-0.5}                  # the bernoulli arm's reward probability
SFTX_EXTRA=${SFTX_EXTRA:-}                 # extra SFT steps; empty: measured from GRPO's wall-clock
EVAL_TASKS=${EVAL_TASKS:-$SFT_TASKS}       # test-split table: every level trained on
OOD_TASKS=${OOD_TASKS:-add:5,sort:5}       # level 5: out-of-distribution, never trained on
EVAL_FLAGS=${EVAL_FLAGS:-"--problems 128 --n 16 --k 1,4,16 --quiet"}

# sum_metric FILE KEY and mean_metric FILE KEY read a numeric field of every
# line of a metrics.jsonl (flat JSON, one object a line).
sum_metric() { grep -o "\"$2\":[0-9.e+-]*" "$1" | cut -d: -f2 | awk '{s += $1} END {printf "%.3f", s}'; }
mean_metric() { grep -o "\"$2\":[0-9.e+-]*" "$1" | cut -d: -f2 | awk '{s += $1; n++} END {printf "%.5f", s / n}'; }

# STAGES picks what runs (all by default, in this order): train (warm starts,
# GRPO, the two random-reward controls), sftx (the compute-matched extra SFT),
# eval, report. TRAIN_ARMS and EVAL_ARMS pick the arms of the train and eval
# stages (the train stage of an arm other than sft needs that seed's warm
# start). Everything is deterministic, so rerunning a stage reproduces it bit
# for bit.
STAGES=${STAGES:-"train sftx eval report"}
ARMS="sft sftx grpo shuffle bernoulli"
TRAIN_ARMS=${TRAIN_ARMS:-"sft grpo shuffle bernoulli"}
EVAL_ARMS=${EVAL_ARMS:-$ARMS}
stage() { [[ " $STAGES " == *" $1 "* ]]; }
train_arm() { [[ " $TRAIN_ARMS " == *" $1 "* ]]; }

mkdir -p "$OUT"
start=$(date +%s)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if stage train; then
  for s in $SEEDS; do
    if train_arm sft; then
      echo "== seed $s: warm start ($SFT_STEPS steps on $SFT_DATA problems per task of $SFT_TASKS)"
      "$BIN" sft --out "$OUT/sft-s$s" --force --seed "$s" --tasks "$SFT_TASKS" --sft-data "$SFT_DATA" --steps "$SFT_STEPS" --quiet
      mkdir -p "$OUT/sft-s$s/eval"
      # shellcheck disable=SC2086
      "$BIN" eval "$OUT/sft-s$s" --split validation --tasks "$RL_TASKS" $EVAL_FLAGS --json > "$OUT/sft-s$s/eval/validation.json"
    fi
    if train_arm grpo; then
      echo "== seed $s: GRPO"
      # shellcheck disable=SC2086
      "$BIN" train --init "$OUT/sft-s$s" --out "$OUT/grpo-s$s" --force --seed "$s" --tasks "$RL_TASKS" --steps "$GRPO_STEPS" $GRPO_FLAGS --quiet
    fi
    if train_arm shuffle; then
      echo "== seed $s: GRPO with each group's rewards shuffled inside the group"
      # shellcheck disable=SC2086
      "$BIN" train --init "$OUT/sft-s$s" --out "$OUT/shuffle-s$s" --force --seed "$s" --tasks "$RL_TASKS" --steps "$GRPO_STEPS" $GRPO_FLAGS --reward shuffle --quiet
    fi
    if train_arm bernoulli; then
      echo "== seed $s: GRPO with Bernoulli($RANDOM_P) rewards"
      # shellcheck disable=SC2086
      "$BIN" train --init "$OUT/sft-s$s" --out "$OUT/bernoulli-s$s" --force --seed "$s" --tasks "$RL_TASKS" --steps "$GRPO_STEPS" $GRPO_FLAGS --reward bernoulli --random-p "$RANDOM_P" --quiet
    fi
  done
fi
if stage sftx; then
  # Compute-matched: as many more SFT steps as GRPO's wall-clock buys at the
  # warm start's measured seconds per step (evaluation time excluded), one
  # figure for all seeds (means over seeds) so that the arm's runs differ only
  # by seed and `report` averages them.
  : > "$OUT/compute.txt"
  for s in $SEEDS; do
    echo "seed $s: GRPO $(sum_metric "$OUT/grpo-s$s/metrics.jsonl" time_step) s of steps; SFT $(mean_metric "$OUT/sft-s$s/metrics.jsonl" time_update) s per step" >> "$OUT/compute.txt"
  done
  if [ -n "$SFTX_EXTRA" ]; then
    extra=$SFTX_EXTRA
    echo "extra SFT: $extra steps (SFTX_EXTRA, given; the measurement above is not used)" | tee -a "$OUT/compute.txt"
  else
    extra=$(awk '{g += $4; t += $9; n++} END {printf "%d", g / t + 0.5}' "$OUT/compute.txt")
    echo "extra SFT: $extra steps (mean GRPO seconds / mean SFT seconds per step)" | tee -a "$OUT/compute.txt"
  fi
  # The arm is the warm start's recipe run for longer: a fresh run of
  # SFT_STEPS + extra steps on the same data and seed, with its cosine
  # schedule over the whole length (resuming the warm start instead would
  # restart its annealed learning rate).
  for s in $SEEDS; do
    echo "== seed $s: compute-matched extra SFT ($extra steps)"
    "$BIN" sft --out "$OUT/sftx-s$s" --force --seed "$s" --tasks "$SFT_TASKS" --sft-data "$SFT_DATA" --steps $((SFT_STEPS + extra)) --quiet
  done
fi
if stage eval; then
  for s in $SEEDS; do
    for arm in $EVAL_ARMS; do
      echo "== seed $s: evaluating $arm"
      mkdir -p "$OUT/$arm-s$s/eval"
      # shellcheck disable=SC2086
      "$BIN" eval "$OUT/$arm-s$s" --tasks "$EVAL_TASKS" $EVAL_FLAGS --json > "$OUT/$arm-s$s/eval/test.json"
      # shellcheck disable=SC2086
      "$BIN" eval "$OUT/$arm-s$s" --tasks "$OOD_TASKS" --max-new 96 $EVAL_FLAGS --json > "$OUT/$arm-s$s/eval/ood.json"
    done
  done
fi
stage report || exit 0
"$BIN" report $(for a in $ARMS; do for s in $SEEDS; do echo "$OUT/$a-s$s"; done; done) --out "$OUT/report"
end=$(date +%s)
{
  echo "# tinyr1 experiment"
  echo
  echo "revision $rev, seeds $SEEDS;"
  echo "warm start: $SFT_STEPS SFT steps on $SFT_DATA problems per task of $SFT_TASKS;"
  echo "GRPO: $GRPO_STEPS steps on $RL_TASKS ($GRPO_FLAGS); controls: rewards shuffled inside each group, and Bernoulli($RANDOM_P);"
  echo "extra SFT matched to GRPO's wall-clock:"
  sed 's/^/  /' "$OUT/compute.txt"
  echo "evaluation: $EVAL_FLAGS on the test split of $EVAL_TASKS and (max_new 96) $OOD_TASKS;"
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; wall-clock $(( (end - start) / 60 )) min for stages: $STAGES"
  echo
  cat "$OUT/report/summary.md"
} > "$OUT/RESULTS.md"
echo "experiment: $OUT/RESULTS.md, $OUT/report/eval_summary.csv and plots in $OUT/report"
