package data

import (
	"strings"
	"testing"
)

// TestKeyOfPrompt checks, for every family, level and split, that the key
// read back from a generated prompt is the problem's own key.
func TestKeyOfPrompt(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 60
	}
	for _, f := range Families() {
		t.Run(f.Name(), func(t *testing.T) {
			for level := 1; level <= MaxLevel; level++ {
				for _, sp := range []Split{Train, Validation, Test} {
					for i := range n {
						p, err := Generate(f, level, sp, 5, uint64(i))
						if err != nil {
							t.Fatal(err)
						}
						if key, ok := f.KeyOfPrompt(p.Prompt); !ok || key != p.Key {
							t.Fatalf("level %d: KeyOfPrompt(%q) = %q, %v, want %q", level, p.Prompt, key, ok, p.Key)
						}
					}
				}
			}
		})
	}
}

// TestKeyOfPromptRejects holds prompts that no family writes.
func TestKeyOfPromptRejects(t *testing.T) {
	bad := map[string][]string{
		"add":       {"", "add 47+38 ", "add  47+38", "add 047+38", "add 47-38", "addrev 47+38", "add 47+"},
		"addrev":    {"add 47+38", "addrev 4 7+38"},
		"mul":       {"mul 47+38", "mul 47*38*2", "mul -4*3"},
		"mod":       {"mod (17+15)%0", "mod (17-15)%9", "mod 17+15%9", "mod (17^2+1)%9", "mod (17+15)%9 "},
		"countdown": {"use 2 3 to make", "use 3 2 to make 5", "use 2  3 to make 5", "use 0 3 to make 3", "use 2 3 make 5"},
		"kk":        {"A:B+ B:A+", "A:B+ B:B+", "B:A+ A:B-", "A:B= B:A-", "A:B+  B:A-", "A:B^A B:A-", "A:B&A+ B:A-"},
		"lineq":     {"solve 3x+0=15", "solve 3x+5=21", "solve 0x+5=5", "solve 3y+5=20", "solve 3x + 5=20", "solve 3x+-5=20"},
		"sort":      {"sort up: 1 2", "sort asc:1 2", "sort asc: 1  2", "sort asc: 1,2", "sort asc: ", "sort desc: 01 2"},
		"bits":      {"ones in 0121", "ones in ", "parity 0101", "ones of 0101"},
		"base":      {"base 7 to base 3: 258", "base 10 to base 17: 5", "base 7 to 3: 25", "base 16 to base 2: 1F"},
		"rev":       {"reverse: ", "reverse: ab cd", "reverse: Abc", "reverse:abc"},
	}
	for _, f := range Families() {
		cases, ok := bad[f.Name()]
		if !ok {
			t.Errorf("family %s has no rejection cases", f.Name())
		}
		for _, prompt := range cases {
			if key, ok := f.KeyOfPrompt(prompt); ok {
				t.Errorf("%s: KeyOfPrompt(%q) = %q, true: want false", f.Name(), prompt, key)
			}
		}
	}
}

// canonicalCases are answers with their canonical form ("" when the answer
// does not parse) on one problem per family.
var canonicalCases = []struct {
	key, prompt string
	answer      string
	want        string
}{
	{"add:38+47", "add 47+38", "85", "85"},
	{"add:38+47", "add 47+38", "085", ""},
	{"add:38+47", "add 47+38", "86", "86"},
	{"addrev:38+47", "addrev 47+38", "58", "58"},
	{"addrev:38+47", "addrev 47+38", "580", ""},
	{"addrev:0+100", "addrev 100+0", "001", "001"},
	{"mul:38*47", "mul 47*38", "+1786", ""},
	{"mod:(3^5)%7", "mod (3^5)%7", "5", "5"},
	{"mod:(3^5)%7", "mod (3^5)%7", "12", "12"},
	{"lineq:3,5,20", "solve 3x+5=20", "x=5", ""},
	{"bits:ones:01101", "ones in 01101", "3", "3"},
	{"base:7:3:254", "base 7 to base 3: 254", "12002", "12002"},
	{"base:7:3:254", "base 7 to base 3: 254", "12003", ""},
	{"rev:abcd", "reverse: abcd", "dcba", "dcba"},
	{"rev:abcd", "reverse: abcd", "dc ba", ""},
	{"sort:asc:1,2", "sort asc: 2 1", "1 2", "1 2"},
	{"sort:asc:1,2", "sort asc: 2 1", "1  2", ""},
	{"sort:asc:1,2", "sort asc: 2 1", "2 1", "2 1"},
	{"kk:A:Q+ Q:Q&U+ U:Q-", "A:Q+ Q:Q&U+ U:Q-", "A=knave,Q=knave,U=knight", "A=knave,Q=knave,U=knight"},
	{"kk:A:Q+ Q:Q&U+ U:Q-", "A:Q+ Q:Q&U+ U:Q-", "U=knight , Q = knave,A=knave", "A=knave,Q=knave,U=knight"},
	{"kk:A:Q+ Q:Q&U+ U:Q-", "A:Q+ Q:Q&U+ U:Q-", "Q=knave,A=knave,U=knight", "A=knave,Q=knave,U=knight"},
	{"kk:A:Q+ Q:Q&U+ U:Q-", "A:Q+ Q:Q&U+ U:Q-", "U=knave,A=knight,Q=knave", "A=knight,Q=knave,U=knave"},
	{"kk:A:Q+ Q:Q&U+ U:Q-", "A:Q+ Q:Q&U+ U:Q-", "A=knave,Q=knave", ""},
	{"countdown:2,3,5,8=12", "use 2 3 5 8 to make 12", "(8-5+3)*2", "2,3,5,8=12"},
	{"countdown:2,3,5,8=12", "use 2 3 5 8 to make 12", "2 * (3+8-5)", "2,3,5,8=12"},
	{"countdown:2,3,5,8=12", "use 2 3 5 8 to make 12", "8/(5-3)+2", "2,3,5,8=6"},
	{"countdown:2,3,5,8=12", "use 2 3 5 8 to make 12", "7/2", "2,7=7/2"},
	{"countdown:2,3,5,8=12", "use 2 3 5 8 to make 12", "8/(5-5)", ""},
	{"countdown:2,3,5,8=12", "use 2 3 5 8 to make 12", "-3+15", ""},
}

func TestCanonical(t *testing.T) {
	for _, tc := range canonicalCases {
		fam, _, _ := strings.Cut(tc.key, ":")
		t.Run(tc.key+" "+tc.answer, func(t *testing.T) {
			p := Problem{Family: fam, Key: tc.key, Prompt: tc.prompt}
			got, err := Canonical(&p, "<think></think><answer> "+tc.answer+"\n</answer>")
			if err != nil || got != tc.want {
				t.Errorf("Canonical(%q) = %q, %v, want %q", tc.answer, got, err, tc.want)
			}
		})
	}
	if got, _ := Canonical(&Problem{Family: "add", Key: "add:1+2"}, "<answer>3</answer>"); got != "" {
		t.Errorf("Canonical of a completion that breaks the contract = %q, want \"\"", got)
	}
}

// TestCanonicalDecidesCorrectness checks what maj@k relies on, for every
// family and level: answers with one canonical form get one correctness
// from Verify, an answer without a canonical form is never correct, and a
// completion that breaks the contract has none. The answers are the gold
// one, respellings of it and near misses.
func TestCanonicalDecidesCorrectness(t *testing.T) {
	n := 100
	if testing.Short() {
		n = 20
	}
	for _, f := range Families() {
		t.Run(f.Name(), func(t *testing.T) {
			for level := 1; level <= MaxLevel; level++ {
				correctOf := map[string]bool{}
				for i := range n {
					p, err := Generate(f, level, Test, 11, uint64(i))
					if err != nil {
						t.Fatal(err)
					}
					gold := f.Canonical(&p, p.Answer)
					if gold == "" {
						t.Fatalf("level %d: gold answer %q has no canonical form", level, p.Answer)
					}
					clear(correctOf)
					for _, a := range canonicalVariants(p.Answer) {
						c := "<think>" + p.Solution + "</think><answer>" + a + "</answer>"
						v := f.Verify(&p, c)
						got, err := Canonical(&p, c)
						if err != nil {
							t.Fatal(err)
						}
						switch seen, ok := correctOf[got]; {
						case got == "" && v.Correct:
							t.Errorf("%s: answer %q is correct but has no canonical form", p.Key, a)
						case !v.FormatOK && got != "":
							t.Errorf("%s: answer %q breaks the contract (%s) but has canonical %q", p.Key, a, v.Reason, got)
						case got == gold && !v.Correct:
							t.Errorf("%s: answer %q has the gold canonical %q but is %s", p.Key, a, got, v.Reason)
						case got != "" && ok && seen != v.Correct:
							t.Errorf("%s: answer %q: canonical %q is both correct and wrong", p.Key, a, got)
						}
						if got != "" {
							correctOf[got] = v.Correct
						}
					}
				}
			}
		})
	}
}

// canonicalVariants returns spellings and near misses of a gold answer.
func canonicalVariants(gold string) []string {
	out := []string{gold, " " + gold + " ", gold + "0", "0" + gold, "-" + gold, "+" + gold, gold + " " + gold,
		strings.ReplaceAll(gold, " ", "  "), strings.ReplaceAll(gold, ",", " , "), strings.ReplaceAll(gold, "=", " = "),
		strings.ToUpper(gold), "(" + gold + ")", gold + "+0", gold + "*1", "1*" + gold, gold + "-1", gold + "/1",
		strings.ReplaceAll(gold, "knight", "knave"), strings.Replace(gold, "knave", "knight", 1), "x"}
	if b := []byte(gold); len(b) > 1 {
		b[0], b[len(b)-1] = b[len(b)-1], b[0]
		out = append(out, string(b))
		// The items of a list in reverse order (kk, sort).
		for _, sep := range []string{",", " "} {
			parts := strings.Split(gold, sep)
			for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
				parts[i], parts[j] = parts[j], parts[i]
			}
			out = append(out, strings.Join(parts, sep))
		}
	}
	return out
}

// FuzzKeyOfPrompt: no family's KeyOfPrompt panics, and a key it returns is
// one the family's verifier can read.
func FuzzKeyOfPrompt(f *testing.F) {
	for _, tc := range canonicalCases {
		f.Add(tc.prompt)
	}
	f.Add("mod (47*38+12)%29")
	f.Add("solve -4x-7=9")
	f.Fuzz(func(t *testing.T, prompt string) {
		for _, fam := range Families() {
			key, ok := fam.KeyOfPrompt(prompt)
			if !ok {
				continue
			}
			p := Problem{Family: fam.Name(), Key: key}
			if v := fam.Verify(&p, "<think></think><answer>1</answer>"); v.Reason == "bad problem key" {
				t.Errorf("%s: KeyOfPrompt(%q) = %q, which the verifier cannot read", fam.Name(), prompt, key)
			}
			if again, _ := fam.KeyOfPrompt(prompt); again != key {
				t.Errorf("%s: KeyOfPrompt(%q) = %q, then %q", fam.Name(), prompt, key, again)
			}
		}
	})
}

// FuzzCanonical: Canonical never panics, an answer that breaks the
// contract has no canonical form, and a canonical form is its own: the
// canonical form of a canonical answer is itself.
func FuzzCanonical(f *testing.F) {
	for _, tc := range canonicalCases {
		f.Add(tc.key, "<think></think><answer>"+tc.answer+"</answer>")
	}
	f.Fuzz(func(t *testing.T, key, completion string) {
		fam, _, _ := strings.Cut(key, ":")
		p := Problem{Family: fam, Key: key}
		got, err := Canonical(&p, completion)
		if err != nil {
			return // unknown family
		}
		if _, reason, ok := ExtractAnswer(completion); !ok && got != "" {
			t.Errorf("Canonical(%q) = %q for a completion that breaks the contract (%s)", completion, got, reason)
		}
		if got == "" || fam == "countdown" { // a countdown canonical form is not an expression
			return
		}
		if again, _ := Canonical(&p, "<think></think><answer>"+got+"</answer>"); again != got {
			t.Errorf("Canonical(%q) = %q, whose canonical form is %q", completion, got, again)
		}
	})
}
