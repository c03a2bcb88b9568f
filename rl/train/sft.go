package train

import (
	"fmt"
	"math"
	"time"

	"tinyr1/data"
)

// example is one training sequence: prompt tokens then completion tokens.
type example struct {
	seq  []int         // BOS, prompt, completion, EOS
	plen int           // prompt tokens (including BOS)
	prob *data.Problem // sft --from-samples: the problem the completion solves (tests)
}

// drawProblem draws the next train problem of mixture item it.
func (t *Trainer) drawProblem(it data.MixItem) (data.Problem, error) {
	f, err := data.Lookup(it.Family)
	if err != nil {
		return data.Problem{}, err
	}
	level := it.Level
	if t.Cur != nil && t.Mode == GRPO {
		level = t.Cur.Level(it.Family)
	}
	index := t.DataPos
	if n := uint64(t.Cfg.SFTData); n > 0 && t.Mode == SFT {
		index %= n // a fixed supervised dataset of n problems per task
	}
	p, err := data.Generate(f, level, data.Train, t.dataSeed(), index)
	t.DataPos++
	return p, err
}

// dataSeed is the seed of this stage's training problem stream: SFT and GRPO
// draw from separate streams, so GRPO does not start on the very problems
// the warm start was trained on (both splits stay the train split).
func (t *Trainer) dataSeed() uint64 {
	stage := uint64(1) // SFT
	switch t.Mode {
	case GRPO:
		stage = 2
	case RFT:
		stage = 3
	}
	return DeriveSeed(t.Cfg.Seed, streamData, stage)
}

// encodeExample encodes a problem with its worked solution and gold answer.
func (t *Trainer) encodeExample(p *data.Problem) (example, error) {
	pt, err := t.Tok.EncodePrompt(p.Prompt)
	if err != nil {
		return example{}, err
	}
	ct, err := t.Tok.EncodeCompletion(data.FormatCompletion(p))
	if err != nil {
		return example{}, err
	}
	return example{seq: append(pt, ct...), plen: len(pt)}, nil
}

// sftLength scans the first problems of every mixture item (levels 1-4
// under a curriculum) and returns the longest sequence, so that the graph
// is built once with room for all of them.
func (t *Trainer) sftLength() (int, error) {
	longest := 0
	for _, it := range t.Mix {
		f, err := data.Lookup(it.Family)
		if err != nil {
			return 0, err
		}
		for i := range uint64(256) {
			p, err := data.Generate(f, it.Level, data.Train, t.Cfg.Seed^0x5eed, i)
			if err != nil {
				return 0, err
			}
			ex, err := t.encodeExample(&p)
			if err != nil {
				return 0, err
			}
			longest = max(longest, len(ex.seq))
		}
	}
	return longest, nil
}

// sftStep is one supervised step: BatchSize problems with their worked
// solutions, loss -1/N sum log p over completion tokens (the prompt is
// masked), N the completion tokens of the whole batch, so the gradient does
// not depend on the micro-batch size. Examples are packed several to a row
// of the graph (pack.go).
func (t *Trainer) sftStep() (map[string]any, error) {
	t0 := time.Now()
	if t.graph == nil {
		L, err := t.sftLength()
		if err != nil {
			return nil, err
		}
		// Room for slightly longer problems than the scan saw.
		L += L / 4
		if t.Mode == RFT { // completions of up to MaxNew
			L = max(L, t.promptBound()+t.Cfg.MaxNew)
		}
		if err := t.ensureGraph(min(L, t.Params.Cfg.Context)); err != nil {
			return nil, err
		}
	}
	T := t.graphT
	m := map[string]any{}
	var exs []example
	if t.Mode == RFT {
		var err error
		if exs, err = t.rftExamples(m); err != nil {
			return nil, err
		}
	} else {
		rng := newRand(t.Cfg.Seed, streamSFT, uint64(t.Step))
		exs = make([]example, t.Cfg.BatchSize)
		for i := range exs {
			p, err := t.drawProblem(t.Mix[t.Mix.Pick(rng)])
			if err != nil {
				return nil, err
			}
			if exs[i], err = t.encodeExample(&p); err != nil {
				return nil, err
			}
		}
	}
	targets, cut := 0, 0
	for i := range exs {
		ex := exs[i]
		if len(ex.seq) > T+1 {
			ex.seq = ex.seq[:T+1]
			cut++
		}
		exs[i] = ex
		targets += len(ex.seq) - ex.plen
	}
	if cut > 0 && !t.warnedCut && t.Warn != nil {
		// Once: the metrics line counts cut examples at every step.
		fmt.Fprintf(t.Warn, "%s: warning: %d of %d training sequences at step %d are longer than the %d tokens a sequence may have (context %d) and are cut; metrics.jsonl counts them at each step as cut_examples\n",
			t.Mode.Kind(), cut, len(exs), t.Step+1, T+1, t.Params.Cfg.Context)
		t.warnedCut = true
	}
	w := float32(-1 / float64(targets))
	g := t.graph
	seqs := make([][]int, len(exs))
	for i, ex := range exs {
		seqs[i] = ex.seq
	}
	t.pack.pack(seqs, T)
	weight := func(k, i int) float32 {
		if i+1 >= exs[k].plen {
			return w
		}
		return 0
	}
	var loss float64
	for p := range t.pack.passes(g.B) {
		t.pack.write(g, p, weight, nil)
		if err := g.Step(); err != nil {
			return nil, err
		}
		loss += g.Loss
	}
	lr := t.Sched.LR(t.Step, t.Cfg.LR)
	gn := math.NaN()
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		g.ZeroGrads() // never apply an update from a non-finite loss
	} else {
		gn = t.update(lr)
	}
	m["loss"], m["lr"], m["grad_norm"], m["tokens"], m["cut_examples"] = finiteOr(loss), lr, finiteOr(gn), targets, cut
	t.checkFinite(m, loss, gn)
	el := time.Since(t0).Seconds()
	m["time_update"] = el
	if r, ok := m["time_rollout"].(float64); ok { // sft --from-samples
		m["time_update"] = el - r
	}
	m["tokens_per_s"] = float64(targets) / el
	return m, nil
}

// checkFinite counts a non-finite loss or gradient (the update was skipped
// by AdamW for a non-finite gradient norm).
func (t *Trainer) checkFinite(m map[string]any, loss, gradNorm float64) {
	if math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(gradNorm) || math.IsInf(gradNorm, 0) {
		t.NonFinite++
		t.Skipped++
		m["nonfinite"] = true
	} else {
		t.NonFinite = 0
	}
	m["skipped_steps"] = t.Skipped
}

// finiteMetrics replaces every non-finite number of a step's metrics (at
// the top level or in a map of numbers) by -1, as finiteOr does, so that
// the metrics line stays valid JSON, and returns the keys it replaced.
func finiteMetrics(m map[string]any) []string {
	var bad []string
	for k, v := range m {
		switch v := v.(type) {
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				m[k] = -1.0
				bad = append(bad, k)
			}
		case map[string]float64:
			for kk, x := range v {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					v[kk] = -1
					bad = append(bad, k+"."+kk)
				}
			}
		}
	}
	return bad
}

// finiteOr maps a non-finite value to -1 so that metrics stay valid JSON.
func finiteOr(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return -1
	}
	return v
}
