package sweep

import (
	"strings"
	"testing"
)

// TestSlurmScripts checks the key lines of each wave's batch script and
// the submit script's afterok chain.
func TestSlurmScripts(t *testing.T) {
	p := examplePlan(t)
	scripts := p.Slurm(SlurmConfig{Bin: "/opt/tinyr1", File: "/w/experiment.json", Out: "/w/runs/x", Dir: "/w", CPUs: 2, Signal: 120})
	wantNames := []string{"wave-1-warm.sbatch", "wave-2-grpo-eval.sbatch", "wave-3-warm-eval.sbatch", "wave-4-eval.sbatch"}
	wantArrays := []string{"0-2", "3-20", "21-41", "42-47"}
	if len(scripts) != len(wantNames) {
		t.Fatalf("got %d scripts: want %d", len(scripts), len(wantNames))
	}
	for i, s := range scripts {
		if s.Name != wantNames[i] {
			t.Errorf("script %d: got %s: want %s", i, s.Name, wantNames[i])
		}
		for _, line := range []string{
			"#!/bin/bash\n",
			"\n#SBATCH --array=" + wantArrays[i] + "\n",
			"\n#SBATCH --cpus-per-task=2\n",
			"\n#SBATCH --requeue\n",
			"\n#SBATCH --signal=B:TERM@120\n",
			"\n#SBATCH --chdir=/w\n",
			"\n#SBATCH --open-mode=append\n",
			"\n#SBATCH --output=/w/runs/x/slurm/" + strings.TrimSuffix(wantNames[i], ".sbatch") + "-%a.log\n",
			"\nexec /opt/tinyr1 sweep job /w/experiment.json --out /w/runs/x --index \"$SLURM_ARRAY_TASK_ID\"\n",
		} {
			if !strings.Contains(s.Text, line) {
				t.Errorf("%s lacks %q:\n%s", s.Name, line, s.Text)
			}
		}
	}
	if !strings.Contains(scripts[2].Text, "#   21: sftx-s1\n") {
		t.Errorf("wave 3 does not list index 21 as sftx-s1:\n%s", scripts[2].Text)
	}
	sub := SubmitScript("/w/runs/x/slurm", scripts)
	for _, line := range []string{
		"jid=$(sbatch --parsable /w/runs/x/slurm/wave-1-warm.sbatch)\n",
		"jid=$(sbatch --parsable --dependency=afterok:$jid /w/runs/x/slurm/wave-2-grpo-eval.sbatch)\n",
		"jid=$(sbatch --parsable --dependency=afterok:$jid /w/runs/x/slurm/wave-4-eval.sbatch)\n",
	} {
		if !strings.Contains(sub, line) {
			t.Errorf("submit script lacks %q:\n%s", line, sub)
		}
	}
}

// TestResults checks RESULTS.md: facts, the compute figure per seed, every
// command, and the report's tables appended.
func TestResults(t *testing.T) {
	p := examplePlan(t)
	c := &Compute{Arm: "sftx", Matched: "grpo", PerStep: "sft", Seeds: []uint64{1, 2, 3}, Seconds: []float64{30, 40, 50},
		SecondsPerStep: []float64{0.1, 0.2, 0.3}, Extra: 200}
	md := p.Results(Facts{Revision: "abc123", Machine: "a CPU, 2 cores", File: "examples/experiment.json", Summary: "## Runs\n| sft | ...\n",
		Skipped: []string{"bernoulli-s3"}}, []*Compute{c})
	for _, want := range []string{
		"revision abc123; machine: a CPU, 2 cores; arms sft, sftx, grpo, shuffle, bernoulli; seeds 1 2 3.",
		"Arm sftx: 200 extra steps = round(mean grpo seconds / mean sft seconds per step)",
		"- seed 2: grpo 40.000 s of steps; sft 0.20000 s per step",
		"Not finished, so not in the tables: bernoulli-s3.",
		"tinyr1 sft --out runs/experiment/sftx-s1 --seed 1 --steps 1200 --tasks add:1-2,sort:1-2 --sft-data 128 --quiet\n",
		"tinyr1 eval runs/experiment/sftx-s3 --tasks add:5,sort:5",
		"```\n\n## Runs\n| sft | ...\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q:\n%s", want, md)
		}
	}
	if got := strings.Count(md, "\ntinyr1 "); got != len(p.Jobs) {
		t.Errorf("got %d commands: want one per job, %d", got, len(p.Jobs))
	}
}

func TestShellLine(t *testing.T) {
	got := ShellLine([]string{"eval", "runs/a b", "--tasks", "add:1,sort:2", "it's", ""})
	want := `eval 'runs/a b' --tasks add:1,sort:2 'it'\''s' ''`
	if got != want {
		t.Errorf("got %s: want %s", got, want)
	}
}
