package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tinyr1/data"
	"tinyr1/rl/eval"
)

// TestEvalLogSamples: --log-samples writes one line per completion (greedy
// and sampled), whose verdicts are the verifier's on the logged text and
// add up to the evaluation's counts.
func TestEvalLogSamples(t *testing.T) {
	path := filepath.Join(t.TempDir(), "samples.jsonl")
	const n = 3
	ef := evalJSON(t, "--tasks", "add:1", "--problems", "6", "--n", "3", "--k", "1,3", "--max-new", "40", "--workers", "1",
		"--quiet", "--log-samples", path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fam, err := data.Lookup("add")
	if err != nil {
		t.Fatal(err)
	}
	correct := map[string]int{}
	seen := map[string]bool{}
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines++
		var r eval.SampleRecord
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %d: %v: %s", lines, err, sc.Text())
		}
		if r.Checkpoint != ef.Checkpoints[0].File || r.Task != "add:1" || r.Split != "test" {
			t.Errorf("line %d: checkpoint %q task %q split %q: want %q, add:1, test", lines, r.Checkpoint, r.Task, r.Split, ef.Checkpoints[0].File)
		}
		pb, err := data.Generate(fam, 1, data.Test, 0, uint64(r.Problem))
		if err != nil {
			t.Fatal(err)
		}
		if r.Key != pb.Key || r.Prompt != pb.Prompt || r.Target != pb.Answer {
			t.Errorf("line %d: problem %d is %q %q -> %q: want %q %q -> %q", lines, r.Problem, r.Key, r.Prompt, r.Target, pb.Key, pb.Prompt, pb.Answer)
		}
		// The verdict is the verifier's on the logged text (a truncated
		// completion is judged as such by the decoder, not re-verified).
		if !r.Truncated {
			v, err := data.Verify(&pb, r.Completion)
			if err != nil {
				t.Fatal(err)
			}
			if v.Correct != r.Correct || v.FormatOK != r.FormatOK || v.Reason != r.Reason {
				t.Errorf("line %d: logged verdict %v %v %q: the verifier says %+v of %q", lines, r.Correct, r.FormatOK, r.Reason, v, r.Completion)
			}
		}
		if r.Correct && (r.Answer != pb.Answer || r.Reason != data.ReasonOK) {
			t.Errorf("line %d: correct with answer %q reason %q: want %q, ok", lines, r.Answer, r.Reason, pb.Answer)
		}
		if (r.Mode == "greedy") != (r.Seed == 0) || r.Sample < 0 || r.Sample >= n || (r.Mode == "greedy" && r.Sample != 0) {
			t.Errorf("line %d: mode %q sample %d seed %d", lines, r.Mode, r.Sample, r.Seed)
		}
		id := fmt.Sprintf("%s/%d/%d", r.Mode, r.Problem, r.Sample)
		if seen[id] {
			t.Errorf("line %d: %s logged twice", lines, id)
		}
		seen[id] = true
		if r.Correct {
			correct[r.Mode]++
		}
	}
	row := ef.Checkpoints[0].Rows[0]
	if problems := row.Problems; problems != 5 || lines != problems*(1+n) {
		t.Errorf("%d lines of %d distinct problems: want 5 problems (add:1 has 5 in its test split), %d lines (greedy + %d samples each)",
			lines, problems, 5*(1+n), n)
	}
	if correct["greedy"] != row.Greedy.Correct || correct["sampled"] != row.Sampled.Correct {
		t.Errorf("correct lines: greedy %d sampled %d: want the evaluation's %d and %d",
			correct["greedy"], correct["sampled"], row.Greedy.Correct, row.Sampled.Correct)
	}
	if correct["greedy"] == 0 {
		t.Errorf("no correct greedy completion: the fixture gets about 2/3 of add:1 right")
	}
}

// TestEvalLogSamplesKeepsOldLog: a failed eval leaves an earlier log as it
// was, and a folder is refused before anything runs.
func TestEvalLogSamplesKeepsOldLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "samples.jsonl")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "eval", evalFixture, filepath.Join(dir, "missing.ckpt"), "--tasks", "add:1", "--problems", "2",
		"--n", "0", "--quiet", "--log-samples", path)
	if code == 0 {
		t.Fatalf("eval of a missing checkpoint exit 0: want an error")
	}
	if b, _ := os.ReadFile(path); string(b) != "old\n" {
		t.Errorf("log after a failed eval: %q: want the old log kept (%s)", b, errOut)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".samples.jsonl.tmp*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	code, _, errOut = runCLI(t, "eval", evalFixture, "--n", "0", "--quiet", "--log-samples", dir)
	if code != 2 || !strings.Contains(errOut, "is a folder") {
		t.Errorf("--log-samples DIR: exit %d %q: want 2 and \"is a folder\"", code, errOut)
	}
}
