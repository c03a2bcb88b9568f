package objective

import (
	"fmt"
	"math"
)

// Advantage scales accepted by AdvantageConfig.Scale.
const (
	ScaleGroup = "group" // divide by the group's reward std (GRPO)
	ScaleBatch = "batch" // divide by the std of every reward in the rollout batch
	ScaleNone  = "none"  // mean subtraction only (Dr. GRPO)
)

// Advantage estimators accepted by AdvantageConfig.Estimator (estimators.go).
const (
	EstGRPO        = "grpo"         // (r_i - mean_g) / (std + Eps), scaled by Scale (GRPO, Dr. GRPO)
	EstRLOO        = "rloo"         // r_i - mean_{j != i} r_j (Ahmadian et al. 2024)
	EstReinforcePP = "reinforce_pp" // group mean subtracted, then whitened over the batch's tokens (Hu et al. 2025)
	EstPassK       = "passk"        // pass@k of the group, analytic (Chen et al. 2025)
)

// AdvantageConfig selects the advantage estimator and how GRPO's
// group-relative advantages are scaled.
type AdvantageConfig struct {
	// Estimator is grpo (also ""), rloo, reinforce_pp or passk; Scale
	// applies to grpo only, Eps to grpo, reinforce_pp and passk.
	Estimator string `json:"estimator"`
	// Scale is "group" (GRPO: divide by the group's reward std), "batch"
	// (divide by the std of all rewards in the rollout batch) or "none"
	// (Dr. GRPO: subtract the group mean only).
	Scale string `json:"scale"`
	// Eps is added to the std before dividing, so that a group whose rewards
	// barely differ does not get huge advantages. TRL uses 1e-4.
	Eps float64 `json:"eps"`
	// K is passk's k: the size of the subsets whose best reward is
	// optimised, 1 to the group size.
	K int `json:"k"`
}

// DefaultPassK is passk's default k: half the default group of 8, so that
// a group holds several subsets that miss.
const DefaultPassK = 4

// DefaultAdvantageConfig returns GRPO's group scaling with TRL's eps.
func DefaultAdvantageConfig() AdvantageConfig {
	return AdvantageConfig{Estimator: EstGRPO, Scale: ScaleGroup, Eps: 1e-4, K: DefaultPassK}
}

// Validate reports the first bad field. That K is at most the group size
// is the caller's to check (the group size is not here).
func (c AdvantageConfig) Validate() error {
	switch c.Estimator {
	case "", EstGRPO, EstRLOO, EstReinforcePP:
	case EstPassK:
		if c.K < 1 {
			return fmt.Errorf("rl: passk k %d: want 1 to the group size", c.K)
		}
	default:
		return fmt.Errorf("rl: unknown advantage estimator %q: want grpo, rloo, reinforce_pp or passk", c.Estimator)
	}
	switch c.Scale {
	case ScaleGroup, ScaleBatch, ScaleNone:
	default:
		return fmt.Errorf("rl: unknown advantage scale %q: want group, batch or none", c.Scale)
	}
	if !(c.Eps >= 0) || math.IsInf(c.Eps, 0) {
		return fmt.Errorf("rl: advantage eps %v: want a finite value >= 0", c.Eps)
	}
	return nil
}

// Advantages writes the advantage of every completion into dst with the
// estimator of cfg. rewards is (P*G,): groups of groupSize consecutive
// completions of one prompt; lens is (P*G,), each completion's count of
// tokens in the loss (0 for one left out of it), read by reinforce_pp only
// (nil is fine for the others). dst may alias rewards except for passk,
// which uses dst as scratch and panics if it does.
// The estimators other than grpo are in estimators.go.
//
// grpo (Shao et al. 2024):
//
//	A_i = (r_i - mean_g) / (std + Eps)
//
// The std is the sample (Bessel-corrected, n-1) standard deviation, as torch's
// .std() in TRL's GRPOTrainer, so that runs compare with public ones: over the
// group for "group", over every reward of the batch for "batch" (TRL's
// scale_rewards="batch"); "none" divides by nothing. A group whose rewards
// are all equal carries no signal and gets exactly 0 (not 0/eps, and not NaN
// when Eps is 0); a group of size 1 is such a group.
//
// It panics if the shapes disagree or the estimator or scale is unknown
// (validate the config first). It allocates nothing.
func Advantages(dst, rewards []float64, lens []int, groupSize int, cfg AdvantageConfig) {
	checkGroups("Advantages", len(rewards), groupSize)
	if len(dst) != len(rewards) {
		panic(fmt.Sprintf("rl: Advantages: len(dst) = %d, want len(rewards) = %d", len(dst), len(rewards)))
	}
	switch cfg.Estimator {
	case "", EstGRPO:
	case EstRLOO:
		rlooAdvantages(dst, rewards, groupSize)
		return
	case EstReinforcePP:
		reinforcePPAdvantages(dst, rewards, lens, groupSize, cfg.Eps)
		return
	case EstPassK:
		passKAdvantages(dst, rewards, groupSize, cfg.K, cfg.Eps)
		return
	default:
		panic(fmt.Sprintf("rl: Advantages: unknown advantage estimator %q", cfg.Estimator))
	}
	var batchStd float64
	switch cfg.Scale {
	case ScaleGroup, ScaleNone:
	case ScaleBatch:
		_, batchStd = MeanSampleStd(rewards) // before any write: dst may alias rewards
	default:
		panic(fmt.Sprintf("rl: Advantages: unknown advantage scale %q: want group, batch or none", cfg.Scale))
	}
	for g := 0; g < len(rewards); g += groupSize {
		r, a := rewards[g:g+groupSize], dst[g:g+groupSize] // (G,)
		if constant(r) {
			clear(a)
			continue
		}
		mean, std := MeanSampleStd(r)
		inv := 1.0
		switch cfg.Scale {
		case ScaleGroup:
			inv = 1 / (std + cfg.Eps)
		case ScaleBatch:
			inv = 1 / (batchStd + cfg.Eps)
		}
		for i, x := range r {
			a[i] = (x - mean) * inv
		}
	}
}

// ZeroVarianceGroups returns how many groups of groupSize consecutive rewards
// have all rewards equal (such groups carry no gradient signal; DAPO's dynamic
// sampling drops them). docs/method.md asks for this fraction in every step's log.
func ZeroVarianceGroups(rewards []float64, groupSize int) int {
	checkGroups("ZeroVarianceGroups", len(rewards), groupSize)
	n := 0
	for g := 0; g < len(rewards); g += groupSize {
		if constant(rewards[g : g+groupSize]) {
			n++
		}
	}
	return n
}

// checkGroups panics unless n rewards split into whole groups of size groupSize.
func checkGroups(fn string, n, groupSize int) {
	if groupSize < 1 || n%groupSize != 0 {
		panic(fmt.Sprintf("rl: %s: %d rewards do not split into groups of %d", fn, n, groupSize))
	}
}

// constant reports whether every element of r equals the first.
func constant(r []float64) bool {
	for _, x := range r {
		if x != r[0] {
			return false
		}
	}
	return true
}

// MeanSampleStd returns the mean and the Bessel-corrected standard deviation
// sqrt(sum (x-mean)^2 / (n-1)) of x, two-pass for accuracy; std is 0 for n < 2.
func MeanSampleStd(x []float64) (mean, std float64) {
	if len(x) == 0 {
		return 0, 0
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(x)-1))
}
