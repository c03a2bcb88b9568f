package train

import (
	"math"
	"slices"
	"time"

	"tinyr1/model"
	"tinyr1/rl/objective"
)

// grpoStep is one GRPO step (Shao et al. 2024; the method: docs/method.md): sample
// and score G completions for each of P prompts, turn the rewards into
// advantages, take the old and reference log-probabilities, then Mu passes
// of per-token coefficients, backward and AdamW update.
func (t *Trainer) grpoStep() (*Metrics, error) {
	cfg := t.Cfg
	m := &Metrics{LR: t.Sched.LR(t.Step, cfg.LR)}

	// Sample and score.
	start := time.Now()
	gs, err := t.sampleGroups(m)
	if err != nil {
		return nil, err
	}
	tRollout := time.Since(start).Seconds()
	m.TimeRollout = &tRollout
	if len(gs) == 0 { // nothing to learn from: no update, but the step counts
		m.SkippedNoSignal, m.TimeStep = true, &tRollout // the step's cost is its rollouts
		return m, nil
	}
	ref := cfg.ScoresReference()
	b := newBatch(gs, cfg.Group, cfg.MaxNew, ref)

	// Advantages, one per completion.
	objective.Advantages(b.Adv, b.rewards, b.lossLens(cfg.MaskTruncated), cfg.Group, cfg.AdvantageConfig())
	if t.advHook != nil {
		t.advHook(b.seqs, b.plen, b.Adv)
	}

	// Reference log-probs (KL) from the frozen reference (the initial policy,
	// or the policy at the last reference reset), then the old ones. At beta
	// 0 the KL term is 0 times the KL, so the reference is scored (and its
	// engine built) only when log_kl asks for the figure, as TRL skips it.
	var tReference float64
	if ref {
		start = time.Now()
		if err := t.scoreInto(b.RefLogP, t.ensureEngine(&t.frozen, t.Ref, t.policy.B), b); err != nil {
			return nil, err
		}
		tReference = time.Since(start).Seconds()
	}
	start = time.Now()
	if err := t.oldLogProbs(b, gs); err != nil {
		return nil, err
	}

	// Mu passes: coefficients, backward, update.
	if err := t.ensureGraph(min(t.grpoLength(b.maxSeq), t.Params.Cfg.Context)); err != nil {
		return nil, err
	}
	lc := cfg.LossConfig()
	b.variants(gs, lc, !t.samplerLogProbs())
	norm := objective.NewNorm(b.Batch, lc)
	coef, ent := make([]float32, len(b.OldLogP)), entropyCoefficients(b.Batch, norm, lc)
	var u passes
	for pass := range cfg.Mu {
		if pass > 0 { // the current policy's log-probs; with mu = 1 the old ones are, and rho == 1 exactly
			b.LogP = make([]float32, len(b.OldLogP))
			if err := t.scoreInto(b.LogP, t.policy.Engine, b); err != nil {
				return nil, err
			}
		}
		u.stats = objective.Coefficients(coef, b.Batch, norm, lc)
		if t.coefHook != nil {
			t.coefHook(b.Batch, coef)
		}
		diff, entLoss, err := t.graphPass(b, coef, ent)
		if err != nil {
			return nil, err
		}
		u.loss, u.entLoss, u.graphDiff = u.stats.Loss+entLoss, entLoss, math.Max(u.graphDiff, diff)
		if math.IsNaN(u.loss) || math.IsInf(u.loss, 0) {
			t.graph.ZeroGrads() // never apply an update from a non-finite loss
			u.gradNorm = math.NaN()
			break
		}
		if u.gradNorm = t.update(m.LR); math.IsNaN(u.gradNorm) || math.IsInf(u.gradNorm, 0) {
			break
		}
	}
	tUpdate := time.Since(start).Seconds()

	// Metrics.
	t.grpoMetrics(m, b, u, ent != nil, ref, tRollout, tReference, tUpdate)
	return m, nil
}

// passes is what a GRPO step's update passes leave: the last pass's loss
// statistics, loss (entropy term included) and gradient norm, and the
// largest graph-engine log-prob difference of all passes.
type passes struct {
	stats                              objective.LossStats
	loss, entLoss, gradNorm, graphDiff float64
}

// grpoMetrics writes the update's metrics of a GRPO step into m; times are
// in seconds. ref says whether the reference scored the completions: without
// it kl is absent and the reference's time and tokens are 0.
func (t *Trainer) grpoMetrics(m *Metrics, b *batch, u passes, entropy, ref bool, tRollout, tReference, tUpdate float64) {
	tokens, mu := sum(b.Len), t.Cfg.Mu
	tStep := tRollout + tReference + tUpdate
	m.TimeStep = &tStep
	m.PolicyMetrics = &PolicyMetrics{TimeReference: tReference, TokensUpdate: tokens * mu,
		RatioMean: u.stats.RatioMean(), ClipLow: u.stats.ClipLowFrac(), ClipHigh: u.stats.ClipHighFrac(),
		DualClip: u.stats.DualClipFrac(), GraphEngineDiff: u.graphDiff}
	if ref {
		kl := u.stats.KLMean()
		m.KL, m.TokensReference = &kl, tokens
	}
	if entropy {
		m.LossEntropy = &u.entLoss
	}
	variantMetrics(m.PolicyMetrics, u.stats, t.Cfg.LossConfig())
	// Tokens processed: sampled, scored by the reference (if it was), scored
	// as old (and current for each further pass), and through the graph mu
	// times.
	processed := m.TokensRollout + m.TokensReference + tokens*2*mu
	if t.samplerLogProbs() { // old log-probs came from the sampler
		processed -= tokens
	}
	m.UpdateMetrics = &UpdateMetrics{Loss: finiteOr(u.loss), GradNorm: finiteOr(u.gradNorm), TimeUpdate: tUpdate,
		TokensPerS: float64(processed) / tStep}
	t.checkFinite(m, u.loss, u.gradNorm)
}

// variantMetrics records the figures of the loss variants that are on.
func variantMetrics(pm *PolicyMetrics, s objective.LossStats, lc objective.LossConfig) {
	frac := func(v float64) *float64 { return &v }
	if lc.RatioLevel == objective.RatioSequence {
		pm.SeqClip = frac(s.SeqClipFrac())
	}
	if lc.IsCorrection() {
		pm.ISWeightMean, pm.ISMasked = frac(s.ISWeightMean()), frac(s.ISMaskedFrac())
	}
	if lc.HighEntropyOnly() {
		pm.EntropyMasked = frac(s.EntropyMaskedFrac())
	}
}

// batch is a GRPO step's completions in the objective's padded layout
// (N, MaxNew), N = groups*G, with the sequences the graph and the engines
// take.
type batch struct {
	objective.Batch
	seqs    [][]int   // (N) prompt then completion tokens
	plen    []int     // (N) prompt tokens, BOS included
	rewards []float64 // (N)
	maxSeq  int       // the longest sequence
}

// newBatch lays out the completions of gs. LogP starts as OldLogP; RefLogP
// is allocated only with ref (the reference scores the batch), else nil:
// the objective's "no KL".
func newBatch(gs []group, G, Tc int, ref bool) *batch {
	N := len(gs) * G
	b := &batch{
		Batch: objective.Batch{T: Tc, Len: make([]int, N), Truncated: make([]bool, N), Adv: make([]float64, N),
			OldLogP: make([]float32, N*Tc)},
		seqs: make([][]int, N), plen: make([]int, N), rewards: make([]float64, N),
	}
	b.LogP = b.OldLogP
	if ref {
		b.RefLogP = make([]float32, N*Tc)
	}
	for i, g := range gs {
		copy(b.rewards[i*G:], g.rewards)
		for s := range G {
			k := i*G + s
			b.seqs[k] = append(append(make([]int, 0, len(g.prompt)+len(g.comps[s])), g.prompt...), g.comps[s]...)
			b.plen[k] = len(g.prompt)
			b.Len[k] = len(g.comps[s])
			b.Truncated[k] = !g.stopped[s]
			b.maxSeq = max(b.maxSeq, len(b.seqs[k]))
		}
	}
	return b
}

// lossLens returns each completion's count of tokens that take part in
// the loss, what reinforce_pp whitens over: its length, 0 for a truncated
// completion that mask_truncated leaves out (as a response out of verl's
// response_mask).
func (b *batch) lossLens(maskTruncated bool) []int {
	if !maskTruncated {
		return b.Len
	}
	lens := slices.Clone(b.Len)
	for i, cut := range b.Truncated {
		if cut {
			lens[i] = 0
		}
	}
	return lens
}

// oldLogProbs fills b.OldLogP with the sampling policy's log-probs, at the
// sampling temperature over the full distribution. Without top-k or top-p
// truncation the sampler's own log-probs are exactly those (bitwise:
// model.Rollout), so the engine does not score the completions a second
// time.
func (t *Trainer) oldLogProbs(b *batch, gs []group) error {
	if !t.samplerLogProbs() {
		return t.scoreInto(b.OldLogP, t.policy.Engine, b)
	}
	G, Tc := t.Cfg.Group, b.T
	for i, g := range gs {
		for s := range G {
			copy(b.OldLogP[(i*G+s)*Tc:], g.logp[s])
		}
	}
	return nil
}

// variants sets what the loss's variants read: the sampler's own log-probs
// for is_correction when top-k or top-p truncates the sampling distribution
// (topKP; not the length truncation of Batch.Truncated; without it they
// are OldLogP bitwise and SamplerLogP stays nil: weight exactly 1), and
// the high-entropy mask for entropy_top_frac < 1, ranked by the rollout's
// per-token sampling entropy.
func (b *batch) variants(gs []group, lc objective.LossConfig, topKP bool) {
	G, Tc := len(gs[0].comps), b.T
	if lc.IsCorrection() && topKP {
		b.SamplerLogP = make([]float32, len(b.OldLogP))
		for i, g := range gs {
			for s := range G {
				copy(b.SamplerLogP[(i*G+s)*Tc:], g.logp[s])
			}
		}
	}
	if lc.HighEntropyOnly() {
		H := make([]float32, len(b.OldLogP)) // (N, T)
		for i, g := range gs {
			for s := range G {
				copy(H[(i*G+s)*Tc:], g.entTok[s])
			}
		}
		b.PGMask = make([]bool, len(H))
		objective.HighEntropyMask(b.PGMask, make([]int32, len(H)), b.Batch, H, lc.EntropyTopFrac, lc.MaskTruncated)
	}
}

// samplerLogProbs reports whether the sampler's log-probs are those of the
// full distribution (no top-k or top-p truncation).
func (t *Trainer) samplerLogProbs() bool { return t.Cfg.TopK == 0 && t.Cfg.TopP == 1 }

// entropyCoefficients returns the entropy bonus's per-token coefficients,
// or nil when the bonus is off.
func entropyCoefficients(b objective.Batch, norm objective.Norm, lc objective.LossConfig) []float32 {
	if lc.EntropyCoef <= 0 {
		return nil
	}
	ent := make([]float32, len(b.OldLogP))
	objective.EntropyCoefficients(ent, b, norm, lc)
	return ent
}

// grpoLength is the graph length for sequences of up to maxSeq tokens:
// the batch's longest, rounded up to a multiple of grpoLengthStep, and
// never shorter than the graph already built (ensureGraph grows it, which
// happens a few times a run at most). Sizing it for the longest possible
// prompt + completion instead ran a third more graph columns than
// tokens on the bench's small GRPO step (T 96 for sequences of at most
// 70 tokens, 52 on average), and attention's work grows with T.
func (t *Trainer) grpoLength(maxSeq int) int {
	T := (maxSeq - 1 + grpoLengthStep - 1) / grpoLengthStep * grpoLengthStep
	if t.graph != nil {
		return max(t.graphT, T)
	}
	return T
}

// grpoLengthStep rounds the GRPO graph's length, so that it is rebuilt
// only when a batch is longer by a few tokens.
const grpoLengthStep = 8

// scoreInto writes the engine's log-probs of each completion token of b into
// the padded (N, MaxNew) layout.
func (t *Trainer) scoreInto(dst []float32, e *model.Engine, b *batch) error {
	seqs, plen, lens := b.seqs, b.plen, b.Len
	out := make([][]float32, len(seqs))
	for i, s := range seqs {
		out[i] = make([]float32, max(len(s)-1, 0))
	}
	if err := e.Score(out, seqs, float32(t.Cfg.Temperature)); err != nil {
		return err
	}
	Tc := t.Cfg.MaxNew
	clear(dst)
	for i := range seqs {
		copy(dst[i*Tc:i*Tc+lens[i]], out[i][plen[i]-1:plen[i]-1+lens[i]])
	}
	return nil
}

// graphPass runs the training graph over every completion of b, packed
// several to a row (pack.go), with the per-token coefficients coef and, if
// not nil, the entropy-bonus coefficients ent, accumulating gradients. It
// returns the largest difference between the graph's log-probs and the
// engine's (b.LogP) and the entropy term of the loss, sum_t ent_t H_t.
func (t *Trainer) graphPass(b *batch, coef, ent []float32) (diff, entLoss float64, err error) {
	seqs, plen, lens, engLogP, Tc := b.seqs, b.plen, b.Len, b.LogP, b.T
	g := t.graph
	t.pack.pack(seqs, t.graphT)
	at := func(c []float32) func(k, i int) float32 {
		return func(k, i int) float32 {
			if j := i + 1 - plen[k]; j >= 0 && j < lens[k] {
				return c[k*Tc+j]
			}
			return 0
		}
	}
	var entropy func(k, i int) float32
	if ent != nil {
		entropy = at(ent)
	}
	for p := range t.pack.passes(g.B) {
		t.pack.write(g, p, at(coef), entropy)
		if err := g.Step(); err != nil {
			return 0, 0, err
		}
		if ent != nil {
			for i, e := range g.EntropyWeights {
				entLoss += float64(e) * float64(g.Entropy[i])
			}
		}
		for k := range seqs {
			if t.pack.Row[k]/g.B != p {
				continue
			}
			for j := 0; j < lens[k]; j++ {
				_, at := t.pack.index(k, plen[k]-1+j, g.B)
				d := math.Abs(float64(g.LogP[at] - engLogP[k*Tc+j]))
				diff = math.Max(diff, d)
			}
		}
	}
	return diff, entLoss, nil
}
