package train

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"tinyr1/checkpoints"
	"tinyr1/rl/objective"
)

// TestReferenceScoredOnlyForKL: a GRPO step scores its completions under
// the frozen reference only for the KL term (beta > 0) or, at beta 0, when
// log_kl asks for the figure. Without it the reference engine is never
// built, the objective gets no RefLogP, and the step logs no kl, no
// reference time and no reference tokens; with it kl is logged as before:
// exactly 0 at step 1, where the policy is still the reference, and > 0
// once it has moved. Scoring the reference at beta 0 changes nothing that
// trains: the checkpoints of 3 steps with and without log_kl hold the same
// tensors, bit for bit (their headers differ: the config does).
func TestReferenceScoredOnlyForKL(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		name  string
		beta  float64
		logKL bool
		ref   bool // the reference scores the completions
	}{
		{"beta0", 0, false, false},
		{"beta0-log_kl", 0, true, true},
		{"beta0.04", 0.04, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fixtureGRPO()
			cfg.Steps, cfg.SaveEvery = 3, 3
			cfg.LR = 1e-3 // moves the policy away from the reference in a step
			cfg.Beta, cfg.LogKL = tc.beta, tc.logKL
			if got := cfg.ScoresReference(); got != tc.ref {
				t.Fatalf("ScoresReference() = %v, want %v", got, tc.ref)
			}
			tr, err := NewGRPO(cfg, fixtureInit, "test")
			if err != nil {
				t.Fatal(err)
			}
			refLogP := map[bool]int{} // passes by whether RefLogP was set
			tr.coefHook = func(b objective.Batch, _ []float32) { refLogP[b.RefLogP != nil]++ }
			kl := map[int]float64{}
			tr.stepHook = func(m *Metrics) {
				if m.PolicyMetrics == nil {
					t.Fatalf("step %d: no update (skipped_no_signal %v): want one in every step of the fixture", m.Step, m.SkippedNoSignal)
				}
				if built := tr.frozen.Engine != nil; built != tc.ref {
					t.Errorf("step %d: reference engine built: %v, want %v", m.Step, built, tc.ref)
				}
				if logged := m.KL != nil; logged != tc.ref {
					t.Errorf("step %d: kl logged: %v, want %v", m.Step, logged, tc.ref)
				} else if logged {
					kl[m.Step] = *m.KL
				}
				if scored := m.TimeReference > 0 && m.TokensReference > 0; scored != tc.ref ||
					!tc.ref && (m.TimeReference != 0 || m.TokensReference != 0) {
					t.Errorf("step %d: time_reference %v, tokens_reference %d: want both > 0 = %v, else both 0",
						m.Step, m.TimeReference, m.TokensReference, tc.ref)
				}
			}
			runIn(t, filepath.Join(root, tc.name), tr, 0)
			if refLogP[!tc.ref] != 0 || refLogP[tc.ref] != cfg.Steps {
				t.Errorf("passes with RefLogP set/unset: %d/%d, want %d with it set = %v", refLogP[true], refLogP[false], cfg.Steps, tc.ref)
			}
			if tc.ref && (kl[1] != 0 || !(kl[2] > 0) || !(kl[3] > 0)) {
				t.Errorf("kl by step %v: want exactly 0 at step 1 (policy = reference), > 0 at steps 2 and 3", kl)
			}
		})
	}
	a, b := latestTensors(t, filepath.Join(root, "beta0")), latestTensors(t, filepath.Join(root, "beta0-log_kl"))
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("checkpoints hold %d and %d tensors: want the same, not none", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || !slices.Equal(x.Shape, y.Shape) ||
			!slices.EqualFunc(x.Data, y.Data, func(p, q float32) bool { return math.Float32bits(p) == math.Float32bits(q) }) {
			t.Errorf("tensor %d (%s, %s): differs between beta 0 without and with log_kl: want scoring the reference to change no weight", i, x.Name, y.Name)
		}
	}
	if c := latestTensors(t, filepath.Join(root, "beta0.04")); len(c) == len(a) && slices.EqualFunc(a, c, func(x, y checkpoints.Tensor) bool { return slices.Equal(x.Data, y.Data) }) {
		t.Error("beta 0.04 trained the same tensors as beta 0: the comparison above could not tell a KL term from none")
	}
}

// latestTensors returns the tensors of the run's latest checkpoint.
func latestTensors(t *testing.T, dir string) []checkpoints.Tensor {
	t.Helper()
	p, err := checkpoints.OpenRun(dir).Latest()
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoints.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return ck.Tensors
}
