package data

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sortThink is a think block for hand-written sort completions.
const sortThink = TagThinkOpen + "min -3; min 5; min 5; min 12" + TagThinkClose

func sortAnswer(ans string) string { return sortThink + TagAnswerOpen + ans + TagAnswerClose }

// sortProblem is a hand-written level-3 problem with a duplicate.
var sortProblem = Problem{
	Family: "sort", Level: 3, Key: "sort:asc:-3,5,5,12",
	Prompt: "sort asc: 5 12 -3 5", Answer: "-3 5 5 12",
	Solution: "min -3; min 5; min 5; min 12",
}

func TestSortVerifyTraps(t *testing.T) {
	desc := Problem{Family: "sort", Key: "sort:desc:-3,5,12", Prompt: "sort desc: 5 -3 12", Answer: "12 5 -3"}
	zero := Problem{Family: "sort", Key: "sort:asc:0,1,2", Prompt: "sort asc: 2 0 1", Answer: "0 1 2"}
	many := strings.TrimSpace(strings.Repeat("5 ", 40))
	tests := []struct {
		name       string
		p          *Problem
		completion string
		want       Verdict
	}{
		{"gold", &sortProblem, sortAnswer("-3 5 5 12"), Verdict{true, true, ReasonOK}},
		{"gold padded", &sortProblem, sortAnswer("\n -3 5 5 12 \n"), Verdict{true, true, ReasonOK}},
		{"gold desc", &desc, sortAnswer("12 5 -3"), Verdict{true, true, ReasonOK}},
		{"input echoed unsorted", &sortProblem, sortAnswer("5 12 -3 5"), Verdict{false, true, ReasonSortOrder}},
		{"descending for asc", &sortProblem, sortAnswer("12 5 5 -3"), Verdict{false, true, ReasonSortOrder}},
		{"ascending for desc", &desc, sortAnswer("-3 5 12"), Verdict{false, true, ReasonSortOrder}},
		{"one swap", &sortProblem, sortAnswer("-3 5 12 5"), Verdict{false, true, ReasonSortOrder}},
		{"duplicate dropped", &sortProblem, sortAnswer("-3 5 12"), Verdict{false, true, ReasonSortMultiset}},
		{"element dropped", &sortProblem, sortAnswer("5 5 12"), Verdict{false, true, ReasonSortMultiset}},
		{"extra element", &sortProblem, sortAnswer("-3 5 5 12 12"), Verdict{false, true, ReasonSortMultiset}},
		{"extra numbers", &sortProblem, sortAnswer("-3 5 5 12 0 1 2"), Verdict{false, true, ReasonSortMultiset}},
		{"element changed", &sortProblem, sortAnswer("-3 5 6 12"), Verdict{false, true, ReasonSortMultiset}},
		{"duplicate moved", &sortProblem, sortAnswer("-3 -3 5 12"), Verdict{false, true, ReasonSortMultiset}},
		{"sign dropped", &sortProblem, sortAnswer("3 5 5 12"), Verdict{false, true, ReasonSortMultiset}},
		{"forty numbers", &sortProblem, sortAnswer(many), Verdict{false, true, ReasonSortMultiset}},
		{"huge number", &sortProblem, sortAnswer("-3 5 5 99999999999999999999999999"), Verdict{false, true, ReasonSortMultiset}},
		{"commas", &sortProblem, sortAnswer("-3,5,5,12"), Verdict{false, true, ReasonSortSeparator}},
		{"comma space", &sortProblem, sortAnswer("-3, 5, 5, 12"), Verdict{false, true, ReasonSortSeparator}},
		{"semicolons", &sortProblem, sortAnswer("-3;5;5;12"), Verdict{false, true, ReasonSortSeparator}},
		{"two spaces", &sortProblem, sortAnswer("-3  5 5 12"), Verdict{false, true, ReasonSortSeparator}},
		{"tab", &sortProblem, sortAnswer("-3\t5 5 12"), Verdict{false, true, ReasonSortSeparator}},
		{"newlines", &sortProblem, sortAnswer("-3\n5\n5\n12"), Verdict{false, true, ReasonSortSeparator}},
		{"brackets", &sortProblem, sortAnswer("[-3 5 5 12]"), Verdict{false, true, ReasonNotNumber}},
		{"A or B", &sortProblem, sortAnswer("-3 5 5 12 or 12 5 5 -3"), Verdict{false, true, ReasonNotNumber}},
		{"words", &sortProblem, sortAnswer("sorted: -3 5 5 12"), Verdict{false, true, ReasonNotNumber}},
		{"leading zeros", &sortProblem, sortAnswer("-3 05 5 12"), Verdict{false, true, ReasonLeadingZeros}},
		{"plus sign", &sortProblem, sortAnswer("-3 +5 5 12"), Verdict{false, true, ReasonPlusSign}},
		{"negative zero", &zero, sortAnswer("-0 1 2"), Verdict{false, true, ReasonNegZero}},
		{"lone minus", &sortProblem, sortAnswer("- 3 5 5 12"), Verdict{false, true, ReasonNotNumber}},
		{"unicode digits", &sortProblem, sortAnswer("-3 \uff15 5 12"), Verdict{false, true, ReasonNotNumber}},
		{"unicode minus", &sortProblem, sortAnswer("\u22123 5 5 12"), Verdict{false, true, ReasonNotNumber}},
		{"decimal point", &sortProblem, sortAnswer("-3 5.0 5 12"), Verdict{false, true, ReasonNotNumber}},
		{"empty answer", &sortProblem, sortAnswer(""), Verdict{false, false, ReasonEmptyAnswer}},
		{"blank answer", &sortProblem, sortAnswer(" \n "), Verdict{false, false, ReasonEmptyAnswer}},
		{"two answer blocks", &sortProblem, sortAnswer("-3 5 5 12") + TagAnswerOpen + "-3 5 5 12" + TagAnswerClose, Verdict{false, false, ReasonTwoAnswers}},
		{"text after answer", &sortProblem, sortAnswer("-3 5 5 12") + " done", Verdict{false, false, ReasonTextAfter}},
		{"no think", &sortProblem, TagAnswerOpen + "-3 5 5 12" + TagAnswerClose, Verdict{false, false, ReasonNoThink}},
		{"think unclosed", &sortProblem, TagThinkOpen + "x" + TagAnswerOpen + "-3 5 5 12" + TagAnswerClose, Verdict{false, false, ReasonThinkUnclosed}},
		{"no answer block", &sortProblem, sortThink + "-3 5 5 12", Verdict{false, false, ReasonNoAnswer}},
		{"answer unclosed", &sortProblem, sortThink + TagAnswerOpen + "-3 5 5 12", Verdict{false, false, ReasonAnswerUnclosed}},
		{"answer too long", &sortProblem, sortAnswer(strings.Repeat("1 ", 200) + "1"), Verdict{false, false, ReasonAnswerTooLong}},
		{"100 KB of output", &sortProblem, TagThinkOpen + strings.Repeat("min -3; ", 100<<10/8) + TagThinkClose + TagAnswerOpen + "-3 5 5 12" + TagAnswerClose, Verdict{false, false, ReasonTooLong}},
		{"100 KB answer", &sortProblem, sortAnswer(strings.Repeat("-3 5 5 12 ", 10<<10)), Verdict{false, false, ReasonTooLong}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (sortFamily{}).Verify(tc.p, tc.completion); got != tc.want {
				t.Errorf("Verify(%.80q) = %+v, want %+v", tc.completion, got, tc.want)
			}
		})
	}
}

func TestSortVerifyBadProblem(t *testing.T) {
	gold := sortAnswer("1 2")
	tests := []struct {
		name, key, answer string
		want              string
	}{
		{"good", "sort:asc:1,2", "1 2", ReasonOK},
		{"empty key", "", "1 2", ReasonSortBadKey},
		{"family only", "sort", "1 2", ReasonSortBadKey},
		{"no numbers", "sort:asc:", "1 2", ReasonSortBadKey},
		{"bad direction", "sort:up:1,2", "1 2", ReasonSortBadKey},
		{"unsorted key", "sort:asc:2,1", "1 2", ReasonSortBadKey},
		{"spaces in key", "sort:asc:1 2", "1 2", ReasonSortBadKey},
		{"empty element", "sort:asc:1,,2", "1 2", ReasonSortBadKey},
		{"trailing comma", "sort:asc:1,2,", "1 2", ReasonSortBadKey},
		{"leading zero", "sort:asc:01,2", "1 2", ReasonSortBadKey},
		{"ten digits", "sort:asc:1,2,1000000000", "1 2 1000000000", ReasonSortBadKey},
		{"seventeen numbers", "sort:asc:" + strings.Repeat("1,", 16) + "1", strings.Repeat("1 ", 16) + "1", ReasonSortBadKey},
		{"answer disagrees", "sort:asc:1,3", "1 2", ReasonSortBadAnswer},
		{"answer in key order for desc", "sort:desc:1,2", "1 2", ReasonSortBadAnswer},
		{"answer with commas", "sort:asc:1,2", "1,2", ReasonSortBadAnswer},
		{"empty answer field", "sort:asc:1,2", "", ReasonSortBadAnswer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Problem{Family: "sort", Key: tc.key, Answer: tc.answer}
			got := (sortFamily{}).Verify(&p, gold)
			if got.Reason != tc.want || got.Correct != (tc.want == ReasonOK) {
				t.Errorf("key %q answer %q: verdict %+v, want reason %q", tc.key, tc.answer, got, tc.want)
			}
		})
	}
}

func TestSortGenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for level := 1; level <= MaxLevel; level++ {
		c := sortLevels[level]
		t.Run(fmt.Sprintf("level%d", level), func(t *testing.T) {
			for range 2000 {
				p := (sortFamily{}).Generate(rng, level)
				dir, list, ok := strings.Cut(strings.TrimPrefix(p.Prompt, "sort "), ": ")
				if !ok || (dir != "asc" && dir != "desc") {
					t.Fatalf("prompt %q: want \"sort asc: ...\" or \"sort desc: ...\"", p.Prompt)
				}
				nums := sortAtoiAll(t, strings.Split(list, " "))
				if len(nums) != c.n {
					t.Fatalf("prompt %q: %d numbers, want %d", p.Prompt, len(nums), c.n)
				}
				for _, v := range nums {
					if v < c.lo || v > c.hi {
						t.Fatalf("prompt %q: %d outside %d..%d", p.Prompt, v, c.lo, c.hi)
					}
				}
				slices.Sort(nums)
				if want := "sort:" + dir + ":" + sortJoin(nums, ","); p.Key != want {
					t.Fatalf("prompt %q: key %q, want %q", p.Prompt, p.Key, want)
				}
				if dir == "desc" {
					slices.Reverse(nums)
				}
				if want := sortJoin(nums, " "); p.Answer != want {
					t.Fatalf("prompt %q: answer %q, want %q", p.Prompt, p.Answer, want)
				}
				pick := "min "
				if dir == "desc" {
					pick = "max "
				}
				steps := strings.Split(p.Solution, "; ")
				for i, s := range steps {
					if want := pick + strconv.Itoa(nums[i]); s != want {
						t.Fatalf("prompt %q: solution step %d is %q, want %q", p.Prompt, i, s, want)
					}
				}
			}
		})
	}
	if p := (sortFamily{}).Generate(rng, 0); p.Level != 1 {
		t.Errorf("level 0: got level %d, want it clamped to 1", p.Level)
	}
}

// TestSortKeyIgnoresOrder checks that a permuted prompt is the same problem.
func TestSortKeyIgnoresOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	byKey := map[string]string{}
	same := 0
	for range 20000 {
		p := (sortFamily{}).Generate(rng, 1)
		if prompt, ok := byKey[p.Key]; ok && prompt != p.Prompt {
			same++
			q := p
			q.Prompt = prompt
			if v := (sortFamily{}).Verify(&q, FormatCompletion(&p)); !v.Correct {
				t.Fatalf("prompts %q and %q share key %q but the gold answer fails: %+v", prompt, p.Prompt, p.Key, v)
			}
		}
		byKey[p.Key] = p.Prompt
	}
	if same == 0 {
		t.Error("no two level-1 prompts in another order shared a key")
	}
}

func TestSortVerifyAllocs(t *testing.T) {
	for _, ans := range []string{"-3 5 5 12", "5 12 -3 5", "-3 5 12", "-3,5,5,12", "-3 5 5 99999999999999"} {
		c := sortAnswer(ans)
		if n := testing.AllocsPerRun(100, func() { (sortFamily{}).Verify(&sortProblem, c) }); n != 0 {
			t.Errorf("Verify(%q): %v allocs, want 0", ans, n)
		}
	}
}

func ExampleVerify_sort() {
	p := Problem{Family: "sort", Key: "sort:asc:-3,5,12", Prompt: "sort asc: 5 -3 12", Answer: "-3 5 12"}
	for _, ans := range []string{"-3 5 12", "5 -3 12", "-3 12", "-3,5,12"} {
		v, _ := Verify(&p, "<think>min -3; min 5; min 12</think><answer>"+ans+"</answer>")
		fmt.Printf("%-10q correct=%v reason=%q\n", ans, v.Correct, v.Reason)
	}
	// Output:
	// "-3 5 12"  correct=true reason="ok"
	// "5 -3 12"  correct=false reason="wrong order"
	// "-3 12"    correct=false reason="wrong multiset"
	// "-3,5,12"  correct=false reason="bad separator"
}

var sortCanonicalRE = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)

// sortReference judges an answer from the prompt alone with the standard
// library: it returns whether the answer is correct and, when the answer is
// a syntactically clean list, the reason the verifier must give.
func sortReference(prompt, ans string) (correct bool, reason string) {
	dir, list, _ := strings.Cut(strings.TrimPrefix(prompt, "sort "), ": ")
	var want []int
	for _, f := range strings.Fields(list) {
		v, _ := strconv.Atoi(f)
		want = append(want, v)
	}
	slices.Sort(want)
	if dir == "desc" {
		slices.Reverse(want)
	}
	var got []int
	for _, tok := range strings.Split(ans, " ") {
		if !sortCanonicalRE.MatchString(tok) {
			return false, "" // not a clean list: the verifier's syntax reason applies
		}
		v, err := strconv.Atoi(tok)
		if err != nil { // out of int range: cannot be any of the numbers
			v = 1 << 62
		}
		got = append(got, v)
	}
	if slices.Equal(got, want) {
		return true, ReasonOK
	}
	a, b := slices.Clone(got), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	if slices.Equal(a, b) {
		return false, ReasonSortOrder
	}
	return false, ReasonSortMultiset
}

// FuzzVerifySort feeds the verifier arbitrary answers, mutated gold answers
// and damaged keys: it must never panic, must accept exactly what the
// standard-library reference accepts and must name the same reason for a
// clean list.
func FuzzVerifySort(f *testing.F) {
	f.Add(uint8(0), uint64(1), "1 2 3", "sort:asc:1,2,3", uint16(0))
	f.Add(uint8(2), uint64(2), "-3 5 5 12", "sort:desc:-3,5,5,12", uint16(0x2c01))
	f.Add(uint8(3), uint64(3), "1,2 3", "sort:asc:1", uint16(0x2002))
	f.Add(uint8(4), uint64(4), "<think></think><answer>0</answer>", "sort:asc:0", uint16(0x3003))
	f.Fuzz(func(t *testing.T, level uint8, seed uint64, answer, key string, mut uint16) {
		p := (sortFamily{}).Generate(rand.New(rand.NewPCG(seed, 1)), int(level%MaxLevel)+1)
		for _, ans := range []string{answer, fuzzMutateGold(p.Answer, mut)} {
			c := TagThinkOpen + p.Solution + TagThinkClose + TagAnswerOpen + ans + TagAnswerClose
			v := (sortFamily{}).Verify(&p, c)
			ext, _, ok := ExtractAnswer(c)
			wantOK, wantReason := sortReference(p.Prompt, ext)
			if v.Correct != (ok && wantOK) || v.Correct != (v.Reason == ReasonOK) {
				t.Fatalf("prompt %q answer %q: verdict %+v, reference correct=%v", p.Prompt, ans, v, ok && wantOK)
			}
			if ok && wantReason != "" && v.Reason != wantReason {
				t.Fatalf("prompt %q answer %q: reason %q, reference %q", p.Prompt, ans, v.Reason, wantReason)
			}
		}
		q := p
		q.Key = key
		if v := (sortFamily{}).Verify(&q, answer); v.Correct {
			if ext, _, _ := ExtractAnswer(answer); ext != q.Answer || !strings.HasPrefix(key, "sort:") {
				t.Fatalf("key %q: raw completion %q accepted for answer %q", key, answer, q.Answer)
			}
		} else if v.Reason == "" {
			t.Fatalf("key %q: verdict %+v without a reason", key, v)
		}
	})
}

// fuzzMutateGold returns s with one byte changed, inserted or deleted, as chosen
// by mut: the low byte picks the position, the high byte the new byte, with
// 0 deleting and 1 duplicating.
func fuzzMutateGold(s string, mut uint16) string {
	if s == "" {
		return string(rune(mut >> 8))
	}
	i, c := int(mut&0xff)%len(s), byte(mut>>8)
	switch c {
	case 0:
		return s[:i] + s[i+1:]
	case 1:
		return s[:i] + s[i:i+1] + s[i:]
	}
	return s[:i] + string(c) + s[i+1:]
}

func sortAtoiAll(t *testing.T, fields []string) []int {
	t.Helper()
	var out []int
	for _, f := range fields {
		v, err := strconv.Atoi(f)
		if err != nil || strconv.Itoa(v) != f {
			t.Fatalf("field %q: want a canonical integer", f)
		}
		out = append(out, v)
	}
	return out
}

func sortJoin(nums []int, sep string) string {
	s := make([]string, len(nums))
	for i, v := range nums {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, sep)
}

func BenchmarkGenerateSort(b *testing.B) {
	for level := 1; level <= MaxLevel; level++ {
		b.Run(fmt.Sprintf("level%d", level), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				(sortFamily{}).Generate(rng, level)
			}
		})
	}
}

func BenchmarkVerifySort(b *testing.B) {
	for level := 1; level <= MaxLevel; level++ {
		b.Run(fmt.Sprintf("level%d", level), func(b *testing.B) {
			p := (sortFamily{}).Generate(rand.New(rand.NewPCG(1, 2)), level)
			c := FormatCompletion(&p)
			b.ReportAllocs()
			for b.Loop() {
				(sortFamily{}).Verify(&p, c)
			}
		})
	}
}
