package objective

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// oneToken is a batch of one completion of one token, so that under "dapo"
// the normaliser is 1 and w equals dl/dlogp.
func oneToken(logp, old, ref float32, adv float64) Batch {
	return Batch{T: 1, Len: []int{1}, LogP: []float32{logp}, OldLogP: []float32{old}, RefLogP: []float32{ref}, Adv: []float64{adv}}
}

func TestCoefficientsToken(t *testing.T) {
	ln := func(x float64) float32 { return float32(math.Log(x)) }
	clip := LossConfig{Agg: AggDAPO, EpsLow: 0.2, EpsHigh: 0.2, KL: KL3}
	dual := clip
	dual.DualClip = 3
	kl := func(k string) LossConfig { c := clip; c.Beta = 0.1; c.KL = k; return c }
	beta04 := func(k string) LossConfig { c := clip; c.Beta = 0.04; c.KL = k; return c }
	ln2 := math.Ln2
	tests := []struct {
		name     string
		cfg      LossConfig
		b        Batch
		wantW    float64 // dl/dlogp
		wantLoss float64
		wantClip [3]int // low, high, dual
	}{
		// l = -min(rho A, clip(rho) A); unclipped dl/dlogp = -rho A.
		{"A>0 rho=1: l=-1, w=-1", clip, oneToken(0, 0, 0, 1), -1, -1, [3]int{}},
		{"A>0 rho=1.5>1.2: l=-1.2A, clipped, w=0", clip, oneToken(ln(1.5), 0, ln(1.5), 1), 0, -1.2, [3]int{0, 1, 0}},
		{"A>0 rho=0.5: no low clip for A>0, l=-0.5, w=-0.5", clip, oneToken(ln(0.5), 0, ln(0.5), 1), -0.5, -0.5, [3]int{}},
		{"A=-1 rho=0.5<0.8: l=0.8, clipped, w=0", clip, oneToken(ln(0.5), 0, ln(0.5), -1), 0, 0.8, [3]int{1, 0, 0}},
		{"A=-1 rho=1.5: no high clip for A<0, l=1.5, w=1.5", clip, oneToken(ln(1.5), 0, ln(1.5), -1), 1.5, 1.5, [3]int{}},
		{"A=-2 rho=4 without dual clip: l=8, w=8", clip, oneToken(ln(4), 0, ln(4), -2), 8, 8, [3]int{}},
		{"A=-2 rho=4>c=3 dual: l=-cA=6, w=0", dual, oneToken(ln(4), 0, ln(4), -2), 0, 6, [3]int{0, 0, 1}},
		{"A=-2 rho=2.5<c=3 dual: l=5, w=5", dual, oneToken(ln(2.5), 0, ln(2.5), -2), 5, 5, [3]int{}},
		{"A=0: l=0, w=0", clip, oneToken(ln(1.5), 0, ln(1.5), 0), 0, 0, [3]int{}},
		// KL with A = 0, beta = 0.1, logp = -1, ref = -1+ln2, so d = ln2 and exp(d) = 2.
		// k3 = 2 - ln2 - 1 = 1 - ln2; dk3/dlogp = 1 - exp(d) = -1.
		{"k3", kl(KL3), oneToken(-1, -1, float32(-1+ln2), 0), 0.1 * -1, 0.1 * (1 - ln2), [3]int{}},
		// k2 = d^2/2; dk2/dlogp = -d = -ln2.
		{"k2", kl(KL2), oneToken(-1, -1, float32(-1+ln2), 0), 0.1 * -ln2, 0.1 * ln2 * ln2 / 2, [3]int{}},
		// k1 = logp - ref = -ln2; dk1/dlogp = 1.
		{"k1", kl(KL1), oneToken(-1, -1, float32(-1+ln2), 0), 0.1, 0.1 * -ln2, [3]int{}},
		// k3_k2grad: k3's value 1 - ln2, k2's coefficient -d = -ln2.
		{"k3_k2grad", kl(KL3K2), oneToken(-1, -1, float32(-1+ln2), 0), 0.1 * -ln2, 0.1 * (1 - ln2), [3]int{}},
		// Policy and KL together: A=1, rho=1, k3 with d = ln2: w = -1 + 0.1*(-1) = -1.1,
		// l = -1 + 0.1*(1-ln2).
		{"A=1 rho=1 + k3", kl(KL3), oneToken(-1, -1, float32(-1+ln2), 1), -1.1, -1 + 0.1*(1-ln2), [3]int{}},
		// The guards (verl). beta = 0.04, logp = -25, ref = -0.05: d = 24.95 > 20.
		// Unguarded, k3's coefficient 0.04*(1 - e^24.95) was -2.7e9; now d is
		// clamped and k3 = min(e^20 - 21, 10) = 10: loss 0.4, coefficient 0.
		{"k3 d=24.95: clamped, w=0", beta04(KL3), oneToken(-25, -25, -0.05, 0), 0, 0.4, [3]int{}},
		// logp = -95: unguarded e^94.95 overflowed float32, w = -Inf.
		{"k3 d=94.95: clamped, w=0", beta04(KL3), oneToken(-95, -95, -0.05, 0), 0, 0.4, [3]int{}},
		// logp = -Inf (a float32 log-prob that underflowed): d = +Inf, clamped
		// to 20 before exp, so k3 is 10 and not Inf - Inf = NaN.
		{"k3 d=+Inf: clamped, w=0", beta04(KL3), oneToken(float32(math.Inf(-1)), 0, -0.05, 0), 0, 0.4, [3]int{}},
		// d = -24.95: k3 = e^-20 + 19 > 10: clamped to 10, w = 0.
		{"k3 d=-24.95: clamped, w=0", beta04(KL3), oneToken(-0.05, -0.05, -25, 0), 0, 0.4, [3]int{}},
		// d = 3 inside [-20, 20]: k3 = e^3 - 4 = 16.1 > 10, the value clamp: w = 0.
		{"k3 d=3: value clamped, w=0", beta04(KL3), oneToken(-3, -3, 0, 0), 0, 0.4, [3]int{}},
		// d = 2: k3 = e^2 - 3 = 4.39 < 10, no clamp: w = 0.04*(1 - e^2).
		{"k3 d=2: unclamped", beta04(KL3), oneToken(-2, -2, 0, 0), 0.04 * (1 - math.Exp(2)), 0.04 * (math.Exp(2) - 3), [3]int{}},
		// k3_k2grad keeps k2's coefficient 0.04*(logp - ref) under k3's clamped value.
		{"k3_k2grad d=24.95", beta04(KL3K2), oneToken(-25, -25, -0.05, 0), 0.04 * (-25 + 0.05), 0.4, [3]int{}},
		{"k3_k2grad d=94.95", beta04(KL3K2), oneToken(-95, -95, -0.05, 0), 0.04 * (-95 + 0.05), 0.4, [3]int{}},
		// PPO ratio: log-ratio 25 clamped to 20 before exp. A = -1, no dual clip:
		// l = -rho A = e^20 (not e^25), and w = 0 (rho is constant under the clamp).
		{"A=-1 log-ratio 25: rho=e^20, w=0", clip, oneToken(0, -25, 0, -1), 0, math.Exp(20), [3]int{}},
		// Log-ratio -25 with A = 1: rho = e^-20, l = -e^-20, w = 0.
		{"A=1 log-ratio -25: rho=e^-20, w=0", clip, oneToken(-25, 0, -25, 1), 0, -math.Exp(-20), [3]int{}},
		// Log-ratio 19.5 is inside the guard: A = -1, l = e^19.5, w = e^19.5.
		{"A=-1 log-ratio 19.5: unclamped", clip, oneToken(0, -19.5, 0, -1), math.Exp(19.5), math.Exp(19.5), [3]int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			norm := NewNorm(tc.b, tc.cfg)
			w := make([]float32, 1)
			s := Coefficients(w, tc.b, norm, tc.cfg)
			if !closeTo(float64(w[0]), tc.wantW, 1e-6) {
				t.Errorf("w = %v, want %v", w[0], tc.wantW)
			}
			if !closeTo(s.Loss, tc.wantLoss, 1e-6) {
				t.Errorf("loss = %v, want %v", s.Loss, tc.wantLoss)
			}
			if got := [3]int{s.ClipLow, s.ClipHigh, s.DualClip}; got != tc.wantClip {
				t.Errorf("clip low/high/dual = %v, want %v", got, tc.wantClip)
			}
			if obj := Objective(tc.b, norm, tc.cfg); !closeTo(obj, s.Loss, 1e-12) {
				t.Errorf("Objective = %v, want Coefficients' loss %v", obj, s.Loss)
			}
		})
	}
}

// aggBatch: three completions, T = 3, rho = 1 everywhere, beta = 0, so every
// token's dl/dlogp = -A. Completion 0 has 1 token (A=1), completion 1 has 3
// (A=-1), completion 2 has 2 (A=2) and is truncated.
func aggBatch() Batch {
	return Batch{
		T:         3,
		Len:       []int{1, 3, 2},
		LogP:      []float32{-1, -5, -5, -1, -2, -3, -1, -2, -5}, // -5: padding, must be ignored
		Adv:       []float64{1, -1, 2},
		Truncated: []bool{false, false, true},
	}
}

func TestCoefficientsAggregation(t *testing.T) {
	const p = 0 // padding
	tests := []struct {
		agg      string
		mask     bool
		want     []float32
		wantLoss float64
	}{
		// grpo: 1/(completions * n_i): 1/(3*1), 1/(3*3), 1/(3*2).
		// w = -A/(3 n_i): -1/3 | 1/9 x3 | -1/3 x2. Loss = -1/3 + 3/9 - 4/6 = -2/3.
		{AggGRPO, false, []float32{-1. / 3, p, p, 1. / 9, 1. / 9, 1. / 9, -1. / 3, -1. / 3, p}, -2. / 3},
		// masked: completions = 2: -1/2 | 1/6 x3 | 0. Loss = -1/2 + 1/2 = 0.
		{AggGRPO, true, []float32{-1. / 2, p, p, 1. / 6, 1. / 6, 1. / 6, 0, 0, p}, 0},
		// dapo: 1/6 tokens: -1/6 | 1/6 x3 | -2/6 x2. Loss = (-1 + 3 - 4)/6 = -1/3.
		{AggDAPO, false, []float32{-1. / 6, p, p, 1. / 6, 1. / 6, 1. / 6, -1. / 3, -1. / 3, p}, -1. / 3},
		// masked: 1/4 tokens: -1/4 | 1/4 x3 | 0. Loss = (-1 + 3)/4 = 1/2.
		{AggDAPO, true, []float32{-1. / 4, p, p, 1. / 4, 1. / 4, 1. / 4, 0, 0, p}, 0.5},
		{AggBNPO, false, []float32{-1. / 6, p, p, 1. / 6, 1. / 6, 1. / 6, -1. / 3, -1. / 3, p}, -1. / 3},
		{AggBNPO, true, []float32{-1. / 4, p, p, 1. / 4, 1. / 4, 1. / 4, 0, 0, p}, 0.5},
		// dr_grpo, MaxNew = 4: 1/(3 completions * 4) = 1/12 for all, masked or not.
		// -1/12 | 1/12 x3 | -2/12 x2. Loss = (-1 + 3 - 4)/12 = -1/6.
		{AggDrGRPO, false, []float32{-1. / 12, p, p, 1. / 12, 1. / 12, 1. / 12, -1. / 6, -1. / 6, p}, -1. / 6},
		// masked: -1/12 | 1/12 x3 | 0. Loss = 2/12.
		{AggDrGRPO, true, []float32{-1. / 12, p, p, 1. / 12, 1. / 12, 1. / 12, 0, 0, p}, 1. / 6},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/mask=%v", tc.agg, tc.mask), func(t *testing.T) {
			cfg := LossConfig{Agg: tc.agg, EpsLow: 0.2, EpsHigh: 0.2, KL: KL3, MaskTruncated: tc.mask, MaxNew: 4}
			b := aggBatch()
			norm := NewNorm(b, cfg)
			w := make([]float32, len(b.LogP))
			for i := range w {
				w[i] = 99 // every entry must be written
			}
			s := Coefficients(w, b, norm, cfg)
			for i := range w {
				if !closeTo(float64(w[i]), float64(tc.want[i]), 1e-6) {
					t.Errorf("w[%d] = %v, want %v", i, w[i], tc.want[i])
				}
			}
			if !closeTo(s.Loss, tc.wantLoss, 1e-12) {
				t.Errorf("loss = %v, want %v", s.Loss, tc.wantLoss)
			}
			wantTokens := 6
			if tc.mask {
				wantTokens = 4
			}
			if s.Tokens != wantTokens || s.RatioMean() != 1 {
				t.Errorf("tokens = %d, ratio mean = %v, want %d, 1", s.Tokens, s.RatioMean(), wantTokens)
			}
		})
	}
}

// TestMuOneRatioIsExactlyOne: with one update per rollout batch the old
// log-probs are the current ones, and rho must be exactly 1: no clipping,
// w = -A * norm exactly whether OldLogP is nil or a copy of LogP.
func TestMuOneRatioIsExactlyOne(t *testing.T) {
	b := randomBatch(6, 7, 3)
	b.OldLogP = nil
	cfg := LossConfig{Agg: AggGRPO, EpsLow: 0.2, EpsHigh: 0.2, DualClip: 3, KL: KL3}
	norm := NewNorm(b, cfg)
	w1 := make([]float32, len(b.LogP))
	s1 := Coefficients(w1, b, norm, cfg)
	b.OldLogP = append([]float32(nil), b.LogP...)
	w2 := make([]float32, len(b.LogP))
	s2 := Coefficients(w2, b, norm, cfg)
	for _, s := range []LossStats{s1, s2} {
		if s.RatioSum != float64(s.Tokens) || s.RatioMean() != 1 {
			t.Errorf("ratio sum = %v over %d tokens, want exactly 1 each", s.RatioSum, s.Tokens)
		}
		if s.ClipLow+s.ClipHigh+s.DualClip != 0 {
			t.Errorf("clip counts %d/%d/%d, want 0", s.ClipLow, s.ClipHigh, s.DualClip)
		}
	}
	for i, n := range b.Len {
		for t0 := range n {
			k := i*b.T + t0
			want := float32(norm.scale(n) * -b.Adv[i])
			if w1[k] != want || w2[k] != want {
				t.Errorf("w[%d] = %v (nil old), %v (copied old), want %v", k, w1[k], w2[k], want)
			}
		}
	}
}

// randomBatch: n completions of up to T tokens, some truncated, with
// log-ratios in [-0.9, 1.6] (rho in about [0.4, 5]) and reference offsets in
// [-1, 1], from a fixed seed.
func randomBatch(n, T int, seed uint64) Batch {
	rng := rand.New(rand.NewPCG(seed, 0))
	b := Batch{T: T, Len: make([]int, n), LogP: make([]float32, n*T), OldLogP: make([]float32, n*T),
		RefLogP: make([]float32, n*T), Adv: make([]float64, n), Truncated: make([]bool, n)}
	for i := range n {
		b.Len[i] = 1 + rng.IntN(T)
		if i == 1 {
			b.Len[i] = 0 // an empty completion
		}
		b.Truncated[i] = b.Len[i] == T
		b.Adv[i] = rng.NormFloat64()
		for t := range T {
			k := i*T + t
			b.LogP[k] = float32(-3 * rng.Float64())
			b.OldLogP[k] = b.LogP[k] - float32(-0.9+2.5*rng.Float64())
			b.RefLogP[k] = b.LogP[k] + float32(2*rng.Float64()-1)
		}
	}
	return b
}

// TestCoefficientsFiniteDifference holds w_t to a central difference of the
// float64 Objective (for k3_k2grad, of the Objective with k2, whose gradient
// it uses): w_t ~ (L(logp_t + h) - L(logp_t - h)) / 2h with h = 1e-5,
// whose truncation error is O(h^2) ~ 1e-10 and rounding error ~ 1e-16/h = 1e-11.
// Tolerance 1e-7 + 1e-6|w|: w is float32 (relative error 6e-8). Tokens within
// 1e-3 of a kink (rho at 1-eps_low, 1+eps_high or c) are skipped.
func TestCoefficientsFiniteDifference(t *testing.T) {
	const h = 1e-5
	for _, agg := range []string{AggGRPO, AggDAPO, AggDrGRPO, AggBNPO} {
		for _, kl := range []string{KL1, KL2, KL3, KL3K2} {
			for _, dual := range []float64{0, 3} {
				cfg := LossConfig{Agg: agg, EpsLow: 0.2, EpsHigh: 0.28, DualClip: dual, Beta: 0.05, KL: kl, MaskTruncated: true, MaxNew: 9}
				t.Run(fmt.Sprintf("%s/%s/dual=%v", agg, kl, dual), func(t *testing.T) {
					b := randomBatch(12, 9, 7)
					norm := NewNorm(b, cfg)
					// k3_k2grad's loss has k3's value and k2's gradient (straight
					// through): its coefficients are the derivative of the k2 loss.
					fdCfg := cfg
					if kl == KL3K2 {
						fdCfg.KL = KL2
					}
					w := make([]float32, len(b.LogP))
					s := Coefficients(w, b, norm, cfg)
					if obj := Objective(b, norm, cfg); !closeTo(obj, s.Loss, 1e-12) {
						t.Errorf("Objective = %v, Coefficients' loss = %v", obj, s.Loss)
					}
					checked := 0
					for k := range b.LogP {
						rho := math.Exp(float64(b.LogP[k]) - float64(b.OldLogP[k]))
						if math.Abs(rho-0.8) < 1e-3 || math.Abs(rho-1.28) < 1e-3 || math.Abs(rho-3) < 1e-3 {
							continue
						}
						fd := (objective(b, norm, fdCfg, k, h) - objective(b, norm, fdCfg, k, -h)) / (2 * h)
						if math.Abs(float64(w[k])-fd) > 1e-7+1e-6*math.Abs(fd) {
							t.Errorf("w[%d] = %v, finite difference %v", k, w[k], fd)
						}
						checked++
					}
					if checked < len(b.LogP)/2 {
						t.Errorf("checked %d of %d tokens", checked, len(b.LogP))
					}
					if s.ClipLow == 0 || s.ClipHigh == 0 || (dual > 0) != (s.DualClip > 0) {
						t.Errorf("clip low/high/dual = %d/%d/%d: the batch should exercise every active branch", s.ClipLow, s.ClipHigh, s.DualClip)
					}
				})
			}
		}
	}
}

func TestLossStatsMeans(t *testing.T) {
	s := LossStats{Tokens: 4, KLSum: 1, RatioSum: 4.4, ClipLow: 1, ClipHigh: 2, DualClip: 1}
	got := []float64{s.KLMean(), s.RatioMean(), s.ClipLowFrac(), s.ClipHighFrac(), s.DualClipFrac()}
	want := []float64{0.25, 1.1, 0.25, 0.5, 0.25}
	for i := range got {
		if !closeTo(got[i], want[i], 1e-15) {
			t.Errorf("mean %d = %v, want %v", i, got[i], want[i])
		}
	}
	if (LossStats{}).KLMean() != 0 {
		t.Error("KLMean of no tokens is not 0")
	}
}

// publishedLoss is GRPO as published (DeepSeekMath): per-completion token
// mean, symmetric clip 0.2, k3 KL with beta 0.04, no dual clip.
func publishedLoss() LossConfig {
	return LossConfig{Agg: AggGRPO, EpsLow: 0.2, EpsHigh: 0.2, Beta: 0.04, KL: KL3}
}

func TestLossConfigValidate(t *testing.T) {
	mod := func(f func(*LossConfig)) LossConfig { c := publishedLoss(); f(&c); return c }
	tests := []struct {
		name string
		cfg  LossConfig
		want string
	}{
		{"default", publishedLoss(), ""},
		{"dr_grpo", mod(func(c *LossConfig) { c.Agg = AggDrGRPO; c.MaxNew = 64 }), ""},
		{"agg", mod(func(c *LossConfig) { c.Agg = "x" }), `rl: unknown loss aggregation "x": want grpo, dapo, dr_grpo or bnpo`},
		{"eps_low", mod(func(c *LossConfig) { c.EpsLow = 1 }), "eps_low 1: want a value in [0, 1)"},
		{"eps_high", mod(func(c *LossConfig) { c.EpsHigh = -0.1 }), "eps_high -0.1"},
		{"eps_high inf", mod(func(c *LossConfig) { c.EpsHigh = math.Inf(1) }), "eps_high +Inf: want a finite value >= 0"},
		{"gspo_eps_high inf", mod(func(c *LossConfig) { c.GSPOEpsHigh = math.Inf(1) }), "gspo_eps_high +Inf: want a finite value >= 0 (GSPO: 4e-4)"},
		{"dual", mod(func(c *LossConfig) { c.DualClip = 0.5 }), "dual_clip 0.5: want 0 (off) or a finite value > 1"},
		{"beta", mod(func(c *LossConfig) { c.Beta = math.NaN() }), "beta NaN"},
		{"kl", mod(func(c *LossConfig) { c.KL = "k4" }), `unknown KL estimator "k4": want k1, k2, k3 or k3_k2grad`},
		{"max_new", mod(func(c *LossConfig) { c.Agg = AggDrGRPO }), "max_new 0: want > 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCoefficientsPanics(t *testing.T) {
	cfg := publishedLoss() // beta 0.04
	b := randomBatch(2, 3, 1)
	tests := map[string]func(){
		"short dst":    func() { Coefficients(make([]float32, 5), b, NewNorm(b, cfg), cfg) },
		"no reference": func() { nb := b; nb.RefLogP = nil; Coefficients(make([]float32, 6), nb, NewNorm(nb, cfg), cfg) },
		"norm agg": func() {
			n := NewNorm(b, cfg)
			n.Agg = AggDAPO
			Coefficients(make([]float32, 6), b, n, cfg)
		},
		"len > T": func() { nb := b; nb.Len = []int{4, 1}; Coefficients(make([]float32, 6), nb, NewNorm(nb, cfg), cfg) },
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

func TestLossAllocs(t *testing.T) {
	b := randomBatch(16, 32, 5)
	cfg := LossConfig{Agg: AggGRPO, EpsLow: 0.2, EpsHigh: 0.28, DualClip: 3, Beta: 0.04, KL: KL3, MaskTruncated: true}
	w := make([]float32, len(b.LogP))
	var norm Norm
	if n := testing.AllocsPerRun(10, func() {
		norm = NewNorm(b, cfg)
		Coefficients(w, b, norm, cfg)
	}); n != 0 {
		t.Errorf("NewNorm+Coefficients allocate %v times, want 0", n)
	}
}

func BenchmarkCoefficients(b *testing.B) {
	for _, size := range []struct{ n, t int }{{16, 64}, {128, 256}} {
		b.Run(fmt.Sprintf("N%dT%d", size.n, size.t), func(b *testing.B) {
			batch := randomBatch(size.n, size.t, 1)
			cfg := LossConfig{Agg: AggDAPO, EpsLow: 0.2, EpsHigh: 0.28, DualClip: 3, Beta: 0.04, KL: KL3}
			norm := NewNorm(batch, cfg)
			w := make([]float32, len(batch.LogP))
			b.ReportAllocs()
			for b.Loop() {
				Coefficients(w, batch, norm, cfg)
			}
		})
	}
}

// TestEntropyCoefficients: e_t = -EntropyCoef * norm_i on the tokens that
// take part and 0 elsewhere, so that with H_t = 1 everywhere the entropy term
// sum_t e_t H_t is -EntropyCoef times the aggregation of a constant 1: -c
// for grpo, dapo and bnpo, -c * tokens / (All * MaxNew) for dr_grpo.
func TestEntropyCoefficients(t *testing.T) {
	const c = 0.3
	for _, agg := range []string{AggGRPO, AggDAPO, AggDrGRPO, AggBNPO} {
		cfg := LossConfig{Agg: agg, EpsLow: 0.2, EpsHigh: 0.2, KL: KL3, MaskTruncated: true, MaxNew: 9, EntropyCoef: c}
		b := randomBatch(12, 9, 3)
		norm := NewNorm(b, cfg)
		e := make([]float32, len(b.LogP))
		for i := range e {
			e[i] = 99 // must be overwritten
		}
		EntropyCoefficients(e, b, norm, cfg)
		var sum float64
		for i, n := range b.Len {
			for tk := range b.T {
				v := e[i*b.T+tk]
				if tk >= n || !b.counts(i, true) {
					if v != 0 {
						t.Fatalf("%s: e[%d,%d] = %v on a token outside the loss, want 0", agg, i, tk, v)
					}
					continue
				}
				if want := float32(-c * norm.scale(n)); v != want {
					t.Fatalf("%s: e[%d,%d] = %v, want %v", agg, i, tk, v, want)
				}
				sum += float64(v)
			}
		}
		want := -c
		if agg == AggDrGRPO {
			want = -c * float64(norm.Tokens) / float64(norm.All*norm.MaxNew)
		}
		if math.Abs(sum-want) > 1e-6 {
			t.Errorf("%s: sum of e_t = %v, want %v", agg, sum, want)
		}
	}
	bad := LossConfig{Agg: AggGRPO, KL: KL3, EntropyCoef: -1}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "entropy_coef") {
		t.Errorf("entropy_coef -1: Validate() = %v, want an error naming entropy_coef", err)
	}
}
