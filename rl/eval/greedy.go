package eval

import (
	"tinyr1/data"
	"tinyr1/model"
)

// GreedyCorrect decodes every prompt greedily (in chunks of B, the engine's
// batch capacity) and verifies the completions: the trainer's validation.
// A completion cut at maxNew is never correct.
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
