package eval

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"tinyr1/data"
	"tinyr1/model"
)

// randomPolicy returns a randomly initialised model of a preset.
func randomPolicy(t testing.TB, preset string, seed uint64) (*model.Params, *data.Tokenizer) {
	t.Helper()
	tok := data.NewTokenizer()
	mcfg, err := model.Preset(preset, tok.VocabSize())
	if err != nil {
		t.Fatal(err)
	}
	p := model.NewParams(mcfg)
	p.Init(seed)
	return p, tok
}

func smallEvalConfig() EvalConfig {
	cfg := DefaultEvalConfig()
	cfg.Tasks, cfg.Problems, cfg.N, cfg.Ks, cfg.MaxNew, cfg.Workers = "add:2,sort:1", 6, 4, []int{1, 2, 4}, 12, 1
	return cfg
}

func TestEvalDeterministic(t *testing.T) {
	p, tok := randomPolicy(t, "tiny", 3)
	cfg := smallEvalConfig()
	a, err := Evaluate(p, tok, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 2 // results must not depend on the worker count
	b, err := Evaluate(p, tok, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Config.Workers = a.Config.Workers
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two evaluations differ:\n%+v\n%+v", a, b)
	}
	if len(a.Rows) != 2 || a.Rows[0].Task() != "add:2" || a.Rows[1].Task() != "sort:1" || a.Overall.Task() != "all" {
		t.Fatalf("rows %v / %v: want add:2, sort:1 and all", a.Rows, a.Overall)
	}
	if got, want := a.Overall.Sampled.Completions, 2*6*4; got != want {
		t.Errorf("sampled completions = %d: want %d", got, want)
	}
	if got := len(a.Overall.K); got != 3 {
		t.Errorf("len(K) = %d: want 3", got)
	}

	// A task's figures do not depend on the rest of the mixture.
	cfg.Tasks = "sort:1"
	c, err := Evaluate(p, tok, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Rows[0], a.Rows[1]) {
		t.Errorf("sort:1 alone = %+v: want %+v as in the mixture", c.Rows[0], a.Rows[1])
	}
}

func TestEvalProgress(t *testing.T) {
	p, tok := randomPolicy(t, "tiny", 3)
	cfg := smallEvalConfig()
	last, calls := 0, 0
	_, err := Evaluate(p, tok, cfg, func(done, total int) {
		calls++
		if done != last+1 || total != 2*6*(1+4) {
			t.Fatalf("progress(%d, %d) after %d: want %d of %d", done, total, last, last+1, 2*6*5)
		}
		last = done
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 60 {
		t.Errorf("progress called %d times: want 60", calls)
	}
}

func TestSummarize(t *testing.T) {
	cfg := EvalConfig{Greedy: true, N: 4, Ks: []int{1, 2}}
	o := func(correct, format, trunc bool, think, n int) outcome {
		return outcome{correct: correct, formatOK: format, truncated: trunc, thinkLen: think, length: n}
	}
	ts := []problemTally{
		{
			greedy:  o(true, true, false, 10, 20),
			samples: []outcome{o(true, true, false, 8, 15), o(false, true, false, 6, 12), o(false, false, true, -1, 30), o(true, true, false, 10, 17)},
			canon:   []string{"8", "9", "", "8"},
			correct: []bool{true, false, false, true},
		},
		{
			greedy:  o(false, false, true, -1, 30),
			samples: []outcome{o(false, true, false, 4, 10), o(false, true, false, 4, 10), o(false, false, false, -1, 5), o(false, false, true, -1, 30)},
			canon:   []string{"1", "2", "", ""},
			correct: []bool{false, false, false, false},
		},
	}
	row := summarize(cfg, ts)
	g := row.Greedy
	if g.Correct != 1 || g.Completions != 2 || g.Pass1.Value != 0.5 || g.FormatRate != 0.5 || g.TruncRate != 0.5 ||
		g.ThinkLen != 10 || g.ThinkClosed != 1 || g.CompletionLen != 25 {
		t.Errorf("greedy = %+v", *g)
	}
	if lo, hi := Wilson(1, 2, z95); g.Pass1.Lo != lo || g.Pass1.Hi != hi {
		t.Errorf("greedy interval [%g, %g]: want Wilson [%g, %g]", g.Pass1.Lo, g.Pass1.Hi, lo, hi)
	}
	s := row.Sampled
	if s.Correct != 2 || s.Completions != 8 || s.Pass1.Value != 0.25 || s.FormatRate != 5.0/8 || s.TruncRate != 2.0/8 ||
		s.ThinkLen != 32.0/5 || s.CompletionLen != 129.0/8 {
		t.Errorf("sampled = %+v", *s)
	}
	// Per-problem rates 0.5 and 0: p = 0.25, SE = 0.25, n_eff = p(1-p)/SE^2 = 3.
	if lo, hi := wilson(0.25, 3, z95); s.Pass1.Lo != lo || s.Pass1.Hi != hi {
		t.Errorf("sampled interval [%g, %g]: want Wilson at n_eff 3 [%g, %g]", s.Pass1.Lo, s.Pass1.Hi, lo, hi)
	}
	// pass@1: mean of c/n = (0.5 + 0)/2; pass@2 of problem 1: 1 - C(2,2)/C(4,2) = 5/6.
	// maj@1 is the fraction of correct samples; maj@2 of problem 1 over its
	// 6 pairs: {8,9} 1/2, {8,-} 1, {8,8} 1, {9,-} 0, {9,8} 1/2, {-,8} 1: 4/6.
	want := []KStats{
		{K: 1, PassAtK: Interval{Value: 0.25}, MajAtK: Interval{Value: 0.25}},
		{K: 2, PassAtK: Interval{Value: 5.0 / 12}, MajAtK: Interval{Value: 1.0 / 3}},
	}
	for i, w := range want {
		got := row.K[i]
		if got.K != w.K || math.Abs(got.PassAtK.Value-w.PassAtK.Value) > 1e-12 || math.Abs(got.MajAtK.Value-w.MajAtK.Value) > 1e-12 {
			t.Errorf("k=%d: pass %g maj %g: want %g, %g", w.K, got.PassAtK.Value, got.MajAtK.Value, w.PassAtK.Value, w.MajAtK.Value)
		}
		if got.PassAtK.Lo > got.PassAtK.Value || got.PassAtK.Hi < got.PassAtK.Value || got.PassAtK.Lo < 0 || got.PassAtK.Hi > 1 {
			t.Errorf("k=%d: pass interval %+v does not hold its value inside [0, 1]", w.K, got.PassAtK)
		}
	}
}

func TestDecoderVerdicts(t *testing.T) {
	p, tok := randomPolicy(t, "tiny", 1)
	d := NewDecoder(p, tok, 2, 8, 1)
	defer d.Close()
	f, _ := data.Lookup("add")
	pb, err := data.Generate(f, 1, data.Test, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(text string) []int {
		toks, err := tok.EncodeCompletion(text)
		if err != nil {
			t.Fatal(err)
		}
		return toks
	}
	good := enc(data.FormatCompletion(&pb))
	kk := data.Problem{Family: "kk", Key: "kk:A:Q+ Q:Q&U+ U:Q-", Answer: "A=knave,Q=knave,U=knight"}
	tests := []struct {
		name    string
		toks    []int
		stopped bool
		prob    *data.Problem
		correct bool
		format  bool
		reason  string
		think   int
		answer  string
		canon   string
	}{
		{"gold", good, true, &pb, true, true, data.ReasonOK, len(pb.Solution), pb.Answer, pb.Answer},
		{"gold cut off", good[:len(good)-1], false, &pb, false, false, ReasonTruncated + " (ok)", len(pb.Solution), "", ""},
		{"bos inside", append([]int{data.ThinkOpenID, data.BOS}, good[1:]...), true, &pb, false, false, ReasonUndecodable, len(pb.Solution) + 1, "", ""},
		{"free text", good, true, nil, false, true, data.ReasonOK, len(pb.Solution), pb.Answer, ""},
		{"no think", []int{data.EOS}, true, &pb, false, false, data.ReasonNoThink, -1, "", ""},
		{"leading zero", enc("<think></think><answer>0" + pb.Answer + "</answer>"), true, &pb, false, true, data.ReasonLeadingZeros, 0, "0" + pb.Answer, ""},
		{"kk respelled", enc("<think></think><answer>U=knight, Q=knave,A=knave</answer>"), true, &kk, true, true, data.ReasonOK, 0, "U=knight, Q=knave,A=knave", "A=knave,Q=knave,U=knight"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Completion
			if err := d.complete(&c, tc.toks, tc.stopped, tc.prob); err != nil {
				t.Fatal(err)
			}
			v := c.Verdict
			if v.Correct != tc.correct || v.FormatOK != tc.format || !strings.HasPrefix(v.Reason, tc.reason) {
				t.Errorf("verdict %+v: want correct %v, format %v, reason %q", v, tc.correct, tc.format, tc.reason)
			}
			if c.ThinkLen != tc.think || c.Answer != tc.answer || c.Canon != tc.canon {
				t.Errorf("think %d, answer %q, canonical %q: want %d, %q, %q", c.ThinkLen, c.Answer, c.Canon, tc.think, tc.answer, tc.canon)
			}
		})
	}
}

func TestEvalConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*EvalConfig)
		want string // substring of the error; "" for none
	}{
		{"default", func(*EvalConfig) {}, ""},
		{"greedy only", func(c *EvalConfig) { c.N, c.Ks = 0, nil }, ""},
		{"nothing", func(c *EvalConfig) { c.N, c.Greedy = 0, false }, "nothing to evaluate"},
		{"k above n", func(c *EvalConfig) { c.N = 8 }, "k = 16"},
		{"bad split", func(c *EvalConfig) { c.Split = "dev" }, "split"},
		{"bad tasks", func(c *EvalConfig) { c.Tasks = "nope:1" }, "tasks"},
		{"bad top_p", func(c *EvalConfig) { c.TopP = 0 }, "top_p"},
		{"bad temperature", func(c *EvalConfig) { c.Temperature = 0 }, "temperature"},
		{"bad max_new", func(c *EvalConfig) { c.MaxNew = 0 }, "max_new"},
		{"bad problems", func(c *EvalConfig) { c.Problems = 0 }, "problems"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultEvalConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v: want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v: want an error about %q", err, tc.want)
			}
		})
	}
}

// TestEvalDistinctProblems: add:1 has few test problems (the pairs of
// digits whose key falls in the test slice); eval evaluates each of them
// once, whatever --problems asks for, in stream order with stream indices.
func TestEvalDistinctProblems(t *testing.T) {
	want := map[string]bool{}
	for a := range 10 {
		for b := a; b < 10; b++ {
			if key := fmt.Sprintf("add:%d+%d", a, b); data.SplitOfKey(key) == data.Test {
				want[key] = true
			}
		}
	}
	f, _ := data.Lookup("add")
	probs, index, err := distinctProblems(f, 1, data.Test, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != len(want) || len(want) == 0 || len(want) > 10 {
		t.Fatalf("add:1: %d distinct test problems: want the %d test keys %v", len(probs), len(want), want)
	}
	for i, p := range probs {
		q, _ := data.Generate(f, 1, data.Test, 0, uint64(index[i]))
		if !want[p.Key] || q != p || (i > 0 && index[i] <= index[i-1]) {
			t.Errorf("problem %d: %s at stream index %d (stream has %s): want each test key once, in stream order", i, p.Key, index[i], q.Key)
		}
		delete(want, p.Key)
	}
	// A level with enough keys gives exactly the problems asked for.
	if probs, _, _ := distinctProblems(f, 3, data.Test, 0, 50); len(probs) != 50 {
		t.Errorf("add:3: %d problems: want 50", len(probs))
	}

	p, tok := randomPolicy(t, "tiny", 3)
	cfg := smallEvalConfig()
	cfg.Tasks, cfg.Problems = "add:1", 24
	res, err := Evaluate(p, tok, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Rows[0]; r.Problems != len(probs) || r.Greedy.Completions != len(probs) || r.Sampled.Completions != len(probs)*cfg.N {
		t.Errorf("eval add:1 --problems 24: %d problems, %d greedy and %d sampled completions: want %d, %d, %d",
			r.Problems, r.Greedy.Completions, r.Sampled.Completions, len(probs), len(probs), len(probs)*cfg.N)
	}
}
