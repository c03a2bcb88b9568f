package sweep

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// base is a small valid experiment; bad cases edit it.
const base = `{
  "out": "runs/x",
  "seeds": [1, 2],
  "stages": {
    "warm": {"command": "sft", "config": {"preset": "tiny", "steps": 6}},
    "grpo": {"command": "train", "config": {"steps": 4}}
  },
  "arms": [
    {"name": "sft", "stage": "warm"},
    {"name": "grpo", "stage": "grpo", "from": "sft"}
  ],
  "evals": [
    {"name": "test", "config": {"problems": 4, "n": 2, "ks": [1, 2]}}
  ]
}`

func TestParseExample(t *testing.T) {
	for _, tc := range []struct {
		path string
		arms int
	}{{"../../examples/experiment.json", 9}, {"testdata/experiment-ed1.json", 5}} {
		e, err := Load(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(e.Arms); got != tc.arms {
			t.Errorf("%s: arms: got %d, want %d", tc.path, got, tc.arms)
		}
	}
	if _, err := Parse([]byte(base), "base.json"); err != nil {
		t.Fatalf("base: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		from, to  string // replace from by to in base
		line      int    // 0: any
		wantParts []string
	}{
		{"unknown top key", `"out": "runs/x",`, `"out": "runs/x", "seed": 3,`, 2, []string{`unknown key "seed"`}},
		{"unknown arm key", `{"name": "sft", "stage": "warm"}`, `{"name": "sft", "stage": "warm", "parent": "x"}`, 9, []string{`unknown key "parent"`}},
		{"unknown config key", `"steps": 4}`, `"stepz": 4}`, 6, []string{`stage "grpo"`, `unknown config key "stepz"`}},
		{"missing stage", `"stage": "grpo", "from"`, `"stage": "rl", "from"`, 10, []string{`arm "grpo": stage "rl" is not declared: want one of grpo, warm`}},
		{"missing parent", `"from": "sft"`, `"from": "base"`, 10, []string{`arm "grpo": from "base": no such arm`}},
		{"cycle", `{"name": "sft", "stage": "warm"}`, `{"name": "sft", "stage": "warm", "match": {"arm": "grpo", "per_step": "sft2"}}, {"name": "sft2", "stage": "warm"}`, 9,
			[]string{"cycle", "sft -> grpo -> sft"}},
		{"from an sft stage", `{"name": "sft", "stage": "warm"}`, `{"name": "sft", "stage": "warm", "from": "grpo"}`, 9, []string{`an sft stage starts from scratch`}},
		{"train without from", `, "from": "sft"`, ``, 10, []string{`want "from"`}},
		{"seed in config", `"steps": 4}`, `"seed": 4}`, 0, []string{`"seed": want the sweep's "seeds"`}},
		{"key of another mode", `"steps": 4}`, `"sft_data": 4}`, 0, []string{`"sft_data" does not apply to stage command "train"`}},
		{"bad value", `"steps": 4}`, `"steps": 0}`, 0, []string{`steps = 0`}},
		{"random_p without bernoulli", `"steps": 4}`, `"random_p": 0.5}`, 0, []string{`random_p 0.5: want reward bernoulli`}},
		// Settings at their defaults that tinyr1 train refuses when written
		// out (train.Config.CheckUnread): the job would fail after its parents ran.
		{"scale with rloo", `"steps": 4}`, `"steps": 4, "advantage": "rloo", "scale": "group"}`, 10, []string{`arm "grpo": scale group: want advantage grpo to use it (advantage = rloo`}},
		{"passk_k without passk", `"steps": 4}`, `"steps": 4, "passk_k": 4}`, 10, []string{`passk_k 4: want advantage passk`}},
		{"eps_high with mu 1", `"steps": 4}`, `"steps": 4, "eps_high": 0.28}`, 10, []string{`eps_high 0.28: want mu 2 or more to use it (with mu 1 every ratio is exactly 1`}},
		{"eps_low with sequence", `"steps": 4}`, `"steps": 4, "ratio_level": "sequence", "eps_low": 0.2}`, 10, []string{`eps_low 0.2: want ratio_level token to use it (ratio_level sequence clips by gspo_eps_low/high)`}},
		{"is_cap without a correction", `"steps": 4}`, `"steps": 4, "is_cap": 2}`, 10, []string{`is_cap 2: want is_correction tis or mis`}},
		{"null value", `"steps": 4}`, `"steps": null}`, 0, []string{`"steps" is null`}},
		{"bad command", `"command": "train"`, `"command": "ppo"`, 6, []string{`command "ppo": want sft, train or rft`}},
		{"duplicate arm", `{"name": "grpo", "stage": "grpo", "from": "sft"}`, `{"name": "sft", "stage": "warm"}`, 10, []string{`arm "sft": declared twice`}},
		{"duplicate eval", `"evals": [`, `"evals": [
    {"name": "test"},`, 14, []string{`eval "test": declared twice`}},
		{"bad arm name", `"name": "grpo"`, `"name": "a/b"`, 10, []string{`name "a/b"`}},
		{"no seeds", `[1, 2]`, `[]`, 3, []string{`"seeds" is empty`}},
		{"duplicate seed", `[1, 2]`, `[1, 1]`, 3, []string{`seed 1 appears twice`}},
		{"no out", `"out": "runs/x",`, ``, 0, []string{`"out" is empty`}},
		{"no arms", `{"name": "sft", "stage": "warm"},
    {"name": "grpo", "stage": "grpo", "from": "sft"}`, ``, 0, []string{`"arms" is empty`}},
		{"match missing arm", `{"name": "sft", "stage": "warm"}`, `{"name": "sft", "stage": "warm", "match": {"arm": "ppo", "per_step": "sft"}}`, 9, []string{`match arm "ppo": no such arm`}},
		{"match itself", `{"name": "sft", "stage": "warm"}`, `{"name": "sft", "stage": "warm", "match": {"arm": "grpo", "per_step": "sft"}}`, 9, []string{`match per_step "sft": an arm cannot be matched to itself`}},
		{"negative fixed steps", `{"name": "sft", "stage": "warm"}`, `{"name": "sft", "stage": "warm", "match": {"steps": -1}}`, 9, []string{`match steps -1`}},
		{"steps and arms", `{"name": "sft", "stage": "warm"}`, `{"name": "sft", "stage": "warm", "match": {"steps": 3, "arm": "grpo"}}`, 9, []string{`match: "steps" with "arm" or "per_step"`}},
		{"not an object", base, `[` + base + `]`, 1, []string{`the file holds a JSON array: want one JSON object`}},
		{"syntax", `"seeds": [1, 2],`, `"seeds": [1, 2]`, 4, []string{`invalid character`}},
		{"type", `"seeds": [1, 2]`, `"seeds": "1 2"`, 3, []string{`key "seeds" holds a JSON string: want a list`}},
		{"two objects", "]\n}", "]\n} {}", 15, []string{`"{" after the object: want one JSON object and nothing after it`}},
		{"stray brace", "]\n}", "]\n}\n}", 16, []string{`"}" after the object`}},
		{"stray bracket", "]\n}", "]\n}]", 15, []string{`"]" after the object`}},
		// encoding/json keeps the last of two equal keys without a word.
		{"duplicate stage", `"grpo": {"command"`, `"warm": {"command": "sft"},
    "grpo": {"command"`, 6, []string{`key "warm" appears twice in one object`}},
		{"duplicate config key", `"steps": 4}`, `"steps": 4, "steps": 5}`, 6, []string{`key "steps" appears twice`}},
		{"duplicate top key", `"seeds": [1, 2],`, `"seeds": [1, 2], "seeds": [3],`, 3, []string{`key "seeds" appears twice`}},
		{"same key in two objects is fine", `"steps": 6}`, `"steps": 6}, "x": {}`, 5, []string{`unknown key "x"`}},
		{"eval arm", `{"name": "test", "config"`, `{"name": "test", "arms": ["ppo"], "config"`, 13, []string{`eval "test": arm "ppo": no such arm`}},
		{"eval key", `"problems": 4`, `"problemz": 4`, 13, []string{`eval "test"`, `unknown config key "problemz"`}},
		{"eval task_files", `"problems": 4`, `"task_files": "x"`, 13, []string{`unknown config key "task_files"`}},
		{"eval k > n", `"ks": [1, 2]`, `"ks": [1, 4]`, 13, []string{`k = 4: want 1 to n = 2`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(base, tc.from, tc.to, 1)
			if src == base {
				t.Fatalf("the case does not change the file: %q not found", tc.from)
			}
			_, err := Parse([]byte(src), "x.json")
			if err == nil {
				t.Fatal("got no error")
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("got %T %v: want *Error", err, err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("got %q: want one line", msg)
			}
			if !strings.HasPrefix(msg, "sweep: x.json:") {
				t.Errorf("got %q: want it to name the file", msg)
			}
			if tc.line != 0 && fe.Line != tc.line {
				t.Errorf("got line %d (%q): want %d", fe.Line, msg, tc.line)
			}
			for _, w := range tc.wantParts {
				if !strings.Contains(msg, w) {
					t.Errorf("got %q: want it to contain %q", msg, w)
				}
			}
		})
	}
}

func TestLoadLimits(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir + "/missing.json"); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: got %v", err)
	}
	empty := dir + "/empty.json"
	os.WriteFile(empty, nil, 0o644)
	if _, err := Load(empty); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: got %v", err)
	}
}

// FuzzParse: whatever the bytes, Parse returns an experiment or one *Error
// of one line that names the file, and never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	for _, path := range []string{"../../examples/experiment.json", "../../examples/variants.json"} {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"seeds": [1], "seeds": [2]}`))
	f.Add([]byte(`{"out": "x"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := Parse(raw, "f.json")
		if err == nil {
			if e == nil || len(e.Arms) == 0 || len(e.Seeds) == 0 {
				t.Fatalf("no error and an incomplete experiment: %+v", e)
			}
			return
		}
		var fe *Error
		if !errors.As(err, &fe) {
			t.Fatalf("got %T %v: want *Error", err, err)
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "sweep: f.json") {
			t.Fatalf("got %q: want one line naming the file", msg)
		}
	})
}
