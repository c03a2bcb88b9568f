package train

import (
	"math"
	"testing"
	"time"
)

func TestHumanNumber(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want string
	}{
		{72020.5, "72.0k"}, {7.202e4, "72.0k"}, {1530000, "1.5M"}, {3.2e9, "3.2G"}, {4e12, "4.00e+12"},
		{2.99558, "2.996"}, {0.5, "0.5"}, {0.25, "0.25"}, {1, "1"}, {0.0123456, "0.01235"}, {123.456, "123.5"},
		{-0.0123, "-0.0123"}, {0, "0"}, {1.4027e-10, "1.4e-10"}, {999.4, "999.4"}, {math.NaN(), "NaN"},
		// At each unit's top, rounding carries into the next unit, never "1000.0k".
		{999.96, "1.0k"}, {999999.9, "1.0M"}, {999.96e6, "1.0G"}, {-999999.9, "-1.0M"},
	} {
		if got := HumanNumber(tc.x); got != tc.want {
			t.Errorf("HumanNumber(%g) = %q: want %q", tc.x, got, tc.want)
		}
	}
}

// TestProgressETA: the ETA counts the remaining steps at this process's
// rate; after --resume at step 44 of 3000, one step in 10 s leaves 2955
// steps of 10 s (it said 4 s: 10 s over 45 steps, times 2955... counted from
// step 0).
func TestProgressETA(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    StepProgress
		want string
	}{
		{"fresh run", StepProgress{Kind: "train", Step: 45, Steps: 3000, Elapsed: 45 * time.Second}, "train step 45/3000  eta 49m15s"},
		{"resumed at 44", StepProgress{Kind: "train", Step: 45, Steps: 3000, First: 44, Elapsed: 10 * time.Second}, "train step 45/3000  eta 8h12m30s"},
		{"resumed, 10 steps in", StepProgress{Kind: "sft", Step: 54, Steps: 3000, First: 44, Elapsed: 20 * time.Second, Metrics: "  loss 2.996"},
			"sft step 54/3000  loss 2.996  eta 1h38m12s"},
		{"last step", StepProgress{Kind: "sft", Step: 3000, Steps: 3000, First: 44, Elapsed: time.Hour}, "sft step 3000/3000  eta 0s"},
		{"no step yet", StepProgress{Kind: "sft", Step: 44, Steps: 3000, First: 44}, "sft step 44/3000  eta ?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Line(); got != tc.want {
				t.Errorf("got %q: want %q", got, tc.want)
			}
		})
	}
}

func TestStepMetrics(t *testing.T) {
	kl := 0.1
	m := &Metrics{RolloutMetrics: &RolloutMetrics{RewardMean: 0.5, Accuracy: 0.25},
		UpdateMetrics: &UpdateMetrics{Loss: 2.99558, TokensPerS: 72020}, PolicyMetrics: &PolicyMetrics{KL: &kl}}
	if got, want := stepMetrics(m, 0.25), "  loss 2.996  reward_mean 0.5  accuracy 0.25  val_pass1 0.25  72.0k tok/s"; got != want {
		t.Errorf("got %q: want %q", got, want)
	}
	m.ValidationMetrics = &ValidationMetrics{ValPass1: 0.75}
	if got, want := stepMetrics(m, 0.25), "  loss 2.996  reward_mean 0.5  accuracy 0.25  val_pass1 0.75  72.0k tok/s"; got != want {
		t.Errorf("with this step's validation: got %q: want %q", got, want)
	}
	if got, want := stepMetrics(&Metrics{UpdateMetrics: &UpdateMetrics{Loss: 1, TokensPerS: 10}}, math.NaN()), "  loss 1  10 tok/s"; got != want {
		t.Errorf("never validated: got %q: want %q", got, want)
	}
	if got, want := stepMetrics(&Metrics{RolloutMetrics: &RolloutMetrics{}, SkippedNoSignal: true}, math.NaN()), "  reward_mean 0  accuracy 0"; got != want {
		t.Errorf("no update: got %q: want %q", got, want)
	}
}

// stepRecorder is a StepBar that keeps what it is told.
type stepRecorder []StepProgress

func (r *stepRecorder) Write(p []byte) (int, error) { return len(p), nil }
func (r *stepRecorder) StepDone(p StepProgress)     { *r = append(*r, p) }

// TestTrainerProgressFromResume: a trainer whose Step is already 3 (as
// after Restore) reports First 3, so that its rate and ETA count only the
// steps it takes.
func TestTrainerProgressFromResume(t *testing.T) {
	tr, err := NewSFT(tinySFT(5), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.Step = 3
	var rec stepRecorder
	tr.Progress = &rec
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	if len(rec) != 2 {
		t.Fatalf("%d progress reports: want 2 (steps 4 and 5)", len(rec))
	}
	for i, p := range rec {
		if p.Step != 4+i || p.Steps != 5 || p.First != 3 || p.Kind != "sft" || p.Elapsed <= 0 {
			t.Errorf("report %d: %+v: want step %d of 5 from 3, kind sft, some elapsed time", i, p, 4+i)
		}
	}
}
