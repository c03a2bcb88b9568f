package train

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

// jsonKeys returns the sorted keys of m's metrics line.
func jsonKeys(t *testing.T, m *Metrics) []string {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestMetricsKeys holds the keys of metrics.jsonl to those the map-based
// metrics wrote before Metrics (rl/report, tinybench and scripts read them),
// plus the length figures the study added (completion_len_correct, _wrong,
// _by_task, think_len_by_task): a GRPO step (at beta 0 without kl, which
// only a step that scored the reference has), a GRPO step without any
// signal, and a supervised step.
func TestMetricsKeys(t *testing.T) {
	grpo := strings.Fields(`accuracy accuracy_by_task clip_high clip_low completion_len_by_task completion_len_correct
		completion_len_max completion_len_mean completion_len_min completion_len_wrong dual_clip entropy format_rate grad_norm graph_engine_logp_maxdiff loss lr ratio_mean
		reward_by_task reward_correct_mean reward_correct_std reward_format_mean reward_format_std reward_length_mean
		reward_length_std reward_mean reward_overlong_mean reward_overlong_std reward_std skipped_steps step
		think_len_by_task time_reference time_rollout time_step time_update tokens_per_s tokens_reference tokens_rollout tokens_update
		truncation_rate zero_variance_frac`)
	noSignal := strings.Fields(`accuracy accuracy_by_task completion_len_by_task completion_len_max completion_len_mean
		completion_len_min completion_len_wrong dynamic_groups dynamic_rounds entropy format_rate lr reward_by_task reward_correct_mean reward_correct_std
		reward_format_mean reward_format_std reward_length_mean reward_length_std reward_mean reward_overlong_mean
		reward_overlong_std reward_std skipped_no_signal step think_len_by_task time_rollout time_step tokens_rollout truncation_rate
		zero_variance_frac`)
	sft := strings.Fields(`cut_examples grad_norm loss lr skipped_steps step time_update tokens tokens_per_s`)

	if got := jsonKeys(t, stepOnce(t, fixtureGRPO(), nil)); !slices.Equal(got, grpo) {
		t.Errorf("GRPO step keys %v: want %v", got, grpo)
	}
	cfg := fixtureGRPO()
	cfg.LogKL = true
	withKL := append(slices.Clone(grpo), "kl")
	slices.Sort(withKL)
	if got := jsonKeys(t, stepOnce(t, cfg, nil)); !slices.Equal(got, withKL) {
		t.Errorf("GRPO step with log_kl: keys %v: want %v", got, withKL)
	}
	cfg = fixtureGRPO()
	cfg.Dynamic, cfg.MaxRefill, cfg.RewardFormat, cfg.Tasks = true, 0, 0, "mul:3" // the warm start solves none
	if got := jsonKeys(t, stepOnce(t, cfg, nil)); !slices.Equal(got, noSignal) {
		t.Errorf("GRPO step without signal: keys %v: want %v", got, noSignal)
	}
	tr, err := NewSFT(tinySFT(1), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	m, err := tr.sftStep()
	if err != nil {
		t.Fatal(err)
	}
	m.Step = 1
	if got := jsonKeys(t, m); !slices.Equal(got, sft) {
		t.Errorf("SFT step keys %v: want %v", got, sft)
	}
}

// TestMetricsFinite: every non-finite number, at the top level, in a
// group, behind a pointer or in a map, is written as -1 and named.
func TestMetricsFinite(t *testing.T) {
	nan, nan2, inf, kl := math.NaN(), math.NaN(), math.Inf(1), 0.25
	m := &Metrics{LR: 0.1, TimeRollout: &nan,
		RolloutMetrics: &RolloutMetrics{RewardMean: inf, Entropy: &nan2, AccuracyByTask: map[string]float64{"add:1": nan, "add:2": 0.5}},
		PolicyMetrics:  &PolicyMetrics{KL: &kl, LossEntropy: &inf}}
	bad := m.finite()
	slices.Sort(bad)
	want := []string{"accuracy_by_task.add:1", "entropy", "loss_entropy", "reward_mean", "time_rollout"}
	if !slices.Equal(bad, want) {
		t.Errorf("finite() = %v: want %v", bad, want)
	}
	if m.RewardMean != -1 || *m.Entropy != -1 || *m.LossEntropy != -1 || *m.TimeRollout != -1 ||
		m.AccuracyByTask["add:1"] != -1 || m.AccuracyByTask["add:2"] != 0.5 || m.LR != 0.1 || *m.KL != 0.25 {
		t.Errorf("finite() left %+v, %+v, %+v", *m, *m.RolloutMetrics, *m.PolicyMetrics)
	}
}
