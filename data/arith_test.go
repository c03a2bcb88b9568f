package data

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var updateArith = flag.Bool("update-arith", false, "rewrite testdata/arith_golden.jsonl")

// TestArithWorkedSolutions pins the texts of hand-built problems.
func TestArithWorkedSolutions(t *testing.T) {
	tests := []struct {
		name                          string
		p                             Problem
		prompt, key, solution, answer string
	}{
		{"add carries", addFamily{}.problem(2, 47, 38), "add 47+38", "add:38+47", "7+8=15 c1; 4+3+1=8 c0; so 85", "85"},
		{"add final carry", addFamily{}.problem(2, 95, 8), "add 95+8", "add:8+95", "5+8=13 c1; 9+0+1=10 c1; so 103", "103"},
		{"add zeros", addFamily{}.problem(1, 0, 0), "add 0+0", "add:0+0", "0+0=0 c0; so 0", "0"},
		{"addrev", addFamily{reversed: true}.problem(2, 95, 8), "addrev 95+8", "addrev:8+95", "5+8=13 c1; 9+0+1=10 c1; so 301", "301"},
		{"addrev trailing zero", addFamily{reversed: true}.problem(2, 5, 5), "addrev 5+5", "addrev:5+5", "5+5=10 c1; so 01", "01"},
		{"mul 2x2", mulFamily{}.problem(3, 47, 38), "mul 47*38", "mul:38*47", "47*8=376; 47*30=1410; 376+1410=1786", "1786"},
		{"mul 2x1", mulFamily{}.problem(2, 47, 8), "mul 47*8", "mul:8*47", "47*8=376", "376"},
		{"mul zero digit", mulFamily{}.problem(4, 123, 40), "mul 123*40", "mul:40*123", "123*0=0; 123*40=4920; 0+4920=4920", "4920"},
		{"mod add", modFamily{}.problem(1, modAdd, 17, 15, 0, 9), "mod (17+15)%9", "mod:(15+17)%9", "17+15=32; 32=3*9+5", "5"},
		{"mod mul", modFamily{}.problem(2, modMul, 47, 38, 0, 19), "mod (47*38)%19", "mod:(38*47)%19", "47=2*19+9; 38=2*19+0; 9*0=0; 0=0*19+0", "0"},
		{"mod muladd", modFamily{}.problem(3, modMulAdd, 47, 38, 12, 29), "mod (47*38+12)%29", "mod:(47*38+12)%29", "47=1*29+18; 38=1*29+9; 12=0*29+12; 18*9+12=174; 174=6*29+0", "0"},
		{"mod pow", modFamily{}.problem(4, modPow, 3, 5, 0, 7), "mod (3^5)%7", "mod:(3^5)%7", "3=0*7+3; 3*3=9=1*7+2; 2*3=6=0*7+6; 6*3=18=2*7+4; 4*3=12=1*7+5", "5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			if p.Prompt != tc.prompt || p.Key != tc.key || p.Solution != tc.solution || p.Answer != tc.answer {
				t.Errorf("got prompt %q key %q solution %q answer %q\nwant prompt %q key %q solution %q answer %q",
					p.Prompt, p.Key, p.Solution, p.Answer, tc.prompt, tc.key, tc.solution, tc.answer)
			}
			f, _ := Lookup(p.Family)
			if v := f.Verify(&p, FormatCompletion(&p)); !v.Correct {
				t.Errorf("gold completion: %+v", v)
			}
		})
	}
}

// arithWant is an independent reference: it parses a key with regexp and
// math/big (lenient: leading zeros and any size are accepted) and returns
// the canonical gold answer.
func arithWant(key string) (string, bool) {
	if m := arithKeyRE.FindStringSubmatch(key); m != nil {
		a, _ := new(big.Int).SetString(m[2], 10)
		b, _ := new(big.Int).SetString(m[4], 10)
		var r big.Int
		if m[3] == "+" {
			r.Add(a, b)
		} else {
			r.Mul(a, b)
		}
		s := r.String()
		switch {
		case m[1] == "addrev" && m[3] == "+":
			rs := []byte(s)
			arithReverse(rs)
			return string(rs), true
		case m[1] == "add" && m[3] == "+", m[1] == "mul" && m[3] == "*":
			return s, true
		}
		return "", false
	}
	m := modKeyRE.FindStringSubmatch(key)
	if m == nil || (m[4] != "" && m[2] != "*") {
		return "", false
	}
	a, _ := new(big.Int).SetString(m[1], 10)
	b, _ := new(big.Int).SetString(m[3], 10)
	c := new(big.Int)
	if m[4] != "" {
		c.SetString(m[4], 10)
	}
	mod, _ := new(big.Int).SetString(m[5], 10)
	if mod.Sign() == 0 {
		return "", false
	}
	var r big.Int
	switch m[2] {
	case "+":
		r.Add(a, b)
	case "*":
		r.Mul(a, b)
		r.Add(&r, c)
	case "^":
		r.Exp(a, b, nil)
	}
	return r.Mod(&r, mod).String(), true
}

var (
	arithKeyRE = regexp.MustCompile(`^(add|addrev|mul):([0-9]+)([+*])([0-9]+)$`)
	modKeyRE   = regexp.MustCompile(`^mod:\(([0-9]+)([+*^])([0-9]+)(?:\+([0-9]+))?\)%([0-9]+)$`)
)

// TestArithLevels checks the documented sizes of every level, the gold
// answer against the reference, and that the worked solution ends with the
// answer.
func TestArithLevels(t *testing.T) {
	digits := func(s string) int { return len(s) }
	num := func(s string) uint64 {
		var v uint64
		fmt.Sscan(s, &v)
		return v
	}
	promptRE := regexp.MustCompile(`^(add|addrev|mul) ([0-9]+)([+*])([0-9]+)$`)
	modPromptRE := regexp.MustCompile(`^mod \(([0-9]+)([+*^])([0-9]+)(?:\+([0-9]+))?\)%([0-9]+)$`)
	for _, name := range []string{"add", "addrev", "mul", "mod"} {
		f, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 1))
			for level := 1; level <= MaxLevel; level++ {
				seenLen := map[[2]int]bool{}
				for range 2000 {
					p := f.Generate(rng, level)
					want, ok := arithWant(p.Key)
					if !ok || want != p.Answer {
						t.Fatalf("level %d %q: answer %q, reference %q %v", level, p.Key, p.Answer, want, ok)
					}
					if name == "mod" {
						m := modPromptRE.FindStringSubmatch(p.Prompt)
						if m == nil {
							t.Fatalf("prompt %q", p.Prompt)
						}
						a, b, c, mod := num(m[1]), num(m[3]), num(m[4]), num(m[5])
						type r struct {
							op                           string
							aLo, aHi, bLo, bHi, mLo, mHi uint64
						}
						lim := [...]r{{}, {"+", 0, 19, 0, 19, 2, 9}, {"*", 0, 49, 0, 49, 2, 19}, {"*", 0, 99, 0, 99, 2, 29}, {"^", 2, 29, 2, 5, 3, 29}, {"^", 2, 99, 6, 8, 30, 49}}[level]
						if m[2] != lim.op || a < lim.aLo || a > lim.aHi || b < lim.bLo || b > lim.bHi || mod < lim.mLo || mod > lim.mHi || c > 99 || (level == 3) != (m[4] != "") {
							t.Fatalf("level %d: prompt %q outside the documented ranges", level, p.Prompt)
						}
						if !strings.HasSuffix(p.Solution, "+"+p.Answer) {
							t.Fatalf("solution %q does not end with +%s", p.Solution, p.Answer)
						}
						continue
					}
					m := promptRE.FindStringSubmatch(p.Prompt)
					if m == nil || m[1] != name {
						t.Fatalf("prompt %q", p.Prompt)
					}
					if p.Key != arithCanonicalKey(name, m[2], m[3], m[4]) {
						t.Fatalf("prompt %q has key %q", p.Prompt, p.Key)
					}
					da, db := digits(m[2]), digits(m[4])
					seenLen[[2]int{da, db}] = true
					switch name {
					case "add", "addrev":
						n := level
						if level == MaxLevel {
							n = 6
						}
						if max(da, db) != n {
							t.Fatalf("level %d: prompt %q: want a %d-digit operand", level, p.Prompt, n)
						}
						if !strings.HasSuffix(p.Solution, "; so "+p.Answer) {
							t.Fatalf("solution %q does not end with so %s", p.Solution, p.Answer)
						}
					case "mul":
						if d := mulDigits[level]; da != d[0] || db != d[1] {
							t.Fatalf("level %d: prompt %q: want %dx%d digits", level, p.Prompt, d[0], d[1])
						}
						if !strings.HasSuffix(p.Solution, "="+p.Answer) {
							t.Fatalf("solution %q does not end with =%s", p.Solution, p.Answer)
						}
					}
				}
				if name != "mul" && name != "mod" && level > 1 && len(seenLen) < 2*level-1 {
					t.Errorf("level %d: only %d operand length pairs: want mixed lengths", level, len(seenLen))
				}
			}
		})
	}
}

// arithCanonicalKey is the documented key of a prompt "name a op b":
// operands ordered numerically, smaller first.
func arithCanonicalKey(name, a, op, b string) string {
	x, _ := new(big.Int).SetString(a, 10)
	y, _ := new(big.Int).SetString(b, 10)
	if x.Cmp(y) > 0 {
		a, b = b, a
	}
	return name + ":" + a + op + b
}

type arithCase struct {
	name       string
	completion string
	want       Verdict
}

var (
	vOK     = Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
	vWrong  = Verdict{FormatOK: true, Reason: ReasonWrongValue}
	vNotNum = Verdict{FormatOK: true, Reason: ReasonNotNumber}
	vZeros  = Verdict{FormatOK: true, Reason: ReasonLeadingZeros}
	vPlus   = Verdict{FormatOK: true, Reason: ReasonPlusSign}
)

// ans wraps an answer in a completion with an empty think block.
func ans(a string) string { return TagThinkOpen + TagThinkClose + TagAnswerOpen + a + TagAnswerClose }

// arithCommonCases are the traps every arithmetic verifier must reject,
// built from the problem's gold answer, with their documented verdicts.
func arithCommonCases(p *Problem) []arithCase {
	gold := p.Answer
	think := TagThinkOpen + p.Solution + TagThinkClose
	return []arithCase{
		{"gold", FormatCompletion(p), vOK},
		{"gold padded", think + " \n" + TagAnswerOpen + "\n " + gold + "\t" + TagAnswerClose + "\n", vOK},
		{"empty answer", ans(""), Verdict{Reason: ReasonEmptyAnswer}},
		{"blank answer", ans("  \n"), Verdict{Reason: ReasonEmptyAnswer}},
		{"two answer blocks", ans(gold) + TagAnswerOpen + gold + TagAnswerClose, Verdict{Reason: ReasonTwoAnswers}},
		{"text after", ans(gold) + " done", Verdict{Reason: ReasonTextAfter}},
		{"missing tags", gold, Verdict{Reason: ReasonNoThink}},
		{"answer block only", TagAnswerOpen + gold + TagAnswerClose, Verdict{Reason: ReasonNoThink}},
		{"think unclosed", TagThinkOpen + p.Solution + TagAnswerOpen + gold + TagAnswerClose, Verdict{Reason: ReasonThinkUnclosed}},
		{"answer unclosed", think + TagAnswerOpen + gold, Verdict{Reason: ReasonAnswerUnclosed}},
		{"no answer block", think + gold, Verdict{Reason: ReasonNoAnswer}},
		{"A or B", ans(gold + " or 7"), vNotNum},
		{"B or A", ans("7 or " + gold), vNotNum},
		{"extra number", ans(gold + " 12"), vNotNum},
		{"two lines", ans(gold + "\n" + gold), vNotNum},
		{"comma list", ans(gold + "," + gold), vNotNum},
		{"expression", ans("=" + gold), vNotNum},
		{"decimal", ans(gold + ".0"), vNotNum},
		{"leading zeros", ans("00" + gold), vZeros},
		{"plus sign", ans("+" + gold), vPlus},
		{"arabic-indic digits", ans("\u0661\u0662"), vNotNum},
		{"fullwidth digits", ans("\uff11\uff12"), vNotNum},
		{"huge number", ans("1" + strings.Repeat("0", 200)), vWrong},
		{"answer too long", ans("1" + strings.Repeat("0", MaxAnswerBytes)), Verdict{Reason: ReasonAnswerTooLong}},
		{"100 KB output", TagThinkOpen + strings.Repeat("1+1=2 ", 100<<10/6) + TagThinkClose + TagAnswerOpen + gold + TagAnswerClose, Verdict{Reason: ReasonTooLong}},
		{"answer in think only", TagThinkOpen + gold + TagThinkClose, Verdict{Reason: ReasonNoAnswer}},
	}
}

// runArithCases runs a verdict table against one family.
func runArithCases(t *testing.T, f Family, p Problem, cases []arithCase) {
	t.Helper()
	all := arithCommonCases(&p)
	for _, c := range cases { // a family case replaces a common case of the same name
		i := 0
		for i < len(all) && all[i].name != c.name {
			i++
		}
		if i == len(all) {
			all = append(all, c)
		}
		all[i] = c
	}
	for _, tc := range all {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.Verify(&p, tc.completion); got != tc.want {
				t.Errorf("Verify(%.80q) = %+v, want %+v", tc.completion, got, tc.want)
			}
		})
	}
}

func TestArithVerifyAllocs(t *testing.T) {
	for _, name := range []string{"add", "addrev", "mul", "mod"} {
		f, _ := Lookup(name)
		for level := 1; level <= MaxLevel; level++ {
			p := f.Generate(rand.New(rand.NewPCG(3, uint64(level))), level)
			for _, c := range []string{FormatCompletion(&p), ans("12 or 13"), ans("007"), "x"} {
				if n := testing.AllocsPerRun(50, func() { f.Verify(&p, c) }); n != 0 {
					t.Errorf("%s level %d: Verify(%q) allocs = %v, want 0", name, level, c, n)
				}
			}
		}
	}
}

// TestArithGolden pins the first problems of every arithmetic family and
// level (seed 1, train) so that a change of the generators, which would
// silently change every dataset, shows up. Rewrite with -update-arith.
func TestArithGolden(t *testing.T) {
	var lines []string
	for _, name := range []string{"add", "addrev", "mod", "mul"} {
		f, _ := Lookup(name)
		for level := 1; level <= MaxLevel; level++ {
			for i := range 2 {
				p, err := Generate(f, level, Train, 1, uint64(i))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := json.Marshal(p)
				lines = append(lines, string(b))
			}
		}
	}
	path := filepath.Join("testdata", "arith_golden.jsonl")
	if *updateArith {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestArithGolden -update-arith to create it)", err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	i := 0
	for ; sc.Scan(); i++ {
		if i >= len(lines) {
			t.Fatalf("golden file has more than %d lines", len(lines))
		}
		if got, want := lines[i], sc.Text(); got != want {
			t.Errorf("line %d:\ngot  %s\nwant %s", i+1, got, want)
		}
		var p Problem
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if v, err := Verify(&p, FormatCompletion(&p)); err != nil || !v.Correct {
			t.Errorf("line %d: golden problem does not verify: %+v %v", i+1, v, err)
		}
	}
	if i != len(lines) {
		t.Errorf("golden file has %d lines, want %d", i, len(lines))
	}
}

// fuzzArith fuzzes one arithmetic verifier. The candidate answer is the
// gold answer with the fuzzed text spliced in at pos; it must be accepted
// exactly when, trimmed, it equals the reference answer computed with
// math/big from the key (arithWant). The fuzzed text is also tried as a
// problem key: Verify must not panic, and may accept only when the
// reference agrees.
func fuzzArith(f *testing.F, fam Family) {
	for _, s := range []string{"", " ", "\n", "0", "00", "-", "+", "1", " or 7", ",000", ".0", "\u0663", "<answer>", "</answer><answer>",
		"add:38+47", "addrev:8+95", "mul:38*47", "mod:(3^5)%7", "mod:(3*5+6)%7", "mod:(3^5)%0", "add:038+47", "mul:99999999999*9"} {
		f.Add(uint64(len(s)), uint8(len(s)), s, uint8(0))
		f.Add(uint64(len(s)+7), uint8(len(s)+2), s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, seed uint64, level uint8, mut string, pos uint8) {
		p := fam.Generate(rand.New(rand.NewPCG(seed, 0)), int(level)%MaxLevel+1)
		want, ok := arithWant(p.Key)
		if !ok || want != p.Answer {
			t.Fatalf("%q: gold %q, reference %q %v", p.Key, p.Answer, want, ok)
		}
		k := int(pos) % (len(mut) + 1)
		cand := mut[:k] + p.Answer + mut[k:]
		completion := TagThinkOpen + p.Solution + TagThinkClose + TagAnswerOpen + cand + TagAnswerClose
		v := fam.Verify(&p, completion)
		accept := strings.Trim(cand, " \t\r\n") == want && len(completion) <= MaxCompletionBytes
		if v.Correct != accept || (v.Reason == ReasonOK) != accept {
			t.Fatalf("%s: answer %q: verdict %+v, want correct %v", p.Prompt, cand, v, accept)
		}
		q := Problem{Family: p.Family, Key: mut, Answer: p.Answer}
		if v := fam.Verify(&q, FormatCompletion(&p)); v.Correct {
			if w, ok := arithWant(mut); !ok || w != p.Answer {
				t.Fatalf("key %q: accepted %q, reference %q %v", mut, p.Answer, w, ok)
			}
		}
	})
}

func FuzzVerifyAdd(f *testing.F)    { fuzzArith(f, addFamily{}) }
func FuzzVerifyAddRev(f *testing.F) { fuzzArith(f, addFamily{reversed: true}) }
func FuzzVerifyMul(f *testing.F)    { fuzzArith(f, mulFamily{}) }
func FuzzVerifyMod(f *testing.F)    { fuzzArith(f, modFamily{}) }

// benchGenerate benchmarks Generate of one family at every level.
func benchGenerate(b *testing.B, name string) {
	f, _ := Lookup(name)
	for level := 1; level <= MaxLevel; level++ {
		b.Run(fmt.Sprintf("L%d", level), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				f.Generate(rng, level)
			}
		})
	}
}

// benchVerify benchmarks Verify of one family on gold completions at every
// level.
func benchVerify(b *testing.B, name string) {
	f, _ := Lookup(name)
	for level := 1; level <= MaxLevel; level++ {
		b.Run(fmt.Sprintf("L%d", level), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			ps := make([]Problem, 64)
			cs := make([]string, len(ps))
			for i := range ps {
				ps[i] = f.Generate(rng, level)
				cs[i] = FormatCompletion(&ps[i])
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if !f.Verify(&ps[i], cs[i]).Correct {
					b.Fatal("gold completion rejected")
				}
				i = (i + 1) % len(ps)
			}
		})
	}
}

func BenchmarkGenerateAdd(b *testing.B)    { benchGenerate(b, "add") }
func BenchmarkGenerateAddRev(b *testing.B) { benchGenerate(b, "addrev") }
func BenchmarkGenerateMul(b *testing.B)    { benchGenerate(b, "mul") }
func BenchmarkGenerateMod(b *testing.B)    { benchGenerate(b, "mod") }
func BenchmarkVerifyAdd(b *testing.B)      { benchVerify(b, "add") }
func BenchmarkVerifyAddRev(b *testing.B)   { benchVerify(b, "addrev") }
func BenchmarkVerifyMul(b *testing.B)      { benchVerify(b, "mul") }
func BenchmarkVerifyMod(b *testing.B)      { benchVerify(b, "mod") }
