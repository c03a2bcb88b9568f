package train

import (
	"fmt"
	"slices"
	"strings"

	"tinyr1/rl/objective"
)

// CheckUnread refuses a setting written out that the run would not read:
// set holds the config keys the user gave (flags, or an experiment file's
// overlay, which tinyr1 sweep turns into flags), and name renders a key as
// that user wrote it ("--random-p" for a flag, "random_p" for a key).
// Validate refuses such a setting only at a value other than its default;
// this refuses it at any value, since a setting written out says it was
// meant. tinyr1 train and tinyr1 sweep share it, so that a sweep refuses,
// before any job starts, every overlay its train jobs would be refused.
func (c Config) CheckUnread(set []string, name func(key string) string) error {
	has := func(key string) bool { return slices.Contains(set, key) }
	unread := func(key string, v any, other, want, why string) error {
		return fmt.Errorf("%s %v: want %s %s to use it (%s)", name(key), v, name(other), want, why)
	}
	if has("random_p") && c.Reward != objective.RewardBernoulli {
		return unread("random_p", c.RandomP, "reward", "bernoulli", "reward = "+c.Reward)
	}
	if has("scale") && c.Advantage != objective.EstGRPO {
		return unread("scale", c.Scale, "advantage", "grpo", "advantage = "+c.Advantage+" normalises its own way")
	}
	if has("passk_k") && c.Advantage != objective.EstPassK {
		return unread("passk_k", c.PasskK, "advantage", "passk", "advantage = "+c.Advantage)
	}
	// Each ratio level reads its own clip range.
	seq := c.RatioLevel == objective.RatioSequence
	clip := map[string]float64{"gspo_eps_low": c.GSPOEpsLow, "gspo_eps_high": c.GSPOEpsHigh, "eps_low": c.EpsLow, "eps_high": c.EpsHigh}
	for _, key := range []string{"gspo_eps_low", "gspo_eps_high", "eps_low", "eps_high"} {
		if !has(key) || seq == strings.HasPrefix(key, "gspo_") {
			continue
		}
		if seq {
			return unread(key, clip[key], "ratio_level", "token", "ratio_level sequence clips by "+name("gspo_eps_low")+"/high")
		}
		return unread(key, clip[key], "ratio_level", "sequence", "ratio_level = "+c.RatioLevel)
	}
	// With mu 1 the old log-probs are the policy's own, so every ratio
	// (token or sequence) is exactly 1 and no clip range acts: DAPO's
	// clip-higher, say, needs a second pass over the batch.
	if c.Mu == 1 {
		clip["dual_clip"] = c.DualClip
		for _, key := range []string{"eps_low", "eps_high", "dual_clip", "gspo_eps_low", "gspo_eps_high"} {
			if has(key) {
				return unread(key, clip[key], "mu", "2 or more", "with mu 1 every ratio is exactly 1: the old log-probs are the policy's own, so the clip never acts")
			}
		}
	}
	if has("is_cap") && !c.LossConfig().IsCorrection() {
		return unread("is_cap", c.ISCap, "is_correction", "tis or mis", "is_correction = "+c.ISCorrection)
	}
	return nil
}
