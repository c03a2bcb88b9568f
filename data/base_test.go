package data

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func baseAnswer(ans string) string {
	return TagThinkOpen + "47/16 2rf 0r2" + TagThinkClose + TagAnswerOpen + ans + TagAnswerClose
}

// Hand-written problems: decimal to hex, decimal to binary, base 7 to base 3.
var (
	baseHex = Problem{Family: "base", Level: 3, Key: "base:10:16:47", Prompt: "base 10 to base 16: 47", Answer: "2f", Solution: "47/16 2rf 0r2"}
	baseBin = Problem{Family: "base", Level: 1, Key: "base:10:2:37", Prompt: "base 10 to base 2: 37", Answer: "100101", Solution: "37/2 18r1 9r0 4r1 2r0 1r0 0r1"}
	base73  = Problem{Family: "base", Level: 4, Key: "base:7:3:254", Prompt: "base 7 to base 3: 254", Answer: "12002", Solution: "2 19 137; 137/3 45r2 15r0 5r0 1r2 0r1"}
)

func TestBaseVerifyTraps(t *testing.T) {
	zero := Problem{Family: "base", Key: "base:10:2:0", Prompt: "base 10 to base 2: 0", Answer: "0"}
	toDec := Problem{Family: "base", Key: "base:16:10:ff", Prompt: "base 16 to base 10: ff", Answer: "255"}
	tests := []struct {
		name       string
		p          *Problem
		completion string
		want       Verdict
	}{
		{"gold hex", &baseHex, baseAnswer("2f"), Verdict{true, true, ReasonOK}},
		{"gold binary", &baseBin, baseAnswer("100101"), Verdict{true, true, ReasonOK}},
		{"gold 7 to 3", &base73, baseAnswer("12002"), Verdict{true, true, ReasonOK}},
		{"gold to decimal", &toDec, baseAnswer("255"), Verdict{true, true, ReasonOK}},
		{"gold zero", &zero, baseAnswer("0"), Verdict{true, true, ReasonOK}},
		{"gold padded", &baseHex, baseAnswer("\n2f "), Verdict{true, true, ReasonOK}},
		{"uppercase", &baseHex, baseAnswer("2F"), Verdict{false, true, ReasonBaseUppercase}},
		{"0x prefix", &baseHex, baseAnswer("0x2f"), Verdict{false, true, ReasonBasePrefix}},
		{"0X prefix uppercase", &baseHex, baseAnswer("0X2F"), Verdict{false, true, ReasonBasePrefix}},
		{"0b prefix", &baseBin, baseAnswer("0b100101"), Verdict{false, true, ReasonBasePrefix}},
		{"0o prefix", &base73, baseAnswer("0o12002"), Verdict{false, true, ReasonBasePrefix}},
		{"hash prefix", &baseHex, baseAnswer("#2f"), Verdict{false, true, ReasonNotNumber}},
		{"h suffix", &baseHex, baseAnswer("2fh"), Verdict{false, true, ReasonBaseDigit}},
		{"subscript base", &baseHex, baseAnswer("2f_16"), Verdict{false, true, ReasonNotNumber}},
		{"leading zeros", &baseHex, baseAnswer("02f"), Verdict{false, true, ReasonLeadingZeros}},
		{"leading zeros binary", &baseBin, baseAnswer("00100101"), Verdict{false, true, ReasonLeadingZeros}},
		{"double zero", &zero, baseAnswer("00"), Verdict{false, true, ReasonLeadingZeros}},
		{"input echoed", &baseHex, baseAnswer("47"), Verdict{false, true, ReasonWrongValue}},
		{"digits reversed", &baseBin, baseAnswer("101001"), Verdict{false, true, ReasonWrongValue}},
		{"via decimal only", &base73, baseAnswer("137"), Verdict{false, true, ReasonBaseDigit}},
		{"remainders not reversed", &base73, baseAnswer("20021"), Verdict{false, true, ReasonWrongValue}},
		{"digit not in base 2", &baseBin, baseAnswer("100102"), Verdict{false, true, ReasonBaseDigit}},
		{"letter beyond f", &baseHex, baseAnswer("2g"), Verdict{false, true, ReasonBaseDigit}},
		{"A or B", &baseHex, baseAnswer("2f or 2e"), Verdict{false, true, ReasonNotNumber}},
		{"extra numbers", &baseHex, baseAnswer("2f 47"), Verdict{false, true, ReasonNotNumber}},
		{"negative", &baseHex, baseAnswer("-2f"), Verdict{false, true, ReasonNotNumber}},
		{"plus sign", &baseHex, baseAnswer("+2f"), Verdict{false, true, ReasonNotNumber}},
		{"unicode digits", &baseBin, baseAnswer("\uff11\uff10\uff10\uff11\uff10\uff11"), Verdict{false, true, ReasonNotNumber}},
		{"unicode letter", &baseHex, baseAnswer("2\u0192"), Verdict{false, true, ReasonNotNumber}},
		{"huge number", &baseHex, baseAnswer(strings.Repeat("f", 200)), Verdict{false, true, ReasonWrongValue}},
		{"empty answer", &baseHex, baseAnswer(""), Verdict{false, false, ReasonEmptyAnswer}},
		{"two answer blocks", &baseHex, baseAnswer("2f") + TagAnswerOpen + "2f" + TagAnswerClose, Verdict{false, false, ReasonTwoAnswers}},
		{"text after answer", &baseHex, baseAnswer("2f") + " (hex)", Verdict{false, false, ReasonTextAfter}},
		{"no think", &baseHex, TagAnswerOpen + "2f" + TagAnswerClose, Verdict{false, false, ReasonNoThink}},
		{"think unclosed", &baseHex, TagThinkOpen + TagAnswerOpen + "2f" + TagAnswerClose, Verdict{false, false, ReasonThinkUnclosed}},
		{"no answer block", &baseHex, TagThinkOpen + TagThinkClose + "2f", Verdict{false, false, ReasonNoAnswer}},
		{"answer unclosed", &baseHex, TagThinkOpen + TagThinkClose + TagAnswerOpen + "2f", Verdict{false, false, ReasonAnswerUnclosed}},
		{"answer too long", &baseHex, baseAnswer(strings.Repeat("f", 300)), Verdict{false, false, ReasonAnswerTooLong}},
		{"100 KB of output", &baseHex, TagThinkOpen + strings.Repeat("47/16 ", 100<<10/6) + TagThinkClose + TagAnswerOpen + "2f" + TagAnswerClose, Verdict{false, false, ReasonTooLong}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (baseFamily{}).Verify(tc.p, tc.completion); got != tc.want {
				t.Errorf("Verify(%.80q) = %+v, want %+v", tc.completion, got, tc.want)
			}
		})
	}
}

func TestBaseVerifyBadProblem(t *testing.T) {
	gold := baseAnswer("101")
	tests := []struct {
		name, key, answer string
		want              string
	}{
		{"good", "base:10:2:5", "101", ReasonOK},
		{"good from hex", "base:16:2:5", "101", ReasonOK},
		{"empty key", "", "101", ReasonBaseBadKey},
		{"no digits", "base:10:2:", "101", ReasonBaseBadKey},
		{"base 1", "base:1:2:5", "101", ReasonBaseBadKey},
		{"base 17", "base:10:17:5", "101", ReasonBaseBadKey},
		{"base 0", "base:10:0:5", "101", ReasonBaseBadKey},
		{"base with leading zero", "base:010:2:5", "101", ReasonBaseBadKey},
		{"digit not in from base", "base:2:10:5", "5", ReasonBaseBadKey},
		{"leading zero digits", "base:10:2:05", "101", ReasonBaseBadKey},
		{"uppercase digits", "base:16:2:F", "1111", ReasonBaseBadKey},
		{"prefix digits", "base:16:2:0x5", "101", ReasonBaseBadKey},
		{"negative", "base:10:2:-5", "101", ReasonBaseBadKey},
		{"too large", "base:16:2:" + strings.Repeat("f", 20), "101", ReasonBaseBadKey},
		{"too many digits", "base:2:10:1" + strings.Repeat("0", 70), "101", ReasonBaseBadKey},
		{"answer disagrees", "base:10:2:6", "101", ReasonBaseBadAnswer},
		{"answer uppercase", "base:10:16:255", "FF", ReasonBaseBadAnswer},
		{"empty answer field", "base:10:2:5", "", ReasonBaseBadAnswer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Problem{Family: "base", Key: tc.key, Answer: tc.answer}
			got := (baseFamily{}).Verify(&p, gold)
			if got.Reason != tc.want || got.Correct != (tc.want == ReasonOK) {
				t.Errorf("key %q answer %q: verdict %+v, want reason %q", tc.key, tc.answer, got, tc.want)
			}
		})
	}
}

func TestBaseGenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type limits struct {
		lo, hi       int64 // value range
		decimalFrom  bool  // the input is always decimal
		maxTo        int   // largest target base
		bothNotTen   bool  // neither side is 10
		wantBaseSeen int   // how many distinct (from, to) pairs must appear in 3000 draws
	}
	want := [MaxLevel + 1]limits{
		1: {0, 63, true, 2, false, 1},
		2: {0, 255, true, 9, false, 8},
		3: {0, 4095, true, 16, false, 14},
		4: {0, 1023, false, 16, true, 150},
		5: {4096, 65535, false, 16, false, 200},
	}
	for level := 1; level <= MaxLevel; level++ {
		w := want[level]
		t.Run(fmt.Sprintf("level%d", level), func(t *testing.T) {
			pairs := map[[2]int]bool{}
			for range 3000 {
				p := (baseFamily{}).Generate(rng, level)
				var from, to int
				var digits string
				if _, err := fmt.Sscanf(p.Prompt, "base %d to base %d: %s", &from, &to, &digits); err != nil {
					t.Fatalf("prompt %q: %v", p.Prompt, err)
				}
				pairs[[2]int{from, to}] = true
				v, err := strconv.ParseInt(digits, from, 64)
				if err != nil || strconv.FormatInt(v, from) != digits {
					t.Fatalf("prompt %q: digits not canonical in base %d", p.Prompt, from)
				}
				switch {
				case v < w.lo || v > w.hi:
					t.Fatalf("prompt %q: value %d outside %d..%d", p.Prompt, v, w.lo, w.hi)
				case from == to, to < 2, to > w.maxTo, from < 2, from > 16:
					t.Fatalf("prompt %q: bases %d to %d", p.Prompt, from, to)
				case w.decimalFrom && from != 10, w.bothNotTen && (from == 10 || to == 10):
					t.Fatalf("prompt %q: bases %d to %d not allowed at level %d", p.Prompt, from, to, level)
				}
				if want := strconv.FormatInt(v, to); p.Answer != want {
					t.Fatalf("prompt %q: answer %q, want %q", p.Prompt, p.Answer, want)
				}
				if want := fmt.Sprintf("base:%d:%d:%s", from, to, digits); p.Key != want {
					t.Fatalf("prompt %q: key %q, want %q", p.Prompt, p.Key, want)
				}
				baseCheckSolution(t, &p, v, from, to, digits)
			}
			if len(pairs) < w.wantBaseSeen {
				t.Errorf("%d (from, to) pairs drawn, want at least %d", len(pairs), w.wantBaseSeen)
			}
		})
	}
}

// baseCheckSolution replays the worked solution: the Horner values, then
// the division chain, whose remainders read backwards are the answer.
func baseCheckSolution(t *testing.T, p *Problem, v int64, from, to int, digits string) {
	t.Helper()
	sol := p.Solution
	if from != 10 {
		horner, rest, _ := strings.Cut(sol, "; ")
		var acc int64
		for i, f := range strings.Fields(horner) {
			acc = acc*int64(from) + int64(baseDigitValue(digits[i]))
			if f != strconv.FormatInt(acc, 10) {
				t.Fatalf("prompt %q: Horner step %d is %q, want %d", p.Prompt, i, f, acc)
			}
		}
		if acc != v {
			t.Fatalf("prompt %q: Horner ends at %d, want %d", p.Prompt, acc, v)
		}
		sol = rest
	}
	if to == 10 {
		if sol != "" || !strings.HasSuffix(p.Solution, " "+p.Answer) && p.Solution != p.Answer {
			t.Fatalf("prompt %q: solution %q: want Horner values ending at the answer", p.Prompt, p.Solution)
		}
		return
	}
	f := strings.Fields(sol)
	if want := fmt.Sprintf("%d/%d", v, to); f[0] != want {
		t.Fatalf("prompt %q: chain starts %q, want %q", p.Prompt, f[0], want)
	}
	var rems []byte
	q := v
	for _, step := range f[1:] {
		want := fmt.Sprintf("%dr%c", q/int64(to), baseDigits[q%int64(to)])
		if step != want {
			t.Fatalf("prompt %q: division step %q, want %q", p.Prompt, step, want)
		}
		rems = append([]byte{baseDigits[q%int64(to)]}, rems...)
		q /= int64(to)
	}
	if q != 0 || string(rems) != p.Answer {
		t.Fatalf("prompt %q: chain %q ends at %d with remainders %q, want 0 and %q", p.Prompt, sol, q, rems, p.Answer)
	}
}

// TestBaseBudget checks the completion length of every problem of levels
// 1-4 and of the longest level-5 conversions (between bases 2 and 3) against
// the length budget; random draws would miss the rare worst cases.
func TestBaseBudget(t *testing.T) {
	type span struct {
		level, budget int
		lo, hi        int64
		bases         []int
	}
	notTen := []int{2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16}
	spans := []span{
		{1, budgetCompletion, 0, 63, nil},
		{2, budgetCompletion, 0, 255, nil},
		{3, budgetCompletion, 0, 4095, nil},
		{4, budgetCompletion, 0, 1023, notTen},
		{5, budgetCompletionL5, 4096, 65535, []int{2, 3}},
	}
	for _, s := range spans {
		var pairs [][2]int
		if s.bases == nil {
			for to := 2; to <= 16; to++ {
				if to != 10 {
					pairs = append(pairs, [2]int{10, to})
				}
			}
		}
		for _, from := range s.bases {
			for _, to := range s.bases {
				if from != to {
					pairs = append(pairs, [2]int{from, to})
				}
			}
		}
		longest := 0
		for _, pr := range pairs {
			for v := s.lo; v <= s.hi; v++ {
				p := baseProblem(v, pr[0], pr[1])
				// Every character is one token; the four tags are one each.
				n := len(p.Solution) + len(p.Answer) + 4
				longest = max(longest, n)
				if n > s.budget {
					t.Fatalf("level %d: %q takes %d tokens: want at most %d\nsolution %q", s.level, p.Prompt, n, s.budget, p.Solution)
				}
			}
		}
		t.Logf("level %d: longest completion %d tokens (budget %d)", s.level, longest, s.budget)
	}
}

func TestBaseVerifyAllocs(t *testing.T) {
	for _, ans := range []string{"12002", "20021", "0x12002", "012002", "12A"} {
		c := baseAnswer(ans)
		if n := testing.AllocsPerRun(100, func() { (baseFamily{}).Verify(&base73, c) }); n != 0 {
			t.Errorf("Verify(%q): %v allocs, want 0", ans, n)
		}
	}
}

func ExampleVerify_base() {
	p := Problem{Family: "base", Key: "base:10:16:47", Prompt: "base 10 to base 16: 47", Answer: "2f"}
	for _, ans := range []string{"2f", "2F", "0x2f", "02f", "47"} {
		v, _ := Verify(&p, "<think>47/16 2rf 0r2</think><answer>"+ans+"</answer>")
		fmt.Printf("%-6q correct=%v reason=%q\n", ans, v.Correct, v.Reason)
	}
	// Output:
	// "2f"   correct=true reason="ok"
	// "2F"   correct=false reason="uppercase digit"
	// "0x2f" correct=false reason="base prefix"
	// "02f"  correct=false reason="leading zeros"
	// "47"   correct=false reason="wrong value"
}

// baseReference is the gold answer computed from the prompt with strconv.
func baseReference(t *testing.T, prompt string) string {
	var from, to int
	var digits string
	if _, err := fmt.Sscanf(prompt, "base %d to base %d: %s", &from, &to, &digits); err != nil {
		t.Fatalf("prompt %q: %v", prompt, err)
	}
	v, err := strconv.ParseInt(digits, from, 64)
	if err != nil {
		t.Fatalf("prompt %q: %v", prompt, err)
	}
	return strconv.FormatInt(v, to)
}

// FuzzVerifyBase: never panics; accepts an answer exactly when it is the
// strconv conversion of the prompt's number.
func FuzzVerifyBase(f *testing.F) {
	f.Add(uint8(0), uint64(1), "101", "base:10:2:5", uint16(0))
	f.Add(uint8(2), uint64(2), "0x2f", "base:10:16:47", uint16(0x4600))
	f.Add(uint8(3), uint64(3), "12002", "base:7:3:254", uint16(0x3001))
	f.Add(uint8(4), uint64(4), "FFFF", "base:16:", uint16(0x0002))
	f.Fuzz(func(t *testing.T, level uint8, seed uint64, answer, key string, mut uint16) {
		p := (baseFamily{}).Generate(rand.New(rand.NewPCG(seed, 1)), int(level%MaxLevel)+1)
		ref := baseReference(t, p.Prompt)
		for _, ans := range []string{answer, fuzzMutateGold(p.Answer, mut)} {
			c := TagThinkOpen + p.Solution + TagThinkClose + TagAnswerOpen + ans + TagAnswerClose
			v := (baseFamily{}).Verify(&p, c)
			ext, _, ok := ExtractAnswer(c)
			if want := ok && ext == ref; v.Correct != want || v.Correct != (v.Reason == ReasonOK) {
				t.Fatalf("prompt %q answer %q: verdict %+v, reference correct=%v", p.Prompt, ans, v, want)
			}
		}
		q := p
		q.Key = key
		if v := (baseFamily{}).Verify(&q, answer); v.Correct {
			if ext, _, _ := ExtractAnswer(answer); ext != q.Answer || !strings.HasPrefix(key, "base:") {
				t.Fatalf("key %q: raw completion %q accepted for answer %q", key, answer, q.Answer)
			}
		} else if v.Reason == "" {
			t.Fatalf("key %q: verdict %+v without a reason", key, v)
		}
	})
}

func BenchmarkGenerateBase(b *testing.B) {
	for level := 1; level <= MaxLevel; level++ {
		b.Run(fmt.Sprintf("level%d", level), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				(baseFamily{}).Generate(rng, level)
			}
		})
	}
}

func BenchmarkVerifyBase(b *testing.B) {
	for level := 1; level <= MaxLevel; level++ {
		b.Run(fmt.Sprintf("level%d", level), func(b *testing.B) {
			p := (baseFamily{}).Generate(rand.New(rand.NewPCG(1, 2)), level)
			c := FormatCompletion(&p)
			b.ReportAllocs()
			for b.Loop() {
				(baseFamily{}).Verify(&p, c)
			}
		})
	}
}
