package main

import (
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"

	"tinyr1/rl/train"
)

// progressWriter shows the trainer's per-step progress. On a terminal it
// is a live bar (schollz/progressbar: width, redraw, rate in steps/s or
// steps/min, elapsed and ETA), followed by the step and its headline
// metrics; elsewhere (a log file, a pipe, CI) it writes the trainer's one
// line per step, unchanged.
//
// The bar counts the steps of this process only: a run resumed at step 44
// of 3000 gets a bar of 2956 steps, so that its rate and ETA are those of
// the steps it takes, not of the checkpoint's.
type progressWriter struct {
	w        io.Writer
	terminal bool
	bar      *progressbar.ProgressBar // made at the first step; nil before, and never in a pipe
	pending  bool                     // a bar is on screen without its newline
}

var _ train.StepBar = (*progressWriter)(nil)

// newProgress wraps w; it is a terminal when w is a character device.
func newProgress(w io.Writer) *progressWriter {
	p := &progressWriter{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// StepDone implements train.StepBar.
func (p *progressWriter) StepDone(s train.StepProgress) {
	if !p.terminal {
		fmt.Fprintln(p.w, s.Line())
		return
	}
	desc := fmt.Sprintf("%s %d/%d%s", s.Kind, s.Step, s.Steps, s.Metrics)
	if p.bar == nil {
		p.bar = progressbar.NewOptions(max(s.Steps-s.First, 1),
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetWidth(24),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("step"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionUseANSICodes(true),
		)
	}
	p.bar.Describe(desc)
	p.bar.Set(s.Step - s.First)
	p.pending = true
}

// Write shows other lines (warnings) on a line of their own; the bar is
// drawn again at the next step.
func (p *progressWriter) Write(b []byte) (int, error) {
	if p.terminal && p.pending {
		// Carriage return and erase-to-end-of-line: the line replaces the bar.
		if _, err := io.WriteString(p.w, "\r\x1b[K"); err != nil {
			return 0, err
		}
		p.pending = false
	}
	return p.w.Write(b)
}

// Done ends the bar's line so that later output starts on a new line.
func (p *progressWriter) Done() {
	if p.pending {
		p.w.Write([]byte("\n"))
		p.pending = false
	}
}
