package data

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func bitsAnswer(ans string) string {
	return TagThinkOpen + "0:0 1:1 1:2 0:2 1:3" + TagThinkClose + TagAnswerOpen + ans + TagAnswerClose
}

// bitsOnes and bitsParity are hand-written problems over the same bits.
var (
	bitsOnes   = Problem{Family: "bits", Level: 1, Key: "bits:ones:01101", Prompt: "ones in 01101", Answer: "3", Solution: "0:0 1:1 1:2 0:2 1:3"}
	bitsParity = Problem{Family: "bits", Level: 1, Key: "bits:parity:01101", Prompt: "parity of 01101", Answer: "1", Solution: "0:0 1:1 1:0 0:0 1:1"}
)

func TestBitsVerifyTraps(t *testing.T) {
	even := Problem{Family: "bits", Key: "bits:parity:0110", Prompt: "parity of 0110", Answer: "0"}
	zero := Problem{Family: "bits", Key: "bits:ones:0000", Prompt: "ones in 0000", Answer: "0"}
	tests := []struct {
		name       string
		p          *Problem
		completion string
		want       Verdict
	}{
		{"gold ones", &bitsOnes, bitsAnswer("3"), Verdict{true, true, ReasonOK}},
		{"gold parity", &bitsParity, bitsAnswer("1"), Verdict{true, true, ReasonOK}},
		{"gold even", &even, bitsAnswer("0"), Verdict{true, true, ReasonOK}},
		{"gold zero ones", &zero, bitsAnswer("0"), Verdict{true, true, ReasonOK}},
		{"gold padded", &bitsOnes, bitsAnswer(" 3\n"), Verdict{true, true, ReasonOK}},
		{"count written in binary", &bitsOnes, bitsAnswer("11"), Verdict{false, true, ReasonWrongValue}},
		{"input read as decimal", &bitsOnes, bitsAnswer("13"), Verdict{false, true, ReasonWrongValue}},
		{"input echoed", &bitsOnes, bitsAnswer("01101"), Verdict{false, true, ReasonLeadingZeros}},
		{"input echoed no zero", &bitsOnes, bitsAnswer("1101"), Verdict{false, true, ReasonWrongValue}},
		{"zeros counted", &bitsOnes, bitsAnswer("2"), Verdict{false, true, ReasonWrongValue}},
		{"popcount for parity", &bitsParity, bitsAnswer("3"), Verdict{false, true, ReasonWrongValue}},
		{"parity flipped", &bitsParity, bitsAnswer("0"), Verdict{false, true, ReasonWrongValue}},
		{"0b prefix", &bitsOnes, bitsAnswer("0b11"), Verdict{false, true, ReasonNotNumber}},
		{"0x prefix", &bitsOnes, bitsAnswer("0x3"), Verdict{false, true, ReasonNotNumber}},
		{"word odd", &bitsParity, bitsAnswer("odd"), Verdict{false, true, ReasonNotNumber}},
		{"word even", &even, bitsAnswer("even"), Verdict{false, true, ReasonNotNumber}},
		{"A or B", &bitsOnes, bitsAnswer("3 or 4"), Verdict{false, true, ReasonNotNumber}},
		{"extra numbers", &bitsOnes, bitsAnswer("3 3"), Verdict{false, true, ReasonNotNumber}},
		{"leading zeros", &bitsOnes, bitsAnswer("03"), Verdict{false, true, ReasonLeadingZeros}},
		{"plus sign", &bitsOnes, bitsAnswer("+3"), Verdict{false, true, ReasonPlusSign}},
		{"negative", &bitsOnes, bitsAnswer("-3"), Verdict{false, true, ReasonWrongValue}},
		{"negative zero", &zero, bitsAnswer("-0"), Verdict{false, true, ReasonNegZero}},
		{"decimal point", &bitsOnes, bitsAnswer("3.0"), Verdict{false, true, ReasonNotNumber}},
		{"unicode digit", &bitsOnes, bitsAnswer("\uff13"), Verdict{false, true, ReasonNotNumber}},
		{"arabic-indic digit", &bitsOnes, bitsAnswer("\u0663"), Verdict{false, true, ReasonNotNumber}},
		{"huge number", &bitsOnes, bitsAnswer("99999999999999999999999999999"), Verdict{false, true, ReasonWrongValue}},
		{"empty answer", &bitsOnes, bitsAnswer(""), Verdict{false, false, ReasonEmptyAnswer}},
		{"two answer blocks", &bitsOnes, bitsAnswer("3") + TagAnswerOpen + "3" + TagAnswerClose, Verdict{false, false, ReasonTwoAnswers}},
		{"text after answer", &bitsOnes, bitsAnswer("3") + "3", Verdict{false, false, ReasonTextAfter}},
		{"no think", &bitsOnes, TagAnswerOpen + "3" + TagAnswerClose, Verdict{false, false, ReasonNoThink}},
		{"think unclosed", &bitsOnes, TagThinkOpen + TagAnswerOpen + "3" + TagAnswerClose, Verdict{false, false, ReasonThinkUnclosed}},
		{"no answer block", &bitsOnes, TagThinkOpen + TagThinkClose + "3", Verdict{false, false, ReasonNoAnswer}},
		{"answer unclosed", &bitsOnes, TagThinkOpen + TagThinkClose + TagAnswerOpen + "3", Verdict{false, false, ReasonAnswerUnclosed}},
		{"answer too long", &bitsOnes, bitsAnswer(strings.Repeat("3", 300)), Verdict{false, false, ReasonAnswerTooLong}},
		{"100 KB of output", &bitsOnes, TagThinkOpen + strings.Repeat("1:1 ", 100<<10/4) + TagThinkClose + TagAnswerOpen + "3" + TagAnswerClose, Verdict{false, false, ReasonTooLong}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (bitsFamily{}).Verify(tc.p, tc.completion); got != tc.want {
				t.Errorf("Verify(%.80q) = %+v, want %+v", tc.completion, got, tc.want)
			}
		})
	}
}

func TestBitsVerifyBadProblem(t *testing.T) {
	gold := bitsAnswer("2")
	tests := []struct {
		name, key, answer string
		want              string
	}{
		{"good", "bits:ones:0110", "2", ReasonOK},
		{"empty key", "", "2", ReasonBitsBadKey},
		{"no bits", "bits:ones:", "2", ReasonBitsBadKey},
		{"bad operation", "bits:zeros:0110", "2", ReasonBitsBadKey},
		{"not binary", "bits:ones:0120", "2", ReasonBitsBadKey},
		{"decimal input", "bits:ones:6", "2", ReasonBitsBadKey},
		{"65 bits", "bits:ones:" + strings.Repeat("0", 63) + "11", "2", ReasonBitsBadKey},
		{"answer disagrees", "bits:ones:0111", "2", ReasonBitsBadAnswer},
		{"answer not canonical", "bits:ones:0110", "02", ReasonBitsBadAnswer},
		{"empty answer field", "bits:ones:0110", "", ReasonBitsBadAnswer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Problem{Family: "bits", Key: tc.key, Answer: tc.answer}
			got := (bitsFamily{}).Verify(&p, gold)
			if got.Reason != tc.want || got.Correct != (tc.want == ReasonOK) {
				t.Errorf("key %q answer %q: verdict %+v, want reason %q", tc.key, tc.answer, got, tc.want)
			}
		})
	}
}

func TestBitsGenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for level := 1; level <= MaxLevel; level++ {
		c := bitsLevels[level]
		t.Run(fmt.Sprintf("level%d", level), func(t *testing.T) {
			ops := map[string]int{}
			for range 2000 {
				p := (bitsFamily{}).Generate(rng, level)
				op, bits, ok := strings.Cut(p.Prompt, " ")
				bits = strings.TrimPrefix(strings.TrimPrefix(bits, "in "), "of ")
				if !ok || (op != "ones" && op != "parity") || strings.Trim(bits, "01") != "" {
					t.Fatalf("prompt %q: want \"ones in BITS\" or \"parity of BITS\"", p.Prompt)
				}
				ops[op]++
				if len(bits) < c.lo || len(bits) > c.hi {
					t.Fatalf("prompt %q: %d bits, want %d-%d", p.Prompt, len(bits), c.lo, c.hi)
				}
				want := strings.Count(bits, "1")
				if op == "parity" {
					want %= 2
				}
				if p.Key != "bits:"+op+":"+bits || p.Answer != strconv.Itoa(want) {
					t.Fatalf("prompt %q: key %q answer %q, want bits:%s:%s and %d", p.Prompt, p.Key, p.Answer, op, bits, want)
				}
				steps := strings.Split(p.Solution, " ")
				if len(steps) != len(bits) {
					t.Fatalf("prompt %q: %d solution steps, want one per bit", p.Prompt, len(steps))
				}
				if last := steps[len(steps)-1]; !strings.HasSuffix(last, ":"+p.Answer) || last[0] != bits[len(bits)-1] {
					t.Fatalf("prompt %q: last step %q does not end with the last bit and the answer %s", p.Prompt, last, p.Answer)
				}
			}
			if ops["ones"] < 800 || ops["parity"] < 800 {
				t.Errorf("operations drawn %v: want both about half the time", ops)
			}
		})
	}
}

func TestBitsVerifyAllocs(t *testing.T) {
	for _, ans := range []string{"3", "4", "0b11", "03"} {
		c := bitsAnswer(ans)
		if n := testing.AllocsPerRun(100, func() { (bitsFamily{}).Verify(&bitsOnes, c) }); n != 0 {
			t.Errorf("Verify(%q): %v allocs, want 0", ans, n)
		}
	}
}

func ExampleVerify_bits() {
	p := Problem{Family: "bits", Key: "bits:ones:01101", Prompt: "ones in 01101", Answer: "3"}
	for _, ans := range []string{"3", "11", "0b11", "03"} {
		v, _ := Verify(&p, "<think>0:0 1:1 1:2 0:2 1:3</think><answer>"+ans+"</answer>")
		fmt.Printf("%-6q correct=%v reason=%q\n", ans, v.Correct, v.Reason)
	}
	// Output:
	// "3"    correct=true reason="ok"
	// "11"   correct=false reason="wrong value"
	// "0b11" correct=false reason="not a number"
	// "03"   correct=false reason="leading zeros"
}

// bitsReference is the gold answer computed from the prompt alone.
func bitsReference(prompt string) string {
	f := strings.Fields(prompt)
	n := strings.Count(f[len(f)-1], "1")
	if f[0] == "parity" {
		n %= 2
	}
	return strconv.Itoa(n)
}

// FuzzVerifyBits: never panics; accepts an answer exactly when it is the
// reference count written canonically.
func FuzzVerifyBits(f *testing.F) {
	f.Add(uint8(0), uint64(1), "3", "bits:ones:0111", uint16(0))
	f.Add(uint8(1), uint64(2), "0b11", "bits:parity:1", uint16(0x3100))
	f.Add(uint8(4), uint64(3), "12", "bits:ones:", uint16(0x0001))
	f.Fuzz(func(t *testing.T, level uint8, seed uint64, answer, key string, mut uint16) {
		p := (bitsFamily{}).Generate(rand.New(rand.NewPCG(seed, 1)), int(level%MaxLevel)+1)
		ref := bitsReference(p.Prompt)
		for _, ans := range []string{answer, fuzzMutateGold(p.Answer, mut)} {
			c := TagThinkOpen + p.Solution + TagThinkClose + TagAnswerOpen + ans + TagAnswerClose
			v := (bitsFamily{}).Verify(&p, c)
			ext, _, ok := ExtractAnswer(c)
			if want := ok && ext == ref; v.Correct != want || v.Correct != (v.Reason == ReasonOK) {
				t.Fatalf("prompt %q answer %q: verdict %+v, reference correct=%v", p.Prompt, ans, v, want)
			}
		}
		q := p
		q.Key = key
		if v := (bitsFamily{}).Verify(&q, answer); v.Correct {
			if ext, _, _ := ExtractAnswer(answer); ext != q.Answer || !strings.HasPrefix(key, "bits:") {
				t.Fatalf("key %q: raw completion %q accepted for answer %q", key, answer, q.Answer)
			}
		} else if v.Reason == "" {
			t.Fatalf("key %q: verdict %+v without a reason", key, v)
		}
	})
}

func BenchmarkGenerateBits(b *testing.B) {
	for level := 1; level <= MaxLevel; level++ {
		b.Run(fmt.Sprintf("level%d", level), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				(bitsFamily{}).Generate(rng, level)
			}
		})
	}
}

func BenchmarkVerifyBits(b *testing.B) {
	for level := 1; level <= MaxLevel; level++ {
		b.Run(fmt.Sprintf("level%d", level), func(b *testing.B) {
			p := (bitsFamily{}).Generate(rand.New(rand.NewPCG(1, 2)), level)
			c := FormatCompletion(&p)
			b.ReportAllocs()
			for b.Loop() {
				(bitsFamily{}).Verify(&p, c)
			}
		})
	}
}
