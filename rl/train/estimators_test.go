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

// TestReinforcePPWhitensLossTokens: reinforce_pp whitens over the tokens
// that take part in the loss, so with mask_truncated a truncated
// completion's tokens count for nothing in the batch mean and std (as a
// response left out of verl's response_mask). Its advantages equal the
// estimator applied to d = r - group mean (grpo, scale none, of the same
// completions) with the truncated completions' lengths set to 0.
func TestReinforcePPWhitensLossTokens(t *testing.T) {
	type step struct {
		adv       []float64
		lens      []int
		truncated []bool
	}
	first := func(edit func(*Config)) step {
		cfg := fixtureGRPO()
		cfg.MaxNew, cfg.MaskTruncated = 21, true // the fixture's add:1 completions have 20 or 23 tokens
		edit(&cfg)
		var s step
		stepOnce(t, cfg, func(tr *Trainer) {
			tr.advHook = func(_ [][]int, _ []int, adv []float64) { s.adv = slices.Clone(adv) }
			tr.coefHook = func(b objective.Batch, _ []float32) {
				s.lens, s.truncated = slices.Clone(b.Len), slices.Clone(b.Truncated)
			}
		})
		return s
	}
	base := first(func(c *Config) { c.Scale = objective.ScaleNone })
	got := first(func(c *Config) { c.Advantage = objective.EstReinforcePP })
	lens, cut, signal := slices.Clone(base.lens), 0, 0
	for i, tr := range base.truncated {
		if tr && lens[i] > 0 {
			lens[i], cut = 0, cut+1
		} else if base.adv[i] != 0 {
			signal++
		}
	}
	if cut == 0 || signal == 0 {
		t.Fatalf("%d truncated completions, %d others with a nonzero d: the test needs both", cut, signal)
	}
	want := make([]float64, len(base.adv))
	objective.Advantages(want, base.adv, lens, fixtureGRPO().Group, objective.AdvantageConfig{Estimator: objective.EstReinforcePP, Eps: fixtureGRPO().AdvEps})
	for i := range want {
		if math.Abs(got.adv[i]-want[i]) > 1e-12*math.Max(1, math.Abs(want[i])) {
			t.Errorf("A[%d] = %v, want %v (whitened over the loss's tokens only)", i, got.adv[i], want[i])
		}
	}
}
