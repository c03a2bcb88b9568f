package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tinyr1/data"
)

func TestTasksListShowExport(t *testing.T) {
	code, out, errs := runApp(t, "tasks", "list")
	if code != 0 {
		t.Fatalf("tasks list: exit %d: %s", code, errs)
	}
	for _, name := range data.FamilyNames() {
		if !strings.Contains(out, name+" ") {
			t.Errorf("tasks list: no line for %q in\n%s", name, out)
		}
	}
	code, out, errs = runApp(t, "tasks", "show", "--family", "sort", "--level", "2", "--n", "3", "--seed", "7")
	if code != 0 || strings.Count(out, "prompt:") != 3 || !strings.Contains(out, "solution:") {
		t.Fatalf("tasks show: exit %d, output %q, stderr %q", code, out, errs)
	}
	code, out, errs = runApp(t, "tasks", "export", "--family", "add", "--level", "2", "--split", "test", "--n", "4")
	if code != 0 {
		t.Fatalf("tasks export: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("tasks export --n 4 wrote %d lines", len(lines))
	}
	for _, l := range lines {
		var p data.Problem
		if err := json.Unmarshal([]byte(l), &p); err != nil || p.Family != "add" || p.Split != "test" || p.Key == "" || p.Answer == "" || p.Solution == "" {
			t.Fatalf("tasks export line %q: %v", l, err)
		}
	}
	// A positional FAMILY:LEVEL stands for --family and --level.
	_, pos, _ := runApp(t, "tasks", "export", "add:2", "--split", "test", "--n", "4")
	if pos != out {
		t.Fatal("tasks export add:2 differs from --family add --level 2")
	}
	// Same flags, same problems.
	_, again, _ := runApp(t, "tasks", "export", "--family", "add", "--level", "2", "--split", "test", "--n", "4")
	if again != out {
		t.Fatal("tasks export is not deterministic")
	}
	for _, args := range [][]string{
		{"tasks", "show", "--family", "nope"},
		{"tasks", "show", "--level", "9"},
		{"tasks", "show", "--split", "dev"},
		{"tasks", "export", "--n", "-1"},
		{"tasks", "show", "add", "sort"},
		{"tasks", "show", "add:x"},
		{"tasks", "list", "add"},
		{"tasks", "verify", "file.jsonl"},
	} {
		if code, _, errs := runApp(t, args...); code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q: want status 2 and one line", args, code, errs)
		}
	}
}

// TestTasksVerify feeds exported problems with completions (the gold one, a
// wrong one, a broken format) and an unreadable line through tasks verify.
func TestTasksVerify(t *testing.T) {
	_, out, _ := runApp(t, "tasks", "export", "--family", "add", "--level", "1", "--n", "1")
	var p data.Problem
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &p); err != nil {
		t.Fatal(err)
	}
	line := func(completion string) string {
		b, _ := json.Marshal(struct {
			data.Problem
			Completion string `json:"completion"`
		}{p, completion})
		return string(b)
	}
	in := strings.Join([]string{
		line(data.FormatCompletion(&p)),
		line("<think>x</think><answer>-1</answer>"),
		line("<answer>" + p.Answer + "</answer>"),
		"{not json",
	}, "\n") + "\n"
	file := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(file, []byte(in), 0o644)
	code, out, errs := runApp(t, "tasks", "verify", "--in", file)
	if code != 0 {
		t.Fatalf("tasks verify: exit %d: %s", code, errs)
	}
	var got []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		got = append(got, m)
	}
	if len(got) != 4 {
		t.Fatalf("got %d output lines, want 4 (one per input line)", len(got))
	}
	want := []struct {
		correct, formatOK bool
		reason            string
	}{{true, true, "ok"}, {false, true, data.ReasonWrongValue}, {false, false, data.ReasonNoThink}, {false, false, "unreadable line"}}
	for i, w := range want {
		if got[i]["correct"] != w.correct || got[i]["format_ok"] != w.formatOK || got[i]["reason"] != w.reason {
			t.Errorf("line %d: got correct=%v format_ok=%v reason=%v, want %v %v %q", i+1, got[i]["correct"], got[i]["format_ok"], got[i]["reason"], w.correct, w.formatOK, w.reason)
		}
	}
	if !strings.Contains(got[3]["error"].(string), "line 4") {
		t.Errorf("unreadable line: error %q does not name line 4", got[3]["error"])
	}
	if !strings.Contains(errs, "1 of 4 lines") {
		t.Errorf("stderr %q: want a count of the lines that could not be verified", errs)
	}
}
