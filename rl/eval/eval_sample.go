package eval

import (
	"fmt"

	"tinyr1/data"
	"tinyr1/model"
)

// This file holds what eval, sample and score share: loading a policy from
// a checkpoint, and decoding prompts in batches with a verdict for each
// completion. One code path serves `tinyr1 eval` and `tinyr1 sample`, so
// that eval's greedy pass@1 is by construction the fraction of `sample
// --greedy` completions the verifier accepts.

// MaxEvalBatch is the most sequences decoded at once. 64 keeps the engine's
// KV cache of the small preset at 64 MB.
const MaxEvalBatch = 64

// Job is one sequence to decode.
type Job struct {
	Prompt  []int         // BOS and the prompt tokens
	Seed    uint64        // seed of the sequence's sampling stream (ignored when greedy)
	Problem *data.Problem // the problem the completion is verified against; nil for free text
}

// Completion is one decoded, verified completion. It is valid only during
// the callback that receives it; copy what must outlive it.
type Completion struct {
	Tokens   []int        // generated tokens, the EOS included when one was produced
	Text     string       // decoded text up to the EOS; special tokens inside it are written as <pad>, <bos>
	Stopped  bool         // an EOS was produced; false means cut at MaxNew or at the context length
	Verdict  data.Verdict // the verifier's verdict; see Decoder.Run for truncated and undecodable completions
	Answer   string       // the extracted answer block, trimmed; "" when the format is invalid
	Canon    string       // the answer's canonical form (data.Canonical), what maj@k votes on; "" when it has none
	ThinkLen int          // tokens strictly between <think> and the first </think>; -1 without both
}

// Decoder decodes prompts in batches with the rollout engine and verifies
// each completion. It holds the engine and its buffers; Close releases the
// engine's workers.
type Decoder struct {
	tok  *data.Tokenizer
	e    *model.Engine
	roll *model.Rollout
	b    int // batch capacity
	max  int // MaxNew capacity of roll
	buf  []byte
}

// NewDecoder makes a decoder for batches of up to batch sequences of up to
// maxNew new tokens, on workers goroutines. Sequences may grow to the
// model's context length (prompt plus completion), as in training.
func NewDecoder(p *model.Params, tok *data.Tokenizer, batch, maxNew, workers int) *Decoder {
	return &Decoder{
		tok:  tok,
		e:    model.NewEngine(p, batch, p.Cfg.Context, workers),
		roll: model.NewRollout(batch, maxNew),
		b:    batch,
		max:  maxNew,
	}
}

// Close stops the engine's workers.
func (d *Decoder) Close() { d.e.Close() }

// Run decodes every job under sc (sc.EOS should be data.EOS) in batches
// and calls fn(j, c) for job j in job order. A sequence's result does not
// depend on the batch it is in (see model.Engine). The verdict of a
// completion with a problem is the verifier's, except that a truncated
// completion (no EOS) is never correct nor format-valid, and a completion
// holding PAD or BOS is neither. Free-text jobs (nil Problem) get a format
// verdict only (Correct stays false).
func (d *Decoder) Run(jobs []Job, sc model.SampleConfig, fn func(j int, c *Completion) error) error {
	if sc.MaxNew > d.max {
		return fmt.Errorf("rl: max_new = %d: want at most the decoder's %d", sc.MaxNew, d.max)
	}
	prompts := make([][]int, d.b)
	seeds := make([]uint64, d.b)
	var c Completion
	for lo := 0; lo < len(jobs); lo += d.b {
		hi := min(lo+d.b, len(jobs))
		for i := lo; i < hi; i++ {
			prompts[i-lo], seeds[i-lo] = jobs[i].Prompt, jobs[i].Seed
		}
		if err := d.e.Generate(d.roll, prompts[:hi-lo], seeds[:hi-lo], sc); err != nil {
			return err
		}
		for i := lo; i < hi; i++ {
			if err := d.complete(&c, d.roll.Tokens[i-lo], d.roll.Stopped[i-lo], jobs[i].Problem); err != nil {
				return err
			}
			if err := fn(i, &c); err != nil {
				return err
			}
		}
	}
	return nil
}

// Reasons the decoder gives beyond the verifier's.
const (
	ReasonTruncated   = "truncated: no end-of-sequence"
	ReasonUndecodable = "special token inside the completion"
)

// complete fills c for one generated sequence.
func (d *Decoder) complete(c *Completion, toks []int, stopped bool, p *data.Problem) error {
	*c = Completion{Tokens: toks, Stopped: stopped, ThinkLen: ThinkLen(toks)}
	body := toks
	if stopped && len(body) > 0 && body[len(body)-1] == data.EOS {
		body = body[:len(body)-1]
	}
	clean := true
	d.buf = d.buf[:0]
	for _, id := range body {
		s, err := d.tok.TokenString(id)
		if err != nil {
			return fmt.Errorf("rl: %w", err)
		}
		if id == data.PAD || id == data.BOS || id == data.EOS {
			clean = false
		}
		d.buf = append(d.buf, s...)
	}
	c.Text = string(d.buf)
	switch {
	case !clean:
		c.Verdict = data.Verdict{Reason: ReasonUndecodable}
		return nil
	case p == nil:
		_, reason, ok := data.ExtractAnswer(c.Text)
		c.Verdict = data.Verdict{FormatOK: ok, Reason: reason}
	default:
		v, err := data.Verify(p, c.Text)
		if err != nil {
			return err
		}
		c.Verdict = v
	}
	if !stopped {
		c.Verdict = data.Verdict{Reason: ReasonTruncated + " (" + c.Verdict.Reason + ")"}
		return nil
	}
	if a, _, ok := data.ExtractAnswer(c.Text); ok {
		c.Answer = a
		if p != nil {
			f, err := data.Lookup(p.Family)
			if err != nil {
				return err
			}
			c.Canon = f.Canonical(p, a)
		}
	}
	return nil
}

// ThinkLen counts the tokens between the first <think> and the first
// </think> after it, or returns -1 when either is missing. The tags are
// single tokens and the other tokens are characters, so this is also the
// think block's length in characters. Training's think_len_by_task counts
// the same way.
func ThinkLen(toks []int) int {
	open := -1
	for i, id := range toks {
		switch {
		case id == data.ThinkOpenID && open < 0:
			open = i
		case id == data.ThinkCloseID && open >= 0:
			return i - open - 1
		}
	}
	return -1
}

// ProblemSeed is the seed of sample s of problem i of a family and level
// under a run seed: model.SeedFor over the seed mixed with the hash of
// "family:level". Eval and sample draw from the same streams, and a task's
// numbers do not depend on the other tasks in the mixture nor on batching.
func ProblemSeed(seed uint64, family string, level, i, s int) uint64 {
	return model.SeedFor(seed^data.KeyHash(fmt.Sprintf("%s:%d", family, level)), 0, i, s)
}

// ScoreText returns the tokens of text (BOS, then the text's tokens; a
// trailing EOS when eos is set) and the log-probability of each token after
// the first given those before it, under softmax(logits/temperature).
// logprobs[t] belongs to tokens[t+1].
func ScoreText(e *model.Engine, tok *data.Tokenizer, text string, eos bool, temperature float32) (tokens []string, logprobs []float32, err error) {
	ids, err := tok.EncodePrompt(text)
	if err != nil {
		return nil, nil, err
	}
	if eos {
		ids = append(ids, data.EOS)
	}
	if len(ids) < 2 {
		return nil, nil, fmt.Errorf("rl: empty text: want at least one token to score")
	}
	dst := [][]float32{make([]float32, len(ids)-1)}
	if err := e.Score(dst, [][]int{ids}, temperature); err != nil {
		return nil, nil, err
	}
	tokens = make([]string, len(ids))
	for i, id := range ids {
		s, err := tok.TokenString(id)
		if err != nil {
			return nil, nil, err
		}
		tokens[i] = s
	}
	return tokens, dst[0], nil
}
