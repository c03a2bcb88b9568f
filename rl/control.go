package rl

import (
	"fmt"
	"math/rand/v2"

	"tinyr1/model"
)

// Reward sources accepted by Config.Reward. The two controls tell learning
// from the verifier's signal apart from learning from the update itself
// (noise, the clip, the format terms): each one keeps the real arm's
// rollouts, reward weights and every other setting, and cuts the link
// between the correctness reward and the completion that earned it.
//
// Both are applied to each group as soon as it is scored (rolloutGroups),
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

// controlRewards replaces the verifier's rewards of group g (already in
// g.rewards, with their terms in g.parts) by those of the control arm
// Cfg.Reward; with RewardVerifier it does nothing.
func (t *Trainer) controlRewards(g *group) {
	switch t.Cfg.Reward {
	case RewardVerifier:
	case RewardShuffle:
		rng := newRand(t.Cfg.Seed, streamRandom, uint64(t.Step), uint64(g.index))
		rng.Shuffle(len(g.rewards), func(i, j int) { g.rewards[i], g.rewards[j] = g.rewards[j], g.rewards[i] })
	case RewardBernoulli:
		rc := t.Cfg.RewardConfig()
		for s, p := range g.parts {
			p.Correct = 0
			if bernoulli(t.Cfg.RandomP, t.Cfg.Seed, streamBernoulli, uint64(t.Step), uint64(g.index), uint64(s)) {
				p.Correct = 1
			}
			g.rewards[s] = rc.total(p)
		}
	default:
		panic(fmt.Sprintf("rl: unknown reward source %q: want verifier, shuffle or bernoulli", t.Cfg.Reward))
	}
}

// bernoulli returns true with probability p, from the first draw of the
// stream newRand(seed, coords...) gives: the same bits as
// newRand(...).Float64() < p, without allocating a generator (the PCG state
// lives on the stack; rand.Rand.Float64 is this expression).
func bernoulli(p float64, seed uint64, coords ...uint64) bool {
	var pcg rand.PCG
	s := DeriveSeed(seed, coords...)
	pcg.Seed(s, model.Mix64(s^0xda942042e4dd58b5))
	return float64(pcg.Uint64()<<11>>11)/(1<<53) < p
}
