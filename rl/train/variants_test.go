package train

import (
	"bytes"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tinyr1/rl/objective"
)

// coefOnce runs one GRPO step of cfg and returns the first pass's batch
// (copied) and coefficients, and the step's metrics.
func coefOnce(t *testing.T, cfg Config) (objective.Batch, []float32, *Metrics) {
	t.Helper()
	var b objective.Batch
	var coef []float32
	m := stepOnce(t, cfg, func(tr *Trainer) {
		tr.coefHook = func(bb objective.Batch, c []float32) {
			if coef == nil {
				b, coef = bb, slices.Clone(c)
			}
		}
	})
	return b, coef, m
}

// TestGRPOVariantsExactlyOff: the variants at the settings where their
// weight is exactly 1 leave the coefficients bitwise unchanged: the
// sequence ratio with mu = 1, tis and mis (cap 2) without top-k/top-p (the
// sampler's log-probs are the old ones, so SamplerLogP stays nil and
// is_weight_mean is exactly 1).
func TestGRPOVariantsExactlyOff(t *testing.T) {
	_, want, m0 := coefOnce(t, fixtureGRPO())
	if m0.SeqClip != nil || m0.ISWeightMean != nil || m0.EntropyMasked != nil {
		t.Errorf("default run logs a variant's metric: seq_clip %v, is_weight_mean %v, entropy_masked %v", deref(m0.SeqClip), deref(m0.ISWeightMean), deref(m0.EntropyMasked))
	}
	for name, edit := range map[string]func(*Config){
		"sequence":         func(c *Config) { c.RatioLevel = objective.RatioSequence },
		"tis":              func(c *Config) { c.ISCorrection = objective.ISTIS },
		"mis":              func(c *Config) { c.ISCorrection = objective.ISMIS },
		"entropy_top_frac": func(c *Config) { c.EntropyTopFrac = 1 },
	} {
		cfg := fixtureGRPO()
		edit(&cfg)
		b, got, m := coefOnce(t, cfg)
		if !slices.Equal(got, want) {
			t.Errorf("%s: coefficients differ from the default run's", name)
		}
		if b.SamplerLogP != nil || b.PGMask != nil {
			t.Errorf("%s: SamplerLogP or PGMask set without truncation or selection", name)
		}
		if cfg.ISCorrection != objective.ISNone && (m.ISWeightMean == nil || *m.ISWeightMean != 1 || *m.ISMasked != 0) {
			t.Errorf("%s: is_weight_mean %v, is_masked %v: want exactly 1 and 0", name, deref(m.ISWeightMean), deref(m.ISMasked))
		}
	}
}

// TestGRPOISCorrectionTopK: with top-k 3 the sampler's log-probs are those
// of the truncated, renormalised distribution, so r = p_old/q is the kept
// mass Z <= 1 on every token, and tis multiplies each coefficient of the
// uncorrected run (same seed, same completions, beta 0) by r.
func TestGRPOISCorrectionTopK(t *testing.T) {
	cfg := fixtureGRPO()
	cfg.TopK, cfg.Temperature = 3, 1.5
	b0, want, _ := coefOnce(t, cfg)
	cfg.ISCorrection = objective.ISTIS
	b, got, m := coefOnce(t, cfg)
	if b.SamplerLogP == nil {
		t.Fatal("top-k with tis: no sampler log-probs in the batch")
	}
	below := 0
	for i, n := range b.Len {
		for j := range n {
			k := i*b.T + j
			if b.LogP[k] != b0.LogP[k] {
				t.Fatalf("token %d: log-prob %v, %v without tis: the runs sampled different completions", k, b.LogP[k], b0.LogP[k])
			}
			r := math.Exp(float64(b.OldLogP[k]) - float64(b.SamplerLogP[k]))
			if r > 1+1e-6 {
				t.Errorf("token %d: p_old/q = %v, want the kept mass <= 1", k, r)
			}
			if r < 0.999 {
				below++
			}
			if w := float64(want[k]) * r; math.Abs(float64(got[k])-w) > 1e-6*math.Abs(w)+1e-12 {
				t.Errorf("token %d: tis coefficient %v, want %v * %v = %v", k, got[k], want[k], r, w)
			}
		}
	}
	if below == 0 || m.ISWeightMean == nil || !(*m.ISWeightMean < 1) {
		t.Errorf("%d tokens with r < 0.999, is_weight_mean %v: want truncation to show", below, deref(m.ISWeightMean))
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestGRPOEntropyTopFrac: with entropy_top_frac 0.2 (beta 0) only the
// tokens in the mask have a coefficient, the mask holds ceil(0.2 m) of the
// m tokens, every kept token's sampling entropy (the rollout's) is at
// least every dropped one's, and entropy_masked logs the rest; the kept
// tokens' coefficients are those of the full run.
func TestGRPOEntropyTopFrac(t *testing.T) {
	cfg := fixtureGRPO()
	_, want, _ := coefOnce(t, cfg)
	cfg.EntropyTopFrac = 0.2
	var b objective.Batch
	var got []float32
	minKept, maxDropped := math.Inf(1), math.Inf(-1)
	m := stepOnce(t, cfg, func(tr *Trainer) {
		tr.coefHook = func(bb objective.Batch, c []float32) {
			b, got = bb, slices.Clone(c)
			for i, n := range b.Len { // without dynamic sampling completion i is rollout row i
				for j, h := range tr.roll.Entropy[i][:n] {
					if b.PGMask[i*b.T+j] {
						minKept = math.Min(minKept, float64(h))
					} else {
						maxDropped = math.Max(maxDropped, float64(h))
					}
				}
			}
		}
	})
	if b.PGMask == nil {
		t.Fatal("no PGMask with entropy_top_frac 0.2")
	}
	if !(minKept >= maxDropped) {
		t.Errorf("a kept token has entropy %v, a dropped one %v: want the kept ones highest", minKept, maxDropped)
	}
	tokens, kept := 0, 0
	for i, n := range b.Len {
		for j := range n {
			k := i*b.T + j
			tokens++
			if b.PGMask[k] {
				kept++
				if got[k] != want[k] {
					t.Errorf("token %d in the mask: coefficient %v, want the full run's %v", k, got[k], want[k])
				}
			} else if got[k] != 0 {
				t.Errorf("token %d outside the mask: coefficient %v, want 0", k, got[k])
			}
		}
	}
	if wantKept := int(math.Ceil(0.2 * float64(tokens))); kept != wantKept {
		t.Errorf("mask keeps %d of %d tokens, want %d", kept, tokens, wantKept)
	}
	if m.EntropyMasked == nil || *m.EntropyMasked != float64(tokens-kept)/float64(tokens) {
		t.Errorf("entropy_masked %v, want %d/%d", deref(m.EntropyMasked), tokens-kept, tokens)
	}
}

// TestGroupTokenEntropyKept: each group keeps its own per-token entropies
// through dynamic sampling's refill rounds (which reuse the rollout
// buffers): they sum, in order, to the completion's summed entropy taken
// at its rollout.
func TestGroupTokenEntropyKept(t *testing.T) {
	cfg := fixtureGRPO()
	cfg.Dynamic, cfg.MaxRefill = true, 8
	tr, err := NewGRPO(cfg, "testdata/tiny-add1.ckpt", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	m := &Metrics{}
	gs, err := tr.sampleGroups(m)
	if err != nil {
		t.Fatal(err)
	}
	if m.DynamicMetrics.Rounds < 2 {
		t.Fatalf("%d rollout rounds: the test needs a refill", m.DynamicMetrics.Rounds)
	}
	for i, g := range gs {
		for s, e := range g.entTok {
			var sum float64
			for _, h := range e {
				sum += float64(h)
			}
			if len(e) != len(g.comps[s]) || sum != g.ent[s] {
				t.Errorf("group %d completion %d: %d entropies summing to %v, want %d summing to %v", i, s, len(e), sum, len(g.comps[s]), g.ent[s])
			}
		}
	}
}

// TestGRPOSequenceRatioMu2: with mu = 2 the second pass's s_i move away
// from 1 and, at GSPO's clip range (3e-4, 4e-4) after a step at lr 1e-2,
// some completions are clipped: seq_clip is logged and positive.
func TestGRPOSequenceRatioMu2(t *testing.T) {
	cfg := fixtureGRPO()
	cfg.Mu, cfg.LR, cfg.RewardFormat = 2, 1e-2, 1
	cfg.RatioLevel = objective.RatioSequence
	m := stepOnce(t, cfg, nil)
	if m.SeqClip == nil || !(*m.SeqClip > 0) || m.RatioMean == 1 {
		t.Errorf("seq_clip %v, ratio_mean %v: want some clipped completions and s_i != 1", deref(m.SeqClip), m.RatioMean)
	}
}

// TestGRPOVariantsDeterministicAndResumable: each variant and estimator,
// on, gives the same final checkpoint twice and after a stop and resume,
// and trains other weights than the same run without it (so the variant is
// on, and the determinism shown is its own). The ref-reset cases stop right after
// the reset at step 2: the resumed run reads the embedded reference with
// the loss-side variants on, and resets again at step 4.
func TestGRPOVariantsDeterministicAndResumable(t *testing.T) {
	// The fixture's policy solves some add:1 problems: groups with a reward
	// signal, without which no variant would change anything.
	root, init := t.TempDir(), fixtureInit
	for _, tc := range []struct {
		name    string
		setup   func(*Config) // the run without the variant
		variant func(*Config)
	}{
		{"gspo-mu2", func(c *Config) { c.Mu = 2 }, func(c *Config) {
			c.RatioLevel, c.GSPOEpsLow, c.GSPOEpsHigh = objective.RatioSequence, 0.01, 0.02
		}},
		{"tis-topk-entropy0.3", func(c *Config) { c.TopK = 4 }, func(c *Config) { c.ISCorrection, c.EntropyTopFrac = objective.ISTIS, 0.3 }},
		{"mis-topp-mu2", func(c *Config) { c.TopP, c.Mu = 0.9, 2 }, func(c *Config) { c.ISCorrection, c.ISCap = objective.ISMIS, 0.95 }},
		{"gspo-mu2-refreset", func(c *Config) {
			c.Mu, c.RatioLevel, c.GSPOEpsLow, c.GSPOEpsHigh = 2, objective.RatioSequence, 0.01, 0.02
		},
			func(c *Config) { c.RefResetEvery = 2 }},
		{"entropy0.3-tis-topk-mu2-refreset-opt", func(c *Config) {
			c.Mu, c.TopK, c.ISCorrection, c.EntropyTopFrac = 2, 4, objective.ISTIS, 0.3
		}, func(c *Config) { c.RefResetEvery, c.RefResetOpt = 2, true }},
		// The estimators hold no state; these hold them to the same proof.
		{"rloo", func(c *Config) {}, func(c *Config) { c.Advantage = objective.EstRLOO }},
		{"reinforce_pp-mask_truncated", func(c *Config) { c.MaskTruncated = true }, func(c *Config) { c.Advantage = objective.EstReinforcePP }},
		{"passk-dynamic", func(c *Config) { c.Dynamic = true }, func(c *Config) { c.Advantage, c.PasskK = objective.EstPassK, 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			off := tinyGRPO(4)
			tc.setup(&off)
			cfg := off
			tc.variant(&cfg)
			d := filepath.Join(root, tc.name)
			a, b, c, o := d+"-a", d+"-b", d+"-c", d+"-off"
			runGRPO(t, a, init, cfg, 0)
			runGRPO(t, b, init, cfg, 0)
			if !bytes.Equal(latestBytes(t, a), latestBytes(t, b)) {
				t.Fatal("two runs with the same seed and config wrote different final checkpoints")
			}
			runGRPO(t, o, init, off, 0)
			if slices.Equal(latestModel(t, a), latestModel(t, o)) {
				t.Fatal("the variant's final weights equal those of the run without it: the variant changed nothing")
			}
			runGRPO(t, c, init, cfg, 2)
			resume(t, c, func() (*Trainer, error) { return NewGRPO(cfg, init, "test") })
			if !bytes.Equal(latestBytes(t, a), latestBytes(t, c)) {
				t.Fatal("2 steps + resume + 2 steps differs from 4 straight steps")
			}
		})
	}
}

// latestModel returns the model tensors of the run's latest checkpoint,
// concatenated (the header holds the config, which differs between runs).
func latestModel(t *testing.T, dir string) []float32 {
	t.Helper()
	var w []float32
	for _, x := range latestTensors(t, dir) {
		if strings.HasPrefix(x.Name, "model.") {
			w = append(w, x.Data...)
		}
	}
	return w
}
