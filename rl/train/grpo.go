package train

import (
	"fmt"
	"math"
	"time"

	"tinyr1/data"
	"tinyr1/model"
	"tinyr1/rl/eval"
	"tinyr1/rl/objective"
)

// group is one prompt with its G sampled completions.
type group struct {
	prob    data.Problem
	prompt  []int
	index   int                     // prompt index within the step (for the sampling seeds)
	comps   [][]int                 // (G) generated tokens, EOS included when produced
	stopped []bool                  // (G) ended with EOS
	outs    []objective.Outcome     // (G) verdicts
	rewards []float64               // (G)
	parts   []objective.RewardParts // (G) the reward's terms
	ent     []float64               // (G) summed entropy of the sampling distribution
	logp    [][]float32             // (G) log-prob of each sampled token under the sampling distribution
}

// rolloutGroups draws n prompts (indices first..first+n-1 of this step),
// samples G completions each with the engine and scores them.
func (t *Trainer) rolloutGroups(first, n int) ([]group, error) {
	G := t.Cfg.Group
	rng := newRand(t.Cfg.Seed, streamPrompt, uint64(t.Step), uint64(first))
	gs := make([]group, n)
	prompts := make([][]int, 0, n*G)
	seeds := make([]uint64, 0, n*G)
	for i := range gs {
		it := t.Mix[t.Mix.Pick(rng)]
		p, err := t.drawProblem(it)
		if err != nil {
			return nil, err
		}
		pt, err := t.Tok.EncodePrompt(p.Prompt)
		if err != nil {
			return nil, err
		}
		gs[i] = group{prob: p, prompt: pt, index: first + i}
		for s := range G {
			prompts = append(prompts, pt)
			seeds = append(seeds, model.SeedFor(DeriveSeed(t.Cfg.Seed, streamSample), t.Step, first+i, s))
		}
	}
	policy := t.ensureEngine(&t.policy, t.Params, len(prompts))
	if t.roll == nil || len(t.roll.Stopped) < len(prompts) {
		t.roll = model.NewRollout(len(prompts), t.Cfg.MaxNew)
	}
	sc := model.SampleConfig{Temperature: float32(t.Cfg.Temperature), TopK: t.Cfg.TopK, TopP: float32(t.Cfg.TopP),
		MaxNew: t.Cfg.MaxNew, EOS: data.EOS}
	if err := policy.Generate(t.roll, prompts, seeds, sc); err != nil {
		return nil, err
	}
	rc := t.Cfg.RewardConfig()
	for i := range gs {
		g := &gs[i]
		g.comps = make([][]int, G)
		g.stopped = make([]bool, G)
		g.outs = make([]objective.Outcome, G)
		g.rewards = make([]float64, G)
		g.ent = make([]float64, G)
		g.logp = make([][]float32, G)
		for s := range G {
			k := i*G + s
			g.comps[s] = append([]int(nil), t.roll.Tokens[k]...)
			g.logp[s] = append([]float32(nil), t.roll.LogP[k]...)
			g.stopped[s] = t.roll.Stopped[k]
			for _, e := range t.roll.Entropy[k] {
				g.ent[s] += float64(e)
			}
			text, _, err := t.Tok.DecodeCompletion(g.comps[s])
			v := data.Verdict{Reason: "undecodable tokens"}
			if err == nil {
				if v, err = data.Verify(&g.prob, text); err != nil {
					return nil, err
				}
			}
			g.outs[s] = objective.Outcome{Verdict: v, Len: len(g.comps[s]), Truncated: !g.stopped[s]}
		}
		g.parts = make([]objective.RewardParts, G)
		rc.ScoreBatch(g.rewards, g.parts, g.outs)
		t.controlRewards(g) // before dynamic sampling and the metrics see them
	}
	return gs, nil
}

// grpoStep is one GRPO step (see GRPO.md): sample, score, advantages, mu
// update passes through the training graph with per-token coefficients.
func (t *Trainer) grpoStep() (map[string]any, error) {
	cfg := t.Cfg
	P, G := cfg.Prompts, cfg.Group
	m := map[string]any{}
	tRoll := time.Now()

	gs, err := t.rolloutGroups(0, P)
	if err != nil {
		return nil, err
	}
	t.rolloutMetrics(m, gs)
	rolled := gs
	if cfg.Dynamic {
		kept := signalGroups(gs)
		next := P
		for round := 0; len(kept) < P && round < cfg.MaxRefill; round++ {
			more, err := t.rolloutGroups(next, P)
			if err != nil {
				return nil, err
			}
			next += P
			rolled = append(rolled, more...)
			kept = append(kept, signalGroups(more)...)
		}
		if len(kept) > P {
			kept = kept[:P]
		}
		gs = kept
		m["dynamic_groups"] = len(gs)
		m["dynamic_rounds"] = next / P
	}
	rollTokens := 0
	for _, g := range rolled {
		for _, c := range g.comps {
			rollTokens += len(c)
		}
	}
	m["time_rollout"] = time.Since(tRoll).Seconds()
	m["tokens_rollout"] = rollTokens

	if len(gs) == 0 {
		// Nothing to learn from: no update, but the step counts.
		m["skipped_no_signal"] = true
		m["lr"] = t.Sched.LR(t.Step, cfg.LR)
		m["time_step"] = m["time_rollout"] // the step's cost is its rollouts
		return m, nil
	}

	// Advantages, one per completion.
	N := len(gs) * G
	rewards := make([]float64, N)
	for i, g := range gs {
		copy(rewards[i*G:], g.rewards)
	}
	adv := make([]float64, N)
	objective.Advantages(adv, rewards, G, cfg.AdvantageConfig())

	// Sequences in the padded completion layout (N, MaxNew).
	Tc := cfg.MaxNew
	seqs := make([][]int, N)
	plen := make([]int, N)
	lens := make([]int, N)
	trunc := make([]bool, N)
	maxSeq := 0
	for i, g := range gs {
		for s := range G {
			k := i*G + s
			seqs[k] = append(append(make([]int, 0, len(g.prompt)+len(g.comps[s])), g.prompt...), g.comps[s]...)
			plen[k] = len(g.prompt)
			lens[k] = len(g.comps[s])
			trunc[k] = !g.stopped[s]
			maxSeq = max(maxSeq, len(seqs[k]))
		}
	}
	if t.advHook != nil {
		t.advHook(seqs, plen, adv)
	}
	// Reference log-probs (KL) from the frozen initial policy.
	tRef := time.Now()
	refLogP := make([]float32, N*Tc)
	if err := t.scoreInto(refLogP, t.ensureEngine(&t.frozen, t.Ref, t.policy.B), seqs, plen, lens); err != nil {
		return nil, err
	}
	m["time_reference"] = time.Since(tRef).Seconds()
	m["tokens_reference"] = sum(lens)

	// Old log-probs: the sampling policy's, at the sampling temperature over
	// the full distribution. With mu = 1 they are also the current ones, so
	// rho == 1 exactly. Without top-k or top-p truncation the sampler's own
	// log-probs are exactly those (bitwise: model.Rollout), so the engine
	// does not score the completions a second time.
	tUpd := time.Now()
	oldLogP := make([]float32, N*Tc)
	if cfg.TopK == 0 && cfg.TopP == 1 {
		for i, g := range gs {
			for s := range G {
				copy(oldLogP[(i*G+s)*Tc:], g.logp[s])
			}
		}
	} else if err := t.scoreInto(oldLogP, t.policy.Engine, seqs, plen, lens); err != nil {
		return nil, err
	}
	if err := t.ensureGraph(min(t.grpoLength(maxSeq), t.Params.Cfg.Context)); err != nil {
		return nil, err
	}
	lc := cfg.LossConfig()
	batch := objective.Batch{T: Tc, Len: lens, LogP: oldLogP, OldLogP: oldLogP, RefLogP: refLogP, Adv: adv, Truncated: trunc}
	norm := objective.NewNorm(batch, lc)
	coef := make([]float32, N*Tc)
	var entCoef []float32
	if lc.EntropyCoef > 0 {
		entCoef = make([]float32, N*Tc)
		objective.EntropyCoefficients(entCoef, batch, norm, lc)
	}
	curLogP := oldLogP
	var stats objective.LossStats
	var gradNorm, lossSum float64
	var graphDiff float64
	for pass := 0; pass < cfg.Mu; pass++ {
		if pass > 0 {
			curLogP = make([]float32, N*Tc)
			if err := t.scoreInto(curLogP, t.policy.Engine, seqs, plen, lens); err != nil {
				return nil, err
			}
		}
		batch.LogP = curLogP
		stats = objective.Coefficients(coef, batch, norm, lc)
		if t.coefHook != nil {
			t.coefHook(batch, coef)
		}
		d, entLoss, err := t.graphPass(seqs, plen, lens, coef, entCoef, curLogP, Tc)
		if err != nil {
			return nil, err
		}
		lossSum = stats.Loss + entLoss
		if entCoef != nil {
			m["loss_entropy"] = entLoss
		}
		graphDiff = math.Max(graphDiff, d)
		lr := t.Sched.LR(t.Step, cfg.LR)
		m["lr"] = lr
		if math.IsNaN(lossSum) || math.IsInf(lossSum, 0) {
			t.graph.ZeroGrads() // never apply an update from a non-finite loss
			gradNorm = math.NaN()
			break
		}
		gradNorm = t.update(lr)
		if math.IsNaN(gradNorm) || math.IsInf(gradNorm, 0) {
			break
		}
	}
	m["time_update"] = time.Since(tUpd).Seconds()
	m["tokens_update"] = sum(lens) * cfg.Mu
	m["loss"] = finiteOr(lossSum)
	m["grad_norm"] = finiteOr(gradNorm)
	m["kl"] = stats.KLMean()
	m["ratio_mean"] = stats.RatioMean()
	m["clip_low"] = stats.ClipLowFrac()
	m["clip_high"] = stats.ClipHighFrac()
	m["dual_clip"] = stats.DualClipFrac()
	m["graph_engine_logp_maxdiff"] = graphDiff
	t.checkFinite(m, lossSum, gradNorm)
	total := m["time_rollout"].(float64) + m["time_reference"].(float64) + m["time_update"].(float64)
	m["time_step"] = total
	// Tokens processed: sampled, scored by the reference, scored as old
	// (and current for each further pass), and through the graph mu times.
	processed := rollTokens + sum(lens)*(1+2*cfg.Mu)
	if cfg.TopK == 0 && cfg.TopP == 1 { // old log-probs came from the sampler
		processed -= sum(lens)
	}
	m["tokens_per_s"] = float64(processed) / total
	return m, nil
}

// grpoLength is the graph length for sequences of up to maxSeq tokens:
// the longest possible prompt+completion, so the graph is built once.
func (t *Trainer) grpoLength(maxSeq int) int {
	if t.graph != nil {
		return max(t.graphT, maxSeq-1)
	}
	return max(maxSeq-1, t.promptBound()+t.Cfg.MaxNew)
}

// promptBound is the longest prompt among the first problems of every
// mixture item at levels up to 4, plus a margin.
func (t *Trainer) promptBound() int {
	longest := 0
	for _, it := range t.Mix {
		f, err := data.Lookup(it.Family)
		if err != nil {
			continue
		}
		for lv := 1; lv <= max(it.Level, 4); lv++ {
			for i := range uint64(64) {
				p, err := data.Generate(f, lv, data.Train, 0x5eed, i)
				if err == nil {
					longest = max(longest, len(p.Prompt)+1)
				}
			}
		}
	}
	return longest + 8
}

// scoreInto writes the engine's log-probs of each completion token into the
// padded (N, MaxNew) layout.
func (t *Trainer) scoreInto(dst []float32, e *model.Engine, seqs [][]int, plen, lens []int) error {
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

// graphPass runs the training graph over every completion, packed several
// to a row (pack.go), with the per-token coefficients coef and, if not nil,
// the entropy-bonus coefficients ent, accumulating gradients. It returns
// the largest difference between the graph's and the engine's log-probs
// and the entropy term of the loss, sum_t ent_t H_t.
func (t *Trainer) graphPass(seqs [][]int, plen, lens []int, coef, ent, engLogP []float32, Tc int) (diff, entLoss float64, err error) {
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

// signalGroups keeps the groups whose rewards are not all equal.
func signalGroups(gs []group) []group {
	var out []group
	for _, g := range gs {
		if objective.ZeroVarianceGroups(g.rewards, len(g.rewards)) == 0 {
			out = append(out, g)
		}
	}
	return out
}

// rolloutMetrics records reward, accuracy, format, length and entropy
// figures of the step's first rollout round (the policy as it is).
func (t *Trainer) rolloutMetrics(m map[string]any, gs []group) {
	var rs []float64
	var outs []objective.Outcome
	var lens []float64
	entSum, entN := 0.0, 0
	perTask := map[string][]float64{}
	minL, maxL := math.MaxInt, 0
	for _, g := range gs {
		rs = append(rs, g.rewards...)
		outs = append(outs, g.outs...)
		key := fmt.Sprintf("%s:%d", g.prob.Family, g.prob.Level)
		for s, o := range g.outs {
			lens = append(lens, float64(o.Len))
			minL, maxL = min(minL, o.Len), max(maxL, o.Len)
			entSum += g.ent[s]
			entN += o.Len
			c := 0.0
			if o.Correct && !o.Truncated {
				c = 1
			}
			perTask[key] = append(perTask[key], c)
		}
		// Record only outcomes drawn at the family's current level: a move
		// earlier in this step starts a fresh window at the new level.
		if t.Cur != nil {
			for _, o := range g.outs {
				if g.prob.Level == t.Cur.Level(g.prob.Family) {
					t.Cur.Record(g.prob.Family, o.Correct && !o.Truncated)
				}
			}
		}
	}
	mean, _ := eval.MeanStdErr(rs)
	m["reward_mean"] = mean
	m["reward_std"] = stddev(rs)
	// Each reward function's (unweighted) term and the reward per task.
	terms := map[string][]float64{}
	rewardTask := map[string][]float64{}
	for _, g := range gs {
		key := fmt.Sprintf("%s:%d", g.prob.Family, g.prob.Level)
		for s, p := range g.parts {
			terms["correct"] = append(terms["correct"], p.Correct)
			terms["format"] = append(terms["format"], p.Format)
			terms["length"] = append(terms["length"], p.Length)
			terms["overlong"] = append(terms["overlong"], p.Overlong)
			rewardTask[key] = append(rewardTask[key], g.rewards[s])
		}
	}
	for name, xs := range terms {
		mu, _ := eval.MeanStdErr(xs)
		m["reward_"+name+"_mean"] = mu
		m["reward_"+name+"_std"] = stddev(xs)
	}
	rt := map[string]float64{}
	for k, xs := range rewardTask {
		rt[k], _ = eval.MeanStdErr(xs)
	}
	m["reward_by_task"] = rt
	acc, fmtOK, trunc := 0.0, 0.0, 0.0
	for _, o := range outs {
		if o.Correct && !o.Truncated {
			acc++
		}
		if o.FormatOK {
			fmtOK++
		}
		if o.Truncated {
			trunc++
		}
	}
	n := float64(len(outs))
	m["accuracy"] = acc / n
	m["format_rate"] = fmtOK / n
	m["truncation_rate"] = trunc / n
	zero := 0
	for _, g := range gs {
		zero += objective.ZeroVarianceGroups(g.rewards, len(g.rewards))
	}
	m["zero_variance_frac"] = float64(zero) / float64(len(gs))
	lm, _ := eval.MeanStdErr(lens)
	m["completion_len_mean"] = lm
	m["completion_len_min"] = minL
	m["completion_len_max"] = maxL
	if entN > 0 {
		m["entropy"] = entSum / float64(entN)
	}
	acct := map[string]float64{}
	for k, v := range perTask {
		a, _ := eval.MeanStdErr(v)
		acct[k] = a
	}
	m["accuracy_by_task"] = acct
	if t.Cur != nil {
		lv := map[string]int{}
		for _, it := range t.Mix {
			lv[it.Family] = t.Cur.Level(it.Family)
		}
		m["curriculum_levels"] = lv
	}
}

func stddev(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	mean, _ := eval.MeanStdErr(xs)
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(xs)))
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}
