package data

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const lineqThink = TagThinkOpen + "-3x=10+5=15 x=15/-3=-5" + TagThinkClose

func lineqAnswer(ans string) string { return lineqThink + TagAnswerOpen + ans + TagAnswerClose }

// lineqProblem is a hand-written level-4 problem: -3x-5=10, x = -5.
var lineqProblem = Problem{
	Family: "lineq", Level: 4, Key: "lineq:-3,-5,10",
	Prompt: "solve -3x-5=10", Answer: "-5", Solution: "-3x=10+5=15 x=15/-3=-5",
}

func TestLineqVerifyTraps(t *testing.T) {
	p := &lineqProblem
	ok := Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
	bad := func(reason string) Verdict { return Verdict{FormatOK: true, Reason: reason} }
	format := func(reason string) Verdict { return Verdict{Reason: reason} }
	tests := []struct {
		name       string
		completion string
		want       Verdict
	}{
		{"gold", lineqAnswer("-5"), ok},
		{"gold padded", lineqAnswer("\n -5 \n"), ok},
		{"sign dropped", lineqAnswer("5"), bad(ReasonWrongValue)},
		{"wrong value", lineqAnswer("-4"), bad(ReasonWrongValue)},
		{"x=", lineqAnswer("x=-5"), bad(ReasonNotNumber)},
		{"A or B", lineqAnswer("-5 or 5"), bad(ReasonNotNumber)},
		{"extra numbers", lineqAnswer("-5 -5"), bad(ReasonNotNumber)},
		{"fraction", lineqAnswer("15/-3"), bad(ReasonNotNumber)},
		{"decimal", lineqAnswer("-5.0"), bad(ReasonNotNumber)},
		{"leading zeros", lineqAnswer("-05"), bad(ReasonLeadingZeros)},
		{"plus sign", lineqAnswer("+5"), bad(ReasonPlusSign)},
		{"negative zero", lineqAnswer("-0"), bad(ReasonNegZero)},
		{"unicode minus", lineqAnswer("\u22125"), bad(ReasonNotNumber)},
		{"unicode digit", lineqAnswer("-\uff15"), bad(ReasonNotNumber)},
		{"huge number", lineqAnswer("-5" + strings.Repeat("0", 60)), bad(ReasonWrongValue)},
		{"empty answer", lineqAnswer(""), format(ReasonEmptyAnswer)},
		{"two answer blocks", lineqAnswer("-5") + TagAnswerOpen + "-5" + TagAnswerClose, format(ReasonTwoAnswers)},
		{"text after answer", lineqAnswer("-5") + " x", format(ReasonTextAfter)},
		{"no think", TagAnswerOpen + "-5" + TagAnswerClose, format(ReasonNoThink)},
		{"no answer block", lineqThink + "-5", format(ReasonNoAnswer)},
		{"answer unclosed", lineqThink + TagAnswerOpen + "-5", format(ReasonAnswerUnclosed)},
		{"100 KB of output", TagThinkOpen + strings.Repeat("x", 100<<10) + TagThinkClose + TagAnswerOpen + "-5" + TagAnswerClose, format(ReasonTooLong)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (lineq{}).Verify(p, tc.completion); got != tc.want {
				t.Errorf("Verify(%.80q) = %+v, want %+v", tc.completion, got, tc.want)
			}
		})
	}
}

func TestLineqVerifyBadProblem(t *testing.T) {
	tests := []struct {
		name, key, answer string
		want              string
	}{
		{"good", "lineq:3,5,20", "5", ReasonOK},
		{"zero b", "lineq:3,0,15", "5", ReasonOK},
		{"empty key", "", "5", ReasonLineqBadKey},
		{"family only", "lineq", "5", ReasonLineqBadKey},
		{"two numbers", "lineq:3,5", "5", ReasonLineqBadKey},
		{"four numbers", "lineq:3,5,20,1", "5", ReasonLineqBadKey},
		{"trailing comma", "lineq:3,5,20,", "5", ReasonLineqBadKey},
		{"zero a", "lineq:0,5,20", "5", ReasonLineqBadKey},
		{"no integer solution", "lineq:3,5,21", "5", ReasonLineqBadKey},
		{"leading zero", "lineq:03,5,20", "5", ReasonLineqBadKey},
		{"plus sign", "lineq:+3,5,20", "5", ReasonLineqBadKey},
		{"spaces", "lineq:3, 5, 20", "5", ReasonLineqBadKey},
		{"huge", "lineq:3,5," + strings.Repeat("9", 30), "5", ReasonLineqBadKey},
		{"other family", "countdown:3,5=8", "5", ReasonLineqBadKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Problem{Family: "lineq", Key: tc.key}
			got := (lineq{}).Verify(&p, lineqAnswer(tc.answer))
			if got.Reason != tc.want || got.Correct != (tc.want == ReasonOK) {
				t.Errorf("key %q: verdict %+v, want reason %q", tc.key, got, tc.want)
			}
		})
	}
}

var lineqPromptRE = regexp.MustCompile(`^solve (-?\d+)x([+-]\d+)?=(-?\d+)$`)

func TestLineqGenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for level := 1; level <= MaxLevel; level++ {
		c := lineqLevels[level]
		t.Run(fmt.Sprintf("level%d", level), func(t *testing.T) {
			keys := map[string]bool{}
			for range 2000 {
				p := (lineq{}).Generate(rng, level)
				keys[p.Key] = true
				m := lineqPromptRE.FindStringSubmatch(p.Prompt)
				if m == nil {
					t.Fatalf("prompt %q: want \"solve ax+b=c\"", p.Prompt)
				}
				a, _ := strconv.ParseInt(m[1], 10, 64)
				b, _ := strconv.ParseInt(strings.TrimPrefix(m[2], "+"), 10, 64)
				rhs, _ := strconv.ParseInt(m[3], 10, 64)
				x, err := strconv.ParseInt(p.Answer, 10, 64)
				if err != nil || a*x+b != rhs {
					t.Fatalf("prompt %q: answer %q does not solve it", p.Prompt, p.Answer)
				}
				if abs := max(a, -a); abs < 2 || abs > c.aMax || a < 0 && !c.negA || x < c.xLo || x > c.xHi || b < c.bLo || b > c.bHi {
					t.Fatalf("prompt %q: a=%d x=%d b=%d outside the level's ranges", p.Prompt, a, x, b)
				}
				if want := fmt.Sprintf("lineq:%d,%d,%d", a, b, rhs); p.Key != want {
					t.Fatalf("prompt %q: key %q, want %q", p.Prompt, p.Key, want)
				}
				want := fmt.Sprintf("%dx=%d%+d=%d x=%d/%d=%d", a, rhs, -b, rhs-b, rhs-b, a, x)
				if b == 0 {
					want = fmt.Sprintf("%dx=%d x=%d/%d=%d", a, rhs, rhs, a, x)
				}
				if p.Solution != want {
					t.Fatalf("prompt %q: solution %q, want %q", p.Prompt, p.Solution, want)
				}
			}
			if len(keys) < 400 {
				t.Errorf("%d distinct keys in 2000 draws: want a larger key space", len(keys))
			}
		})
	}
}

func FuzzVerifyLineq(f *testing.F) {
	f.Add(uint64(1), uint8(0), "5")
	f.Add(uint64(2), uint8(3), "-0")
	f.Add(uint64(3), uint8(4), "x=7")
	f.Fuzz(func(t *testing.T, seed uint64, level uint8, ans string) {
		rng := rand.New(rand.NewPCG(seed, 11))
		p := (lineq{}).Generate(rng, 1+int(level)%MaxLevel)
		v := (lineq{}).Verify(&p, lineqAnswer(ans))
		if v.Reason == "" {
			t.Fatalf("answer %q: verdict %+v has no reason", ans, v)
		}
		if v.Correct {
			// Independent check: substitute the answer into the prompt.
			m := lineqPromptRE.FindStringSubmatch(p.Prompt)
			a, _ := strconv.ParseInt(m[1], 10, 64)
			b, _ := strconv.ParseInt(strings.TrimPrefix(m[2], "+"), 10, 64)
			rhs, _ := strconv.ParseInt(m[3], 10, 64)
			x, err := strconv.ParseInt(trimSpace(ans), 10, 64)
			if err != nil || a*x+b != rhs || strconv.FormatInt(x, 10) != trimSpace(ans) {
				t.Fatalf("prompt %q: answer %q accepted", p.Prompt, ans)
			}
		}
		q := p
		q.Key = p.Key[:int(seed%uint64(len(p.Key)+1))] + ans
		(lineq{}).Verify(&q, lineqAnswer(p.Answer)) // must not panic
	})
}

func Example_lineq() {
	f, _ := Lookup("lineq")
	p := Problem{Family: "lineq", Key: "lineq:3,5,20", Prompt: "solve 3x+5=20"}
	for _, ans := range []string{"5", "x=5", "05", "6"} {
		v := f.Verify(&p, "<think>3x=20-5=15 x=15/3=5</think><answer>"+ans+"</answer>")
		fmt.Printf("%-3s %v %s\n", ans, v.Correct, v.Reason)
	}
	// Output:
	// 5   true ok
	// x=5 false not a number
	// 05  false leading zeros
	// 6   false wrong value
}

func BenchmarkGenerateLineq(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		(lineq{}).Generate(rng, 4)
	}
}

func BenchmarkVerifyLineq(b *testing.B) {
	c := lineqAnswer("-5")
	b.ReportAllocs()
	for b.Loop() {
		(lineq{}).Verify(&lineqProblem, c)
	}
}

func TestLineqVerifyAllocs(t *testing.T) {
	for _, ans := range []string{"-5", "5", "x=-5", "-5" + strings.Repeat("0", 40)} {
		c := lineqAnswer(ans)
		if n := testing.AllocsPerRun(100, func() { (lineq{}).Verify(&lineqProblem, c) }); n != 0 {
			t.Errorf("Verify(%q): %v allocs, want 0", ans, n)
		}
	}
}
