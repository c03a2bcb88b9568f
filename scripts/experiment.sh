#!/usr/bin/env bash
# The controlled experiment (README, "The experiment"): four arms, three seeds.
#
#   sft     the warm start (supervised on worked solutions)
#   sftx    the warm start + more supervised steps, matched to GRPO's wall-clock
#   grpo    the warm start + GRPO with verifier rewards
#   random  the warm start + GRPO with random rewards at the same success rate
#
# Every arm of a seed starts from the same warm start. Each final checkpoint
# is evaluated on the test split (greedy pass@1, sampled pass@1, pass@k,
# maj@k) and `tinyr1 report` writes plots and summary.md, where runs that
# differ only by seed are averaged (mean +- standard error).
set -euo pipefail
BIN=${BIN:-bin/tinyr1}
OUT=${OUT:-runs/experiment}
SEEDS=${SEEDS:-"1 2 3"}
TASKS=${TASKS:-add:1-2,sort:1-2}
OOD_TASKS=${OOD_TASKS:-add:5,sort:5} # level 5: out-of-distribution, never trained on
SFT_STEPS=${SFT_STEPS:-300}
GRPO_STEPS=${GRPO_STEPS:-60}
# About 2.7 s per GRPO step and 0.65 s per SFT step on the 2-core machine:
# 60 GRPO steps take the wall-clock of about 250 SFT steps.
EXTRA_SFT_STEPS=${EXTRA_SFT_STEPS:-250}
EVAL_FLAGS=${EVAL_FLAGS:-"--problems 64 --n 16 --k 1,4,16 --quiet"}

mkdir -p "$OUT"
start=$(date +%s)
for s in $SEEDS; do
  echo "== seed $s: warm start"
  "$BIN" sft --out "$OUT/sft-s$s" --force --seed "$s" --tasks "$TASKS" --steps "$SFT_STEPS" --quiet
  echo "== seed $s: GRPO"
  "$BIN" train --init "$OUT/sft-s$s" --out "$OUT/grpo-s$s" --force --seed "$s" --tasks "$TASKS" --steps "$GRPO_STEPS" --quiet
  echo "== seed $s: GRPO with random rewards"
  "$BIN" train --init "$OUT/sft-s$s" --out "$OUT/random-s$s" --force --seed "$s" --tasks "$TASKS" --steps "$GRPO_STEPS" --reward random --quiet
  echo "== seed $s: compute-matched extra SFT"
  rm -rf "$OUT/sftx-s$s"
  cp -r "$OUT/sft-s$s" "$OUT/sftx-s$s"
  "$BIN" sft --resume "$OUT/sftx-s$s" --steps $((SFT_STEPS + EXTRA_SFT_STEPS)) --quiet
  for arm in sft sftx grpo random; do
    echo "== seed $s: evaluating $arm"
    mkdir -p "$OUT/$arm-s$s/eval"
    # shellcheck disable=SC2086
    "$BIN" eval "$OUT/$arm-s$s" --tasks "$TASKS" $EVAL_FLAGS --json > "$OUT/$arm-s$s/eval/test.json"
    # shellcheck disable=SC2086
    "$BIN" eval "$OUT/$arm-s$s" --tasks "$OOD_TASKS" --max-new 96 $EVAL_FLAGS --json > "$OUT/$arm-s$s/eval/ood.json"
  done
done
"$BIN" report $(for a in sft sftx grpo random; do for s in $SEEDS; do echo "$OUT/$a-s$s"; done; done) --out "$OUT/report"
end=$(date +%s)
{
  echo "# tinyr1 experiment"
  echo
  echo "revision $(git rev-parse --short HEAD 2>/dev/null || echo unknown), seeds $SEEDS, tasks $TASKS,"
  echo "SFT $SFT_STEPS steps, GRPO $GRPO_STEPS steps, extra SFT $EXTRA_SFT_STEPS steps;"
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; wall-clock $(( (end - start) / 60 )) min"
  echo
  cat "$OUT/report/summary.md"
} > "$OUT/RESULTS.md"
echo "experiment: $OUT/RESULTS.md and plots in $OUT/report"
