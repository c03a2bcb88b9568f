package train

import (
	"fmt"
	"time"

	"tinyr1/data"
	"tinyr1/model"
)

// rftMaxRounds bounds the sampling rounds of one rejection-sampling step:
// a sampler that solves nothing stops the run instead of looping forever.
const rftMaxRounds = 8

// NewRFT makes a trainer for rejection-sampling fine-tuning (`sft
// --from-samples CKPT`, the R1 recipe's stage that turns a checkpoint's own
// verified completions into supervised data): the policy starts from the
// checkpoint at samplerPath, and each step samples Group completions per
// prompt from a frozen copy of it (Temperature, TopK, TopP, MaxNew), keeps
// those the verifier accepts (ended with EOS, distinct per problem) and takes
// a supervised step on BatchSize of them. With RefResetEvery N the frozen
// copy becomes the policy after every N steps (iterated rejection sampling,
// refreset.go).
func NewRFT(cfg Config, samplerPath, runID string) (*Trainer, error) {
	return trainerFrom(RFT, "--from-samples", cfg, samplerPath, runID)
}

// rftExamples samples completions from the frozen sampler (t.Ref) until
// BatchSize verified examples are collected or rftMaxRounds rounds of
// BatchSize prompts were drawn, and records the acceptance figures in m.
// Round r, prompt i, sample s draws from SeedFor(seed, step, r*BatchSize+i, s).
func (t *Trainer) rftExamples(m *Metrics) ([]example, error) {
	cfg := t.Cfg
	B, G := cfg.BatchSize, cfg.Group
	sampler := t.ensureEngine(&t.frozen, t.Ref, B*G)
	if t.roll == nil || len(t.roll.Stopped) < B*G {
		t.roll = model.NewRollout(B*G, cfg.MaxNew)
	}
	sc := model.SampleConfig{Temperature: float32(cfg.Temperature), TopK: cfg.TopK, TopP: float32(cfg.TopP),
		MaxNew: cfg.MaxNew, EOS: data.EOS}
	rng := newRand(cfg.Seed, streamSFT, uint64(t.Step))
	var exs []example
	sampled, correct, accepted, prompts := 0, 0, 0, 0
	seen := map[string]bool{} // problem key + completion: kept once per step, however often the problem is drawn
	t0 := time.Now()
	for round := 0; round < rftMaxRounds && len(exs) < B; round++ {
		probs := make([]data.Problem, B)
		pts := make([][]int, 0, B*G)
		seeds := make([]uint64, 0, B*G)
		for i := range probs {
			p, err := t.drawProblem(t.Mix[t.Mix.Pick(rng)])
			if err != nil {
				return nil, err
			}
			pt, err := t.Tok.EncodePrompt(p.Prompt)
			if err != nil {
				return nil, err
			}
			probs[i] = p
			for s := range G {
				pts = append(pts, pt)
				seeds = append(seeds, model.SeedFor(DeriveSeed(cfg.Seed, streamSample), t.Step, round*B+i, s))
			}
		}
		if err := sampler.Generate(t.roll, pts, seeds, sc); err != nil {
			return nil, err
		}
		prompts += B
		for i := range probs {
			for s := range G {
				k := i*G + s
				sampled++
				if !t.roll.Stopped[k] {
					continue // cut at max_new: not a complete solution
				}
				text, _, err := t.Tok.DecodeCompletion(t.roll.Tokens[k])
				if err != nil {
					continue
				}
				v, err := data.Verify(&probs[i], text)
				if err != nil {
					return nil, err
				}
				if !v.Correct {
					continue
				}
				correct++
				key := probs[i].Key + "\x00" + text
				if seen[key] {
					continue // a repeat of a kept completion of this problem
				}
				seen[key] = true
				accepted++
				if len(exs) < B {
					seq := append(append([]int(nil), pts[k]...), t.roll.Tokens[k]...)
					exs = append(exs, example{seq: seq, plen: len(pts[k]), prob: &probs[i]})
				}
			}
		}
	}
	tRollout := time.Since(t0).Seconds()
	m.TimeRollout = &tRollout
	m.SampleMetrics = &SampleMetrics{Prompts: prompts, Sampled: sampled, Examples: len(exs),
		CorrectRate: float64(correct) / float64(sampled),  // verified, repeats included
		AcceptRate:  float64(accepted) / float64(sampled), // verified and distinct per problem
	}
	if len(exs) == 0 {
		return nil, fmt.Errorf("rl: --from-samples: the sampler's %d completions of %d prompts at step %d were all rejected by the verifier: want a checkpoint that solves some of --tasks %s", sampled, prompts, t.Step+1, cfg.Tasks)
	}
	return exs, nil
}
