package train

import (
	"math"
	"slices"
	"testing"

	"tinyr1/rl/objective"
)

// TestEstimatorsReachTheUpdate: advantages are data of the objective (the
// coefficients take them as given; TestGRPOObjectiveFiniteDifferenceModel
// holds the coefficients for any advantages), so what the trainer must get
// right is to hand each estimator the step's rewards and completion lengths
// and the update the result. The first step's rollouts do not depend on the
// estimator, so grpo with scale none gives d = r - group mean of the very
// completions each estimator sees, and every estimator is invariant to a
// shift of a group's rewards: its advantages must equal the estimator
// applied to d and the completions' lengths.
func TestEstimatorsReachTheUpdate(t *testing.T) {
	type step struct {
		seqs [][]int
		lens []int
		adv  []float64
	}
	first := func(edit func(*Config)) step {
		cfg := fixtureGRPO()
		edit(&cfg)
		var s step
		stepOnce(t, cfg, func(tr *Trainer) {
			tr.advHook = func(seqs [][]int, plen []int, adv []float64) {
				s.seqs, s.adv = seqs, slices.Clone(adv)
				for i := range seqs {
					s.lens = append(s.lens, len(seqs[i])-plen[i])
				}
			}
		})
		return s
	}
	base := first(func(c *Config) { c.Scale = objective.ScaleNone })
	signal := false
	for _, a := range base.adv {
		signal = signal || a != 0
	}
	if !signal {
		t.Fatal("every group of the fixture's first step has equal rewards: the test needs signal")
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{objective.EstRLOO, func(c *Config) { c.Advantage = objective.EstRLOO }},
		{objective.EstReinforcePP, func(c *Config) { c.Advantage = objective.EstReinforcePP }},
		{objective.EstPassK, func(c *Config) { c.Advantage, c.PasskK = objective.EstPassK, 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := first(tc.edit)
			for i := range got.seqs {
				if !slices.Equal(got.seqs[i], base.seqs[i]) {
					t.Fatalf("completion %d differs from the grpo run's: the estimator changed the rollout", i)
				}
			}
			// The estimator's settings spelled out, not through
			// Config.AdvantageConfig, which is under test.
			cfg := fixtureGRPO()
			ac := objective.AdvantageConfig{Estimator: tc.name, Eps: cfg.AdvEps, K: 2}
			want := make([]float64, len(base.adv))
			objective.Advantages(want, base.adv, base.lens, cfg.Group, ac)
			for i := range want {
				if math.Abs(got.adv[i]-want[i]) > 1e-12*math.Max(1, math.Abs(want[i])) {
					t.Errorf("A[%d] = %v, want %s of d and the lengths = %v", i, got.adv[i], tc.name, want[i])
				}
			}
		})
	}
}

// TestDynamicSamplingKeepsPassKSignal: dynamic sampling keeps the groups
// the estimator can learn from. With passk k = G-1 a group in which two
// completions share the best reward gives every k-subset that reward, so
// all its advantages are 0 though its rewards differ: such a group must not
// take a place in the batch. Every kept group has a nonzero advantage.
func TestDynamicSamplingKeepsPassKSignal(t *testing.T) {
	cfg := fixtureGRPO()
	cfg.Dynamic, cfg.MaxRefill = true, 4
	cfg.Advantage, cfg.PasskK = objective.EstPassK, cfg.Group-1
	groups := 0
	stepOnce(t, cfg, func(tr *Trainer) {
		tr.advHook = func(_ [][]int, _ []int, adv []float64) {
			for g := 0; g < len(adv); g += cfg.Group {
				groups++
				if !slices.ContainsFunc(adv[g:g+cfg.Group], func(a float64) bool { return a != 0 }) {
					t.Errorf("kept group %d has advantages %v: want a group passk can learn from", g/cfg.Group, adv[g:g+cfg.Group])
				}
			}
		}
	})
	if groups == 0 {
		t.Fatal("no group kept: the test needs some")
	}
}
