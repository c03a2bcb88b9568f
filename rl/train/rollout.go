package train

import (
	"fmt"
	"math"

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
	entTok  [][]float32             // (G) entropy of the sampling distribution at each token
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
		g.entTok = make([][]float32, G)
		for s := range G {
			k := i*G + s
			g.comps[s] = append([]int(nil), t.roll.Tokens[k]...)
			g.logp[s] = append([]float32(nil), t.roll.LogP[k]...)
			g.entTok[s] = append([]float32(nil), t.roll.Entropy[k]...)
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

// sampleGroups rolls out the step's P groups and records the rollout
// metrics of this first round (the policy as it is) in m. With Dynamic
// (DAPO's dynamic sampling) it keeps only groups with a signal (rewards that
// differ; for passk, see signalGroups) and draws up to MaxRefill further
// rounds of P prompts to refill the batch.
// It returns the groups to learn from (at most P; none when no group has a
// signal).
func (t *Trainer) sampleGroups(m *Metrics) ([]group, error) {
	P := t.Cfg.Prompts
	gs, err := t.rolloutGroups(0, P)
	if err != nil {
		return nil, err
	}
	m.RolloutMetrics = t.rolloutMetrics(gs)
	rolled := gs
	if t.Cfg.Dynamic {
		kept := signalGroups(gs, t.Cfg.AdvantageConfig())
		next := P
		for round := 0; len(kept) < P && round < t.Cfg.MaxRefill; round++ {
			more, err := t.rolloutGroups(next, P)
			if err != nil {
				return nil, err
			}
			next += P
			rolled = append(rolled, more...)
			kept = append(kept, signalGroups(more, t.Cfg.AdvantageConfig())...)
		}
		if len(kept) > P {
			kept = kept[:P]
		}
		gs = kept
		m.DynamicMetrics = &DynamicMetrics{Groups: len(gs), Rounds: next / P}
	}
	for _, g := range rolled {
		for _, c := range g.comps {
			m.TokensRollout += len(c)
		}
	}
	return gs, nil
}

// signalGroups keeps the groups the advantage estimator of cfg can learn
// from: rewards not all equal and, for passk, not every k-subset holding
// the best reward (objective.GroupHasSignal).
func signalGroups(gs []group, cfg objective.AdvantageConfig) []group {
	var out []group
	for _, g := range gs {
		if objective.GroupHasSignal(g.rewards, cfg) {
			out = append(out, g)
		}
	}
	return out
}

// rolloutMetrics returns reward, accuracy, format, length and entropy
// figures of rollout groups gs, and records their outcomes in the
// curriculum.
func (t *Trainer) rolloutMetrics(gs []group) *RolloutMetrics {
	var rs []float64
	var outs []objective.Outcome
	var lens []float64
	var correct, format, length, overlong []float64 // each reward term, unweighted
	entSum, entN := 0.0, 0
	perTask := map[string][]float64{}
	rewardTask := map[string][]float64{}
	minL, maxL := math.MaxInt, 0
	var lenRight, lenWrong []float64
	lenTask, thinkTask := map[string][]float64{}, map[string][]float64{}
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
				lenRight = append(lenRight, float64(o.Len))
			} else {
				lenWrong = append(lenWrong, float64(o.Len))
			}
			perTask[key] = append(perTask[key], c)
			lenTask[key] = append(lenTask[key], float64(o.Len))
			if n := eval.ThinkLen(g.comps[s]); n >= 0 { // eval's think length
				thinkTask[key] = append(thinkTask[key], float64(n))
			}
		}
		for s, p := range g.parts {
			correct = append(correct, p.Correct)
			format = append(format, p.Format)
			length = append(length, p.Length)
			overlong = append(overlong, p.Overlong)
			rewardTask[key] = append(rewardTask[key], g.rewards[s])
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
	mean := func(xs []float64) float64 { m, _ := eval.MeanStdErr(xs); return m }
	means := func(byKey map[string][]float64) map[string]float64 {
		out := map[string]float64{}
		for k, xs := range byKey {
			out[k] = mean(xs)
		}
		return out
	}
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
	zero := 0
	for _, g := range gs {
		zero += objective.ZeroVarianceGroups(g.rewards, len(g.rewards))
	}
	n := float64(len(outs))
	rm := &RolloutMetrics{
		RewardMean: mean(rs), RewardStd: stddev(rs),
		RewardCorrectMean: mean(correct), RewardCorrectStd: stddev(correct),
		RewardFormatMean: mean(format), RewardFormatStd: stddev(format),
		RewardLengthMean: mean(length), RewardLengthStd: stddev(length),
		RewardOverlongMean: mean(overlong), RewardOverlongStd: stddev(overlong),
		RewardByTask: means(rewardTask),
		Accuracy:     acc / n, AccuracyByTask: means(perTask),
		FormatRate: fmtOK / n, TruncationRate: trunc / n,
		ZeroVarianceFrac:  float64(zero) / float64(len(gs)),
		CompletionLenMean: mean(lens), CompletionLenMin: minL, CompletionLenMax: maxL,
		CompletionLenTask: means(lenTask),
	}
	if len(lenRight) > 0 {
		x := mean(lenRight)
		rm.CompletionLenRight = &x
	}
	if len(lenWrong) > 0 {
		x := mean(lenWrong)
		rm.CompletionLenWrong = &x
	}
	if len(thinkTask) > 0 {
		rm.ThinkLenByTask = means(thinkTask)
	}
	if entN > 0 {
		e := entSum / float64(entN)
		rm.Entropy = &e
	}
	if t.Cur != nil {
		rm.CurriculumLevels = map[string]int{}
		for _, it := range t.Mix {
			rm.CurriculumLevels[it.Family] = t.Cur.Level(it.Family)
		}
	}
	return rm
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
