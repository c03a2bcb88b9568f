package train

import (
	"fmt"

	"tinyr1/data"
	"tinyr1/model"
)

// valSeed fixes the validation problems: every run, whatever its seed, is
// validated on the same problems, so validation scores compare across seeds.
const valSeed = 0

// Validate measures greedy pass@1 on the validation split: EvalProblems
// problems per mixture item (family, level). It returns the mean over items
// and the score of each item ("family:level"). Validation is separate from
// the reward: it uses the verifier's correctness only, greedy decoding, and
// problems the training stream never draws.
func (t *Trainer) Validate() (float64, map[string]float64, error) {
	n := t.Cfg.EvalProblems
	per := map[string]float64{}
	var probs []data.Problem
	var prompts [][]int
	for _, it := range t.Mix {
		f, err := data.Lookup(it.Family)
		if err != nil {
			return 0, nil, err
		}
		for i := range n {
			p, err := data.Generate(f, it.Level, data.Validation, valSeed, uint64(i))
			if err != nil {
				return 0, nil, err
			}
			pt, err := t.Tok.EncodePrompt(p.Prompt)
			if err != nil {
				return 0, nil, err
			}
			probs = append(probs, p)
			prompts = append(prompts, pt)
		}
	}
	e := t.ensureEngine(&t.policy, t.Params, min(max(len(prompts), 1), 64))
	correct, err := GreedyCorrect(e, t.policy.B, t.Tok, probs, prompts, t.Cfg.MaxNew)
	if err != nil {
		return 0, nil, err
	}
	total := 0.0
	for j, it := range t.Mix {
		c := 0
		for i := range n {
			if correct[j*n+i] {
				c++
			}
		}
		s := float64(c) / float64(n)
		per[fmt.Sprintf("%s:%d", it.Family, it.Level)] = s
		total += s
	}
	return total / float64(len(t.Mix)), per, nil
}

// GreedyCorrect decodes every prompt greedily (in chunks of the engine's
// batch) and verifies the completions. A completion cut at maxNew is never
// correct.
// B is the engine's batch capacity.
func GreedyCorrect(e *model.Engine, B int, tok *data.Tokenizer, probs []data.Problem, prompts [][]int, maxNew int) ([]bool, error) {
	out := make([]bool, len(probs))
	roll := model.NewRollout(B, maxNew)
	sc := model.SampleConfig{Greedy: true, Temperature: 1, TopP: 1, MaxNew: maxNew, EOS: data.EOS}
	seeds := make([]uint64, B)
	for lo := 0; lo < len(prompts); lo += B {
		hi := min(lo+B, len(prompts))
		if err := e.Generate(roll, prompts[lo:hi], seeds[:hi-lo], sc); err != nil {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			if !roll.Stopped[i-lo] {
				continue
			}
			text, _, err := tok.DecodeCompletion(roll.Tokens[i-lo])
			if err != nil {
				continue
			}
			v, err := data.Verify(&probs[i], text)
			if err != nil {
				return nil, err
			}
			out[i] = v.Correct
		}
	}
	return out, nil
}
