package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strings"

	"tinyr1/data"
	"tinyr1/model"
	"tinyr1/rl/objective"
)

// Config holds every setting of a training run, supervised warm start and
// GRPO alike. It is flat so that each field is one command-line flag and one
// config-file key with the same name (the json tag). A run's config.json
// holds the settings of its mode; every checkpoint holds the whole Config.
//
// Each field's tags say where it belongs: usage is its help text, topic its
// section (the heading in --help), and for the modes it applies to: sft
// (supervised warm start), rft (sft --from-samples, rejection sampling) and
// grpo (`tinyr1 train`), as Mode.String() names them. The commands show and accept only their modes' settings;
// a field outside the run's mode keeps its default and is not read.
type Config struct {
	// Run.
	Seed    uint64 `json:"seed" usage:"seed of every random draw (init, data, sampling)" topic:"Run" for:"sft,rft,grpo"`
	Steps   int    `json:"steps" usage:"total optimizer steps of the run" topic:"Run" for:"sft,rft,grpo"`
	Tasks   string `json:"tasks" usage:"task mixture family:level[=weight],... (levels may be ranges lo-hi); a dataset file is file:PATH[:level][=weight]" topic:"Run" for:"sft,rft,grpo"`
	Workers int    `json:"workers" usage:"goroutines of the rollout engine (results do not depend on it)" topic:"Run" for:"sft,rft,grpo"`

	// Dataset files of Tasks: PATH=SHA256,... recorded when a run starts; a
	// resumed run refuses files that changed (taskfiles.go).
	TaskFiles string `json:"task_files,omitempty" usage:"SHA-256 of each dataset file in tasks, PATH=HASH,... (set by the run; give it to insist on those bytes)" topic:"Run" for:"sft,rft,grpo"`

	// Model (sft from scratch only; train takes the model of --init).
	Preset string `json:"preset" usage:"model preset: tiny, small or medium" topic:"Model" for:"sft"`

	// Optimizer.
	LR          float64 `json:"lr" usage:"peak learning rate" topic:"Optimizer" for:"sft,rft,grpo"`
	Schedule    string  `json:"schedule" usage:"learning-rate schedule: constant, linear or cosine" topic:"Optimizer" for:"sft,rft,grpo"`
	Warmup      int     `json:"warmup" usage:"linear warm-up steps" topic:"Optimizer" for:"sft,rft,grpo"`
	MinLR       float64 `json:"min_lr" usage:"final learning rate of the cosine and linear schedules" topic:"Optimizer" for:"sft,rft,grpo"`
	WeightDecay float64 `json:"weight_decay" usage:"AdamW decoupled weight decay (matmul weights only)" topic:"Optimizer" for:"sft,rft,grpo"`
	ClipNorm    float64 `json:"clip_norm" usage:"global gradient-norm clip; 0 is off" topic:"Optimizer" for:"sft,rft,grpo"`
	Beta1       float64 `json:"beta1" usage:"AdamW beta1" topic:"Optimizer" for:"sft,rft,grpo"`
	Beta2       float64 `json:"beta2" usage:"AdamW beta2" topic:"Optimizer" for:"sft,rft,grpo"`
	AdamEps     float64 `json:"adam_eps" usage:"AdamW epsilon, added to sqrt(v_hat)" topic:"Optimizer" for:"sft,rft,grpo"`
	MicroBatch  int     `json:"micro_batch" usage:"rows of the training graph per pass, each packing as many whole sequences as fit (the gradient does not depend on it)" topic:"Optimizer" for:"sft,rft,grpo"`

	// Supervised warm start.
	BatchSize int `json:"batch_size" usage:"sequences per optimizer step (--from-samples: verified completions per step)" topic:"Supervised warm start" for:"sft,rft"`
	SFTData   int `json:"sft_data" usage:"size of the supervised dataset: a fixed set of this many problems per task (family:level), drawn from again and again; 0 draws a fresh problem every time" topic:"Supervised warm start" for:"sft"`

	// Sampling (GRPO rollouts and rejection sampling; max_new also bounds validation decoding).
	Prompts     int     `json:"prompts" usage:"prompts per step (P)" topic:"Sampling" for:"grpo"`
	Group       int     `json:"group" usage:"completions per prompt (G)" topic:"Sampling" for:"rft,grpo"`
	MaxNew      int     `json:"max_new" usage:"completion length limit in tokens" topic:"Sampling" for:"sft,rft,grpo"`
	Temperature float64 `json:"temperature" usage:"sampling temperature (log-probs are computed at the same temperature)" topic:"Sampling" for:"rft,grpo"`
	TopK        int     `json:"top_k" usage:"sample from the k most likely tokens; 0 is off" topic:"Sampling" for:"rft,grpo"`
	TopP        float64 `json:"top_p" usage:"nucleus sampling mass; 1 is off" topic:"Sampling" for:"rft,grpo"`

	// GRPO objective (see docs/method.md).
	Loss          string  `json:"loss" usage:"token aggregation: grpo, dapo, dr_grpo or bnpo (bnpo equals dapo by design: its normaliser is the rollout batch's token count, not a micro-batch's, so the gradient does not depend on micro-batching)" topic:"GRPO objective" for:"grpo"`
	Scale         string  `json:"scale" usage:"advantage scaling: group, batch or none (Dr. GRPO)" topic:"GRPO objective" for:"grpo"`
	Advantage     string  `json:"advantage" usage:"advantage estimator: grpo ((r - group mean) scaled by scale), rloo (r_i - mean of the group's others, Ahmadian et al. 2024), reinforce_pp (group mean subtracted, then whitened over the batch's tokens: REINFORCE++-baseline, Hu et al. 2025) or passk (the group's pass@k, passk_k, Chen et al. 2025); scale applies to grpo only" topic:"GRPO objective" for:"grpo"`
	PasskK        int     `json:"passk_k" usage:"advantage passk: k, the size of the subsets whose best reward is optimised, 1 to group-1" topic:"GRPO objective" for:"grpo"`
	RefResetEvery int     `json:"ref_reset_every" usage:"every N steps the reference policy becomes a copy of the current one (ProRL, Liu et al. 2025; train needs beta > 0 or ref_reset_optimizer), or with sft --from-samples the sampler does (iterated rejection sampling, expert iteration); 0 is off" topic:"Reference reset" for:"rft,grpo"`
	RefResetOpt   bool    `json:"ref_reset_optimizer" usage:"at each reference reset also zero the AdamW moments and step count, as a fresh optimizer's (ProRL)" topic:"Reference reset" for:"rft,grpo"`
	EpsLow        float64 `json:"eps_low" usage:"lower clip range of the ratio" topic:"GRPO objective" for:"grpo"`
	EpsHigh       float64 `json:"eps_high" usage:"upper clip range of the ratio (DAPO clip-higher: 0.28)" topic:"GRPO objective" for:"grpo"`
	DualClip      float64 `json:"dual_clip" usage:"dual-clip constant c for negative advantages; 0 is off" topic:"GRPO objective" for:"grpo"`
	Beta          float64 `json:"beta" usage:"weight of the KL penalty to the frozen reference; 0 is off (and the reference scores nothing, so kl is not logged: see log_kl)" topic:"GRPO objective" for:"grpo"`
	KL            string  `json:"kl" usage:"KL estimator of KL(pi||ref), d = logp - ref: k1 (d; its coefficient is constant, zero gradient in expectation: with beta > 0 only noise), k2 (d^2/2; its gradient is that of KL(pi||ref)), k3 (exp(-d)+d-1; its gradient estimates the forward KL(ref||pi)) or k3_k2grad (k3's value, k2's gradient: verl's k3+); d is clamped to [-20, 20] before exp and k3 to at most 10, as verl" topic:"GRPO objective" for:"grpo"`
	// LogKL keeps the kl diagnostic at beta 0. omitempty: at its default
	// the config's JSON, hence RunID and every existing run id, is what it
	// was before the field (TestRunIDUnchangedByLogKL).
	LogKL         bool    `json:"log_kl,omitempty" usage:"at beta 0, score the reference anyway to log kl (costs a reference pass per step); with beta > 0 kl is always logged and log_kl is refused" topic:"GRPO objective" for:"grpo"`
	EntropyCoef   float64 `json:"entropy_coef" usage:"weight of the entropy bonus (the loss subtracts it times the policy's aggregated entropy); 0 is off" topic:"GRPO objective" for:"grpo"`
	Mu            int     `json:"mu" usage:"policy-update passes per rollout batch" topic:"GRPO objective" for:"grpo"`
	Dynamic       bool    `json:"dynamic" usage:"dynamic sampling: drop zero-variance groups and refill (DAPO); with advantage passk also the groups whose advantages are all 0 (every k-subset holds the best reward)" topic:"GRPO objective" for:"grpo"`
	MaxRefill     int     `json:"max_refill" usage:"dynamic sampling: extra rollout rounds allowed per step" topic:"GRPO objective" for:"grpo"`
	MaskTruncated bool    `json:"mask_truncated" usage:"leave truncated completions out of the loss" topic:"GRPO objective" for:"grpo"`
	AdvEps        float64 `json:"adv_eps" usage:"added to the reward std before dividing (scale group or batch), so that a group whose rewards barely differ does not get huge advantages (TRL: 1e-4)" topic:"GRPO objective" for:"grpo"`

	// GRPO objective: the sequence ratio, the sampler correction and the
	// high-entropy token mask (rl/objective: RatioSequence, ISTIS, HighEntropyMask).
	RatioLevel     string  `json:"ratio_level" usage:"importance ratio: token (PPO/GRPO: rho_t per token) or sequence (GSPO, Zheng et al. 2025: s_i = exp(mean_t(logp_t - old_t)) per completion, clipped by gspo_eps_low/high; matters only with mu > 1)" topic:"GRPO objective" for:"grpo"`
	GSPOEpsLow     float64 `json:"gspo_eps_low" usage:"ratio_level sequence: lower clip range of s_i (GSPO: 3e-4)" topic:"GRPO objective" for:"grpo"`
	GSPOEpsHigh    float64 `json:"gspo_eps_high" usage:"ratio_level sequence: upper clip range of s_i (GSPO: 4e-4)" topic:"GRPO objective" for:"grpo"`
	ISCorrection   string  `json:"is_correction" usage:"sampler/trainer mismatch correction (Yao et al. 2025) of each token's policy-gradient term by r = p_old/q, q the top-k/top-p sampler's probability: none, tis (weight min(r, is_cap)) or mis (weight r, 0 above is_cap); without top-k/top-p r is exactly 1" topic:"GRPO objective" for:"grpo"`
	ISCap          float64 `json:"is_cap" usage:"cap C of is_correction tis and mis (verl: 2)" topic:"GRPO objective" for:"grpo"`
	EntropyTopFrac float64 `json:"entropy_top_frac" usage:"apply the policy gradient only to this fraction of the batch's completion tokens with the highest sampling entropy (Wang et al. 2025: 0.2; ties by completion, then position); the KL and the normaliser keep every token; 1 is off" topic:"GRPO objective" for:"grpo"`

	// Rewards.
	Reward         string  `json:"reward" usage:"reward source: verifier, or a control arm: shuffle (each group's rewards permuted within the group: same per-prompt success rate and zero-variance groups, no link to the completion) or bernoulli (each completion's correctness term is 1 with probability random_p, independently; the format and length terms stay real). The old 'random' (a batch-wide shuffle that broke the group structure) is refused" topic:"Rewards" for:"grpo"`
	RandomP        float64 `json:"random_p" usage:"reward bernoulli: probability of the correctness reward (Shao et al. 2025 use 0.5); only with --reward bernoulli" topic:"Rewards" for:"grpo"`
	RewardCorrect  float64 `json:"reward_correct" usage:"weight of the correctness reward" topic:"Rewards" for:"grpo"`
	RewardFormat   float64 `json:"reward_format" usage:"weight of the format reward" topic:"Rewards" for:"grpo"`
	FormatBad      float64 `json:"format_bad" usage:"format term of a completion with an invalid format or cut off: 0 (no reward) or negative (a penalty); a valid one gets 1" topic:"Rewards" for:"grpo"`
	RewardLength   float64 `json:"reward_length" usage:"weight of the linear length penalty (-len/max_new); 0 is off" topic:"Rewards" for:"grpo"`
	Overlong       float64 `json:"overlong" usage:"weight of DAPO's soft overlong penalty; 0 is off" topic:"Rewards" for:"grpo"`
	OverlongWindow int     `json:"overlong_window" usage:"tokens before max_new over which the overlong penalty ramps" topic:"Rewards" for:"grpo"`

	// Curriculum.
	Curriculum           bool    `json:"curriculum" usage:"move each family's level up or down from its rolling success rate" topic:"Curriculum" for:"grpo"`
	CurriculumWindow     int     `json:"curriculum_window" usage:"recent outcomes kept per family" topic:"Curriculum" for:"grpo"`
	CurriculumMinSamples int     `json:"curriculum_min_samples" usage:"outcomes needed at the current level before it may move" topic:"Curriculum" for:"grpo"`
	CurriculumUp         float64 `json:"curriculum_up" usage:"move a family up when its rolling success rate is at least this" topic:"Curriculum" for:"grpo"`
	CurriculumDown       float64 `json:"curriculum_down" usage:"move a family down when its rolling success rate is at most this" topic:"Curriculum" for:"grpo"`

	// Evaluation and checkpoints.
	EvalEvery    int `json:"eval_every" usage:"validation greedy pass@1 every N steps; 0 is off" topic:"Evaluation and checkpoints" for:"sft,rft,grpo"`
	EvalProblems int `json:"eval_problems" usage:"validation problems per family and level" topic:"Evaluation and checkpoints" for:"sft,rft,grpo"`
	SaveEvery    int `json:"save_every" usage:"write a checkpoint every N steps (and at the end)" topic:"Evaluation and checkpoints" for:"sft,rft,grpo"`
	KeepLast     int `json:"keep_last" usage:"checkpoints kept: the last N (plus best and every keep_every-th)" topic:"Evaluation and checkpoints" for:"sft,rft,grpo"`
	KeepEvery    int `json:"keep_every" usage:"also keep every K-th step's checkpoint; 0 is off" topic:"Evaluation and checkpoints" for:"sft,rft,grpo"`
	MaxNonFinite int `json:"max_nonfinite" usage:"stop after this many non-finite steps in a row" topic:"Evaluation and checkpoints" for:"sft,rft,grpo"`
}

// DefaultRandomP is the default random_p: Shao et al.'s p = 0.5. A config
// with another reward source must leave random_p at it.
const DefaultRandomP = 0.5

// DefaultSFTConfig returns the warm-start defaults.
func DefaultSFTConfig() Config {
	c := defaultConfig()
	c.Steps = 300
	c.LR = 3e-3
	c.Warmup = 20
	c.Schedule = "cosine"
	c.MinLR = 3e-4
	c.MicroBatch = 8
	return c
}

// DefaultTrainConfig returns the GRPO defaults.
func DefaultTrainConfig() Config {
	c := defaultConfig()
	c.Steps = 60
	c.LR = 1e-4
	c.Warmup = 0
	c.Schedule = "constant"
	c.EvalEvery = 20
	c.SaveEvery = 20
	return c
}

func defaultConfig() Config {
	adv, rew, cur := objective.DefaultAdvantageConfig(), objective.DefaultRewardConfig(), objective.DefaultCurriculumConfig()
	return Config{
		Seed: 1, Tasks: "add:1-2,sort:1-2", Workers: 2, Preset: "small",
		Beta1: 0.9, Beta2: 0.95, AdamEps: model.DefaultAdamWConfig().Eps, WeightDecay: 0.01, ClipNorm: 1, MicroBatch: 16,
		BatchSize: 32,
		Prompts:   8, Group: 8, MaxNew: 48, Temperature: 1, TopK: 0, TopP: 1,
		Loss: objective.AggGRPO, Scale: objective.ScaleGroup, EpsLow: 0.2, EpsHigh: 0.2, Beta: 0.0, KL: objective.KL3, Mu: 1, AdvEps: adv.Eps,
		Advantage: adv.Estimator, PasskK: adv.K,
		MaxRefill: 2,
		Reward:    objective.RewardVerifier, RandomP: DefaultRandomP, RewardCorrect: 1, RewardFormat: 0.1, FormatBad: rew.FormatBad, OverlongWindow: 16,
		RatioLevel: objective.RatioToken, GSPOEpsLow: 3e-4, GSPOEpsHigh: 4e-4, ISCorrection: objective.ISNone, ISCap: 2, EntropyTopFrac: 1,
		CurriculumWindow: cur.Window, CurriculumMinSamples: cur.MinSamples, CurriculumUp: cur.Up, CurriculumDown: cur.Down,
		EvalEvery: 50, EvalProblems: 32, SaveEvery: 50, KeepLast: 2, KeepEvery: 0, MaxNonFinite: 5,
	}
}

// Validate explains every value that is bad in any mode. ValidateFor adds
// the checks that depend on the mode; the trainers and commands run that.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, v any, want string) {
		errs = append(errs, fmt.Errorf("rl: config %s = %v: want %s", key, v, want))
	}
	if c.Steps < 1 {
		bad("steps", c.Steps, "a value >= 1 (a run of no steps writes no checkpoint)")
	}
	if mix, err := data.ParseMixture(c.Tasks); err != nil {
		errs = append(errs, fmt.Errorf("rl: config tasks: %w", err))
	} else {
		for _, it := range mix {
			if it.Level >= data.MaxLevel {
				errs = append(errs, fmt.Errorf("rl: config tasks %q: level %d of %s is out-of-distribution, for eval and sample only: want training levels 1-%d",
					c.Tasks, it.Level, it.Family, data.MaxLevel-1))
				break
			}
		}
	}
	if _, err := model.Preset(c.Preset, 1); err != nil {
		errs = append(errs, fmt.Errorf("rl: config preset: %w", err))
	}
	if c.Workers < 1 || c.Workers > 256 {
		bad("workers", c.Workers, "1 to 256")
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		bad("lr", c.LR, "a finite value > 0")
	}
	switch c.Schedule {
	case "constant", "linear", "cosine":
	default:
		bad("schedule", c.Schedule, "constant, linear or cosine")
	}
	if c.Warmup < 0 {
		bad("warmup", c.Warmup, "a value >= 0")
	}
	if !(c.MinLR >= 0) || math.IsInf(c.MinLR, 0) {
		bad("min_lr", c.MinLR, "a finite value >= 0")
	}
	if !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0) {
		bad("weight_decay", c.WeightDecay, "a finite value >= 0")
	}
	if !(c.ClipNorm >= 0) {
		bad("clip_norm", c.ClipNorm, "a value >= 0 (0 is off)")
	}
	if !(c.Beta1 >= 0 && c.Beta1 < 1) {
		bad("beta1", c.Beta1, "a value in [0, 1)")
	}
	if !(c.Beta2 >= 0 && c.Beta2 < 1) {
		bad("beta2", c.Beta2, "a value in [0, 1)")
	}
	if !(c.AdamEps > 0) || math.IsInf(c.AdamEps, 0) {
		bad("adam_eps", c.AdamEps, "a finite value > 0")
	}
	if c.MicroBatch < 1 || c.MicroBatch > 4096 {
		bad("micro_batch", c.MicroBatch, "1 to 4096")
	}
	if c.SFTData < 0 {
		bad("sft_data", c.SFTData, "a value >= 0 (0: a fresh problem every time)")
	}
	if c.BatchSize < 1 || c.BatchSize > 1<<16 {
		bad("batch_size", c.BatchSize, "1 to 65536")
	}
	if c.Prompts < 1 || c.Prompts > 4096 {
		bad("prompts", c.Prompts, "1 to 4096")
	}
	if c.Group < 2 || c.Group > 1024 {
		bad("group", c.Group, "2 to 1024 (a group of one has no advantage)")
	}
	if c.MaxNew < 1 || c.MaxNew > 4096 {
		bad("max_new", c.MaxNew, "1 to 4096")
	}
	if !(c.Temperature > 0) || c.Temperature > 100 {
		bad("temperature", c.Temperature, "a value in (0, 100]")
	}
	if c.TopK < 0 {
		bad("top_k", c.TopK, "a value >= 0 (0 is off)")
	}
	if !(c.TopP > 0 && c.TopP <= 1) {
		bad("top_p", c.TopP, "a value in (0, 1]")
	}
	// LossConfig reads is_cap only with a correction on and takes
	// entropy_top_frac 0 as its zero value (off); a run's config may not.
	def := defaultConfig()
	if lc := c.LossConfig(); !lc.IsCorrection() && (!(c.ISCap > 0) || math.IsInf(c.ISCap, 0)) {
		bad("is_cap", c.ISCap, "a finite value > 0 (verl: 2)")
	} else if !lc.IsCorrection() && c.ISCap != def.ISCap {
		bad("is_cap", c.ISCap, fmt.Sprintf("is_correction tis or mis to use it (is_correction = %s)", c.ISCorrection))
	}
	// Each ratio level reads its own clip range: a setting of the other's
	// would be silently ignored.
	if c.RatioLevel == objective.RatioSequence {
		if c.EpsLow != def.EpsLow {
			bad("eps_low", c.EpsLow, "ratio_level token to use it (ratio_level sequence clips by gspo_eps_low/high)")
		}
		if c.EpsHigh != def.EpsHigh {
			bad("eps_high", c.EpsHigh, "ratio_level token to use it (ratio_level sequence clips by gspo_eps_low/high)")
		}
	} else {
		if c.GSPOEpsLow != def.GSPOEpsLow {
			bad("gspo_eps_low", c.GSPOEpsLow, fmt.Sprintf("ratio_level sequence to use it (ratio_level = %s)", c.RatioLevel))
		}
		if c.GSPOEpsHigh != def.GSPOEpsHigh {
			bad("gspo_eps_high", c.GSPOEpsHigh, fmt.Sprintf("ratio_level sequence to use it (ratio_level = %s)", c.RatioLevel))
		}
	}
	if c.EntropyTopFrac == 0 {
		bad("entropy_top_frac", c.EntropyTopFrac, "a fraction in (0, 1] (1 keeps every token; the paper: 0.2)")
	}
	if err := c.LossConfig().Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.AdvantageConfig().Validate(); err != nil {
		errs = append(errs, err)
	}
	c.validateEstimator(bad)
	if err := c.RewardConfig().Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.CurriculumConfig().Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Mu < 1 || c.Mu > 64 {
		bad("mu", c.Mu, "1 to 64")
	}
	if c.MaxRefill < 0 {
		bad("max_refill", c.MaxRefill, "a value >= 0")
	}
	switch c.Reward {
	case objective.RewardVerifier, objective.RewardShuffle, objective.RewardBernoulli:
	case "random":
		bad("reward", c.Reward, "verifier, shuffle or bernoulli (random, a batch-wide shuffle, is gone: it broke the group structure; shuffle is the matched control)")
	default:
		bad("reward", c.Reward, "verifier, shuffle or bernoulli")
	}
	switch {
	case !(c.RandomP >= 0 && c.RandomP <= 1):
		bad("random_p", c.RandomP, "a probability in [0, 1]")
	case c.RandomP != DefaultRandomP && c.Reward != objective.RewardBernoulli:
		bad("random_p", c.RandomP, fmt.Sprintf("reward bernoulli to use it (reward = %s)", c.Reward))
	}
	if c.LogKL && c.Beta != 0 {
		bad("log_kl", c.LogKL, fmt.Sprintf("beta 0 to use it (with beta = %v the reference is scored for the KL term and kl is logged anyway)", c.Beta))
	}
	if c.EvalEvery < 0 {
		bad("eval_every", c.EvalEvery, "a value >= 0 (0 is off)")
	}
	if c.EvalProblems < 1 {
		bad("eval_problems", c.EvalProblems, "a value >= 1")
	}
	if c.SaveEvery < 1 {
		bad("save_every", c.SaveEvery, "a value >= 1")
	}
	if c.KeepLast < 1 {
		bad("keep_last", c.KeepLast, "a value >= 1")
	}
	if c.KeepEvery < 0 {
		bad("keep_every", c.KeepEvery, "a value >= 0 (0 is off)")
	}
	if c.MaxNonFinite < 1 {
		bad("max_nonfinite", c.MaxNonFinite, "a value >= 1")
	}
	return errors.Join(errs...)
}

// validateEstimator reports the advantage and reference-reset settings
// that cannot apply: a setting of one estimator given to another, a passk k
// of the group size or more, a negative reset period, an optimizer reset
// without one (ValidateFor adds the mode's). Each is one line through bad.
func (c Config) validateEstimator(bad func(key string, v any, want string)) {
	adv := objective.DefaultAdvantageConfig()
	if c.Advantage == "" {
		bad("advantage", `""`, "grpo, rloo, reinforce_pp or passk")
	}
	if c.Scale != adv.Scale && c.Advantage != objective.EstGRPO {
		bad("scale", c.Scale, fmt.Sprintf("advantage grpo to use it (advantage = %s normalises its own way; leave scale at group)", c.Advantage))
	}
	if c.AdvEps != adv.Eps && c.Advantage == objective.EstRLOO {
		bad("adv_eps", c.AdvEps, "advantage grpo, reinforce_pp or passk to use it (rloo divides by nothing)")
	}
	switch {
	case c.Advantage == objective.EstPassK && c.PasskK >= c.Group:
		// k = G: the one subset is the whole group, every advantage is 0.
		bad("passk_k", c.PasskK, fmt.Sprintf("1 to group-1 = %d (with k = group every k-subset is the group: all advantages 0)", c.Group-1))
	case c.Advantage != objective.EstPassK && c.PasskK != adv.K:
		bad("passk_k", c.PasskK, fmt.Sprintf("advantage passk to use it (advantage = %s)", c.Advantage))
	}
	switch {
	case c.RefResetEvery < 0:
		bad("ref_reset_every", c.RefResetEvery, "a value >= 0 (0 is off)")
	case c.RefResetEvery == 0 && c.RefResetOpt:
		bad("ref_reset_optimizer", c.RefResetOpt, "ref_reset_every >= 1 to use it")
	}
}

// ValidateFor is Validate plus the checks that depend on the mode the
// config trains in: a reset period in SFT, which has no second policy, and
// a GRPO reset with nothing to reset (with beta 0 the reference enters no
// term). An RFT reset always matters: the sampler becomes the policy.
func (c Config) ValidateFor(m Mode) error {
	err := c.Validate()
	bad := func(key string, v any, want string) {
		err = errors.Join(err, fmt.Errorf("rl: config %s = %v: want %s", key, v, want))
	}
	switch {
	case m == SFT && c.RefResetEvery > 0:
		bad("ref_reset_every", c.RefResetEvery, "0 in a supervised warm start (sft --from-samples or train reset a policy; sft has one)")
	case m == GRPO && c.RefResetEvery > 0 && c.Beta == 0 && !c.RefResetOpt:
		bad("ref_reset_every", c.RefResetEvery, "beta > 0 or ref_reset_optimizer: with beta 0 the reference enters no term, so a reset would change nothing")
	}
	return err
}

// ScoresReference reports whether a GRPO step scores its completions under
// the frozen reference: for the KL term (beta > 0), or at beta 0 only to
// log kl (log_kl). Without it the reference's engine is never built.
func (c Config) ScoresReference() bool { return c.Beta > 0 || c.LogKL }

// LossConfig returns the GRPO loss settings.
func (c Config) LossConfig() objective.LossConfig {
	return objective.LossConfig{Agg: c.Loss, EpsLow: c.EpsLow, EpsHigh: c.EpsHigh, DualClip: c.DualClip,
		Beta: c.Beta, KL: c.KL, MaskTruncated: c.MaskTruncated, MaxNew: c.MaxNew, EntropyCoef: c.EntropyCoef,
		RatioLevel: c.RatioLevel, GSPOEpsLow: c.GSPOEpsLow, GSPOEpsHigh: c.GSPOEpsHigh, ISCorrection: c.ISCorrection, ISCap: c.ISCap,
		EntropyTopFrac: c.EntropyTopFrac}
}

// AdvantageConfig returns the advantage settings.
func (c Config) AdvantageConfig() objective.AdvantageConfig {
	a := objective.DefaultAdvantageConfig()
	a.Estimator, a.Scale, a.Eps, a.K = c.Advantage, c.Scale, c.AdvEps, c.PasskK
	return a
}

// RewardConfig returns the reward weights.
func (c Config) RewardConfig() objective.RewardConfig {
	r := objective.DefaultRewardConfig()
	r.Correct, r.Format, r.FormatBad, r.Length = c.RewardCorrect, c.RewardFormat, c.FormatBad, c.RewardLength
	if c.RewardLength > 0 {
		r.LengthScale = c.MaxNew
	}
	r.Overlong = c.Overlong
	if c.Overlong > 0 {
		r.OverlongMax = c.MaxNew
		r.OverlongCache = min(max(c.OverlongWindow, 1), c.MaxNew)
	}
	return r
}

// CurriculumConfig returns the curriculum settings: the levels of
// DefaultCurriculumConfig with the window and thresholds of the config.
func (c Config) CurriculumConfig() objective.CurriculumConfig {
	cc := objective.DefaultCurriculumConfig()
	cc.Window, cc.MinSamples, cc.Up, cc.Down = c.CurriculumWindow, c.CurriculumMinSamples, c.CurriculumUp, c.CurriculumDown
	return cc
}

// DecodeConfig reads a JSON config over base: keys present in the file
// replace base's values. The file must be one JSON object whose keys are
// spelled exactly as in config.json (encoding/json alone would match "Steps"
// to steps) and whose values are not null (which would leave base's value
// in place silently); anything else is an error naming the key.
func DecodeConfig(raw []byte, base Config, name string) (Config, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		return base, fmt.Errorf("rl: config %s: %v: want one JSON object of settings", name, err)
	}
	if obj == nil {
		return base, fmt.Errorf("rl: config %s: null: want one JSON object of settings", name)
	}
	if dec.More() {
		return base, fmt.Errorf("rl: config %s: more than one JSON object: want exactly one", name)
	}
	if k, ok := repeatedKey(raw); ok {
		return base, fmt.Errorf("rl: config %s: key %q appears twice: want each key once (a JSON decoder keeps the last one silently)", name, k)
	}
	keys := configKeys()
	for k, v := range obj {
		if !keys[k] {
			return base, fmt.Errorf("rl: config %s: unknown key %q: want a key of config.json: a flag of 'tinyr1 sft --help' or 'tinyr1 train --help' with _ for - (lower case)", name, k)
		}
		if string(bytes.TrimSpace(v)) == "null" {
			return base, fmt.Errorf("rl: config %s: key %q is null: want a value", name, k)
		}
	}
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	c := base
	if err := strict.Decode(&c); err != nil {
		return base, fmt.Errorf("rl: config %s: %v", name, err)
	}
	return c, nil
}

// repeatedKey returns the first key that appears twice in the top-level
// object raw (already decoded once, so well-formed).
func repeatedKey(raw []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return "", false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		k, _ := tok.(string)
		if seen[k] {
			return k, true
		}
		seen[k] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", false
		}
	}
	return "", false
}

// DiffKeys returns the config-file keys whose values differ between a and
// b, in field order.
func DiffKeys(a, b Config) []string {
	var keys []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := 0; i < t.NumField(); i++ {
		if va.Field(i).Interface() != vb.Field(i).Interface() {
			keys = append(keys, strings.Split(t.Field(i).Tag.Get("json"), ",")[0])
		}
	}
	return keys
}

// configKeys returns the config-file keys of Config.
func configKeys() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		keys[strings.Split(t.Field(i).Tag.Get("json"), ",")[0]] = true
	}
	return keys
}

// MaxConfigBytes bounds a config file: every key with a long value fits in
// a few kilobytes, so a bigger file (or /dev/zero) is not a config.
const MaxConfigBytes = 1 << 20

// LoadConfig reads a JSON config file of at most MaxConfigBytes over base.
func LoadConfig(path string, base Config) (Config, error) {
	raw, err := ReadConfigFile(path)
	if err != nil {
		return base, err
	}
	return DecodeConfig(raw, base, path)
}

// ReadConfigFile reads a config file of at most MaxConfigBytes, once: a
// pipe or /dev/stdin cannot be read twice.
func ReadConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rl: config: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("rl: config %s: %w", path, err)
	}
	if len(raw) > MaxConfigBytes {
		return nil, fmt.Errorf("rl: config %s: more than %d bytes: want a JSON object of settings of at most 1 MiB", path, MaxConfigBytes)
	}
	return raw, nil
}
