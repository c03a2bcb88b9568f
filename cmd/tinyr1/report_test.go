package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportEvalSummary runs the report command on two arms of two seeds
// whose run folders hold eval/test.json, and checks the printed paths, the
// arm columns of summary.md and eval_summary.csv.
func TestReportEvalSummary(t *testing.T) {
	dir := t.TempDir()
	var runs []string
	for _, arm := range []struct {
		name string
		v    [2]float64
	}{{"sft", [2]float64{0.25, 0.75}}, {"grpo", [2]float64{0.5, 0.5}}} {
		for s := 1; s <= 2; s++ {
			run := filepath.Join(dir, fmt.Sprintf("%s-s%d", arm.name, s))
			row := fmt.Sprintf(`{"family": %%q, "level": %%d, "problems": 4, "greedy": {"completions": 4, "pass1": {"value": %g}, "format_rate": 1}}`, arm.v[s-1])
			eval := fmt.Sprintf(`{"config": {"tasks": "add:1", "split": "test", "problems": 4, "greedy": true, "max_new": 8, "workers": 1},
				"checkpoints": [{"label": "x", "file": %q, "run_id": %q, "step": 10, "rows": [%s], "overall": %s}]}`,
				filepath.Join(run, "checkpoints", "step-0000010.ckpt"), filepath.Base(run), fmt.Sprintf(row, "add", 1), fmt.Sprintf(row, "all", 0))
			files := map[string]string{
				"config.json":    fmt.Sprintf(`{"kind": %q, "seed": %d}`, arm.name, s),
				"metrics.jsonl":  `{"step": 10, "loss": 1}` + "\n",
				"eval/test.json": eval,
			}
			for f, text := range files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(run, f)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(run, f), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			runs = append(runs, run)
		}
	}
	out := filepath.Join(dir, "report")
	code, stdout, errOut := runCLI(t, append(append([]string{"report"}, runs...), "--out", out, "--format", "svg")...)
	if code != 0 {
		t.Fatalf("report exit %d: %s", code, errOut)
	}
	csvPath := filepath.Join(out, "eval_summary.csv")
	for _, s := range []string{"4 runs in 2 groups (sft, grpo)", "evaluation table: " + csvPath} {
		if !strings.Contains(stdout, s) {
			t.Errorf("report output %q lacks %q", stdout, s)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	// sft: 0.25 and 0.75, SE 0.25; grpo: 0.5 twice, SE 0.
	want := "| task | sft (step 10) | grpo (step 10) |\n|---|---|---|\n" +
		"| add:1 | 0.500 ± 0.250 (n=2) | 0.500 ± 0.000 (n=2) |\n"
	if !strings.Contains(string(md), "**greedy pass@1**\n\n"+want) {
		t.Errorf("summary.md lacks the greedy pass@1 table\n%s\n in:\n%s", want, md)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantRec := "test.json,greedy_pass1,add:1,sft,0.5,0.25,2,10"
	found := false
	for _, r := range recs {
		found = found || strings.Join(r, ",") == wantRec
	}
	if !found {
		t.Errorf("eval_summary.csv lacks %q: %v", wantRec, recs)
	}
}
