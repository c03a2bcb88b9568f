package train

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// StepProgress is what the trainer reports after each step.
type StepProgress struct {
	Kind    string        // "sft" or "train"
	Step    int           // steps done, this one included
	Steps   int           // steps of the run
	First   int           // the step this process started from: 0, or the step of a resumed checkpoint
	Elapsed time.Duration // since this process started training, at step First
	Metrics string        // the step's headline metrics, "  loss 2.996  72.0k tok/s"
}

// StepBar is a Progress writer that draws the steps itself (the CLI's bar
// on a terminal): the trainer calls StepDone instead of writing Line.
type StepBar interface {
	StepDone(StepProgress)
}

// ETA is the time the remaining steps take at this process's rate: the
// steps since First over Elapsed. A resumed run's rate does not count the
// steps of the checkpoint it resumed from (at step 45 of 3000, resumed at
// 44 after 10 s: 2955 steps of 10 s, not 2955 steps of 10/45 s). ok is
// false before the first step of this process.
func (p StepProgress) ETA() (eta time.Duration, ok bool) {
	done := p.Step - p.First
	if done <= 0 {
		return 0, false
	}
	per := float64(p.Elapsed) / float64(done)
	return time.Duration(per * float64(p.Steps-p.Step)).Round(time.Second), true
}

// Line is the step's progress line: "train step 45/3000  loss 0.01 ...  eta 8h12m30s".
func (p StepProgress) Line() string {
	eta := "?"
	if d, ok := p.ETA(); ok {
		eta = d.String()
	}
	return fmt.Sprintf("%s step %d/%d%s  eta %s", p.Kind, p.Step, p.Steps, p.Metrics, eta)
}

// stepMetrics is the headline of a step's metrics m, with the last
// validation score when this step has none (NaN: never validated).
func stepMetrics(m *Metrics, lastVal float64) string {
	var b strings.Builder
	show := func(k string, v float64) { fmt.Fprintf(&b, "  %s %s", k, HumanNumber(v)) }
	if m.UpdateMetrics != nil {
		show("loss", m.Loss)
	}
	if m.RolloutMetrics != nil {
		show("reward_mean", m.RewardMean)
		show("accuracy", m.Accuracy)
	}
	switch {
	case m.ValidationMetrics != nil:
		show("val_pass1", m.ValPass1)
	case !math.IsNaN(lastVal):
		show("val_pass1", lastVal)
	}
	if m.UpdateMetrics != nil {
		fmt.Fprintf(&b, "  %s tok/s", HumanNumber(m.TokensPerS))
	}
	return b.String()
}

// HumanNumber writes x for people: thousands and up with one decimal and a
// suffix (72.0k, 1.5M, 3.2G), smaller values with 4 significant digits and
// no trailing zeros (2.996, 0.5, 0.0123), and an exponent only below 0.001
// (1.4e-10).
func HumanNumber(x float64) string {
	a := math.Abs(x)
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return strconv.FormatFloat(x, 'g', -1, 64)
	case a == 0:
		return "0"
	// Each threshold is where the smaller unit would round up to 1000.0.
	case a >= 999.95e9:
		return strconv.FormatFloat(x, 'e', 2, 64)
	case a >= 999.95e6:
		return strconv.FormatFloat(x/1e9, 'f', 1, 64) + "G"
	case a >= 999.95e3:
		return strconv.FormatFloat(x/1e6, 'f', 1, 64) + "M"
	case a >= 999.95:
		return strconv.FormatFloat(x/1e3, 'f', 1, 64) + "k"
	case a < 1e-3:
		return strconv.FormatFloat(x, 'g', 2, 64)
	}
	prec := max(0, 3-int(math.Floor(math.Log10(a))))
	s := strconv.FormatFloat(x, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
