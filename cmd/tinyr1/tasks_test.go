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
	// Level 5 is marked test-only, and the kk notation is explained.
	for _, want := range []string{"TEST ONLY", "level 5 is out of distribution, for tests only", "X^Y   exactly one of X and Y is a knight",
		"X=Y and X^Y take no + or -", "a pair may name the speaker", "unary minus"} {
		if !strings.Contains(out, want) {
			t.Errorf("tasks list: no %q in\n%s", want, out)
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

// verifyOut runs tasks verify on the lines and returns its exit status,
// its output lines as maps and its stderr.
func verifyOut(t *testing.T, lines ...string) (int, []map[string]any, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runApp(t, "tasks", "verify", "--in", file)
	var got []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		got = append(got, m)
	}
	if len(got) != len(lines) {
		t.Fatalf("got %d output lines, want %d (one per input line)", len(got), len(lines))
	}
	return code, got, errs
}

// verifyInput is one tasks verify input line: p's fields and a completion.
func verifyInput(p data.Problem, completion string) string {
	b, _ := json.Marshal(struct {
		data.Problem
		Completion string `json:"completion"`
	}{p, completion})
	return string(b)
}

// TestTasksVerify feeds exported problems with completions (the gold one, a
// wrong one, a broken format) and an unreadable line through tasks verify.
func TestTasksVerify(t *testing.T) {
	_, out, _ := runApp(t, "tasks", "export", "--family", "add", "--level", "1", "--n", "1")
	var p data.Problem
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &p); err != nil {
		t.Fatal(err)
	}
	code, got, errs := verifyOut(t,
		verifyInput(p, data.FormatCompletion(&p)),
		verifyInput(p, "<think>x</think><answer>-1</answer>"),
		verifyInput(p, "<answer>"+p.Answer+"</answer>"),
		"{not json",
	)
	if code != 0 {
		t.Fatalf("tasks verify: exit %d: %s", code, errs)
	}
	want := []struct {
		correct, formatOK bool
		reason, canonical string
	}{{true, true, "ok", p.Answer}, {false, true, data.ReasonWrongValue, "-1"}, {false, false, data.ReasonNoThink, ""}}
	for i, w := range want {
		if got[i]["correct"] != w.correct || got[i]["format_ok"] != w.formatOK || got[i]["reason"] != w.reason || (got[i]["canonical"] != nil) != (w.canonical != "") {
			t.Errorf("line %d: got correct=%v format_ok=%v reason=%v canonical=%v, want %v %v %q %q", i+1, got[i]["correct"], got[i]["format_ok"], got[i]["reason"], got[i]["canonical"], w.correct, w.formatOK, w.reason, w.canonical)
		}
	}
	if e, _ := got[3]["error"].(string); !strings.Contains(e, "line 4") || got[3]["reason"] != nil || got[3]["correct"] != nil {
		t.Errorf("unreadable line: %v: want an error naming line 4 and no verdict", got[3])
	}
	if !strings.Contains(errs, "1 of 4 lines") {
		t.Errorf("stderr %q: want a count of the lines that could not be verified", errs)
	}
}

// TestTasksVerifyInputErrors checks tasks verify's input rule: a line whose
// key, answer and prompt do not agree, or that lacks a key or an answer, is
// an input error on that line (found and expected named), not a verdict on
// the completion; the line after it is verified as usual.
func TestTasksVerifyInputErrors(t *testing.T) {
	kk := data.Problem{Family: "kk", Key: "kk:A:Q+ Q:Q&U+ U:Q-", Prompt: "A:Q+ Q:Q&U+ U:Q-", Answer: "A=knave,Q=knave,U=knight"}
	add := data.Problem{Family: "add", Key: "add:38+47", Prompt: "add 47+38", Answer: "85"}
	cd := data.Problem{Family: "countdown", Key: "countdown:2,3,5,8=12", Prompt: "use 2 3 5 8 to make 12", Answer: "(8-5+3)*2"}
	with := func(p data.Problem, edit func(*data.Problem)) data.Problem { edit(&p); return p }
	good := func(p data.Problem) string { return verifyInput(p, data.FormatCompletion(&p)) }
	cases := []struct {
		name string
		line string
		want []string // in the error
	}{
		{"key without answer", good(with(kk, func(p *data.Problem) { p.Answer = "" })), []string{`key "kk:A:Q+ Q:Q&U+ U:Q-" but no "answer"`, "want the key's gold answer"}},
		{"arith key without answer", good(with(add, func(p *data.Problem) { p.Answer = "" })), []string{`no "answer"`}},
		{"no key", good(with(add, func(p *data.Problem) { p.Key = "" })), []string{`no "key"`}},
		{"answer of another problem", good(with(add, func(p *data.Problem) { p.Answer = "86" })), []string{`answer "86" is not an answer to key "add:38+47"`}},
		{"kk answer disagrees", good(with(kk, func(p *data.Problem) { p.Answer = "A=knight,Q=knave,U=knave" })), []string{`answer "A=knight,Q=knave,U=knave"`, "wrong value"}},
		{"countdown answer disagrees", good(with(cd, func(p *data.Problem) { p.Answer = "8+5-3-2" })), []string{`answer "8+5-3-2"`, "wrong value"}},
		{"prompt of another problem", good(with(add, func(p *data.Problem) { p.Prompt = "add 47+39" })), []string{`prompt "add 47+39" states the problem "add:39+47", but the key is "add:38+47"`}},
		{"kk prompt of another problem", good(with(kk, func(p *data.Problem) { p.Prompt = "A:Q- Q:Q&U+ U:Q-" })), []string{`but the key is "kk:A:Q+ Q:Q&U+ U:Q-"`}},
		{"not a prompt of the family", good(with(add, func(p *data.Problem) { p.Prompt = "mul 47*38" })), []string{`prompt "mul 47*38" is not a add prompt`}},
		{"bad key", good(with(add, func(p *data.Problem) { p.Key, p.Prompt = "add:x", "" })), []string{`"add:x"`, "bad problem key"}},
		{"unknown family", good(with(add, func(p *data.Problem) { p.Family = "sub" })), []string{`unknown task family "sub"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, got, errs := verifyOut(t, tc.line, good(add))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			e, _ := got[0]["error"].(string)
			for _, w := range tc.want {
				if !strings.Contains(e, w) {
					t.Errorf("error %q: want it to contain %q", e, w)
				}
			}
			if !strings.HasPrefix(e, "line 1: ") || got[0]["line"] != 1.0 || got[0]["correct"] != nil || got[0]["reason"] != nil {
				t.Errorf("output %v: want line 1, an error naming it and no verdict", got[0])
			}
			if got[1]["correct"] != true || got[1]["error"] != nil {
				t.Errorf("the good line after it: %v, want correct", got[1])
			}
			if !strings.Contains(errs, "1 of 2 lines are input errors") {
				t.Errorf("stderr %q: want the count of input errors", errs)
			}
		})
	}
	// Every spelling the verifier accepts is an answer in agreement with
	// the key, and a line without a prompt is fine.
	for _, p := range []data.Problem{
		with(kk, func(p *data.Problem) { p.Answer = "U=knight, Q=knave, A=knave" }),
		with(cd, func(p *data.Problem) { p.Answer = "2*(3+8-5)"; p.Prompt = "" }),
	} {
		if _, got, _ := verifyOut(t, good(p)); got[0]["error"] != nil || got[0]["correct"] != true {
			t.Errorf("%+v: %v, want verified and correct", p, got[0])
		}
	}
}
