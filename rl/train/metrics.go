package train

import (
	"math"
	"reflect"
	"strings"
)

// Metrics is one line of metrics.jsonl: what one step measured. Figures
// that only some steps have come in groups, each a pointer that is nil, and
// so absent from the line, when the step has none of them. The JSON keys
// are what rl/report, tinybench and people's scripts read: they do not
// change. Non-finite numbers are written as -1 (finite).
type Metrics struct {
	Step int     `json:"step"` // optimizer steps done, this one included
	LR   float64 `json:"lr"`   // the step's learning rate

	*RolloutMetrics    // GRPO: the policy's completions
	*DynamicMetrics    // GRPO with Dynamic
	*SampleMetrics     // RFT: the sampler's completions
	*UpdateMetrics     // every step that ran the training graph
	*SupervisedMetrics // SFT and RFT: the supervised batch
	*PolicyMetrics     // GRPO: the clipped objective and its inputs
	*ValidationMetrics // steps with a validation

	TimeRollout     *float64 `json:"time_rollout,omitempty"`      // RFT and GRPO: seconds sampling and scoring completions (GRPO: dynamic refills included)
	TimeStep        *float64 `json:"time_step,omitempty"`         // GRPO: seconds of the whole step: rollout, reference, update; RFT: sampling and update
	SkippedNoSignal bool     `json:"skipped_no_signal,omitempty"` // GRPO: no group with a reward variance, so no update
	Nonfinite       bool     `json:"nonfinite,omitempty"`         // a loss, gradient norm or figure was not finite
	RefReset        bool     `json:"ref_reset,omitempty"`         // GRPO: the reference, RFT: the sampler, became this step's policy (ref_reset_every)
}

// RolloutMetrics describes the completions of a GRPO step's first rollout
// round: the policy as it is, before dynamic sampling drops any group.
type RolloutMetrics struct {
	RewardMean         float64            `json:"reward_mean"`                      // the reward the trainer uses (a control arm's, if any)
	RewardStd          float64            `json:"reward_std"`                       // its population standard deviation
	RewardCorrectMean  float64            `json:"reward_correct_mean"`              // each term of the reward, unweighted: correctness
	RewardCorrectStd   float64            `json:"reward_correct_std"`               //
	RewardFormatMean   float64            `json:"reward_format_mean"`               // format
	RewardFormatStd    float64            `json:"reward_format_std"`                //
	RewardLengthMean   float64            `json:"reward_length_mean"`               // linear length penalty
	RewardLengthStd    float64            `json:"reward_length_std"`                //
	RewardOverlongMean float64            `json:"reward_overlong_mean"`             // soft overlong penalty
	RewardOverlongStd  float64            `json:"reward_overlong_std"`              //
	RewardByTask       map[string]float64 `json:"reward_by_task"`                   // mean reward per "family:level"
	Accuracy           float64            `json:"accuracy"`                         // fraction correct and not truncated (the verifier's)
	AccuracyByTask     map[string]float64 `json:"accuracy_by_task"`                 // ... per "family:level"
	FormatRate         float64            `json:"format_rate"`                      // fraction following the output contract
	TruncationRate     float64            `json:"truncation_rate"`                  // fraction cut at max_new
	ZeroVarianceFrac   float64            `json:"zero_variance_frac"`               // fraction of groups whose rewards are all equal
	CompletionLenMean  float64            `json:"completion_len_mean"`              // generated tokens
	CompletionLenMin   int                `json:"completion_len_min"`               //
	CompletionLenMax   int                `json:"completion_len_max"`               //
	CompletionLenRight *float64           `json:"completion_len_correct,omitempty"` // mean length of the correct completions; nil when none
	CompletionLenWrong *float64           `json:"completion_len_wrong,omitempty"`   // ... of the others (wrong, badly formatted or cut): the length Dr. GRPO says GRPO's 1/|o| inflates
	CompletionLenTask  map[string]float64 `json:"completion_len_by_task"`           // mean generated tokens per "family:level"
	ThinkLenByTask     map[string]float64 `json:"think_len_by_task,omitempty"`      // mean tokens between the first <think> and the first </think> after it per "family:level", over completions that have both (eval.ThinkLen)
	Entropy            *float64           `json:"entropy,omitempty"`                // mean entropy of the sampling distribution per token; nil without tokens
	CurriculumLevels   map[string]int     `json:"curriculum_levels,omitempty"`      // each family's level after the step's records; nil without a curriculum
	TokensRollout      int                `json:"tokens_rollout"`                   // tokens sampled in every round
}

// DynamicMetrics is dynamic sampling's account (DAPO).
type DynamicMetrics struct {
	Groups int `json:"dynamic_groups"` // groups with a reward variance kept for the update (at most P)
	Rounds int `json:"dynamic_rounds"` // rollout rounds drawn, the first included
}

// SampleMetrics is rejection sampling's account of one step.
type SampleMetrics struct {
	Prompts     int     `json:"rft_prompts"`      // prompts drawn
	Sampled     int     `json:"rft_sampled"`      // completions sampled
	CorrectRate float64 `json:"rft_correct_rate"` // fraction verified correct, repeats included
	AcceptRate  float64 `json:"rft_accept_rate"`  // fraction verified and distinct per problem
	Examples    int     `json:"rft_examples"`     // examples the step trained on
}

// UpdateMetrics describes the update of a step that ran the training graph.
type UpdateMetrics struct {
	Loss         float64 `json:"loss"`          // the loss of the (last) pass
	GradNorm     float64 `json:"grad_norm"`     // the gradient norm before clipping
	SkippedSteps int     `json:"skipped_steps"` // non-finite steps skipped in the whole run
	TimeUpdate   float64 `json:"time_update"`   // seconds of the update (GRPO: old log-probs and every pass)
	TokensPerS   float64 `json:"tokens_per_s"`  // tokens processed per second of the step
}

// SupervisedMetrics describes a supervised batch (SFT, RFT).
type SupervisedMetrics struct {
	Tokens      int `json:"tokens"`       // target (completion) tokens
	CutExamples int `json:"cut_examples"` // sequences longer than the graph and cut
}

// PolicyMetrics describes GRPO's clipped objective over the batch.
type PolicyMetrics struct {
	TimeReference   float64  `json:"time_reference"`            // seconds scoring the completions under the reference; 0 when it scored none (beta 0 without log_kl)
	TokensReference int      `json:"tokens_reference"`          // completion tokens scored; 0 when none were
	TokensUpdate    int      `json:"tokens_update"`             // completion tokens through the graph, mu times
	KL              *float64 `json:"kl,omitempty"`              // mean KL estimate to the reference per token; nil when the reference scored nothing (beta 0 without log_kl)
	RatioMean       float64  `json:"ratio_mean"`                // mean ratio rho_t
	ClipLow         float64  `json:"clip_low"`                  // fraction of tokens clipped below
	ClipHigh        float64  `json:"clip_high"`                 // ... above
	DualClip        float64  `json:"dual_clip"`                 // ... by the dual clip
	GraphEngineDiff float64  `json:"graph_engine_logp_maxdiff"` // largest |graph - engine| log-prob over every pass
	LossEntropy     *float64 `json:"loss_entropy,omitempty"`    // the entropy bonus's term of the loss; nil when off

	// The loss's variants (last pass), each nil when its setting is off.
	SeqClip       *float64 `json:"seq_clip,omitempty"`       // ratio_level sequence: fraction of completions whose s_i was clipped
	ISWeightMean  *float64 `json:"is_weight_mean,omitempty"` // is_correction: mean weight p_old/q (capped by tis) of the tokens not masked
	ISMasked      *float64 `json:"is_masked,omitempty"`      // is_correction: fraction of tokens masked by mis (r > is_cap)
	EntropyMasked *float64 `json:"entropy_masked,omitempty"` // entropy_top_frac < 1: fraction of tokens without a policy-gradient term
}

// ValidationMetrics is a validation's result.
type ValidationMetrics struct {
	ValPass1       float64            `json:"val_pass1"`         // greedy pass@1, mean over mixture items
	ValPass1ByTask map[string]float64 `json:"val_pass1_by_task"` // ... per "family:level"
	TimeEval       float64            `json:"time_eval"`         // seconds
}

// finite replaces every non-finite number of m (a float64 field of m or of
// a group, or a value of a map of numbers) by -1, as finiteOr does, so that
// the metrics line stays valid JSON, and returns the JSON keys it replaced.
func (m *Metrics) finite() []string {
	var bad []string
	check := func(v reflect.Value, key string) {
		if x := v.Float(); math.IsNaN(x) || math.IsInf(x, 0) {
			v.SetFloat(-1)
			bad = append(bad, key)
		}
	}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := range v.NumField() {
			f, fv := v.Type().Field(i), v.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case f.Anonymous:
				if !fv.IsNil() {
					walk(fv.Elem())
				}
			case fv.Kind() == reflect.Float64:
				check(fv, key)
			case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Float64:
				if !fv.IsNil() {
					check(fv.Elem(), key)
				}
			case fv.Kind() == reflect.Map && fv.Type().Elem().Kind() == reflect.Float64:
				for _, k := range fv.MapKeys() {
					if x := fv.MapIndex(k).Float(); math.IsNaN(x) || math.IsInf(x, 0) {
						fv.SetMapIndex(k, reflect.ValueOf(-1.0))
						bad = append(bad, key+"."+k.String())
					}
				}
			}
		}
	}
	walk(reflect.ValueOf(m).Elem())
	return bad
}

// finiteOr maps a non-finite value to -1 so that metrics stay valid JSON.
func finiteOr(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return -1
	}
	return v
}
