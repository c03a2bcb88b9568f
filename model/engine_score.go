package model

import (
	"fmt"
	"math"
)

// Score writes dst[b][t] = log p(seqs[b][t+1] | seqs[b][:t+1]) under the
// full softmax(logits / temperature): no top-k, top-p or min-p. It is the
// log-probability GRPO needs for the old and reference policies; with the
// same temperature and no truncation it equals Generate's LogP. Each
// sequence needs 1 to maxLen+1 tokens (the last one is only predicted) and
// len(dst[b]) == len(seqs[b])-1. More sequences than maxBatch are scored in
// groups.
func (e *Engine) Score(dst [][]float32, seqs [][]int, temperature float32) error {
	if t := float64(temperature); !(t > 0) || math.IsInf(t, 0) {
		return fmt.Errorf("model: temperature = %g: want a finite value > 0", t)
	}
	if len(dst) < len(seqs) {
		return fmt.Errorf("model: %d destination rows for %d sequences: want one per sequence", len(dst), len(seqs))
	}
	for b, s := range seqs {
		if err := e.checkSeq("sequence", b, s, 1, e.maxLen+1); err != nil {
			return err
		}
		if len(dst[b]) != len(s)-1 {
			return fmt.Errorf("model: dst[%d] has length %d: want len(seqs[%d])-1 = %d", b, len(dst[b]), b, len(s)-1)
		}
	}
	if len(seqs) == 0 {
		return nil
	}
	e.prepare()
	e.scoreT = float64(temperature)
	for g := 0; g < len(seqs); g += e.maxBatch {
		group := seqs[g:min(g+e.maxBatch, len(seqs))]
		e.scoreDst, e.scoreSeq = dst[g:], group
		e.n = 0
		for b, s := range group {
			for t := 0; t+1 < len(s); t++ {
				if e.n == e.rowCap {
					e.flushScore()
				}
				e.rowTok[e.n], e.rowPos[e.n], e.rowSlot[e.n] = s[t], t, b
				e.sel[e.n] = e.n
				e.n++
			}
		}
		e.flushScore()
	}
	e.scoreDst, e.scoreSeq = nil, nil
	return nil
}

func (e *Engine) flushScore() {
	if e.n == 0 {
		return
	}
	e.nsel = e.n
	e.forwardChunk()
	e.parallel(opScore, e.n, 1)
	e.n = 0
}

// scoreRows writes the log-probs of sel entries [i0, i1).
func (e *Engine) scoreRows(w, i0, i1 int) {
	V := e.cfg.Vocab
	p := e.prob[w*V : (w+1)*V]
	for i := i0; i < i1; i++ {
		r := e.sel[i]
		b, t := e.rowSlot[r], e.rowPos[r]
		e.scoreDst[b][t] = logProbOf(p, e.logits[i*V:(i+1)*V], e.scoreT, e.scoreSeq[b][t+1])
	}
}
