package sweep

import (
	"fmt"
	"strings"
)

// Facts are what RESULTS.md says about where and how the sweep ran.
type Facts struct {
	Revision string   // the VCS revision of tinyr1
	Machine  string   // CPU model and cores
	File     string   // the experiment file
	Summary  string   // rl/report's summary.md: the tables by arm, mean +- SE over seeds
	Skipped  []string // training jobs not finished, so not in the tables
}

// Results is RESULTS.md: what ran (every job's command line, the
// compute-matching figures), on what, and the report's tables.
func (p *Plan) Results(f Facts, computes []*Compute) string {
	var b strings.Builder
	e := p.Exp
	fmt.Fprintf(&b, "# tinyr1 sweep: %s\n\n", f.File)
	seeds := make([]string, len(e.Seeds))
	for i, s := range e.Seeds {
		seeds[i] = fmt.Sprint(s)
	}
	fmt.Fprintf(&b, "revision %s; machine: %s; arms %s; seeds %s.\n\n", f.Revision, f.Machine, strings.Join(e.armNames(), ", "), strings.Join(seeds, " "))
	for _, c := range computes {
		if c.Fixed {
			fmt.Fprintf(&b, "Arm %s: %d extra steps, given in the experiment file (no measurement).\n\n", c.Arm, c.Extra)
			continue
		}
		fmt.Fprintf(&b, "Arm %s: %d extra steps = round(mean %s seconds / mean %s seconds per step), frozen in %s:\n\n", c.Arm, c.Extra, c.Matched, c.PerStep, p.ComputeFile(c.Arm))
		for i, s := range c.Seeds {
			fmt.Fprintf(&b, "- seed %d: %s %.3f s of steps; %s %.5f s per step\n", s, c.Matched, c.Seconds[i], c.PerStep, c.SecondsPerStep[i])
		}
		b.WriteString("\n")
	}
	if len(f.Skipped) > 0 {
		fmt.Fprintf(&b, "Not finished, so not in the tables: %s.\n\n", strings.Join(f.Skipped, ", "))
	}
	fmt.Fprintf(&b, "Made with `tinyr1 sweep run %s --out %s` and `tinyr1 sweep report %s --out %s`.\n\n", f.File, p.Out, f.File, p.Out)
	b.WriteString("Commands (each job, as `tinyr1 sweep plan` lists them; runs resumed after an interruption continued with `--resume`):\n\n```\n")
	for _, j := range p.Jobs {
		var args []string
		switch {
		case j.Eval != nil:
			args = p.EvalArgs(j)
		case j.Arm.Match != nil:
			extra := 0
			for _, c := range computes {
				if c.Arm == j.Arm.Name {
					extra = c.Extra
				}
			}
			args = p.TrainArgs(j, extra, false)
		default:
			args = p.TrainArgs(j, 0, false)
		}
		fmt.Fprintf(&b, "tinyr1 %s\n", ShellLine(args))
	}
	b.WriteString("```\n\n")
	b.WriteString(f.Summary)
	return b.String()
}
