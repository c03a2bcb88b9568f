package train

import (
	"fmt"

	"tinyr1/data"
	"tinyr1/rl/eval"
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
	correct, err := eval.GreedyCorrect(e, t.policy.B, t.Tok, probs, prompts, t.Cfg.MaxNew)
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
