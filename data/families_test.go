package data

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// Length budget of the model's 256-token context (tags count one token each,
// see tokenizer.go). The prompt is counted without BOS, the completion
// without EOS.
const (
	budgetPrompt       = 48  // prompt tokens, every level
	budgetCompletion   = 100 // completion tokens at levels 1-4
	budgetCompletionL5 = 180 // completion tokens at level 5
	contextLen         = 256 // BOS + prompt + completion + EOS
)

// familyTestSizes returns how many train and test items the generic family
// tests draw per family and level.
func familyTestSizes(t *testing.T) (train, test int) {
	if testing.Short() {
		return 1000, 100
	}
	return 10000, 300
}

func TestFamiliesRegistered(t *testing.T) {
	fs := Families()
	if len(fs) == 0 {
		t.Fatal("no family registered")
	}
	for _, f := range fs {
		if f.Name() == "" || strings.ContainsAny(f.Name(), " :,=") {
			t.Errorf("family name %q: want a short word usable in task mixtures", f.Name())
		}
		if f.Description() == "" {
			t.Errorf("family %s has no description", f.Name())
		}
		got, err := Lookup(f.Name())
		if err != nil || got.Name() != f.Name() {
			t.Errorf("Lookup(%q) = %v, %v", f.Name(), got, err)
		}
	}
	t.Logf("families: %v", FamilyNames())
}

// TestFamiliesSelfVerify checks, for every family and level, that generated
// problems are well formed, pass their own verifier with the gold
// completion, fit the tokenizer and the length budget, and that problems
// with equal keys accept each other's gold answers.
func TestFamiliesSelfVerify(t *testing.T) {
	nTrain, nTest := familyTestSizes(t)
	tok := NewTokenizer()
	for _, f := range Families() {
		t.Run(f.Name(), func(t *testing.T) {
			t.Parallel()
			for level := 1; level <= MaxLevel; level++ {
				var maxPrompt, maxCompletion int
				ids := make([]int, 0, 512)
				byKey := map[string]Problem{}
				for _, sp := range []struct {
					split Split
					n     int
				}{{Train, nTrain}, {Test, nTest}} {
					for i := range sp.n {
						p, err := Generate(f, level, sp.split, 1, uint64(i))
						if err != nil {
							t.Fatalf("level %d: %v", level, err)
						}
						checkProblem(t, f, level, sp.split, &p)
						completion := FormatCompletion(&p)
						if v := f.Verify(&p, completion); !v.Correct || !v.FormatOK || v.Reason != ReasonOK {
							t.Fatalf("level %d %s item %d: gold completion verdict %+v, want correct\nprompt %q\ncompletion %q", level, sp.split, i, v, p.Prompt, completion)
						}
						var err1, err2 error
						ids, err1 = tok.AppendEncode(ids[:0], p.Prompt)
						np := len(ids)
						ids, err2 = tok.AppendEncode(ids[:0], completion)
						nc := len(ids)
						if err1 != nil || err2 != nil {
							t.Fatalf("level %d: problem does not encode: %v %v\nprompt %q\ncompletion %q", level, err1, err2, p.Prompt, completion)
						}
						maxPrompt, maxCompletion = max(maxPrompt, np), max(maxCompletion, nc)
						if q, dup := byKey[p.Key]; dup {
							if v := f.Verify(&q, completion); !v.Correct {
								t.Fatalf("level %d: key %q: gold answer %q of prompt %q rejected for prompt %q: %+v", level, p.Key, p.Answer, p.Prompt, q.Prompt, v)
							}
						} else if len(byKey) < 2000 {
							byKey[p.Key] = p
						}
					}
				}
				budget := budgetCompletion
				if level == MaxLevel {
					budget = budgetCompletionL5
				}
				t.Logf("level %d: max prompt %d tokens (budget %d), max completion %d tokens (budget %d)", level, maxPrompt, budgetPrompt, maxCompletion, budget)
				if maxPrompt > budgetPrompt {
					t.Errorf("level %d: prompt of %d tokens: want at most %d", level, maxPrompt, budgetPrompt)
				}
				if maxCompletion > budget {
					t.Errorf("level %d: completion of %d tokens: want at most %d", level, maxCompletion, budget)
				}
				if 1+maxPrompt+maxCompletion+1 > contextLen {
					t.Errorf("level %d: %d tokens with BOS and EOS: want at most %d", level, maxPrompt+maxCompletion+2, contextLen)
				}
			}
		})
	}
}

// checkProblem checks the fields of one generated problem.
func checkProblem(t *testing.T, f Family, level int, split Split, p *Problem) {
	t.Helper()
	switch {
	case p.Family != f.Name():
		t.Fatalf("Family = %q, want %q", p.Family, f.Name())
	case p.Level != level:
		t.Fatalf("%s: Level = %d, want %d", f.Name(), p.Level, level)
	case p.Split != split.String():
		t.Fatalf("%s: Split = %q, want %q", f.Name(), p.Split, split)
	case !keyHasFamily(p.Key, f.Name()):
		t.Fatalf("%s: key %q: want it to start with the family name and a separator", f.Name(), p.Key)
	case SplitOfKey(p.Key) != split:
		t.Fatalf("%s: key %q is in the %s slice, want %s", f.Name(), p.Key, SplitOfKey(p.Key), split)
	case p.Prompt == "":
		t.Fatalf("%s: empty prompt", f.Name())
	case p.Answer == "" || trimSpace(p.Answer) != p.Answer:
		t.Fatalf("%s: answer %q: want non-empty and trimmed", f.Name(), p.Answer)
	case p.Solution == "":
		t.Fatalf("%s: empty worked solution for %q", f.Name(), p.Prompt)
	}
	for _, tag := range tagTokens {
		if strings.Contains(p.Prompt, tag) || strings.Contains(p.Solution, tag) || strings.Contains(p.Answer, tag) {
			t.Fatalf("%s: problem %q contains the tag %s", f.Name(), p.Prompt, tag)
		}
	}
}

// keyHasFamily reports whether key is the family name followed by a
// non-alphanumeric separator (so "addrev..." does not pass for "add").
func keyHasFamily(key, name string) bool {
	if !strings.HasPrefix(key, name) || len(key) == len(name) {
		return false
	}
	c := key[len(name)]
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
}

// TestFamiliesGenericTraps feeds every family's verifier completions that no
// strict verifier may accept, built from the gold answer.
func TestFamiliesGenericTraps(t *testing.T) {
	for _, f := range Families() {
		t.Run(f.Name(), func(t *testing.T) {
			for level := 1; level <= MaxLevel; level++ {
				for i := range 50 {
					p, err := Generate(f, level, Train, 7, uint64(i))
					if err != nil {
						t.Fatal(err)
					}
					think := TagThinkOpen + p.Solution + TagThinkClose
					traps := []struct {
						name, completion string
					}{
						{"empty answer", think + TagAnswerOpen + TagAnswerClose},
						{"blank answer", think + TagAnswerOpen + " \n " + TagAnswerClose},
						{"A or A", think + TagAnswerOpen + p.Answer + " or " + p.Answer + TagAnswerClose},
						{"answer twice", think + TagAnswerOpen + p.Answer + " " + p.Answer + TagAnswerClose},
						{"answer twice newline", think + TagAnswerOpen + p.Answer + "\n" + p.Answer + TagAnswerClose},
						{"two answer blocks", think + TagAnswerOpen + p.Answer + TagAnswerClose + TagAnswerOpen + p.Answer + TagAnswerClose},
						{"text after", think + TagAnswerOpen + p.Answer + TagAnswerClose + "x"},
						{"no think", TagAnswerOpen + p.Answer + TagAnswerClose},
						{"unclosed", think + TagAnswerOpen + p.Answer},
						{"bare answer", p.Answer},
						{"answer in think only", TagThinkOpen + p.Answer + TagThinkClose},
						{"huge", think + TagAnswerOpen + p.Answer + strings.Repeat(" ", 100<<10) + TagAnswerClose},
					}
					for _, tc := range traps {
						if v := f.Verify(&p, tc.completion); v.Correct || v.Reason == ReasonOK || v.Reason == "" {
							t.Errorf("level %d %s: answer %q: %s accepted or unexplained: %+v", level, p.Key, p.Answer, tc.name, v)
						}
					}
				}
			}
		})
	}
}

// TestFamiliesMalformedProblem checks that Verify never panics and never
// accepts anything for a zero or damaged Problem.
func TestFamiliesMalformedProblem(t *testing.T) {
	for _, f := range Families() {
		t.Run(f.Name(), func(t *testing.T) {
			gold, err := Generate(f, 2, Train, 3, 0)
			if err != nil {
				t.Fatal(err)
			}
			good := FormatCompletion(&gold)
			completions := []string{"", good, "<think></think><answer>0</answer>", "<think></think><answer>1</answer>"}
			damaged := []Problem{
				{},
				{Family: f.Name()},
				{Family: f.Name(), Key: f.Name()},
				{Family: f.Name(), Key: f.Name() + " \xff\x00 1 2 3 -"},
				{Family: f.Name(), Key: "garbage", Answer: ""},
				{Family: f.Name(), Key: gold.Key + strings.Repeat("9", 5000)},
				{Family: f.Name(), Key: f.Name() + strings.Repeat(" 99999999999999999999999", 20)},
			}
			for i, p := range damaged {
				for _, c := range completions {
					v := f.Verify(&p, c) // must not panic
					if v.Reason == "" {
						t.Errorf("damaged problem %d: verdict %+v has no reason", i, v)
					}
					if i < 2 && v.Correct {
						t.Errorf("zero problem %d accepted %q: %+v", i, c, v)
					}
				}
			}
		})
	}
}

func TestFamiliesDeterminism(t *testing.T) {
	for _, f := range Families() {
		t.Run(f.Name(), func(t *testing.T) {
			for level := 1; level <= MaxLevel; level++ {
				differ, keys := 0, map[string]bool{}
				for i := range 100 {
					a, err1 := Generate(f, level, Validation, 11, uint64(i))
					b, err2 := Generate(f, level, Validation, 11, uint64(i))
					c, err3 := Generate(f, level, Validation, 12, uint64(i))
					if err1 != nil || err2 != nil || err3 != nil {
						t.Fatal(err1, err2, err3)
					}
					if a != b {
						t.Fatalf("level %d item %d: same seed gave %+v and %+v", level, i, a, b)
					}
					keys[a.Key] = true
					if a.Key != c.Key {
						differ++
					}
				}
				// Tiny key spaces (a handful of validation keys) collide often;
				// only a seed that changes nothing at all is an error.
				if differ == 0 && len(keys) > 1 {
					t.Errorf("level %d: seeds 11 and 12 gave the same %d keys: want the seed to matter", level, len(keys))
				}
				// Generate itself depends only on the rng it is given.
				r1 := rand.New(rand.NewPCG(5, 6))
				r2 := rand.New(rand.NewPCG(5, 6))
				for range 20 {
					if a, b := f.Generate(r1, level), f.Generate(r2, level); a != b {
						t.Fatalf("level %d: equal rngs gave %+v and %+v", level, a, b)
					}
				}
			}
		})
	}
}

// TestFamiliesJSONRoundTrip checks that a Problem read back from JSON
// verifies exactly like the original, for good and bad completions.
func TestFamiliesJSONRoundTrip(t *testing.T) {
	for _, f := range Families() {
		t.Run(f.Name(), func(t *testing.T) {
			for level := 1; level <= MaxLevel; level++ {
				for i := range 20 {
					p, err := Generate(f, level, Test, 9, uint64(i))
					if err != nil {
						t.Fatal(err)
					}
					line, err := json.Marshal(p)
					if err != nil {
						t.Fatal(err)
					}
					var q Problem
					if err := json.Unmarshal(line, &q); err != nil {
						t.Fatal(err)
					}
					if q != p {
						t.Fatalf("JSON round trip changed %+v into %+v", p, q)
					}
					completions := []string{
						FormatCompletion(&p),
						TagThinkOpen + TagThinkClose + TagAnswerOpen + p.Answer + "1" + TagAnswerClose,
						TagThinkOpen + TagThinkClose + TagAnswerOpen + "0" + TagAnswerClose,
						"nonsense",
					}
					for _, c := range completions {
						v1 := f.Verify(&p, c)
						v2, err := Verify(&q, c)
						if err != nil || v1 != v2 {
							t.Errorf("level %d %q: verdict %+v before JSON, %+v (%v) after", level, c, v1, v2, err)
						}
					}
				}
			}
		})
	}
}
