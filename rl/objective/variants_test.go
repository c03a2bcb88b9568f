package objective

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// variantBatch is randomBatch with sampler log-probs off the old ones by up
// to 0.7 nats either way (r = p_old/q in about [0.5, 2]).
func variantBatch(n, T int, seed uint64) Batch {
	b := randomBatch(n, T, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	b.SamplerLogP = make([]float32, len(b.OldLogP))
	for k := range b.SamplerLogP {
		b.SamplerLogP[k] = b.OldLogP[k] - float32(1.4*rng.Float64()-0.7)
	}
	return b
}

// TestVariantsFiniteDifference holds the coefficients of the sequence ratio,
// tis, mis and the high-entropy mask to central differences of the float64
// Objective, as TestCoefficientsFiniteDifference does for the token loss,
// on every aggregation, and checks that Objective equals Coefficients'
// loss. Tokens near a kink (a ratio or s_i at a clip bound) are skipped.
func TestVariantsFiniteDifference(t *testing.T) {
	const h = 1e-5
	for _, agg := range []string{AggGRPO, AggDAPO, AggDrGRPO, AggBNPO} {
		base := LossConfig{Agg: agg, EpsLow: 0.2, EpsHigh: 0.28, DualClip: 3, Beta: 0.05, KL: KL2, MaskTruncated: true, MaxNew: 9, ISCap: 1.5}
		seq, tis, mis, top := base, base, base, base
		seq.RatioLevel, seq.GSPOEpsLow, seq.GSPOEpsHigh = RatioSequence, 0.2, 0.28
		tis.ISCorrection, mis.ISCorrection = ISTIS, ISMIS
		top.EntropyTopFrac = 0.3
		for name, cfg := range map[string]LossConfig{"sequence": seq, "tis": tis, "mis": mis, "entropy_top_frac": top} {
			t.Run(agg+"/"+name, func(t *testing.T) {
				b := variantBatch(12, 9, 7)
				if cfg.RatioLevel == RatioSequence {
					// Log-ratios in [-0.45, 0.8]: the means spread across the
					// clip range, so that some s_i are clipped and some not.
					for k := range b.OldLogP {
						b.OldLogP[k] = b.LogP[k] - (b.LogP[k]-b.OldLogP[k])/2
					}
				}
				if cfg.HighEntropyOnly() {
					H := make([]float32, len(b.LogP))
					for k := range H {
						H[k] = float32(k%5) / 2 // ties on purpose
					}
					b.PGMask = make([]bool, len(b.LogP))
					HighEntropyMask(b.PGMask, make([]int32, len(b.LogP)), b, H, cfg.EntropyTopFrac, cfg.MaskTruncated)
				}
				norm := NewNorm(b, cfg)
				w := make([]float32, len(b.LogP))
				s := Coefficients(w, b, norm, cfg)
				if obj := Objective(b, norm, cfg); !closeTo(obj, s.Loss, 1e-12) {
					t.Errorf("Objective = %v, Coefficients' loss = %v", obj, s.Loss)
				}
				seqRatio := func(i int) float64 {
					var lr float64
					for t := range b.Len[i] {
						lr += float64(b.LogP[i*b.T+t]) - float64(b.OldLogP[i*b.T+t])
					}
					return math.Exp(lr / float64(b.Len[i]))
				}
				checked := 0
				for k := range b.LogP {
					rho := math.Exp(float64(b.LogP[k]) - float64(b.OldLogP[k]))
					if cfg.RatioLevel == RatioSequence && b.Len[k/b.T] > 0 {
						rho = seqRatio(k / b.T)
					}
					if math.Abs(rho-0.8) < 1e-3 || math.Abs(rho-1.28) < 1e-3 || math.Abs(rho-3) < 1e-3 {
						continue
					}
					fd := (objective(b, norm, cfg, k, h) - objective(b, norm, cfg, k, -h)) / (2 * h)
					if math.Abs(float64(w[k])-fd) > 1e-7+1e-6*math.Abs(fd) {
						t.Errorf("w[%d] = %v, finite difference %v", k, w[k], fd)
					}
					checked++
				}
				if checked < len(b.LogP)/2 {
					t.Errorf("checked %d of %d tokens", checked, len(b.LogP))
				}
				// Every branch of the variant is exercised.
				switch name {
				case "sequence":
					if s.SeqClip == 0 || s.SeqClip == s.Completions {
						t.Errorf("%d of %d completions clipped: want some, not all", s.SeqClip, s.Completions)
					}
				case "tis":
					if s.ISWeightSum == float64(s.Tokens) || s.ISWeightSum >= 1.5*float64(s.Tokens) {
						t.Errorf("IS weights sum to %v over %d tokens", s.ISWeightSum, s.Tokens)
					}
				case "mis":
					if s.ISMasked == 0 || s.ISMasked == s.Tokens {
						t.Errorf("mis masked %d of %d tokens: want some, not all", s.ISMasked, s.Tokens)
					}
				case "entropy_top_frac":
					if want := s.Tokens - int(math.Ceil(0.3*float64(s.Tokens))); s.EntropyMasked != want {
						t.Errorf("%d tokens masked, want %d", s.EntropyMasked, want)
					}
				}
			})
		}
	}
}

// TestSequenceRatioToken checks GSPO's coefficient on one completion of two
// tokens with log-ratios ln 1.1 and ln 1.3 under dapo (norm 1/2), A = 1:
// s = sqrt(1.1*1.3), w_t = -A s / 2 on both tokens when unclipped; with
// GSPO's own clip range (3e-4, 4e-4) s > 1.0004 is clipped and w = 0, the
// loss -(1.0004) A per token.
func TestSequenceRatioToken(t *testing.T) {
	b := Batch{T: 2, Len: []int{2}, LogP: []float32{0, 0}, OldLogP: []float32{-float32(math.Log(1.1)), -float32(math.Log(1.3))}, Adv: []float64{1}}
	s := math.Exp((float64(-b.OldLogP[0]) + float64(-b.OldLogP[1])) / 2)
	wide := LossConfig{Agg: AggDAPO, KL: KL3, RatioLevel: RatioSequence, GSPOEpsLow: 0.2, GSPOEpsHigh: 0.28}
	paper := wide
	paper.GSPOEpsLow, paper.GSPOEpsHigh = 3e-4, 4e-4
	for _, tc := range []struct {
		cfg      LossConfig
		w, loss  float64
		seqClips int
	}{
		{wide, -s / 2, -s, 0},
		{paper, 0, -1.0004, 1},
	} {
		w := make([]float32, 2)
		st := Coefficients(w, b, NewNorm(b, tc.cfg), tc.cfg)
		if w[0] != float32(tc.w) || w[1] != float32(tc.w) || !closeTo(st.Loss, tc.loss, 1e-12) || st.SeqClip != tc.seqClips || st.ClipHigh != 2*tc.seqClips {
			t.Errorf("eps %v/%v: w = %v, loss %v, seq clips %d, token clips %d: want w %v, loss %v, %d, %d",
				tc.cfg.GSPOEpsLow, tc.cfg.GSPOEpsHigh, w, st.Loss, st.SeqClip, st.ClipHigh, tc.w, tc.loss, tc.seqClips, 2*tc.seqClips)
		}
	}
}

// TestVariantsSpecialCases: where a variant's weight is exactly 1 its
// coefficients, loss and token statistics are bitwise those of the plain
// token loss: the sequence ratio with mu = 1 (old == current, s_i == 1),
// tis and mis with the sampler's log-probs equal to the old ones (no
// truncation) or absent, and the high-entropy mask at F = 1.
func TestVariantsSpecialCases(t *testing.T) {
	for _, agg := range []string{AggGRPO, AggDAPO, AggDrGRPO} {
		base := LossConfig{Agg: agg, EpsLow: 0.2, EpsHigh: 0.28, DualClip: 3, Beta: 0.04, KL: KL3, MaskTruncated: true, MaxNew: 9, ISCap: 2}
		plain := randomBatch(10, 9, 11)
		plain.OldLogP = append([]float32(nil), plain.LogP...) // mu = 1
		norm := NewNorm(plain, base)
		want := make([]float32, len(plain.LogP))
		ws := Coefficients(want, plain, norm, base)
		seq, tis, mis, top := base, base, base, base
		seq.RatioLevel, seq.GSPOEpsLow, seq.GSPOEpsHigh = RatioSequence, 3e-4, 4e-4
		tis.ISCorrection, mis.ISCorrection = ISTIS, ISMIS
		top.EntropyTopFrac = 1
		equalSampler := plain
		equalSampler.SamplerLogP = append([]float32(nil), plain.OldLogP...)
		full := plain
		full.PGMask = make([]bool, len(plain.LogP))
		H := make([]float32, len(plain.LogP))
		for k := range H {
			H[k] = float32(k % 3)
		}
		if k := HighEntropyMask(full.PGMask, make([]int32, len(H)), full, H, 1, true); k != ws.Tokens {
			t.Fatalf("%s: HighEntropyMask at F = 1 keeps %d tokens, want all %d", agg, k, ws.Tokens)
		}
		for _, tc := range []struct {
			name string
			cfg  LossConfig
			b    Batch
		}{
			{"sequence mu=1", seq, plain},
			{"sequence nil old", seq, func() Batch { b := plain; b.OldLogP = nil; return b }()},
			{"tis sampler == old", tis, equalSampler},
			{"tis nil sampler", tis, plain},
			{"mis sampler == old", mis, equalSampler},
			{"entropy_top_frac 1", top, full},
		} {
			got := make([]float32, len(plain.LogP))
			gs := Coefficients(got, tc.b, norm, tc.cfg)
			if !slices.Equal(got, want) || gs.Loss != ws.Loss || gs.RatioSum != ws.RatioSum || gs.KLSum != ws.KLSum {
				t.Errorf("%s/%s: coefficients or loss differ from the token loss's (loss %v, want %v)", agg, tc.name, gs.Loss, ws.Loss)
			}
			if gs.ISMasked != 0 || gs.EntropyMasked != 0 || gs.SeqClip != 0 {
				t.Errorf("%s/%s: masked %d/%d, clipped %d sequences: want none", agg, tc.name, gs.ISMasked, gs.EntropyMasked, gs.SeqClip)
			}
			if tc.cfg.IsCorrection() && gs.ISWeightMean() != 1 {
				t.Errorf("%s/%s: mean IS weight %v, want exactly 1", agg, tc.name, gs.ISWeightMean())
			}
		}
	}
}

// TestISWeight checks tis and mis on one token, dapo, A = 1, rho = 1: the
// coefficient is -w with w = min(r, C) (tis) or r, 0 above C (mis), r = p_old/q;
// the KL term keeps weight 1.
func TestISWeight(t *testing.T) {
	ln := func(x float64) float32 { return float32(math.Log(x)) }
	for _, tc := range []struct {
		mode   string
		r, cap float64
		w      float64
		masked int
	}{
		{ISTIS, 0.5, 2, 0.5, 0},
		{ISTIS, 3, 2, 2, 0},
		{ISMIS, 0.5, 2, 0.5, 0},
		{ISMIS, 3, 2, 0, 1},
		{ISNone, 3, 2, 1, 0},
	} {
		cfg := LossConfig{Agg: AggDAPO, EpsLow: 0.2, EpsHigh: 0.2, KL: KL2, Beta: 0.1, ISCorrection: tc.mode, ISCap: tc.cap}
		// logp = old = -1, q = p_old/r, ref = logp + ln2: KL coefficient -0.1 ln2.
		b := Batch{T: 1, Len: []int{1}, LogP: []float32{-1}, OldLogP: []float32{-1}, RefLogP: []float32{-1 + ln(2)},
			SamplerLogP: []float32{-1 - ln(tc.r)}, Adv: []float64{1}}
		w := make([]float32, 1)
		s := Coefficients(w, b, NewNorm(b, cfg), cfg)
		want := -tc.w - 0.1*float64(ln(2))
		if !closeTo(float64(w[0]), want, 1e-6) || s.ISMasked != tc.masked {
			t.Errorf("%s r=%v C=%v: w = %v, masked %d: want %v, %d", tc.mode, tc.r, tc.cap, w[0], s.ISMasked, want, tc.masked)
		}
	}
}

// TestHighEntropyMask checks the selection by hand: ties are broken by
// (completion index, token index), padding, empty and masked truncated
// completions never count, k = ceil(F m), and the result does not depend on
// what the scratch space held.
func TestHighEntropyMask(t *testing.T) {
	// Three completions, T = 4: lengths 3, 0, 4; the last is truncated.
	b := Batch{T: 4, Len: []int{3, 0, 4}, LogP: make([]float32, 12), Adv: make([]float64, 3), Truncated: []bool{false, false, true}}
	H := []float32{
		1, 2, 2, 9, // 9 is padding
		9, 9, 9, 9, // empty completion
		2, 0.5, 3, float32(math.NaN()),
	}
	for _, tc := range []struct {
		frac     float64
		maskTrun bool
		want     []int // flat indices kept
	}{
		// m = 7; ranked: 10 (3), 1 (2), 2 (2), 8 (2), 0 (1), 9 (0.5), 11 (NaN).
		{1, false, []int{0, 1, 2, 8, 9, 10, 11}},
		{0.5, false, []int{1, 2, 8, 10}},    // ceil(3.5) = 4
		{0.3, false, []int{1, 2, 10}},       // ceil(2.1) = 3: the tie 1, 2, 8 goes to 1 and 2
		{0.2, false, []int{1, 10}},          // ceil(1.4) = 2
		{0.01, false, []int{10}},            // at least one
		{0.6, true, []int{1, 2}},            // the truncated completion is out: m = 3, ceil(1.8) = 2
		{0.7, false, []int{0, 1, 2, 8, 10}}, // 0.7*7 = 4.9: 5
	} {
		t.Run(fmt.Sprintf("F=%v/mask_truncated=%v", tc.frac, tc.maskTrun), func(t *testing.T) {
			for _, fill := range []int32{0, 7, -1} {
				idx := make([]int32, 12)
				for i := range idx {
					idx[i] = fill
				}
				dst := make([]bool, 12)
				for i := range dst {
					dst[i] = true
				}
				k := HighEntropyMask(dst, idx, b, H, tc.frac, tc.maskTrun)
				var got []int
				for j, keep := range dst {
					if keep {
						got = append(got, j)
					}
				}
				if k != len(tc.want) || !slices.Equal(got, tc.want) {
					t.Errorf("scratch %d: kept %v (k = %d), want %v", fill, got, k, tc.want)
				}
			}
		})
	}
	// 0.28*25 is 7.000000000000001 in float64: still 7 tokens.
	b25 := Batch{T: 25, Len: []int{25}, LogP: make([]float32, 25), Adv: make([]float64, 1)}
	if k := HighEntropyMask(make([]bool, 25), make([]int32, 25), b25, make([]float32, 25), 0.28, false); k != 7 {
		t.Errorf("F = 0.28 of 25 tokens keeps %d, want 7", k)
	}
}

// TestVariantsAllocs: HighEntropyMask and Coefficients with every variant
// allocate nothing.
func TestVariantsAllocs(t *testing.T) {
	b := variantBatch(16, 32, 5)
	H := make([]float32, len(b.LogP))
	for k := range H {
		H[k] = float32(k % 7)
	}
	mask, idx := make([]bool, len(H)), make([]int32, len(H))
	if n := testing.AllocsPerRun(10, func() { HighEntropyMask(mask, idx, b, H, 0.2, true) }); n != 0 {
		t.Errorf("HighEntropyMask allocates %v times, want 0", n)
	}
	b.PGMask = mask
	w := make([]float32, len(b.LogP))
	for _, cfg := range []LossConfig{
		{Agg: AggGRPO, EpsLow: 0.2, EpsHigh: 0.28, KL: KL3, Beta: 0.04, RatioLevel: RatioSequence, GSPOEpsLow: 3e-4, GSPOEpsHigh: 4e-4},
		{Agg: AggDAPO, EpsLow: 0.2, EpsHigh: 0.28, KL: KL3, Beta: 0.04, ISCorrection: ISMIS, ISCap: 2, EntropyTopFrac: 0.2},
	} {
		norm := NewNorm(b, cfg)
		if n := testing.AllocsPerRun(10, func() { Coefficients(w, b, norm, cfg) }); n != 0 {
			t.Errorf("Coefficients (%s, %s) allocates %v times, want 0", cfg.RatioLevel, cfg.ISCorrection, n)
		}
	}
}

func TestVariantsValidate(t *testing.T) {
	mod := func(f func(*LossConfig)) LossConfig { c := publishedLoss(); f(&c); return c }
	for _, tc := range []struct {
		name string
		cfg  LossConfig
		want string
	}{
		{"gspo", mod(func(c *LossConfig) { c.RatioLevel, c.GSPOEpsLow, c.GSPOEpsHigh = RatioSequence, 3e-4, 4e-4 }), ""},
		{"tis", mod(func(c *LossConfig) { c.ISCorrection, c.ISCap = ISTIS, 2 }), ""},
		{"top", mod(func(c *LossConfig) { c.EntropyTopFrac = 0.2 }), ""},
		{"ratio_level", mod(func(c *LossConfig) { c.RatioLevel = "seq" }), `unknown ratio_level "seq": want token or sequence`},
		{"gspo_eps_low", mod(func(c *LossConfig) { c.GSPOEpsLow = -1e-4 }), "gspo_eps_low -0.0001: want a value in [0, 1)"},
		{"gspo_eps_high", mod(func(c *LossConfig) { c.GSPOEpsHigh = -1e-4 }), "gspo_eps_high -0.0001: want a finite value >= 0"},
		{"is_correction", mod(func(c *LossConfig) { c.ISCorrection = "cis" }), `unknown is_correction "cis": want none, tis or mis`},
		{"is_cap", mod(func(c *LossConfig) { c.ISCorrection, c.ISCap = ISMIS, 0 }), "is_cap 0: want a finite value > 0"},
		{"entropy_top_frac", mod(func(c *LossConfig) { c.EntropyTopFrac = 1.5 }), "entropy_top_frac 1.5: want a fraction in (0, 1]"},
		{"sequence+tis", mod(func(c *LossConfig) { c.RatioLevel, c.ISCorrection, c.ISCap = RatioSequence, ISTIS, 2 }), "want is_correction none and entropy_top_frac 1"},
		{"sequence+top", mod(func(c *LossConfig) { c.RatioLevel, c.EntropyTopFrac = RatioSequence, 0.2 }), "want is_correction none and entropy_top_frac 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}
