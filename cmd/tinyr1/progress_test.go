package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"tinyr1/rl/train"
)

func TestProgressPipe(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b) // not a terminal: the trainer's lines, one per step
	p.StepDone(train.StepProgress{Kind: "sft", Step: 1, Steps: 2, Elapsed: time.Second, Metrics: "  loss 2.5  72.0k tok/s"})
	p.StepDone(train.StepProgress{Kind: "sft", Step: 2, Steps: 2, Elapsed: 2 * time.Second})
	p.Done()
	if got, want := b.String(), "sft step 1/2  loss 2.5  72.0k tok/s  eta 1s\nsft step 2/2  eta 0s\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestProgressBarAfterResume: on a terminal, a run resumed at step 44 of
// 3000 draws a bar of the 2956 steps this process takes, so that the
// bar's rate and ETA count those alone; the step and metrics follow it.
func TestProgressBarAfterResume(t *testing.T) {
	var b bytes.Buffer
	p := &progressWriter{w: &b, terminal: true}
	p.StepDone(train.StepProgress{Kind: "train", Step: 45, Steps: 3000, First: 44, Elapsed: 10 * time.Second, Metrics: "  loss 0.01  72.0k tok/s"})
	st := p.bar.State()
	if st.Max != 2956 || st.CurrentNum != 1 {
		t.Errorf("bar at %d of %d: want 1 of 2956 (the steps after the resumed checkpoint)", st.CurrentNum, st.Max)
	}
	p.StepDone(train.StepProgress{Kind: "train", Step: 46, Steps: 3000, First: 44, Elapsed: 20 * time.Second})
	if st := p.bar.State(); st.CurrentNum != 2 {
		t.Errorf("bar at %d after step 46: want 2", st.CurrentNum)
	}
	out := b.String()
	for _, s := range []string{"train 45/3000  loss 0.01  72.0k tok/s", "train 46/3000", "step/"} {
		if !strings.Contains(out, s) {
			t.Errorf("terminal output %q lacks %q", out, s)
		}
	}
	if strings.Contains(out, "\n") {
		t.Errorf("terminal output %q has a newline: want one line redrawn in place", out)
	}
	b.Reset()
	p.Write([]byte("warning: something\n"))
	p.Done()
	if got, want := b.String(), "\r\x1b[Kwarning: something\n"; got != want {
		t.Errorf("a line during the bar: got %q, want %q (and no extra newline from Done)", got, want)
	}
}
