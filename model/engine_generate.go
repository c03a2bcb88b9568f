package model

import (
	"fmt"
)

// Generate samples a completion for each prompt into dst under cfg;
// sequence b draws from a PCG stream seeded with seeds[b]. A sequence stops
// at cfg.EOS (dst.Stopped[b] = true), after cfg.MaxNew tokens, or when
// prompt plus completion reach the engine's maxLen. See Rollout for what
// LogP and Entropy hold. It returns an error, and generates nothing, on an
// invalid cfg, too many prompts, a prompt that is empty, too long (at most
// maxLen-1 tokens) or holds a bad token id, or a dst too small.
func (e *Engine) Generate(dst *Rollout, prompts [][]int, seeds []uint64, cfg SampleConfig) error {
	if err := e.begin(dst, prompts, seeds, cfg); err != nil {
		return err
	}
	e.prefill()
	for e.decodeStep() {
	}
	return nil
}

// begin validates Generate's arguments and resets the state.
func (e *Engine) begin(dst *Rollout, prompts [][]int, seeds []uint64, cfg SampleConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	B, V := len(prompts), e.cfg.Vocab
	if cfg.EOS >= V {
		return fmt.Errorf("model: eos = %d: want a token id below the vocabulary size %d, or -1", cfg.EOS, V)
	}
	if B > e.maxBatch {
		return fmt.Errorf("model: %d prompts: want at most the engine's max batch %d", B, e.maxBatch)
	}
	if len(seeds) != B {
		return fmt.Errorf("model: %d seeds for %d prompts: want one seed per prompt", len(seeds), B)
	}
	if dst == nil || cap(dst.Tokens) < B || cap(dst.LogP) < B || cap(dst.Entropy) < B || cap(dst.Stopped) < B {
		return fmt.Errorf("model: rollout too small for %d prompts: want one from NewRollout(maxBatch >= %d, ...)", B, B)
	}
	for b, pr := range prompts {
		if err := e.checkSeq("prompt", b, pr, 1, e.maxLen-1); err != nil {
			return err
		}
		if cap(dst.Tokens[:B][b]) < cfg.MaxNew || cap(dst.LogP[:B][b]) < cfg.MaxNew || cap(dst.Entropy[:B][b]) < cfg.MaxNew {
			return fmt.Errorf("model: rollout holds %d tokens per sequence: want NewRollout(..., maxNew >= %d)", cap(dst.Tokens[:B][b]), cfg.MaxNew)
		}
	}
	e.prepare()
	e.scfg, e.out, e.prompts = cfg, dst, prompts
	dst.Tokens, dst.LogP, dst.Entropy, dst.Stopped = dst.Tokens[:B], dst.LogP[:B], dst.Entropy[:B], dst.Stopped[:B]
	for b := range B {
		e.rng[b].Seed(seeds[b], rngStream)
		dst.Tokens[b], dst.LogP[b], dst.Entropy[b] = dst.Tokens[b][:0], dst.LogP[b][:0], dst.Entropy[b][:0]
		dst.Stopped[b] = false
		e.seqLen[b] = len(prompts[b])
		e.finished[b] = false
	}
	return nil
}

func (e *Engine) checkSeq(what string, b int, seq []int, minLen, maxLen int) error {
	if len(seq) < minLen || len(seq) > maxLen {
		return fmt.Errorf("model: %s %d has %d tokens: want %d to %d (engine maxLen %d)", what, b, len(seq), minLen, maxLen, e.maxLen)
	}
	for t, tok := range seq {
		if tok < 0 || tok >= e.cfg.Vocab {
			return fmt.Errorf("model: %s %d: token %d at position %d: want an id in [0, %d)", what, b, tok, t, e.cfg.Vocab)
		}
	}
	return nil
}

// prefill runs every prompt through the model in chunks of rows, sampling
// each sequence's first token from its last prompt position.
func (e *Engine) prefill() {
	e.n, e.nsel = 0, 0
	for b, pr := range e.prompts {
		for t, tok := range pr {
			if e.n == e.rowCap {
				e.flushPrefill()
			}
			e.rowTok[e.n], e.rowPos[e.n], e.rowSlot[e.n] = tok, t, b
			if t == len(pr)-1 {
				e.sel[e.nsel] = e.n
				e.nsel++
			}
			e.n++
		}
	}
	e.flushPrefill()
}

func (e *Engine) flushPrefill() {
	if e.n == 0 {
		return
	}
	e.forwardChunk()
	e.parallel(opSample, e.nsel, 1)
	e.n, e.nsel = 0, 0
}

// decodeStep feeds the last token of every unfinished sequence and samples
// the next. It returns false when every sequence has finished.
func (e *Engine) decodeStep() bool {
	n := 0
	for b := range e.prompts {
		if e.finished[b] {
			continue
		}
		toks := e.out.Tokens[b]
		e.rowTok[n], e.rowPos[n], e.rowSlot[n] = toks[len(toks)-1], e.seqLen[b]-1, b
		e.sel[n] = n
		n++
	}
	if n == 0 {
		return false
	}
	e.n, e.nsel = n, n
	if n >= e.rowMode {
		units := (n + 3) / 4 // as parallel splits them: the largest share
		e.prepackGemm(min(n, (units+e.workers-1)/e.workers*4))
		e.parallel(opDecode, n, 4)
	} else {
		e.forwardChunk()
		e.parallel(opSample, n, 1)
	}
	return true
}

// sampleRows samples the next token for sel entries [i0, i1) from their
// logits and records it; worker w's scratch is used.
func (e *Engine) sampleRows(w, i0, i1 int) {
	V := e.cfg.Vocab
	p, idx := e.prob[w*V:(w+1)*V], e.idx[w*V:(w+1)*V]
	out := e.out
	for i := i0; i < i1; i++ {
		b := e.rowSlot[e.sel[i]]
		tok, lp, ent := sampleToken(e.logits[i*V:(i+1)*V], &e.scfg, &e.rng[b], p, idx)
		out.Tokens[b] = append(out.Tokens[b], tok)
		out.LogP[b] = append(out.LogP[b], lp)
		out.Entropy[b] = append(out.Entropy[b], ent)
		e.seqLen[b]++
		switch {
		case tok == e.scfg.EOS:
			out.Stopped[b] = true
			e.finished[b] = true
		case len(out.Tokens[b]) >= e.scfg.MaxNew || e.seqLen[b] >= e.maxLen:
			e.finished[b] = true
		}
	}
}
