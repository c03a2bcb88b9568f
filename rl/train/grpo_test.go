package train

import (
	"math"
	"testing"

	"tinyr1/rl/objective"
)

// fixtureGRPO is a one-step GRPO config on the add:1 warm start
// (testdata/tiny-add1.ckpt), which is right often but not always, so that
// some groups have zero variance and some do not.
func fixtureGRPO() Config {
	cfg := DefaultTrainConfig()
	cfg.Tasks = "add:1"
	cfg.Steps = 1
	cfg.Prompts, cfg.Group, cfg.MaxNew = 8, 4, 32
	cfg.EvalEvery = 0
	cfg.Workers = 1
	return cfg
}

// stepOnce runs one GRPO step of cfg and returns its metrics; hook, if not
// nil, is installed first.
func stepOnce(t *testing.T, cfg Config, hook func(*Trainer)) *Metrics {
	t.Helper()
	tr, err := NewGRPO(cfg, "testdata/tiny-add1.ckpt", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var m *Metrics
	tr.stepHook = func(mm *Metrics) { m = mm }
	if hook != nil {
		hook(tr)
	}
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGRPOMuRescore: with mu = 2 the second pass rescores the completions
// under the once-updated policy, so its ratios move away from 1 and, at a
// learning rate of 1e-2, some leave [1-eps_low, 1+eps_high] and are
// clipped. Were the rescore replaced by the old log-probs, ratio_mean would
// be exactly 1 and nothing would clip, which is what mu = 1 gives.
func TestGRPOMuRescore(t *testing.T) {
	for _, mu := range []int{1, 2} {
		cfg := fixtureGRPO()
		cfg.Mu = mu
		cfg.LR = 1e-2
		cfg.RewardFormat = 1
		m := stepOnce(t, cfg, nil)
		ratio, low, high := m.RatioMean, m.ClipLow, m.ClipHigh
		t.Logf("mu %d: ratio_mean %.6f, clip_low %.4f, clip_high %.4f", mu, ratio, low, high)
		if mu == 1 {
			if ratio != 1 || low != 0 || high != 0 {
				t.Errorf("mu 1: ratio_mean %v, clip_low %v, clip_high %v: want exactly 1, 0, 0", ratio, low, high)
			}
			continue
		}
		if math.Abs(ratio-1) < 1e-3 {
			t.Errorf("mu 2: ratio_mean %v: want the second pass's ratios away from 1 (was the rescore skipped?)", ratio)
		}
		if low+high == 0 {
			t.Errorf("mu 2: clip_low %v, clip_high %v: want some clipping after a step at lr 1e-2", low, high)
		}
	}
}

// TestGRPODynamicSampling: with dynamic sampling every group that reaches
// the update has rewards that are not all equal (some advantage is not 0),
// and exactly P groups are kept when refills find enough; with no refill
// the kept groups are the first round's signal groups, (1 -
// zero_variance_frac) P of them.
func TestGRPODynamicSampling(t *testing.T) {
	for _, refill := range []int{0, 8} {
		cfg := fixtureGRPO()
		cfg.Dynamic = true
		cfg.MaxRefill = refill
		var groups int
		m := stepOnce(t, cfg, func(tr *Trainer) {
			tr.advHook = func(_ [][]int, _ []int, adv []float64) {
				groups = len(adv) / cfg.Group
				for i := range groups {
					signal := false
					for _, a := range adv[i*cfg.Group : (i+1)*cfg.Group] {
						signal = signal || a != 0
					}
					if !signal {
						t.Errorf("refill %d: kept group %d has all-equal rewards (advantages %v)", refill, i, adv[i*cfg.Group:(i+1)*cfg.Group])
					}
				}
			}
		})
		zv, kept, rounds := m.ZeroVarianceFrac, m.DynamicMetrics.Groups, m.DynamicMetrics.Rounds
		t.Logf("refill %d: zero_variance_frac %v, dynamic_groups %d, dynamic_rounds %d", refill, zv, kept, rounds)
		if zv == 0 {
			t.Fatal("the first round has no zero-variance group: the test needs some to drop")
		}
		if kept != groups {
			t.Errorf("refill %d: dynamic_groups %d, but %d groups reached the update", refill, kept, groups)
		}
		want := int(math.Round((1 - zv) * float64(cfg.Prompts)))
		if refill > 0 {
			want = cfg.Prompts
			if rounds < 2 {
				t.Errorf("refill %d: dynamic_rounds %d: want a refill round", refill, rounds)
			}
		}
		if groups != want {
			t.Errorf("refill %d: %d groups updated, want %d", refill, groups, want)
		}
	}
}

// TestGRPOMaskTruncated: with --mask-truncated every completion cut at
// max_new has coefficient 0 on all its tokens, and the others have the
// grpo coefficient -A/(C n_i) with C the number of completions that are
// not truncated (rho = 1, beta = 0); without it, truncated completions with
// a non-zero advantage take part.
func TestGRPOMaskTruncated(t *testing.T) {
	for _, mask := range []bool{false, true} {
		cfg := fixtureGRPO()
		// The warm start answers in about 20-23 tokens; at temperature 1.5
		// some completions of a group are cut at 22 and others finish.
		cfg.MaxNew, cfg.Temperature, cfg.Group = 22, 1.5, 8
		cfg.RewardLength = 1
		cfg.MaskTruncated = mask
		var truncNZ, keptNZ, nTrunc, nKept int
		stepOnce(t, cfg, func(tr *Trainer) {
			tr.coefHook = func(b objective.Batch, coef []float32) {
				C := 0
				for i := range b.Len {
					if b.Len[i] > 0 && !b.Truncated[i] {
						C++
					}
				}
				for i, n := range b.Len {
					row := coef[i*b.T : i*b.T+n]
					nz := false
					for _, w := range row {
						nz = nz || w != 0
					}
					if b.Truncated[i] {
						nTrunc++
						if nz {
							truncNZ++
						}
						continue
					}
					nKept++
					if nz {
						keptNZ++
					}
					if mask && n > 0 {
						want := float32(-b.Adv[i] / float64(C*n))
						for j, w := range row {
							if math.Abs(float64(w-want)) > 1e-7*math.Abs(float64(want)) {
								t.Fatalf("completion %d token %d: w = %v, want -A/(C n) = %v with C = %d untruncated", i, j, w, want, C)
							}
						}
					}
				}
			}
		})
		t.Logf("mask %v: %d truncated (%d with a non-zero coefficient), %d not (%d)", mask, nTrunc, truncNZ, nKept, keptNZ)
		if nTrunc == 0 || keptNZ == 0 {
			t.Fatalf("mask %v: %d truncated completions, %d untruncated with a gradient: the test needs both", mask, nTrunc, keptNZ)
		}
		if mask && truncNZ != 0 {
			t.Errorf("mask-truncated: %d truncated completions have a non-zero coefficient, want 0", truncNZ)
		}
		if !mask && truncNZ == 0 {
			t.Errorf("without mask-truncated no truncated completion has a coefficient: want them in the loss")
		}
	}
}

// TestGRPOGraphLength: the GRPO graph is as long as the step's longest
// sequence (rounded up to grpoLengthStep), not the longest prompt and
// completion possible, and it only grows.
func TestGRPOGraphLength(t *testing.T) {
	tr, err := NewGRPO(fixtureGRPO(), "testdata/tiny-add1.ckpt", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	longest := 0
	tr.advHook = func(seqs [][]int, _ []int, _ []float64) {
		for _, s := range seqs {
			longest = max(longest, len(s)-1)
		}
	}
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	want := (longest + grpoLengthStep - 1) / grpoLengthStep * grpoLengthStep
	if tr.graphT != want {
		t.Fatalf("graph length %d after a step whose longest sequence put %d tokens through it: want %d", tr.graphT, longest, want)
	}
	if bound := tr.promptBound() + tr.Cfg.MaxNew; want >= bound {
		t.Fatalf("the fixture's longest sequence (%d tokens) reaches the bound %d: the test cannot tell them apart", longest, bound)
	}
	for _, c := range []struct{ maxSeq, want int }{
		{1 + want - 3, want},                  // shorter within a step: the graph stays
		{1 + want - grpoLengthStep - 1, want}, // shorter by more than a step: it stays too
		{1 + want + 1, want + grpoLengthStep}, // longer: it grows by a step
	} {
		if got := tr.grpoLength(c.maxSeq); got != c.want {
			t.Fatalf("grpoLength(%d) with a graph of %d: %d, want %d", c.maxSeq, want, got, c.want)
		}
	}
}
