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
func (t *Trainer) sftStep() (*Metrics, error) {
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
	m := &Metrics{LR: t.Sched.LR(t.Step, t.Cfg.LR)}
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
	gn := math.NaN()
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		g.ZeroGrads() // never apply an update from a non-finite loss
	} else {
		gn = t.update(m.LR)
	}
	el := time.Since(t0).Seconds()
	tUpdate := el
	if m.TimeRollout != nil { // RFT: the sampling is not the update, but it is the step's
		tUpdate = el - *m.TimeRollout
		m.TimeStep = &el
	}
	m.UpdateMetrics = &UpdateMetrics{Loss: finiteOr(loss), GradNorm: finiteOr(gn), TimeUpdate: tUpdate, TokensPerS: float64(targets) / el}
	m.SupervisedMetrics = &SupervisedMetrics{Tokens: targets, CutExamples: cut}
	t.checkFinite(m, loss, gn)
	return m, nil
}
