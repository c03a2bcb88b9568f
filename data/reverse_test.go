package data

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func revAnswer(ans string) string {
	return TagThinkOpen + "4:d 3:c 2:b 1:a" + TagThinkClose + TagAnswerOpen + ans + TagAnswerClose
}

// revABCD and revLevel are hand-written problems; "level" is a palindrome.
var (
	revABCD  = Problem{Family: "rev", Level: 1, Key: "rev:abcd", Prompt: "reverse: abcd", Answer: "dcba", Solution: "4:d 3:c 2:b 1:a"}
	revLevel = Problem{Family: "rev", Level: 2, Key: "rev:level", Prompt: "reverse: level", Answer: "level", Solution: "5:l 4:e 3:v 2:e 1:l"}
)

func TestRevVerifyTraps(t *testing.T) {
	tests := []struct {
		name       string
		p          *Problem
		completion string
		want       Verdict
	}{
		{"gold", &revABCD, revAnswer("dcba"), Verdict{true, true, ReasonOK}},
		{"gold padded", &revABCD, revAnswer("\n dcba\t"), Verdict{true, true, ReasonOK}},
		{"palindrome echoed is right", &revLevel, revAnswer("level"), Verdict{true, true, ReasonOK}},
		{"input echoed", &revABCD, revAnswer("abcd"), Verdict{false, true, ReasonWrongValue}},
		{"one swap", &revABCD, revAnswer("dbca"), Verdict{false, true, ReasonWrongValue}},
		{"letter dropped", &revABCD, revAnswer("dcb"), Verdict{false, true, ReasonWrongValue}},
		{"letter added", &revABCD, revAnswer("dcbaa"), Verdict{false, true, ReasonWrongValue}},
		{"palindrome changed", &revLevel, revAnswer("levle"), Verdict{false, true, ReasonWrongValue}},
		{"inner spaces", &revABCD, revAnswer("d c b a"), Verdict{false, true, ReasonRevNotLetters}},
		{"positions kept", &revABCD, revAnswer("4:d 3:c 2:b 1:a"), Verdict{false, true, ReasonRevNotLetters}},
		{"uppercase", &revABCD, revAnswer("DCBA"), Verdict{false, true, ReasonRevNotLetters}},
		{"quoted", &revABCD, revAnswer(`"dcba"`), Verdict{false, true, ReasonRevNotLetters}},
		{"A or B", &revABCD, revAnswer("dcba or abcd"), Verdict{false, true, ReasonRevNotLetters}},
		{"answer twice", &revABCD, revAnswer("dcba dcba"), Verdict{false, true, ReasonRevNotLetters}},
		{"digits", &revABCD, revAnswer("dcba1"), Verdict{false, true, ReasonRevNotLetters}},
		{"leading zeros", &revABCD, revAnswer("0dcba"), Verdict{false, true, ReasonRevNotLetters}},
		{"unicode letters", &revABCD, revAnswer("dcb\u0251"), Verdict{false, true, ReasonRevNotLetters}},
		{"fullwidth letters", &revABCD, revAnswer("\uff44\uff43\uff42\uff41"), Verdict{false, true, ReasonRevNotLetters}},
		{"long answer", &revABCD, revAnswer(strings.Repeat("dcba", 60)), Verdict{false, true, ReasonWrongValue}},
		{"empty answer", &revABCD, revAnswer(""), Verdict{false, false, ReasonEmptyAnswer}},
		{"two answer blocks", &revABCD, revAnswer("dcba") + TagAnswerOpen + "dcba" + TagAnswerClose, Verdict{false, false, ReasonTwoAnswers}},
		{"text after answer", &revABCD, revAnswer("dcba") + "dcba", Verdict{false, false, ReasonTextAfter}},
		{"no think", &revABCD, TagAnswerOpen + "dcba" + TagAnswerClose, Verdict{false, false, ReasonNoThink}},
		{"think unclosed", &revABCD, TagThinkOpen + TagAnswerOpen + "dcba" + TagAnswerClose, Verdict{false, false, ReasonThinkUnclosed}},
		{"no answer block", &revABCD, TagThinkOpen + TagThinkClose + "dcba", Verdict{false, false, ReasonNoAnswer}},
		{"answer unclosed", &revABCD, TagThinkOpen + TagThinkClose + TagAnswerOpen + "dcba", Verdict{false, false, ReasonAnswerUnclosed}},
		{"answer too long", &revABCD, revAnswer(strings.Repeat("a", 300)), Verdict{false, false, ReasonAnswerTooLong}},
		{"100 KB of output", &revABCD, TagThinkOpen + strings.Repeat("4:d ", 100<<10/4) + TagThinkClose + TagAnswerOpen + "dcba" + TagAnswerClose, Verdict{false, false, ReasonTooLong}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (revFamily{}).Verify(tc.p, tc.completion); got != tc.want {
				t.Errorf("Verify(%.80q) = %+v, want %+v", tc.completion, got, tc.want)
			}
		})
	}
}

func TestRevVerifyBadProblem(t *testing.T) {
	gold := revAnswer("cba")
	tests := []struct {
		name, key, answer string
		want              string
	}{
		{"good", "rev:abc", "cba", ReasonOK},
		{"empty key", "", "cba", ReasonRevBadKey},
		{"no string", "rev:", "cba", ReasonRevBadKey},
		{"wrong family", "reverse:abc", "cba", ReasonRevBadKey},
		{"uppercase", "rev:ABC", "CBA", ReasonRevBadKey},
		{"space", "rev:a c", "c a", ReasonRevBadKey},
		{"65 letters", "rev:" + strings.Repeat("a", 65), strings.Repeat("a", 65), ReasonRevBadKey},
		{"answer disagrees", "rev:abc", "abc", ReasonRevBadAnswer},
		{"empty answer field", "rev:abc", "", ReasonRevBadAnswer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Problem{Family: "rev", Key: tc.key, Answer: tc.answer}
			got := (revFamily{}).Verify(&p, gold)
			if got.Reason != tc.want || got.Correct != (tc.want == ReasonOK) {
				t.Errorf("key %q answer %q: verdict %+v, want reason %q", tc.key, tc.answer, got, tc.want)
			}
		})
	}
}

func TestRevGenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for level := 1; level <= MaxLevel; level++ {
		c := revLevels[level]
		t.Run(fmt.Sprintf("level%d", level), func(t *testing.T) {
			for range 2000 {
				p := (revFamily{}).Generate(rng, level)
				s, ok := strings.CutPrefix(p.Prompt, "reverse: ")
				if !ok || len(s) < c.lo || len(s) > c.hi || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz") != "" {
					t.Fatalf("prompt %q: want \"reverse: \" and %d-%d lowercase letters", p.Prompt, c.lo, c.hi)
				}
				if want := revReference(s); p.Answer != want || p.Key != "rev:"+s {
					t.Fatalf("prompt %q: key %q answer %q, want rev:%s and %q", p.Prompt, p.Key, p.Answer, s, want)
				}
				// The solution lists "position:letter" from the last position
				// to the first; its letters spell the answer.
				steps := strings.Split(p.Solution, " ")
				var letters []byte
				for i, st := range steps {
					if want := fmt.Sprintf("%d:%c", len(s)-i, s[len(s)-1-i]); st != want {
						t.Fatalf("prompt %q: step %d is %q, want %q", p.Prompt, i, st, want)
					}
					letters = append(letters, st[len(st)-1])
				}
				if string(letters) != p.Answer {
					t.Fatalf("prompt %q: solution letters %q, want %q", p.Prompt, letters, p.Answer)
				}
			}
		})
	}
}

func TestRevVerifyAllocs(t *testing.T) {
	for _, ans := range []string{"dcba", "abcd", "d c b a", "dcb"} {
		c := revAnswer(ans)
		if n := testing.AllocsPerRun(100, func() { (revFamily{}).Verify(&revABCD, c) }); n != 0 {
			t.Errorf("Verify(%q): %v allocs, want 0", ans, n)
		}
	}
}

func ExampleVerify_rev() {
	p := Problem{Family: "rev", Key: "rev:abcd", Prompt: "reverse: abcd", Answer: "dcba"}
	for _, ans := range []string{"dcba", "abcd", "d c b a", "DCBA"} {
		v, _ := Verify(&p, "<think>4:d 3:c 2:b 1:a</think><answer>"+ans+"</answer>")
		fmt.Printf("%-9q correct=%v reason=%q\n", ans, v.Correct, v.Reason)
	}
	// Output:
	// "dcba"    correct=true reason="ok"
	// "abcd"    correct=false reason="wrong value"
	// "d c b a" correct=false reason="not lowercase letters"
	// "DCBA"    correct=false reason="not lowercase letters"
}

// revReference reverses s rune by rune with no shared code.
func revReference(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// FuzzVerifyRev: never panics; accepts an answer exactly when it is the
// prompt's string reversed.
func FuzzVerifyRev(f *testing.F) {
	f.Add(uint8(0), uint64(1), "cba", "rev:abc", uint16(0))
	f.Add(uint8(1), uint64(2), "d c b a", "rev:level", uint16(0x4101))
	f.Add(uint8(4), uint64(3), "DCBA", "rev:", uint16(0x0003))
	f.Fuzz(func(t *testing.T, level uint8, seed uint64, answer, key string, mut uint16) {
		p := (revFamily{}).Generate(rand.New(rand.NewPCG(seed, 1)), int(level%MaxLevel)+1)
		ref := revReference(strings.TrimPrefix(p.Prompt, "reverse: "))
		for _, ans := range []string{answer, fuzzMutateGold(p.Answer, mut)} {
			c := TagThinkOpen + p.Solution + TagThinkClose + TagAnswerOpen + ans + TagAnswerClose
			v := (revFamily{}).Verify(&p, c)
			ext, _, ok := ExtractAnswer(c)
			if want := ok && ext == ref; v.Correct != want || v.Correct != (v.Reason == ReasonOK) {
				t.Fatalf("prompt %q answer %q: verdict %+v, reference correct=%v", p.Prompt, ans, v, want)
			}
		}
		q := p
		q.Key = key
		if v := (revFamily{}).Verify(&q, answer); v.Correct {
			if ext, _, _ := ExtractAnswer(answer); ext != q.Answer || !strings.HasPrefix(key, "rev:") {
				t.Fatalf("key %q: raw completion %q accepted for answer %q", key, answer, q.Answer)
			}
		} else if v.Reason == "" {
			t.Fatalf("key %q: verdict %+v without a reason", key, v)
		}
	})
}

func BenchmarkGenerateRev(b *testing.B) {
	for level := 1; level <= MaxLevel; level++ {
		b.Run(fmt.Sprintf("level%d", level), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				(revFamily{}).Generate(rng, level)
			}
		})
	}
}

func BenchmarkVerifyRev(b *testing.B) {
	for level := 1; level <= MaxLevel; level++ {
		b.Run(fmt.Sprintf("level%d", level), func(b *testing.B) {
			p := (revFamily{}).Generate(rand.New(rand.NewPCG(1, 2)), level)
			c := FormatCompletion(&p)
			b.ReportAllocs()
			for b.Loop() {
				(revFamily{}).Verify(&p, c)
			}
		})
	}
}
