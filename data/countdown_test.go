package data

import (
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// countdownThink is a think block for hand-written countdown completions.
const countdownThink = TagThinkOpen + "8-5=3 3+3=6 6*2=12 (8-5+3)*2=12" + TagThinkClose

func countdownAnswer(ans string) string {
	return countdownThink + TagAnswerOpen + ans + TagAnswerClose
}

// countdownProblem is a hand-written level-3 problem.
var countdownProblem = Problem{
	Family: "countdown", Level: 3, Key: "countdown:2,3,5,8=12",
	Prompt: "use 2 3 5 8 to make 12", Answer: "(8-5+3)*2",
	Solution: "8-5=3 3+3=6 6*2=12 (8-5+3)*2=12",
}

func TestCountdownVerifyTraps(t *testing.T) {
	twice := Problem{Family: "countdown", Key: "countdown:4,4,6=22"}
	zero := Problem{Family: "countdown", Key: "countdown:2,3,5,5=13"}
	frac := Problem{Family: "countdown", Key: "countdown:1,3,4,6=24"}
	p := &countdownProblem
	ok := Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
	bad := func(reason string) Verdict { return Verdict{FormatOK: true, Reason: reason} }
	format := func(reason string) Verdict { return Verdict{Reason: reason} }
	tests := []struct {
		name       string
		p          *Problem
		completion string
		want       Verdict
	}{
		{"gold", p, countdownAnswer("(8-5+3)*2"), ok},
		{"gold padded", p, countdownAnswer("\n (8-5+3)*2 \n"), ok},
		{"alternative 2*(3+8-5)", p, countdownAnswer("2*(3+8-5)"), ok},
		{"alternative 8+2+5-3", p, countdownAnswer("8+2+5-3"), ok},
		{"alternative (5-3)*2+8", p, countdownAnswer("(5-3)*2+8"), ok},
		{"alternative 8+2*(5-3)", p, countdownAnswer("8+2*(5-3)"), ok},
		{"alternative with spaces", p, countdownAnswer("( 3 + 8 - 5 ) * 2"), ok},
		{"redundant parentheses", p, countdownAnswer("((8)-(5)+((3)))*(2)"), ok},
		{"negative intermediate", p, countdownAnswer("(3-5+8)*2"), ok},
		{"fractional intermediate", &frac, countdownAnswer("6/(1-3/4)"), ok},
		{"multiset used twice", &twice, countdownAnswer("4*4+6"), ok},
		{"wrong value", p, countdownAnswer("8+5+3+2"), bad(ReasonWrongValue)},
		{"precedence matters", p, countdownAnswer("8-5+3*2"), bad(ReasonWrongValue)},
		{"fraction not target", &frac, countdownAnswer("6/(4-3/1)"), bad(ReasonWrongValue)},
		{"uses a number twice", p, countdownAnswer("3+3+8-2"), bad("uses 3 twice but it is given once")},
		{"uses a number three times", p, countdownAnswer("(8-5+3)*2+3-3"), bad("uses 3 3 times but it is given once")},
		{"target without 5", p, countdownAnswer("3*8/2"), bad("does not use 5")},
		{"given twice used once", &twice, countdownAnswer("4*6-2"), bad("uses 2 which is not given")},
		{"given twice used once exact", &twice, countdownAnswer("4*6"), bad("uses 4 once but it is given twice")},
		{"extra number equal to target", p, countdownAnswer("(8-5+3)*2*1"), bad("uses 1 which is not given")},
		{"extra zero", p, countdownAnswer("(8-5+3)*2+0"), bad("uses 0 which is not given")},
		{"target alone", p, countdownAnswer("12"), bad("uses 12 which is not given")},
		{"huge number", p, countdownAnswer("(8-5+3)*2+99999999999999999999*0"), bad("uses a huge number which is not given")},
		{"extra numbers", p, countdownAnswer("(8-5+3)*2 5 6"), bad(ReasonCountdownOperator)},
		{"division by zero", &zero, countdownAnswer("3/(5-5)+2"), bad(ReasonCountdownDivZero)},
		{"division by zero times zero", &zero, countdownAnswer("(5-5)*(3/(5-5))+2"), bad("uses 5 4 times but it is given twice")},
		{"A or B", p, countdownAnswer("(8-5+3)*2 or 2*(3+8-5)"), bad(ReasonCountdownChar)},
		{"3+5 or 8", p, countdownAnswer("3+5 or 8"), bad(ReasonCountdownChar)},
		{"=12 suffix", p, countdownAnswer("(8-5+3)*2=12"), bad(ReasonCountdownChar)},
		{"equation", p, countdownAnswer("12=(8-5+3)*2"), bad(ReasonCountdownChar)},
		{"x for times", p, countdownAnswer("(8-5+3)x2"), bad(ReasonCountdownChar)},
		{"decimal point", p, countdownAnswer("(8-5+3)*2.0"), bad(ReasonCountdownChar)},
		{"tab inside", p, countdownAnswer("(8-5+3)*\t2"), bad(ReasonCountdownChar)},
		{"newline inside", p, countdownAnswer("(8-5+3)\n*2"), bad(ReasonCountdownChar)},
		{"unicode digit", p, countdownAnswer("(\uff18-5+3)*2"), bad(ReasonCountdownChar)},
		{"unicode minus", p, countdownAnswer("(8\u22125+3)*2"), bad(ReasonCountdownChar)},
		{"unary minus", p, countdownAnswer("-5+8+3*2"), bad(ReasonCountdownNumber)},
		{"unary plus", p, countdownAnswer("+(8-5+3)*2"), bad(ReasonCountdownNumber)},
		{"dangling operator", p, countdownAnswer("(8-5+3)*2+"), bad(ReasonCountdownNumber)},
		{"double operator", p, countdownAnswer("(8-5+3)**2"), bad(ReasonCountdownNumber)},
		{"empty parentheses", p, countdownAnswer("(8-5+3)*2+()"), bad(ReasonCountdownNumber)},
		{"juxtaposed parentheses", p, countdownAnswer("(8-5+3)(2)"), bad(ReasonCountdownOperator)},
		{"number before parenthesis", p, countdownAnswer("2(8-5+3)"), bad(ReasonCountdownOperator)},
		{"digits split by space", p, countdownAnswer("(8-5+3)*1 2"), bad(ReasonCountdownOperator)},
		{"unclosed parenthesis", p, countdownAnswer("((8-5+3)*2"), bad(ReasonCountdownParens)},
		{"extra closing parenthesis", p, countdownAnswer("(8-5+3)*2)"), bad(ReasonCountdownParens)},
		{"closing first", p, countdownAnswer(")8-5+3(*2"), bad(ReasonCountdownParens)},
		{"leading zeros", p, countdownAnswer("(08-5+3)*2"), bad(ReasonLeadingZeros)},
		{"too deep", p, countdownAnswer(strings.Repeat("(", 17) + "2" + strings.Repeat(")", 17) + "*(8-5+3)"), bad(ReasonCountdownDeep)},
		{"too long", p, countdownAnswer("(8-5+3)*" + strings.Repeat(" ", 100) + "2"), bad(ReasonCountdownLong)},
		{"too many numbers", p, countdownAnswer(strings.Repeat("1+", 16) + "1"), bad(ReasonCountdownTooMany)},
		{"empty answer", p, countdownAnswer(""), format(ReasonEmptyAnswer)},
		{"blank answer", p, countdownAnswer(" \n "), format(ReasonEmptyAnswer)},
		{"two answer blocks", p, countdownAnswer("(8-5+3)*2") + TagAnswerOpen + "(8-5+3)*2" + TagAnswerClose, format(ReasonTwoAnswers)},
		{"text after answer", p, countdownAnswer("(8-5+3)*2") + " =12", format(ReasonTextAfter)},
		{"no think", p, TagAnswerOpen + "(8-5+3)*2" + TagAnswerClose, format(ReasonNoThink)},
		{"think unclosed", p, TagThinkOpen + "x" + TagAnswerOpen + "(8-5+3)*2" + TagAnswerClose, format(ReasonThinkUnclosed)},
		{"no answer block", p, countdownThink + "(8-5+3)*2", format(ReasonNoAnswer)},
		{"answer unclosed", p, countdownThink + TagAnswerOpen + "(8-5+3)*2", format(ReasonAnswerUnclosed)},
		{"answer too long", p, countdownAnswer(strings.Repeat("(", 300)), format(ReasonAnswerTooLong)},
		{"100 KB of output", p, TagThinkOpen + strings.Repeat("8-5=3 ", 100<<10/6) + TagThinkClose + TagAnswerOpen + "(8-5+3)*2" + TagAnswerClose, format(ReasonTooLong)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (countdown{}).Verify(tc.p, tc.completion); got != tc.want {
				t.Errorf("Verify(%.80q) = %+v, want %+v", tc.completion, got, tc.want)
			}
		})
	}
}

func TestCountdownVerifyBadProblem(t *testing.T) {
	gold := countdownAnswer("3+5")
	tests := []struct {
		name, key string
		want      string
	}{
		{"good", "countdown:3,5=8", ReasonOK},
		{"empty key", "", ReasonCountdownBadKey},
		{"family only", "countdown", ReasonCountdownBadKey},
		{"other family", "add:3,5=8", ReasonCountdownBadKey},
		{"no numbers", "countdown:=8", ReasonCountdownBadKey},
		{"no target", "countdown:3,5", ReasonCountdownBadKey},
		{"empty target", "countdown:3,5=", ReasonCountdownBadKey},
		{"unsorted", "countdown:5,3=8", ReasonCountdownBadKey},
		{"empty element", "countdown:3,,5=8", ReasonCountdownBadKey},
		{"spaces", "countdown:3, 5=8", ReasonCountdownBadKey},
		{"leading zero", "countdown:03,5=8", ReasonCountdownBadKey},
		{"zero number", "countdown:0,3,5=8", ReasonCountdownBadKey},
		{"negative target", "countdown:3,5=-8", ReasonCountdownBadKey},
		{"trailing text", "countdown:3,5=8x", ReasonCountdownBadKey},
		{"two targets", "countdown:3,5=8=8", ReasonCountdownBadKey},
		{"huge target", "countdown:3,5=" + strings.Repeat("9", 40), ReasonCountdownBadKey},
		{"nine numbers", "countdown:" + strings.Repeat("1,", 8) + "3,5=8", ReasonCountdownBadKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Problem{Family: "countdown", Key: tc.key}
			got := (countdown{}).Verify(&p, gold)
			if got.Reason != tc.want || got.Correct != (tc.want == ReasonOK) {
				t.Errorf("key %q: verdict %+v, want reason %q", tc.key, got, tc.want)
			}
		})
	}
}

func TestCountdownGenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for level := 1; level <= MaxLevel; level++ {
		c := countdownLevels[level]
		t.Run(fmt.Sprintf("level%d", level), func(t *testing.T) {
			keys := map[string]bool{}
			for range 2000 {
				p := (countdown{}).Generate(rng, level)
				keys[p.Key] = true
				list, target, ok := strings.Cut(strings.TrimPrefix(p.Prompt, "use "), " to make ")
				if !ok {
					t.Fatalf("prompt %q: want \"use a b ... to make t\"", p.Prompt)
				}
				nums := strings.Split(list, " ")
				if len(nums) != c.n {
					t.Fatalf("prompt %q: %d numbers, want %d", p.Prompt, len(nums), c.n)
				}
				for _, s := range nums {
					if v, err := strconv.Atoi(s); err != nil || v < 1 || int64(v) > c.maxNum {
						t.Fatalf("prompt %q: number %q outside 1..%d", p.Prompt, s, c.maxNum)
					}
				}
				if v, err := strconv.Atoi(target); err != nil || v < 1 || int64(v) > c.maxTarget {
					t.Fatalf("prompt %q: target %q outside 1..%d", p.Prompt, target, c.maxTarget)
				}
				if want := "countdown:" + strings.Join(nums, ",") + "=" + target; p.Key != want {
					t.Fatalf("prompt %q: key %q, want %q", p.Prompt, p.Key, want)
				}
				if err := countdownIndependent(p.Key, p.Answer); err != nil {
					t.Fatalf("prompt %q: gold answer %q: %v", p.Prompt, p.Answer, err)
				}
				countdownCheckSteps(t, &p, c.n, c.maxInter)
			}
			minKeys := 1500 // of 2000 draws
			if level == 1 {
				minKeys = 300 // two numbers: a few hundred keys in all
			}
			if len(keys) < minKeys {
				t.Errorf("%d distinct keys in 2000 draws: want a larger key space", len(keys))
			}
		})
	}
	if p := (countdown{}).Generate(rng, 9); p.Level != MaxLevel {
		t.Errorf("level 9: got level %d, want it clamped to %d", p.Level, MaxLevel)
	}
}

// countdownCheckSteps checks the worked solution: n-1 correct steps "a op
// b=c" with a >= b and c in 1..maxInter, each operand a given number or an
// earlier result not yet used, then (for n > 2) "ANSWER=TARGET".
func countdownCheckSteps(t *testing.T, p *Problem, n int, maxInter int64) {
	t.Helper()
	steps := strings.Split(p.Solution, " ")
	target := p.Key[strings.IndexByte(p.Key, '=')+1:]
	wantSteps := n - 1
	if n > 2 {
		wantSteps++
		if last := steps[len(steps)-1]; last != p.Answer+"="+target {
			t.Fatalf("prompt %q: last step %q, want %q", p.Prompt, last, p.Answer+"="+target)
		}
	}
	if len(steps) != wantSteps {
		t.Fatalf("prompt %q: solution %q has %d steps, want %d", p.Prompt, p.Solution, len(steps), wantSteps)
	}
	var pool []int64
	for _, s := range strings.Split(p.Key[len("countdown:"):strings.IndexByte(p.Key, '=')], ",") {
		v, _ := strconv.ParseInt(s, 10, 64)
		pool = append(pool, v)
	}
	take := func(v int64) bool {
		i := slices.Index(pool, v)
		if i < 0 {
			return false
		}
		pool = slices.Delete(pool, i, i+1)
		return true
	}
	var last int64
	for _, s := range steps[:n-1] {
		lhs, rhs, _ := strings.Cut(s, "=")
		i := strings.IndexAny(lhs, "+-*/")
		a, err1 := strconv.ParseInt(lhs[:max(i, 0)], 10, 64)
		b, err2 := strconv.ParseInt(lhs[i+1:], 10, 64)
		c, err3 := strconv.ParseInt(rhs, 10, 64)
		if i < 0 || err1 != nil || err2 != nil || err3 != nil || a < b || c < 1 || c > maxInter {
			t.Fatalf("prompt %q: bad step %q", p.Prompt, s)
		}
		want := map[byte]int64{'+': a + b, '-': a - b, '*': a * b, '/': a / b}[lhs[i]]
		if lhs[i] == '/' && a%b != 0 || c != want {
			t.Fatalf("prompt %q: wrong step %q", p.Prompt, s)
		}
		if !take(a) || !take(b) {
			t.Fatalf("prompt %q: step %q uses a number not available", p.Prompt, s)
		}
		pool = append(pool, c)
		last = c
	}
	if strconv.FormatInt(last, 10) != target || len(pool) != 1 {
		t.Fatalf("prompt %q: steps %q end at %d with %v left, want the target %s alone", p.Prompt, p.Solution, last, pool, target)
	}
}

// countdownIndependent checks an expression against a key with go/parser
// and go/constant, sharing no code with the verifier: decimal integer
// literals, binary + - * / and parentheses only; the literals must be
// exactly the key's multiset and the exact value the target.
func countdownIndependent(key, ans string) error {
	rest, ok := strings.CutPrefix(key, "countdown:")
	if !ok {
		return errors.New("key has no countdown: prefix")
	}
	list, tstr, ok := strings.Cut(rest, "=")
	if !ok {
		return errors.New("key has no target")
	}
	target, err := strconv.ParseInt(tstr, 10, 64)
	if err != nil {
		return err
	}
	var given []int64
	for _, s := range strings.Split(list, ",") {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		given = append(given, v)
	}
	e, err := parser.ParseExpr(ans)
	if err != nil {
		return err
	}
	var used []int64
	var eval func(ast.Expr) (constant.Value, error)
	eval = func(e ast.Expr) (constant.Value, error) {
		switch e := e.(type) {
		case *ast.ParenExpr:
			return eval(e.X)
		case *ast.BasicLit:
			if e.Kind != token.INT || strings.Trim(e.Value, "0123456789") != "" {
				return nil, fmt.Errorf("literal %q", e.Value)
			}
			v, err := strconv.ParseInt(e.Value, 10, 64)
			if err != nil {
				return nil, err
			}
			used = append(used, v)
			return constant.MakeInt64(v), nil
		case *ast.BinaryExpr:
			x, err := eval(e.X)
			if err != nil {
				return nil, err
			}
			y, err := eval(e.Y)
			if err != nil {
				return nil, err
			}
			switch e.Op {
			case token.ADD, token.SUB, token.MUL:
			case token.QUO:
				if constant.Sign(y) == 0 {
					return nil, errors.New("division by zero")
				}
			default:
				return nil, fmt.Errorf("operator %s", e.Op)
			}
			return constant.BinaryOp(x, e.Op, y), nil // QUO on integers is exact
		}
		return nil, fmt.Errorf("node %T", e)
	}
	v, err := eval(e)
	if err != nil {
		return err
	}
	slices.Sort(given)
	slices.Sort(used)
	if !slices.Equal(given, used) {
		return fmt.Errorf("uses %v, given %v", used, given)
	}
	if !constant.Compare(v, token.EQL, constant.MakeInt64(target)) {
		return fmt.Errorf("value %s, target %d", v.ExactString(), target)
	}
	return nil
}

// TestCountdownIndependentAgrees holds the verifier to the independent
// check on the hand-written table's answers.
func TestCountdownIndependentAgrees(t *testing.T) {
	for _, ans := range []string{"(8-5+3)*2", "2*(3+8-5)", "8+2+5-3", "3*8/2", "3+3+8-2", "8+5+3+2", "8-5+3*2", "(5-3)*2+8"} {
		v := (countdown{}).Verify(&countdownProblem, countdownAnswer(ans))
		err := countdownIndependent(countdownProblem.Key, ans)
		if v.Correct != (err == nil) {
			t.Errorf("%q: verifier %+v, independent check %v", ans, v, err)
		}
	}
}

func FuzzVerifyCountdown(f *testing.F) {
	f.Add(uint64(1), uint8(3), "")
	f.Add(uint64(2), uint8(1), "3+5")
	f.Add(uint64(3), uint8(5), "(1+2)*(3-4)/5")
	f.Add(uint64(4), uint8(2), "((((1))))")
	f.Add(uint64(5), uint8(4), "1/(2-2)")
	f.Fuzz(func(t *testing.T, seed uint64, level uint8, mutation string) {
		fuzzVerifyIndependent(t, countdown{}, 7, seed, level, mutation, countdownAnswer, countdownIndependent)
	})
}

func Example_countdown() {
	f, _ := Lookup("countdown")
	p := Problem{Family: "countdown", Key: "countdown:2,3,5,8=12", Prompt: "use 2 3 5 8 to make 12"}
	for _, ans := range []string{"(8-5+3)*2", "8+2+5-3", "3*8/2", "3+3+8-2", "(8-5+3)*2=12"} {
		v := f.Verify(&p, "<think>...</think><answer>"+ans+"</answer>")
		fmt.Printf("%-13s %v %s\n", ans, v.Correct, v.Reason)
	}
	// Output:
	// (8-5+3)*2     true ok
	// 8+2+5-3       true ok
	// 3*8/2         false does not use 5
	// 3+3+8-2       false uses 3 twice but it is given once
	// (8-5+3)*2=12  false unexpected character
}

func BenchmarkGenerateCountdown(b *testing.B) {
	for _, level := range []int{1, 3, 5} {
		b.Run(fmt.Sprintf("level%d", level), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				(countdown{}).Generate(rng, level)
			}
		})
	}
}

// BenchmarkVerifyCountdown verifies a correct level-4 style answer: the
// syntax and multiset passes do not allocate; the exact evaluation with
// big.Rat does.
func BenchmarkVerifyCountdown(b *testing.B) {
	p := Problem{Family: "countdown", Key: "countdown:23,30,43,49=71"}
	for _, tc := range []struct{ name, ans string }{
		{"correct", "(49*43+23)/30"},
		{"wrong multiset", "(49*43+23)/3"},
	} {
		c := countdownAnswer(tc.ans)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				(countdown{}).Verify(&p, c)
			}
		})
	}
}

// TestCountdownVerifyRejectAllocs checks that rejecting on syntax costs
// no allocation (a flood of unparsable samples stays cheap).
func TestCountdownVerifyRejectAllocs(t *testing.T) {
	for _, ans := range []string{"3+5 or 8", "(8-5+3)*2=12", "((8-5+3)*2", "-5+8+3*2"} {
		c := countdownAnswer(ans)
		if n := testing.AllocsPerRun(100, func() { (countdown{}).Verify(&countdownProblem, c) }); n != 0 {
			t.Errorf("Verify(%q): %v allocs, want 0", ans, n)
		}
	}
}
