package train

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tinyr1/checkpoints"
	"tinyr1/data"
)

// rftSampler is a tiny model trained 600 steps on add:1 (greedy pass@1
// about 0.69, sampled 0.42): the CLI's evaluation fixture.
const rftSampler = "testdata/tiny-add1.ckpt"

// tinyRFT is a CI-sized rejection-sampling config.
func tinyRFT(steps int) Config {
	c := tinySFT(steps)
	c.Tasks = "add:1"
	c.Group = 4
	c.MaxNew = 24
	c.LR = 1e-3
	c.EvalEvery = 0
	return c
}

// runRFT is runSFT for sft --from-samples.
func runRFT(t *testing.T, dir, sampler string, cfg Config, stopAt int) {
	t.Helper()
	tr, err := NewRFT(cfg, sampler, "test")
	if err != nil {
		t.Fatal(err)
	}
	runIn(t, dir, tr, stopAt)
}

// TestRFTKeepsOnlyVerifiedSamples: every example of a rejection-sampling
// step is a completion of the frozen sampler that ended with EOS and that
// the verifier accepts, distinct within its prompt; the acceptance figures
// are logged; the checkpoint names the sampler as its reference.
func TestRFTKeepsOnlyVerifiedSamples(t *testing.T) {
	for seed := range uint64(12) { // add:1 has ~90 train problems: some are drawn twice a step
		cfg := tinyRFT(1)
		cfg.Seed = seed + 1
		tr, err := NewRFT(cfg, rftSampler, "test")
		if err != nil {
			t.Fatal(err)
		}
		var m Metrics
		exs, err := tr.rftExamples(&m)
		tr.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(exs) == 0 || m.Examples != len(exs) || m.AcceptRate <= 0 || m.CorrectRate < m.AcceptRate {
			t.Fatalf("seed %d: %d examples, metrics %+v", cfg.Seed, len(exs), *m.SampleMetrics)
		}
		seen := map[string]bool{}
		for i, ex := range exs {
			if ex.seq[len(ex.seq)-1] != data.EOS {
				t.Errorf("seed %d: example %d does not end with EOS", cfg.Seed, i)
			}
			text, _, err := tr.Tok.DecodeCompletion(ex.seq[ex.plen:])
			if err != nil {
				t.Fatal(err)
			}
			v, err := data.Verify(ex.prob, text)
			if err != nil || !v.Correct {
				t.Errorf("seed %d: example %d (%q for %q) is not a verified solution: %v %v", cfg.Seed, i, text, ex.prob.Prompt, v, err)
			}
			key := ex.prob.Key + "\x00" + text
			if seen[key] {
				t.Errorf("seed %d: example %d repeats a kept completion of the same problem", cfg.Seed, i)
			}
			seen[key] = true
		}
	}
}

// TestRFTDeterministicAndResumable: same seed, same bytes; 2 steps + resume
// + 2 equals 4 straight; the checkpoint's reference hash is the sampler's.
func TestRFTDeterministicAndResumable(t *testing.T) {
	root, sampler := t.TempDir(), rftSampler
	cfg := tinyRFT(4)
	a, b, c := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	runRFT(t, a, sampler, cfg, 0)
	runRFT(t, b, sampler, cfg, 0)
	if !bytes.Equal(latestBytes(t, a), latestBytes(t, b)) {
		t.Fatal("two rejection-sampling runs with the same seed and config wrote different final checkpoints")
	}
	runRFT(t, c, sampler, cfg, 2)
	resume(t, c, func() (*Trainer, error) { return NewRFT(cfg, sampler, "test") })
	if !bytes.Equal(latestBytes(t, a), latestBytes(t, c)) {
		t.Fatal("rejection sampling 2 steps + resume + 2 steps differs from 4 straight steps")
	}
	latest, err := checkpoints.OpenRun(a).Latest()
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoints.Load(latest)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkpoints.VerifyReference(ck, sampler); err != nil {
		t.Errorf("checkpoint does not name its sampler: %v", err)
	}
}

// TestRFTSamplerThatSolvesNothing: a sampler whose completions the verifier
// always rejects stops the run with an error naming the cause.
func TestRFTSamplerThatSolvesNothing(t *testing.T) {
	sampler := warmStart(t, filepath.Join(t.TempDir(), "sft"), 1)
	cfg := tinyRFT(1)
	cfg.MaxNew = 2 // nothing can finish with EOS
	tr, err := NewRFT(cfg, sampler, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Train(); err == nil || !strings.Contains(err.Error(), "rejected by the verifier") {
		t.Fatalf("Train = %v, want an error saying every completion was rejected", err)
	}
}

// TestRFTIterated: with ref_reset_every 2 the sampler becomes the policy
// after steps 2 and 4 (and only then), so rejection sampling is iterated.
// Up to step 2 the run equals plain RFT bit for bit; at step 3 it samples
// from the new sampler, so its policy differs from plain RFT's (an engine
// that kept the old weights would not). Each step logs time_step, the
// sampling and the update, which prices an RFT step for compute matching.
// A run stopped at step 3 and resumed writes the uninterrupted run's bytes.
func TestRFTIterated(t *testing.T) {
	cfg := tinyRFT(5)
	cfg.RefResetEvery = 2
	run := func(cfg Config) map[int][]float32 {
		tr, err := NewRFT(cfg, rftSampler, "test")
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		init := slices.Clone(tr.Ref.Data)
		params := map[int][]float32{}
		tr.stepHook = func(m *Metrics) {
			params[m.Step] = slices.Clone(tr.Params.Data)
			// time_update is time_step minus the sampling, so what can fail
			// here is a missing time_step or one that leaves the sampling out.
			if m.TimeStep == nil || m.TimeRollout == nil || *m.TimeRollout <= 0 || *m.TimeStep < *m.TimeRollout {
				t.Errorf("step %d: time_step %v, time_rollout %v: want the whole step's seconds, sampling included", m.Step, m.TimeStep, m.TimeRollout)
			}
			due := cfg.RefResetEvery > 0 && m.Step%2 == 0
			if m.RefReset != due {
				t.Errorf("reset every %d, step %d: ref_reset %v, want %v", cfg.RefResetEvery, m.Step, m.RefReset, due)
			}
			if same := slices.Equal(tr.Ref.Data, tr.Params.Data); same != due {
				t.Errorf("reset every %d, step %d: sampler equals the policy: %v, want %v", cfg.RefResetEvery, m.Step, same, due)
			}
			if m.Step < 2 && !slices.Equal(tr.Ref.Data, init) {
				t.Errorf("step %d: the sampler changed before the first reset", m.Step)
			}
		}
		if err := tr.Train(); err != nil {
			t.Fatal(err)
		}
		return params
	}
	iter := run(cfg)
	plainCfg := cfg
	plainCfg.RefResetEvery = 0
	plain := run(plainCfg)
	if !slices.Equal(iter[2], plain[2]) {
		t.Error("step 2: iterated RFT differs from plain RFT before its first reset")
	}
	if slices.Equal(iter[3], plain[3]) {
		t.Error("step 3: iterated RFT equals plain RFT: the step after the reset did not sample from the new sampler")
	}

	root := t.TempDir()
	a, c := filepath.Join(root, "a"), filepath.Join(root, "c")
	runRFT(t, a, rftSampler, cfg, 0)
	runRFT(t, c, rftSampler, cfg, 3)
	resume(t, c, func() (*Trainer, error) { return NewRFT(cfg, rftSampler, "test") })
	if !bytes.Equal(latestBytes(t, a), latestBytes(t, c)) {
		t.Fatal("iterated RFT 3 steps + resume + 2 steps differs from 5 straight steps")
	}
}
