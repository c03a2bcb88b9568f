package objective

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"tinyr1/model"
)

// TestGRPOObjectiveFiniteDifferenceModel holds the whole chain, per-token
// coefficients (Coefficients, EntropyCoefficients) times the training
// graph's gradient, to central differences of the full GRPO objective of a
// tiny model: L(theta) = Objective(logp(theta)) - entropy_coef * sum_t
// norm_t H_t(theta), with logp and H from the float64 reference forward
// (model.ReferenceLogits) at temperature 0.8, beta 0.04 (k3 KL), ratios near
// 1 (no clipping: the objective is smooth there), for every aggregation.
//
// The same check runs for the variants of the policy-gradient term, each on
// the grpo and dapo aggregations: the sequence ratio (GSPO, with clip range
// 0.2 so that the small offsets leave s_i unclipped), tis and mis with
// sampler log-probs off the old ones by up to 0.5 nats and cap 1.2 (some
// weights capped, some tokens masked), and the high-entropy mask at F = 0.5
// chosen from the unperturbed entropies (a constant, as in training).
//
// The 12 parameters with the largest gradients are perturbed by h = 1e-2
// relative; Objective rounds logp to float32 (error ~1e-7 a token), which at
// these gradients is far below the 2% relative tolerance, as is the O(h^2)
// truncation error.
func TestGRPOObjectiveFiniteDifferenceModel(t *testing.T) {
	cfg, err := model.Preset("tiny", 103)
	if err != nil {
		t.Fatal(err)
	}
	p := model.NewParams(cfg)
	p.Init(11)
	const temp = 0.8
	rng := rand.New(rand.NewPCG(3, 4))
	const N, plen, Tc = 4, 5, 7
	seqs := make([][]int, N)
	lens := []int{7, 4, 6, 2}
	for i := range seqs {
		seqs[i] = make([]int, plen+lens[i])
		for j := range seqs[i] {
			seqs[i][j] = 3 + rng.IntN(100)
		}
	}
	adv := []float64{1.2, -0.7, 0.4, -1.1}
	noise := func() []float32 { // offsets that keep rho and the KL smooth
		x := make([]float32, N*Tc)
		for i := range x {
			x[i] = float32(0.05 * (2*rng.Float64() - 1))
		}
		return x
	}
	oldOff, refOff := noise(), noise()
	samplerOff := make([]float32, N*Tc)
	for i := range samplerOff {
		samplerOff[i] = float32(0.5 * (2*rng.Float64() - 1))
	}
	// forward returns the batch at the current weights and the entropies.
	forward := func() (Batch, []float64) {
		b := Batch{T: Tc, Len: lens, Adv: adv, LogP: make([]float32, N*Tc), OldLogP: make([]float32, N*Tc), RefLogP: make([]float32, N*Tc)}
		H := make([]float64, N*Tc)
		for i, s := range seqs {
			lp := model.ReferenceLogProbs(model.ReferenceLogits(p, s, temp))
			for j := range lens[i] {
				row := lp[plen-1+j]
				k := i*Tc + j
				b.LogP[k] = float32(row[s[plen+j]])
				b.OldLogP[k] = b.LogP[k] + oldOff[k]
				b.RefLogP[k] = b.LogP[k] + refOff[k]
				for _, l := range row {
					H[k] -= math.Exp(l) * l
				}
			}
		}
		return b, H
	}
	type variant struct {
		name string
		lc   LossConfig
	}
	var variants []variant
	for _, agg := range []string{AggGRPO, AggDAPO, AggDrGRPO, AggBNPO} {
		variants = append(variants, variant{agg, LossConfig{Agg: agg, EpsLow: 0.2, EpsHigh: 0.2, Beta: 0.04, KL: KL3, MaxNew: Tc, EntropyCoef: 0.3}})
	}
	for _, agg := range []string{AggGRPO, AggDAPO} {
		base := LossConfig{Agg: agg, EpsLow: 0.2, EpsHigh: 0.2, Beta: 0.04, KL: KL3, MaxNew: Tc, EntropyCoef: 0.3, ISCap: 1.2}
		seq, tis, mis, top := base, base, base, base
		seq.RatioLevel, seq.GSPOEpsLow, seq.GSPOEpsHigh = RatioSequence, 0.2, 0.2
		tis.ISCorrection, mis.ISCorrection = ISTIS, ISMIS
		top.EntropyTopFrac = 0.5
		variants = append(variants, variant{agg + "/sequence", seq}, variant{agg + "/tis", tis}, variant{agg + "/mis", mis}, variant{agg + "/entropy_top_frac", top})
	}
	for _, v := range variants {
		agg, lc := v.name, v.lc
		b0, H0 := forward()
		if lc.IsCorrection() {
			b0.SamplerLogP = make([]float32, N*Tc)
			for k := range b0.SamplerLogP {
				b0.SamplerLogP[k] = b0.OldLogP[k] - samplerOff[k]
			}
		}
		if lc.HighEntropyOnly() {
			H := make([]float32, N*Tc)
			for k, h := range H0 {
				H[k] = float32(h)
			}
			b0.PGMask = make([]bool, N*Tc)
			HighEntropyMask(b0.PGMask, make([]int32, N*Tc), b0, H, lc.EntropyTopFrac, lc.MaskTruncated)
		}
		norm := NewNorm(b0, lc)
		coef, ent := make([]float32, N*Tc), make([]float32, N*Tc)
		st := Coefficients(coef, b0, norm, lc)
		EntropyCoefficients(ent, b0, norm, lc)
		switch { // the variant must be doing something
		case lc.RatioLevel == RatioSequence && (st.SeqClip != 0 || st.RatioSum == float64(st.Tokens)):
			t.Errorf("%s: %d of %d completions clipped, ratio sum %v over %d tokens: want none clipped and s_i != 1", agg, st.SeqClip, st.Completions, st.RatioSum, st.Tokens)
		case lc.ISCorrection == ISTIS && st.ISWeightSum == float64(st.Tokens):
			t.Errorf("%s: IS weights sum to %v over %d tokens: want weights other than 1", agg, st.ISWeightSum, st.Tokens)
		case lc.ISCorrection == ISMIS && (st.ISMasked == 0 || st.ISMasked == st.Tokens):
			t.Errorf("%s: mis masked %d of %d tokens: want some", agg, st.ISMasked, st.Tokens)
		case lc.HighEntropyOnly() && st.EntropyMasked != st.Tokens/2:
			t.Errorf("%s: %d of %d tokens outside the mask, want %d", agg, st.EntropyMasked, st.Tokens, st.Tokens/2)
		}
		full := func() float64 {
			b, H := forward()
			// Old, reference and sampler log-probs and the mask stay those of
			// the unperturbed weights.
			b.OldLogP, b.RefLogP, b.SamplerLogP, b.PGMask = b0.OldLogP, b0.RefLogP, b0.SamplerLogP, b0.PGMask
			l := Objective(b, norm, lc)
			for k, e := range ent {
				l += float64(e) * H[k]
			}
			return l
		}
		g, err := model.NewGraph(p, N, plen+Tc, model.GraphOptions{Temperature: temp, Float64: true})
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range seqs {
			for j := 0; j+1 < len(s); j++ {
				r := i*g.T + j
				g.Tokens[r], g.Targets[r] = s[j], s[j+1]
				if c := j + 1 - plen; c >= 0 && c < lens[i] {
					g.Weights[r], g.EntropyWeights[r] = coef[i*Tc+c], ent[i*Tc+c]
				}
			}
		}
		if err := g.Step(); err != nil {
			t.Fatal(err)
		}
		grad := g.Grads64()
		idx := make([]int, len(grad))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return math.Abs(grad[idx[a]]) > math.Abs(grad[idx[b]]) })
		for _, j := range idx[:12] {
			x := p.Data[j]
			h := float32(1e-2 * math.Max(math.Abs(float64(x)), 0.1))
			p.Data[j] = x + h
			up, dUp := full(), float64(p.Data[j])-float64(x)
			p.Data[j] = x - h
			down, dDown := full(), float64(p.Data[j])-float64(x)
			p.Data[j] = x
			fd := (up - down) / (dUp - dDown)
			if math.Abs(fd-grad[j]) > 2e-2*math.Abs(grad[j])+1e-6 {
				t.Errorf("%s: dL/dtheta[%d] = %.6g from coefficients x graph, %.6g by central difference", agg, j, grad[j], fd)
			}
		}
	}
}
