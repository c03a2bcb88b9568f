package objective

import "math/rand/v2"

// Reward sources accepted by Config.Reward. The two controls tell learning
// from the verifier's signal apart from learning from the update itself
// (noise, the clip, the format terms): each one keeps the real arm's
// rollouts, reward weights and every other setting, and cuts the link
// between the correctness reward and the completion that earned it.
//
// Both are applied to each group as soon as it is scored (the trainer's
// rolloutGroups),
// before dynamic sampling drops zero-variance groups and before any metric
// is taken, so every later stage sees them exactly as it sees the
// verifier's rewards in the real arm. The verdicts themselves (accuracy,
// format rate, the per-term reward_*_mean figures, the curriculum) stay the
// verifier's: they measure the policy, not the reward it was trained on.
const (
	// RewardVerifier: the reward of RewardConfig on the verifier's verdict.
	RewardVerifier = "verifier"
	// RewardShuffle permutes the rewards inside each group (a uniform
	// permutation per group from (seed, step, prompt)). Each group keeps its
	// multiset, so the per-prompt success rate, the reward distribution and
	// which groups have zero variance (zero_variance_frac, the groups that
	// dynamic sampling keeps) are exactly the real arm's; only which
	// completion gets which reward is random. The whole reward is permuted,
	// so the format and length terms lose their link too.
	RewardShuffle = "shuffle"
	// RewardBernoulli is the Spurious Rewards control (Shao et al. 2025):
	// each completion independently (a draw from (seed, step, prompt,
	// sample)) gets the correctness term 1 with probability RandomP and 0
	// otherwise, whatever its answer and whether or not it was truncated. The
	// format, length and overlong terms stay the real ones, with the same
	// weights:
	//
	//	r = RewardCorrect*B + RewardFormat*format + RewardLength*length + Overlong*overlong,  B ~ Bernoulli(p)
	//
	// The signal the experiment asks about is the verifier's judgement of
	// the answer, the correctness term; the other terms are shaping that
	// depends only on the surface of the completion (the contract, EOS, its
	// length) and that the real arm gets too. Replacing only the
	// correctness term makes the arms differ in that signal alone: what the
	// shaping teaches, both arms learn. (With format 0 and no length terms,
	// as in Shao et al., r is RewardCorrect*B.) Unlike shuffle, the success
	// rate is p, not the policy's, so zero_variance_frac is that of the
	// rewards the trainer uses (about p^G + (1-p)^G of the groups without
	// format variance) and is not the real arm's.
	RewardBernoulli = "bernoulli"
)

// ShuffleRewards permutes the rewards of one group with rng (RewardShuffle).
func ShuffleRewards(rewards []float64, rng *rand.Rand) {
	rng.Shuffle(len(rewards), func(i, j int) { rewards[i], rewards[j] = rewards[j], rewards[i] })
}

// BernoulliRewards replaces the correctness term of each completion s of one
// group, whose terms are parts, by a Bernoulli(p) draw (1 when u(s) < p,
// with u(s) a uniform draw in [0, 1) of completion s) and writes the total
// reward under rc into dst[s] (RewardBernoulli). It allocates nothing.
func BernoulliRewards(dst []float64, parts []RewardParts, rc RewardConfig, p float64, u func(s int) float64) {
	for s, pt := range parts {
		pt.Correct = 0
		if u(s) < p {
			pt.Correct = 1
		}
		dst[s] = rc.Total(pt)
	}
}
