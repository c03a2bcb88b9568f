package data

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// kkThink is a think block for hand-written kk completions.
const kkThink = TagThinkOpen + "Q+? A+ U+ x Q- A- U+ ok" + TagThinkClose

func kkAnswer(ans string) string { return kkThink + TagAnswerOpen + ans + TagAnswerClose }

// kkProblem is a hand-written level-2 puzzle: A says Q is a knight, Q says
// Q and U are both knights, U says Q is a knave.
var kkProblem = Problem{
	Family: "kk", Level: 2, Key: "kk:A:Q+ Q:Q&U+ U:Q-",
	Prompt: "A:Q+ Q:Q&U+ U:Q-", Answer: "A=knave,Q=knave,U=knight",
	Solution: "Q+? A+ U+ x Q- A- U+ ok",
}

func TestKKVerifyTraps(t *testing.T) {
	p := &kkProblem
	ok := Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
	bad := func(reason string) Verdict { return Verdict{FormatOK: true, Reason: reason} }
	format := func(reason string) Verdict { return Verdict{Reason: reason} }
	tests := []struct {
		name       string
		p          *Problem
		completion string
		want       Verdict
	}{
		{"gold", p, kkAnswer("A=knave,Q=knave,U=knight"), ok},
		{"gold padded", p, kkAnswer("\n A=knave,Q=knave,U=knight \n"), ok},
		{"any order", p, kkAnswer("U=knight,A=knave,Q=knave"), ok},
		{"spaces between tokens", p, kkAnswer("A = knave , Q=knave,  U =knight"), ok},
		{"one role wrong", p, kkAnswer("A=knave,Q=knave,U=knave"), bad(ReasonWrongValue)},
		{"all roles flipped", p, kkAnswer("A=knight,Q=knight,U=knave"), bad(ReasonWrongValue)},
		{"roles for a subset", p, kkAnswer("A=knave,Q=knave"), bad(ReasonKKMissing)},
		{"one role only", p, kkAnswer("U=knight"), bad(ReasonKKMissing)},
		{"duplicated name", p, kkAnswer("A=knave,A=knave,Q=knave,U=knight"), bad(ReasonKKTwice)},
		{"name with both roles", p, kkAnswer("A=knave,Q=knave,U=knight,U=knave"), bad(ReasonKKTwice)},
		{"extra inhabitant", p, kkAnswer("A=knave,Q=knave,U=knight,Z=knave"), bad(ReasonKKUnknown)},
		{"A=knight or knave", p, kkAnswer("A=knight or knave,Q=knave,U=knight"), bad(ReasonKKSyntax)},
		{"A=knight/knave", p, kkAnswer("A=knight/knave,Q=knave,U=knight"), bad(ReasonKKSyntax)},
		{"A or B", p, kkAnswer("A=knave,Q=knave,U=knight or A=knight,Q=knight,U=knave"), bad(ReasonKKSyntax)},
		{"answer twice", p, kkAnswer("A=knave,Q=knave,U=knight A=knave,Q=knave,U=knight"), bad(ReasonKKSyntax)},
		{"capitalised role", p, kkAnswer("A=Knave,Q=knave,U=knight"), bad(ReasonKKRole)},
		{"misspelt role", p, kkAnswer("A=knav,Q=knave,U=knight"), bad(ReasonKKRole)},
		{"other role", p, kkAnswer("A=liar,Q=knave,U=knight"), bad(ReasonKKRole)},
		{"symbols from the think", p, kkAnswer("A-,Q-,U+"), bad(ReasonKKSyntax)},
		{"digits for roles", p, kkAnswer("A=0,Q=0,U=1"), bad(ReasonKKSyntax)},
		{"lower-case names", p, kkAnswer("a=knave,q=knave,u=knight"), bad(ReasonKKSyntax)},
		{"roles only", p, kkAnswer("knave,knave,knight"), bad(ReasonKKSyntax)},
		{"colon", p, kkAnswer("A:knave,Q:knave,U:knight"), bad(ReasonKKSyntax)},
		{"semicolons", p, kkAnswer("A=knave;Q=knave;U=knight"), bad(ReasonKKSyntax)},
		{"spaces only", p, kkAnswer("A=knave Q=knave U=knight"), bad(ReasonKKSyntax)},
		{"newlines", p, kkAnswer("A=knave,\nQ=knave,\nU=knight"), bad(ReasonKKSyntax)},
		{"tab", p, kkAnswer("A=knave,\tQ=knave,U=knight"), bad(ReasonKKSyntax)},
		{"trailing comma", p, kkAnswer("A=knave,Q=knave,U=knight,"), bad(ReasonKKSyntax)},
		{"double comma", p, kkAnswer("A=knave,,Q=knave,U=knight"), bad(ReasonKKSyntax)},
		{"two-letter name", p, kkAnswer("AQ=knave,Q=knave,U=knight"), bad(ReasonKKSyntax)},
		{"unicode letter", p, kkAnswer("\u00c4=knave,Q=knave,U=knight"), bad(ReasonKKSyntax)},
		{"unicode role", p, kkAnswer("A=kn\u0430ve,Q=knave,U=knight"), bad(ReasonKKRole)},
		{"empty answer", p, kkAnswer(""), format(ReasonEmptyAnswer)},
		{"two answer blocks", p, kkAnswer("A=knave,Q=knave,U=knight") + TagAnswerOpen + "A=knave" + TagAnswerClose, format(ReasonTwoAnswers)},
		{"text after answer", p, kkAnswer("A=knave,Q=knave,U=knight") + "!", format(ReasonTextAfter)},
		{"no think", p, TagAnswerOpen + "A=knave,Q=knave,U=knight" + TagAnswerClose, format(ReasonNoThink)},
		{"think unclosed", p, TagThinkOpen + "A+" + TagAnswerOpen + "A=knave,Q=knave,U=knight" + TagAnswerClose, format(ReasonThinkUnclosed)},
		{"no answer block", p, kkThink + "A=knave,Q=knave,U=knight", format(ReasonNoAnswer)},
		{"answer unclosed", p, kkThink + TagAnswerOpen + "A=knave,Q=knave,U=knight", format(ReasonAnswerUnclosed)},
		{"answer too long", p, kkAnswer(strings.Repeat("A=knave,", 40) + "Q=knave"), format(ReasonAnswerTooLong)},
		{"100 KB of output", p, TagThinkOpen + strings.Repeat("A+? ", 100<<10/4) + TagThinkClose + TagAnswerOpen + "A=knave,Q=knave,U=knight" + TagAnswerClose, format(ReasonTooLong)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (knights{}).Verify(tc.p, tc.completion); got != tc.want {
				t.Errorf("Verify(%.80q) = %+v, want %+v", tc.completion, got, tc.want)
			}
		})
	}
}

func TestKKVerifyBadProblem(t *testing.T) {
	tests := []struct {
		name, key, answer string
		want              string
	}{
		{"good", "kk:A:B- B:A|B+", "A=knave,B=knight", ReasonOK},
		{"two solutions", "kk:A:B+ B:A+", "A=knight,B=knight", ReasonKKBadKey},
		{"no solution", "kk:A:B+ B:A-", "A=knight,B=knight", ReasonKKBadKey},
		{"empty key", "", "A=knight,B=knave", ReasonKKBadKey},
		{"family only", "kk", "A=knight,B=knave", ReasonKKBadKey},
		{"no statements", "kk:", "A=knight,B=knave", ReasonKKBadKey},
		{"one inhabitant", "kk:A:A=A", "A=knight", ReasonKKBadKey},
		{"speakers unsorted", "kk:B:A|B+ A:B-", "A=knight,B=knave", ReasonKKBadKey},
		{"speaker twice", "kk:A:B- A:B-", "A=knight,B=knave", ReasonKKBadKey},
		{"about oneself", "kk:A:A+ B:A|B+", "A=knight,B=knave", ReasonKKBadKey},
		{"unknown name", "kk:A:C- B:A|B+", "A=knight,B=knave", ReasonKKBadKey},
		{"pair unsorted", "kk:A:B- B:B|A+", "A=knight,B=knave", ReasonKKBadKey},
		{"pair of one", "kk:A:B- B:B|B+", "A=knight,B=knave", ReasonKKBadKey},
		{"double space", "kk:A:B-  B:A|B+", "A=knight,B=knave", ReasonKKBadKey},
		{"trailing space", "kk:A:B- B:A|B+ ", "A=knight,B=knave", ReasonKKBadKey},
		{"empty statement", "kk:A: B:A|B+", "A=knight,B=knave", ReasonKKBadKey},
		{"unknown operator", "kk:A:B* B:A|B+", "A=knight,B=knave", ReasonKKBadKey},
		{"words", "kk:A:B is a knave B:A|B+", "A=knight,B=knave", ReasonKKBadKey},
		{"lower case", "kk:a:b- b:a|b+", "A=knight,B=knave", ReasonKKBadKey},
		{"eleven inhabitants", "kk:A:B- B:A+ C:A+ D:A+ E:A+ F:A+ G:A+ H:A+ I:A+ J:A+ K:A+", "A=knight", ReasonKKBadKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Problem{Family: "kk", Key: tc.key}
			got := (knights{}).Verify(&p, kkAnswer(tc.answer))
			if got.Reason != tc.want || got.Correct != (tc.want == ReasonOK) {
				t.Errorf("key %q: verdict %+v, want reason %q", tc.key, got, tc.want)
			}
		})
	}
}

func TestKKGenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for level := 1; level <= MaxLevel; level++ {
		t.Run(fmt.Sprintf("level%d", level), func(t *testing.T) {
			keys := map[string]bool{}
			guesses := 0
			for range 2000 {
				p := (knights{}).Generate(rng, level)
				keys[p.Key] = true
				if p.Key != "kk:"+p.Prompt {
					t.Fatalf("key %q: want \"kk:\" + prompt %q", p.Key, p.Prompt)
				}
				st, err := kkIndependentParse(p.Prompt)
				if err != nil {
					t.Fatalf("prompt %q: %v", p.Prompt, err)
				}
				if len(st) != level+1 {
					t.Fatalf("prompt %q: %d inhabitants, want %d", p.Prompt, len(st), level+1)
				}
				sols := kkIndependentSolutions(st)
				if len(sols) != 1 {
					t.Fatalf("prompt %q: %d solutions, want exactly 1", p.Prompt, len(sols))
				}
				if p.Answer != sols[0] {
					t.Fatalf("prompt %q: answer %q, want %q", p.Prompt, p.Answer, sols[0])
				}
				kkReplay(t, st, &p)
				guesses += strings.Count(p.Solution, "?")
			}
			t.Logf("%d distinct keys in 2000 draws, %.2f guesses per solution", len(keys), float64(guesses)/2000)
			if len(keys) < 1500 {
				t.Errorf("%d distinct keys in 2000 draws: want a larger key space", len(keys))
			}
		})
	}
	if p := (knights{}).Generate(rng, -1); p.Level != 1 {
		t.Errorf("level -1: got level %d, want it clamped to 1", p.Level)
	}
}

// kkReplay replays a worked solution as a depth-first search and checks
// every step against brute force: a forced role "X+"/"X-" holds in every
// solution extending what the branch knows, an "x" comes only when no
// solution extends it, a reversal follows every "x" and reverses the
// latest guess not yet reversed, and "ok" comes last, with every role known
// and equal to the answer.
func kkReplay(t *testing.T, st []kkIndepStmt, p *Problem) {
	t.Helper()
	type frame struct {
		name     string
		reversed bool
		mark     int // len(known) at the guess
	}
	type role struct {
		name   string
		knight bool
	}
	var known []role
	var stack []frame
	all := kkIndependentAssignments(st)
	extensions := func() []map[string]bool {
		var out []map[string]bool
		for _, sol := range all {
			match := true
			for _, r := range known {
				match = match && sol[r.name] == r.knight
			}
			if match {
				out = append(out, sol)
			}
		}
		return out
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("prompt %q solution %q: "+format, append([]any{p.Prompt, p.Solution}, args...)...)
	}
	toks := strings.Split(p.Solution, " ")
	expectReversal := ""
	for i, tok := range toks {
		switch {
		case tok == "ok":
			if i != len(toks)-1 || expectReversal != "" {
				fail("ok at step %d", i)
			}
			if len(known) != len(st) {
				fail("ok with %d of %d roles known", len(known), len(st))
			}
			ext := extensions()
			if len(ext) != 1 {
				fail("ok on a branch with %d solutions", len(ext))
			}
			return
		case tok == "x":
			if len(extensions()) != 0 {
				fail("x at step %d but the branch has a solution", i)
			}
			for len(stack) > 0 && stack[len(stack)-1].reversed {
				stack = stack[:len(stack)-1]
			}
			if len(stack) == 0 {
				fail("x at step %d with no guess to reverse", i)
			}
			top := &stack[len(stack)-1]
			known = known[:top.mark]
			top.reversed = true
			expectReversal = top.name + "-"
		case len(tok) == 3 && tok[1] == '+' && tok[2] == '?':
			if expectReversal != "" {
				fail("guess %q where %q was due", tok, expectReversal)
			}
			stack = append(stack, frame{name: tok[:1], mark: len(known)})
			known = append(known, role{tok[:1], true})
		case len(tok) == 2 && (tok[1] == '+' || tok[1] == '-'):
			name, knight := tok[:1], tok[1] == '+'
			for _, r := range known {
				if r.name == name {
					fail("step %d: %s already known", i, name)
				}
			}
			if expectReversal != "" {
				if tok != expectReversal {
					fail("step %d is %q, want the reversal %q", i, tok, expectReversal)
				}
				expectReversal = ""
			} else {
				for _, sol := range extensions() {
					if sol[name] != knight {
						fail("step %d: %q is not forced", i, tok)
					}
				}
			}
			known = append(known, role{name, knight})
		default:
			fail("unknown step %q", tok)
		}
	}
	fail("no ok at the end")
}

// kkIndepStmt is a statement parsed by the test's own reader.
type kkIndepStmt struct {
	speaker, body string
}

// kkIndependentParse reads a statement list with string functions,
// sharing no code with the verifier.
func kkIndependentParse(list string) ([]kkIndepStmt, error) {
	var out []kkIndepStmt
	for _, f := range strings.Split(list, " ") {
		speaker, body, ok := strings.Cut(f, ":")
		if !ok || len(speaker) != 1 {
			return nil, fmt.Errorf("statement %q", f)
		}
		out = append(out, kkIndepStmt{speaker, body})
	}
	return out, nil
}

// kkIndependentTruth evaluates a statement body under an assignment.
func kkIndependentTruth(body string, knight map[string]bool) (bool, error) {
	x := func(i int) bool { return knight[body[i:i+1]] }
	switch {
	case len(body) == 2 && body[1] == '+':
		return x(0), nil
	case len(body) == 2 && body[1] == '-':
		return !x(0), nil
	case len(body) == 3 && body[1] == '=':
		return x(0) == x(2), nil
	case len(body) == 3 && body[1] == '^':
		return x(0) != x(2), nil
	case len(body) == 4:
		switch body[1:2] + body[3:] {
		case "&+":
			return x(0) && x(2), nil
		case "&-":
			return !x(0) && !x(2), nil
		case "|+":
			return x(0) || x(2), nil
		case "|-":
			return !x(0) || !x(2), nil
		}
	}
	return false, fmt.Errorf("statement %q", body)
}

// kkIndependentAssignments returns every consistent assignment.
func kkIndependentAssignments(st []kkIndepStmt) []map[string]bool {
	var out []map[string]bool
	for r := 0; r < 1<<len(st); r++ {
		knight := map[string]bool{}
		for i, s := range st {
			knight[s.speaker] = r>>i&1 == 1
		}
		if kkIndependentConsistent(st, knight) == nil {
			out = append(out, knight)
		}
	}
	return out
}

// kkIndependentConsistent checks that every speaker's role matches the
// truth of the statement.
func kkIndependentConsistent(st []kkIndepStmt, knight map[string]bool) error {
	for _, s := range st {
		truth, err := kkIndependentTruth(s.body, knight)
		if err != nil {
			return err
		}
		if truth != knight[s.speaker] {
			return fmt.Errorf("%s:%s inconsistent", s.speaker, s.body)
		}
	}
	return nil
}

// kkIndependentSolutions returns the consistent assignments written as
// canonical answers.
func kkIndependentSolutions(st []kkIndepStmt) []string {
	var out []string
	for _, knight := range kkIndependentAssignments(st) {
		var items []string
		for _, s := range st {
			role := "knave"
			if knight[s.speaker] {
				role = "knight"
			}
			items = append(items, s.speaker+"="+role)
		}
		out = append(out, strings.Join(items, ","))
	}
	return out
}

// kkIndependent checks an accepted answer with the test's own reader:
// every inhabitant exactly once with role knight or knave, and every
// statement consistent with the roles.
func kkIndependent(key, ans string) error {
	list, ok := strings.CutPrefix(key, "kk:")
	if !ok {
		return errors.New("key has no kk: prefix")
	}
	st, err := kkIndependentParse(list)
	if err != nil {
		return err
	}
	knight := map[string]bool{}
	for _, item := range strings.Split(ans, ",") {
		name, role, ok := strings.Cut(item, "=")
		name, role = strings.TrimSpace(name), strings.TrimSpace(role)
		if !ok || (role != "knight" && role != "knave") {
			return fmt.Errorf("item %q", item)
		}
		if _, dup := knight[name]; dup {
			return fmt.Errorf("%s twice", name)
		}
		knight[name] = role == "knight"
	}
	if len(knight) != len(st) {
		return fmt.Errorf("%d roles for %d inhabitants", len(knight), len(st))
	}
	for _, s := range st {
		if _, ok := knight[s.speaker]; !ok {
			return fmt.Errorf("no role for %s", s.speaker)
		}
	}
	return kkIndependentConsistent(st, knight)
}

func FuzzVerifyKK(f *testing.F) {
	f.Add(uint64(1), uint8(1), "")
	f.Add(uint64(2), uint8(2), "A=knight,B=knave")
	f.Add(uint64(3), uint8(3), "!,A=knight")
	f.Add(uint64(4), uint8(4), "! or knave")
	f.Fuzz(func(t *testing.T, seed uint64, level uint8, mutation string) {
		fuzzVerifyIndependent(t, knights{}, 9, seed, level, mutation, kkAnswer, kkIndependent)
	})
}

func Example_kk() {
	f, _ := Lookup("kk")
	// A says Q is a knight, Q says Q and U are both knights, U says Q is a knave.
	p := Problem{Family: "kk", Key: "kk:A:Q+ Q:Q&U+ U:Q-", Prompt: "A:Q+ Q:Q&U+ U:Q-"}
	for _, ans := range []string{
		"A=knave,Q=knave,U=knight",
		"U=knight,Q=knave,A=knave",
		"A=knave,Q=knave",
		"A=knight or knave,Q=knave,U=knight",
		"A=knight,Q=knight,U=knave",
	} {
		v := f.Verify(&p, "<think>Q+? A+ U+ x Q- A- U+ ok</think><answer>"+ans+"</answer>")
		fmt.Printf("%v %s\n", v.Correct, v.Reason)
	}
	// Output:
	// true ok
	// true ok
	// false missing inhabitant
	// false bad role list
	// false wrong value
}

func BenchmarkGenerateKK(b *testing.B) {
	for _, level := range []int{1, 3, 5} {
		b.Run(fmt.Sprintf("level%d", level), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				(knights{}).Generate(rng, level)
			}
		})
	}
}

func BenchmarkVerifyKK(b *testing.B) {
	p := Problem{Family: "kk", Key: "kk:A:O|X- E:A|S+ N:S^X O:A^N S:E&N+ X:A=O"}
	c := kkAnswer("A=knight,E=knight,N=knight,O=knave,S=knight,X=knave")
	if v := (knights{}).Verify(&p, c); !v.Correct {
		b.Fatalf("gold rejected: %+v", v)
	}
	b.ReportAllocs()
	for b.Loop() {
		(knights{}).Verify(&p, c)
	}
}

func TestKKVerifyAllocs(t *testing.T) {
	for _, ans := range []string{"A=knave,Q=knave,U=knight", "U=knight , Q=knave,A=knave", "A=knave,Q=knave", "A=knight or knave", "A=knight,Q=knight,U=knave"} {
		c := kkAnswer(ans)
		if n := testing.AllocsPerRun(100, func() { (knights{}).Verify(&kkProblem, c) }); n != 0 {
			t.Errorf("Verify(%q): %v allocs, want 0", ans, n)
		}
	}
}

// kkSolutionsRef is the plain loop over all assignments that
// kkPuzzle.solutions is held to.
func kkSolutionsRef(pz *kkPuzzle) (count int, sol uint32) {
	for r := uint32(0); r < 1<<pz.n; r++ {
		ok := true
		for i := 0; i < pz.n && ok; i++ {
			ok = pz.st[i].consistent(r)
		}
		if ok {
			count++
			sol = r
		}
	}
	return min(count, 2), sol
}

func TestKKSolutionsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 2; n <= kkMaxN; n++ {
		for range 3000 {
			pz := kkPuzzle{n: n}
			for s := range n {
				a, b := rng.IntN(n), rng.IntN(n)
				pz.st[s] = kkStmt{kind: kkKind(rng.IntN(8)), speaker: uint8(s), a: uint8(a), b: uint8(b)}
			}
			gc, gs := pz.solutions()
			wc, ws := kkSolutionsRef(&pz)
			if gc != wc || gc == 1 && gs != ws {
				t.Fatalf("n=%d %+v: solutions() = %d, %b; reference %d, %b", n, pz.st[:n], gc, gs, wc, ws)
			}
		}
	}
}
