package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// examplePath is the repository's example dataset (cmd/mkproblems).
const examplePath = "../examples/problems.jsonl"

// writeDataset writes lines to a new file in a test folder and returns its path.
func writeDataset(t testing.TB, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "problems.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExampleDataset(t *testing.T) {
	f, err := LoadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 400 {
		t.Errorf("example dataset has %d problems, want 400", f.Len())
	}
	if got := f.Levels(); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Errorf("levels %v, want [1 2]", got)
	}
	total := 0
	for _, s := range []Split{Train, Validation, Test} {
		for _, l := range []int{1, 2} {
			n := f.Distinct(l, s)
			if n == 0 {
				t.Errorf("level %d has no %s problems", l, s)
			}
			total += n
			for i := range n {
				p := f.Nth(l, s, i)
				if p.Split != s.String() || SplitOfKey(p.Key) != s || p.Level != l {
					t.Fatalf("problem %d of level %d %s: split %q level %d, key in %s", i, l, s, p.Split, p.Level, SplitOfKey(p.Key))
				}
				if v, err := Verify(&p, FormatCompletion(&p)); err != nil || !v.Correct {
					t.Fatalf("gold completion of %q: %+v %v", p.Prompt, v, err)
				}
			}
		}
	}
	if total != f.Len() {
		t.Errorf("splits hold %d problems, want all %d", total, f.Len())
	}
	kinds := map[string]int{}
	for i := range f.problems {
		kinds[f.problems[i].Kind]++
	}
	for _, k := range Kinds {
		if kinds[k] == 0 {
			t.Errorf("no problem of kind %s", k)
		}
	}
	if err := f.CheckContext(NewTokenizer(), 64); err != nil {
		t.Errorf("example dataset does not fit the tiny preset's context: %v", err)
	}
}

func TestDatasetErrors(t *testing.T) {
	good := `{"prompt": "p", "answer": "1", "kind": "integer"}`
	tests := []struct {
		name  string
		lines []string
		want  []string // substrings of the error
	}{
		{"not json", []string{good, `{"prompt": "q",`}, []string{"problems.jsonl:2:", "not a JSON object"}},
		{"array", []string{`["p", "1"]`}, []string{":1:", "not a JSON object"}},
		{"null", []string{`null`}, []string{":1:", "not a JSON object"}},
		{"two objects", []string{good + ` {}`}, []string{":1:", "text after the JSON object"}},
		{"missing answer", []string{`{"prompt": "p", "kind": "integer"}`}, []string{":1:", `missing field "answer"`}},
		{"missing kind", []string{`{"prompt": "p", "answer": "1"}`}, []string{`missing field "kind"`}},
		{"null prompt", []string{`{"prompt": null, "answer": "1", "kind": "integer"}`}, []string{`missing field "prompt"`}},
		{"unknown field", []string{`{"prompt": "p", "answer": "1", "kind": "integer", "split": "train"}`}, []string{`unknown field "split"`, "want prompt, answer, kind"}},
		{"field twice", []string{`{"prompt": "p", "answer": "1", "kind": "integer", "answer": "2"}`}, []string{`field "answer" twice`}},
		{"field case", []string{`{"Prompt": "p", "answer": "1", "kind": "integer"}`}, []string{`unknown field "Prompt"`}},
		{"number answer", []string{`{"prompt": "p", "answer": 1, "kind": "integer"}`}, []string{`field "answer" is 1: want a string`}},
		{"string level", []string{`{"prompt": "p", "answer": "1", "kind": "integer", "level": "2"}`}, []string{`field "level" is "2"`, "integer 1-5"}},
		{"level zero", []string{`{"prompt": "p", "answer": "1", "kind": "integer", "level": 0}`}, []string{"level 0: want 1 to 5"}},
		{"level six", []string{`{"prompt": "p", "answer": "1", "kind": "integer", "level": 6}`}, []string{"level 6"}},
		{"unknown kind", []string{`{"prompt": "p", "answer": "1", "kind": "number"}`}, []string{`unknown kind "number"`, "integer, exact, list, multiset, assignment"}},
		{"bad integer", []string{good, good[:len(good)-1] + `, "id": "a"}`, `{"prompt": "r", "answer": "007", "kind": "integer"}`}, []string{":3:", `answer "007" is not a valid integer answer: leading zeros`}},
		{"bad list", []string{`{"prompt": "p", "answer": "1  2", "kind": "list"}`}, []string{"not a valid list answer: empty item"}},
		{"bad assignment", []string{`{"prompt": "p", "answer": "x=1,x=2", "kind": "assignment"}`}, []string{"not a valid assignment answer: name twice"}},
		{"assignment no value", []string{`{"prompt": "p", "answer": "x=", "kind": "assignment"}`}, []string{"not name=value"}},
		{"empty answer", []string{`{"prompt": "p", "answer": "", "kind": "exact"}`}, []string{"empty answer"}},
		{"spaced answer", []string{`{"prompt": "p", "answer": " 1", "kind": "exact"}`}, []string{"white space around it"}},
		{"empty prompt", []string{`{"prompt": " ", "answer": "1", "kind": "exact"}`}, []string{"empty prompt"}},
		{"unicode", []string{`{"prompt": "caf\u00e9", "answer": "1", "kind": "exact"}`}, []string{"prompt has character 'é' (U+00E9) at byte 3", "vocabulary"}},
		{"tab", []string{`{"prompt": "a\tb", "answer": "1", "kind": "exact"}`}, []string{"prompt has character '\\t'"}},
		{"tag in prompt", []string{`{"prompt": "say <answer>", "answer": "1", "kind": "exact"}`}, []string{"prompt contains the tag <answer>"}},
		{"tag in solution", []string{`{"prompt": "p", "answer": "1", "kind": "exact", "solution": "</think>"}`}, []string{"solution contains the tag </think>"}},
		{"long answer", []string{`{"prompt": "p", "answer": "` + strings.Repeat("a", 257) + `", "kind": "exact"}`}, []string{"answer of 257 bytes"}},
		{"long completion", []string{`{"prompt": "p", "answer": "1", "kind": "exact", "solution": "` + strings.Repeat("a", 5000) + `"}`}, []string{"fails its own exact verifier: completion too long"}},
		{"duplicate", []string{good, `{"prompt": "q", "answer": "2", "kind": "integer"}`, good}, []string{":3:", "duplicate of line 1"}},
		{"same prompt other answer", []string{good, "", `{"prompt": "p", "answer": "2", "kind": "integer"}`}, []string{":3:", "prompt of line 1 again with another answer"}},
		{"duplicate id", []string{`{"prompt": "p", "answer": "1", "kind": "exact", "id": "a"}`, `{"prompt": "q", "answer": "1", "kind": "exact", "id": "a"}`}, []string{":2:", `id "a" already on line 1`}},
		{"empty file", []string{"", "  "}, []string{"no problems"}},
		{"several errors", []string{`{}`, good, `{"prompt": 1}`}, []string{":1:", ":3:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeDataset(t, tc.lines...)
			_, err := ReadDataset(path, strings.NewReader(strings.Join(tc.lines, "\n")))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestDatasetTooManyErrors(t *testing.T) {
	lines := strings.Repeat("{}\n", 50)
	_, err := ReadDataset("x.jsonl", strings.NewReader(lines))
	if err == nil || !strings.Contains(err.Error(), "stopped after 10 errors") || strings.Contains(err.Error(), "x.jsonl:11:") {
		t.Errorf("error %v: want the first 10 line errors and a stop", err)
	}
}

func TestDatasetLongLine(t *testing.T) {
	long := `{"prompt": "` + strings.Repeat("a", MaxDatasetLine) + `", "answer": "1", "kind": "exact"}`
	_, err := ReadDataset("x.jsonl", strings.NewReader(`{"prompt": "p", "answer": "1", "kind": "exact"}`+"\n"+long+"\n"))
	if err == nil || !strings.Contains(err.Error(), "x.jsonl:2: line longer than") {
		t.Errorf("error %v: want line 2 refused as too long", err)
	}
	// A line just under the limit (past the reader's buffer) is read whole.
	okLine := `{"prompt": "` + strings.Repeat("a", 100_000) + `", "answer": "1", "kind": "exact"}`
	f, err := ReadDataset("y.jsonl", strings.NewReader(okLine))
	if err != nil || len(f.Nth(1, SplitOfKey(f.problems[0].Key), 0).Prompt) != 100_000 {
		t.Errorf("long line: %v", err)
	}
}

func TestDatasetSHA256(t *testing.T) {
	text := `{"prompt": "p", "answer": "1", "kind": "exact"}` + "\n\n"
	f, err := ReadDataset("x", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	// The hash covers the exact bytes, the trailing blank line included.
	if want := fmt.Sprintf("%x", sha256.Sum256([]byte(text))); f.SHA256() != want {
		t.Errorf("SHA256() = %s, want %s", f.SHA256(), want)
	}
}

// TestCheckContext: a problem whose prompt and gold completion exceed the
// context is refused with its line; exactly fitting is accepted.
func TestCheckContext(t *testing.T) {
	// BOS + "ab" + <think> "s" </think> <answer> "1" </answer> + EOS = 10 tokens.
	f, err := ReadDataset("c.jsonl", strings.NewReader("\n"+`{"prompt": "ab", "answer": "1", "kind": "exact", "solution": "s"}`))
	if err != nil {
		t.Fatal(err)
	}
	tok := NewTokenizer()
	if err := f.CheckContext(tok, 10); err != nil {
		t.Errorf("context 10: %v, want it to fit", err)
	}
	err = f.CheckContext(tok, 9)
	if err == nil || !strings.Contains(err.Error(), "c.jsonl:2: prompt and gold completion take 10 tokens: want at most 9") {
		t.Errorf("context 9: %v, want line 2 refused", err)
	}
}

func TestParseMixtureFile(t *testing.T) {
	m, err := ParseMixture("add:1,file:" + examplePath + "=0.5")
	if err != nil {
		t.Fatal(err)
	}
	fam := FilePrefix + examplePath
	want := Mixture{{"add", 1, 1}, {fam, 1, 0.5}, {fam, 2, 0.5}}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %v, want %v", m, want)
	}
	back, err := ParseMixture(m.String())
	if err != nil || !reflect.DeepEqual(back, m) {
		t.Errorf("round trip of %q: %v %v", m.String(), back, err)
	}
	if m, err := ParseMixture("file:" + examplePath + ":2"); err != nil || !reflect.DeepEqual(m, Mixture{{fam, 2, 1}}) {
		t.Errorf("one level: %v %v", m, err)
	}
	bad := []struct{ spec, want string }{
		{"file:", "empty dataset file name"},
		{"file:/nonexistent/x.jsonl", "no such file"},
		{"file:" + examplePath + ":3", "has no level 3 problems: want one of its levels [1 2]"},
		{"file:" + examplePath + ":1-3", "no level 3"},
		{"file:" + examplePath + ":x", `level "x"`},
		{"file:" + examplePath + ",file:" + examplePath + ":2", "appears twice"},
	}
	for _, b := range bad {
		if _, err := ParseMixture(b.spec); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("ParseMixture(%q) error %v, want %q", b.spec, err, b.want)
		}
	}
	// A broken file is refused with its line, through the mixture.
	path := writeDataset(t, `{"prompt": "p", "answer": "01", "kind": "integer"}`)
	if _, err := ParseMixture("file:" + path); err == nil || !strings.Contains(err.Error(), path+":1: answer") {
		t.Errorf("broken file: %v", err)
	}
}

// TestFileSplitLeak: whatever the seed and index, a train draw from a file
// is never a test or validation problem, and the draws of each split cover
// exactly the file's problems of that split.
func TestFileSplitLeak(t *testing.T) {
	m, err := ParseMixture("file:" + examplePath)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Lookup(m[0].Family)
	if err != nil {
		t.Fatal(err)
	}
	ff := f.(*FileFamily)
	prompts := [3]map[string]bool{{}, {}, {}}
	for _, it := range m {
		for _, s := range []Split{Train, Validation, Test} {
			for seed := range uint64(5) {
				for i := range uint64(3 * ff.Len()) {
					p, err := Generate(f, it.Level, s, seed, i)
					if err != nil {
						t.Fatal(err)
					}
					if SplitOfKey(p.Key) != s || p.Split != s.String() {
						t.Fatalf("%s draw %d (seed %d) has key %q of split %s", s, i, seed, p.Key, SplitOfKey(p.Key))
					}
					prompts[s][p.Prompt] = true
				}
			}
		}
	}
	for p := range prompts[Test] {
		if prompts[Train][p] || prompts[Validation][p] {
			t.Errorf("test prompt %q drawn for another split", p)
		}
	}
	for p := range prompts[Validation] {
		if prompts[Train][p] {
			t.Errorf("validation prompt %q drawn for training", p)
		}
	}
	if n := len(prompts[Train]) + len(prompts[Validation]) + len(prompts[Test]); n != ff.Len() {
		t.Errorf("draws cover %d problems, want all %d", n, ff.Len())
	}
	// A file whose problems all hash to the test split gives no train problem.
	var lines []string
	for i := 0; len(lines) < 3; i++ {
		l := fmt.Sprintf(`{"prompt": "q%d", "answer": "1", "kind": "integer"}`, i)
		if SplitOfKey(fmt.Sprintf("q%d\t1", i)) == Test {
			lines = append(lines, l)
		}
	}
	g, err := Lookup("file:" + writeDataset(t, lines...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(g, 1, Train, 0, 0); err == nil || !strings.Contains(err.Error(), "no level 1 problems in the train split") {
		t.Errorf("train draw from an all-test file: %v, want an error", err)
	}
	if n, finite := Distinct(g, 1, Test); n != 3 || !finite {
		t.Errorf("Distinct test = %d %v, want 3 true", n, finite)
	}
	if _, finite := Distinct(registry["add"], 1, Test); finite {
		t.Error("add reported finite")
	}
}

// TestFileDrawOrder: each pass over a split's n problems is a permutation
// of them, fixed by the seed, different across passes and seeds.
func TestFileDrawOrder(t *testing.T) {
	f, err := Lookup("file:" + examplePath)
	if err != nil {
		t.Fatal(err)
	}
	n := f.(Finite).Distinct(1, Train)
	order := func(seed, pass uint64) []string {
		var keys []string
		seen := map[string]bool{}
		for i := range uint64(n) {
			p, err := Generate(f, 1, Train, seed, pass*uint64(n)+i)
			if err != nil {
				t.Fatal(err)
			}
			if seen[p.Key] {
				t.Fatalf("seed %d pass %d: item %d repeats %q within the pass", seed, pass, i, p.Key)
			}
			seen[p.Key] = true
			keys = append(keys, p.Key)
		}
		return keys
	}
	a := order(1, 0)
	if !reflect.DeepEqual(a, order(1, 0)) {
		t.Error("same seed and pass gave another order")
	}
	if reflect.DeepEqual(a, order(1, 1)) || reflect.DeepEqual(a, order(2, 0)) {
		t.Error("another pass or seed gave the same order")
	}
}

func TestPermute(t *testing.T) {
	for n := uint64(1); n <= 300; n++ {
		seen := make([]bool, n)
		for i := range n {
			j := permute(i, n, n*7, n*13)
			if j >= n || seen[j] {
				t.Fatalf("n %d: permute(%d) = %d, out of range or repeated", n, i, j)
			}
			seen[j] = true
		}
	}
}

// TestBuiltinRoundTrip writes built-in families' problems as a dataset
// file, reads it back and checks that the file gives the same problems and
// the same verdicts (correct, format) on gold, wrong and malformed
// completions as the built-in families.
func TestBuiltinRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	var orig []Problem
	for _, name := range exportableFamilies() {
		f := registry[name]
		for _, s := range []Split{Train, Validation, Test} {
			for level := 1; level <= 4; level++ {
				for i := range uint64(8) {
					p, err := Generate(f, level, s, 3, i)
					if err != nil {
						t.Fatal(err)
					}
					l, err := DatasetLineOf(&p)
					if err != nil {
						t.Fatal(err)
					}
					if err := enc.Encode(&l); err != nil {
						t.Fatal(err)
					}
					orig = append(orig, p)
				}
			}
		}
	}
	// Generated streams may repeat a problem (small key spaces at level 1,
	// the same key at two levels); the file holds each once.
	var lines []string
	seen := map[string]bool{}
	var want []Problem
	for i, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !seen[orig[i].Prompt] && !seen[orig[i].Key] {
			seen[orig[i].Prompt], seen[orig[i].Key] = true, true
			lines = append(lines, l)
			want = append(want, orig[i])
		}
	}
	ff, err := ReadDataset("builtin.jsonl", strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if ff.Len() != len(want) {
		t.Fatalf("file has %d problems, want %d", ff.Len(), len(want))
	}
	answers := map[string][]string{} // family -> gold answers, for wrong answers of the right shape
	for i := range want {
		answers[want[i].Family] = append(answers[want[i].Family], want[i].Answer)
	}
	for i := range want {
		o, p := &want[i], &ff.problems[i]
		if p.Prompt != o.Prompt || p.Answer != o.Answer || p.Solution != o.Solution || p.Level != o.Level || p.ID != o.Key {
			t.Fatalf("problem %d: file %+v, built-in %+v", i, p, o)
		}
		f := registry[o.Family]
		var comps []string
		for _, a := range append(mutations(o.Answer), answers[o.Family][(i*7)%len(answers[o.Family])]) {
			comps = append(comps, TagThinkOpen+o.Solution+TagThinkClose+TagAnswerOpen+a+TagAnswerClose)
		}
		comps = append(comps, FormatCompletion(o), "<think>x</think>", FormatCompletion(o)+"x", "<answer>"+o.Answer+"</answer>")
		for _, c := range comps {
			vb := f.Verify(o, c)
			vf, err := Verify(p, c)
			if err != nil {
				t.Fatal(err)
			}
			if vb.Correct != vf.Correct || vb.FormatOK != vf.FormatOK {
				t.Errorf("%s %q: completion %q: built-in %+v, file (%s) %+v", o.Family, o.Prompt, c, vb, p.Kind, vf)
			}
		}
	}
}

// mutations returns near misses of an answer: spacing, signs, zeros, case,
// order, separators.
func mutations(a string) []string {
	m := []string{a, " " + a + " ", "0" + a, "+" + a, "-" + a, a + "0", a + " ", a + ",", strings.ToUpper(a),
		strings.ReplaceAll(a, " ", "  "), strings.ReplaceAll(a, " ", ","), strings.ReplaceAll(a, ",", " , "),
		strings.ReplaceAll(a, ",", ", "), strings.ReplaceAll(a, "=", " = "), strings.ReplaceAll(a, "knight", "knave"),
		strings.ReplaceAll(a, ",", ",,"), a + "\n", "\n" + a, reverseString(a)}
	if i := strings.IndexAny(a, " ,"); i >= 0 { // swap the first two items
		j := strings.IndexAny(a[i+1:], " ,")
		if j < 0 {
			j = len(a) - i - 1
		}
		m = append(m, a[i+1:i+1+j]+a[i:i+1]+a[:i]+a[i+1+j:])
	}
	return m
}

func reverseString(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// TestFileFamilyCanonicalAndPrompt: a file family gives maj@k the kind's
// canonical form (so "3 2" and "2 3" are one multiset answer, but two list
// answers), reads its prompts back to their keys, and names its kinds.
func TestFileFamilyCanonicalAndPrompt(t *testing.T) {
	path := writeDataset(t,
		`{"prompt": "digits of 23 any order", "answer": "2 3", "kind": "multiset"}`,
		`{"prompt": "digits of 23 in order", "answer": "2 3", "kind": "list"}`,
		`{"prompt": "who", "answer": "A=x,B=y", "kind": "assignment"}`)
	g, err := Lookup("file:" + path)
	if err != nil {
		t.Fatal(err)
	}
	f := g.(*FileFamily)
	for i := range f.problems {
		p := &f.problems[i]
		key, ok := f.KeyOfPrompt(p.Prompt)
		if !ok || key != p.Key {
			t.Errorf("KeyOfPrompt(%q) = %q, %v: want %q, true", p.Prompt, key, ok, p.Key)
		}
		for _, tc := range [][2]string{{"2 3", "3 2"}, {"A=x,B=y", "B = y, A = x"}} {
			a, b := f.Canonical(p, tc[0]), f.Canonical(p, tc[1])
			va, vb := f.Verify(p, "<think></think><answer>"+tc[0]+"</answer>"), f.Verify(p, "<think></think><answer>"+tc[1]+"</answer>")
			if a != "" && a == b && va.Correct != vb.Correct {
				t.Errorf("%s: Canonical %q=%q, %q=%q but verdicts %+v, %+v", p.Kind, tc[0], a, tc[1], b, va, vb)
			}
		}
		c, err := Canonical(p, "<think></think><answer>"+p.Answer+"</answer>")
		if err != nil || c == "" || c != f.Canonical(p, p.Answer) {
			t.Errorf("data.Canonical of the gold answer of %q = %q, %v: want the family's %q", p.Prompt, c, err, f.Canonical(p, p.Answer))
		}
	}
	if m := f.Canonical(&f.problems[0], "3 2"); m != f.Canonical(&f.problems[0], "2 3") {
		t.Errorf("multiset: %q and %q differ", m, f.Canonical(&f.problems[0], "2 3"))
	}
	if l := f.Canonical(&f.problems[1], "3 2"); l == f.Canonical(&f.problems[1], "2 3") {
		t.Errorf("list: 3 2 and 2 3 share the canonical form %q", l)
	}
	if _, ok := f.KeyOfPrompt("not in the file"); ok {
		t.Error("KeyOfPrompt accepted a prompt the file does not have")
	}
	if n := f.Notation(); !strings.Contains(n, "this file: list, multiset, assignment") {
		t.Errorf("Notation %q: want the file's kinds named", n)
	}
}
