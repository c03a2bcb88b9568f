package train

import (
	"fmt"

	"tinyr1/rl/objective"
)

// controlRewards replaces the verifier's rewards of group g (already in
// g.rewards, with their terms in g.parts) by those of the control arm
// Cfg.Reward (objective's control.go); with RewardVerifier it does nothing.
func (t *Trainer) controlRewards(g *group) {
	switch t.Cfg.Reward {
	case objective.RewardVerifier:
	case objective.RewardShuffle:
		objective.ShuffleRewards(g.rewards, newRand(t.Cfg.Seed, streamRandom, uint64(t.Step), uint64(g.index)))
	case objective.RewardBernoulli:
		objective.BernoulliRewards(g.rewards, g.parts, t.Cfg.RewardConfig(), t.Cfg.RandomP, func(s int) float64 {
			return uniform(t.Cfg.Seed, streamBernoulli, uint64(t.Step), uint64(g.index), uint64(s))
		})
	default:
		panic(fmt.Sprintf("rl: unknown reward source %q: want verifier, shuffle or bernoulli", t.Cfg.Reward))
	}
}
