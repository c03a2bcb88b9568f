package data

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseSplit(t *testing.T) {
	tests := []struct {
		in      string
		want    Split
		wantErr bool
	}{
		{"train", Train, false},
		{"validation", Validation, false},
		{"val", Validation, false},
		{"test", Test, false},
		{"", 0, true},
		{"Train", 0, true},
		{" test", 0, true},
		{"dev", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSplit(tc.in)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "data: ") || !strings.Contains(err.Error(), `"`+tc.in+`"`) {
					t.Fatalf("ParseSplit(%q) error %v, want one naming the input", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseSplit(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
			}
			if back, err := ParseSplit(got.String()); err != nil || back != got {
				t.Errorf("ParseSplit(%v.String()) = %v, %v", got, back, err)
			}
		})
	}
	if got := Split(7).String(); got != "Split(7)" {
		t.Errorf("Split(7).String() = %q, want Split(7)", got)
	}
}

// TestSplitOfKeyProportions checks the 10/10/80 partition on many keys.
func TestSplitOfKeyProportions(t *testing.T) {
	var counts [3]int
	const n = 100000
	buf := make([]byte, 0, 32)
	for i := range n {
		buf = append(buf[:0], "k:"...)
		buf = append(buf, byte('a'+i%26), byte('0'+i/26%10))
		buf = append(buf, byte(i>>8), byte(i>>16), byte(i))
		counts[SplitOfKey(string(buf))]++
	}
	want := [3]float64{0.8, 0.1, 0.1}
	for s, c := range counts {
		if got := float64(c) / n; got < want[s]-0.01 || got > want[s]+0.01 {
			t.Errorf("%v holds %.3f of the keys, want %.2f", Split(s), got, want[s])
		}
	}
}

func TestStreamSeedNamespaces(t *testing.T) {
	seen := map[[2]uint64]string{}
	for _, sp := range []Split{Train, Validation, Test} {
		for _, fam := range []string{"add", "addrev"} {
			for level := 1; level <= 2; level++ {
				for idx := range uint64(100) {
					a, b := StreamSeed(1, sp, fam, level, idx)
					what := sp.String() + "/" + fam
					if prev, dup := seen[[2]uint64{a, b}]; dup {
						t.Fatalf("%s level %d index %d has the same stream as %s", what, level, idx, prev)
					}
					seen[[2]uint64{a, b}] = what
				}
			}
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	f, err := Lookup("add")
	if err != nil {
		t.Skip("family add not registered")
	}
	for _, level := range []int{0, -1, MaxLevel + 1} {
		if _, err := Generate(f, level, Train, 1, 0); err == nil || !strings.Contains(err.Error(), "level") {
			t.Errorf("Generate(level %d) error %v, want one naming the level", level, err)
		}
	}
	// A family with a single key lands in one slice only: the other splits
	// must fail with an error, not loop or return a leaked problem.
	one := constFamily{}
	home := SplitOfKey(one.Generate(nil, 1).Key)
	for _, sp := range []Split{Train, Validation, Test} {
		p, err := Generate(one, 1, sp, 1, 0)
		if sp == home {
			if err != nil || p.Split != sp.String() {
				t.Errorf("Generate(%v) = %+v, %v, want the problem", sp, p, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), sp.String()) || !strings.Contains(err.Error(), "const") {
			t.Errorf("Generate(%v) error %v, want one naming the family and split", sp, err)
		}
	}
}

// constFamily has one problem; it is not registered.
type constFamily struct{}

func (constFamily) Name() string        { return "const" }
func (constFamily) Description() string { return "one problem" }
func (constFamily) Generate(*rand.Rand, int) Problem {
	return Problem{Family: "const", Level: 1, Key: "const:1", Prompt: "const", Answer: "1", Solution: "1"}
}
func (constFamily) Verify(p *Problem, c string) Verdict {
	if ans, reason, ok := ExtractAnswer(c); !ok {
		return Verdict{Reason: reason}
	} else if ans != p.Answer {
		return Verdict{FormatOK: true, Reason: ReasonWrongValue}
	}
	return Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
}
func (constFamily) Notation() string                      { return "const: answer 1" }
func (constFamily) KeyOfPrompt(string) (string, bool)     { return "const:1", true }
func (constFamily) Canonical(_ *Problem, a string) string { return a }

// TestSplitDisjoint is the leak test of docs/method.md: for every registered
// family and level, no key of the first nTest test items occurs among the
// first nTrain training items (nor among the validation items). Full size
// is 20,000 test against 200,000 train items; with -short it is 2,000
// against 20,000.
func TestSplitDisjoint(t *testing.T) {
	nTest, nTrain := 20000, 200000
	if testing.Short() {
		nTest, nTrain = 2000, 20000
	}
	start := time.Now()
	for _, f := range Families() {
		t.Run(f.Name(), func(t *testing.T) {
			t.Parallel()
			var wg sync.WaitGroup
			for level := 1; level <= MaxLevel; level++ {
				wg.Go(func() {
					testKeys := make(map[string]bool, nTest)
					for i := range nTest {
						p, err := Generate(f, level, Test, 1, uint64(i))
						if err != nil {
							t.Errorf("level %d: %v", level, err)
							return
						}
						testKeys[p.Key] = true
					}
					for _, sp := range []struct {
						split Split
						n     int
					}{{Train, nTrain}, {Validation, nTest}} {
						for i := range sp.n {
							p, err := Generate(f, level, sp.split, 1, uint64(i))
							if err != nil {
								t.Errorf("level %d: %v", level, err)
								return
							}
							if testKeys[p.Key] {
								t.Errorf("level %d: %s item %d has test key %q", level, sp.split, i, p.Key)
								return
							}
						}
					}
					t.Logf("level %d: %d distinct test keys, none in %d train or %d validation items", level, len(testKeys), nTrain, nTest)
				})
			}
			wg.Wait()
		})
	}
	t.Cleanup(func() {
		t.Logf("split leak test: %d test vs %d train items per family and level in %v", nTest, nTrain, time.Since(start))
	})
}
