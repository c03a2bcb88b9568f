package data

import (
	"fmt"
	"testing"
)

func TestVerifyMod(t *testing.T) {
	f := modFamily{}
	p := f.problem(4, modPow, 3, 5, 0, 7) // 243 % 7 = 5
	runArithCases(t, f, p, []arithCase{
		{"congruent, not reduced", ans("12"), vWrong},
		{"negative residue", ans("-2"), vWrong},
		{"the power itself", ans("243"), vWrong},
		{"with modulus", ans("5 mod 7"), vNotNum},
		{"congruence", ans("5 (mod 7)"), vNotNum},
		{"last step", ans("12=1*7+5"), vNotNum},
	})
	t.Run("keys", func(t *testing.T) {
		tests := []struct {
			key, answer string
			want        Verdict
		}{
			{"mod:(3^5)%7", "5", vOK},
			{"mod:(3+5)%7", "1", vOK},
			{"mod:(3*5)%7", "1", vOK},
			{"mod:(3*5+6)%7", "0", vOK},
			{"mod:(2^999999999)%999999937", "", Verdict{Reason: ReasonArithBadAnswer}}, // parses fast; answer empty
			{"mod:(3^5)%0", "5", Verdict{Reason: ReasonArithBadKey}},
			{"mod:(3^5)%07", "5", Verdict{Reason: ReasonArithBadKey}},
			{"mod:(3+5+6)%7", "0", Verdict{Reason: ReasonArithBadKey}},
			{"mod:(3^5+1)%7", "6", Verdict{Reason: ReasonArithBadKey}},
			{"mod:(3-5)%7", "5", Verdict{Reason: ReasonArithBadKey}},
			{"mod:3^5%7", "5", Verdict{Reason: ReasonArithBadKey}},
			{"mod:(3^5)%7x", "5", Verdict{Reason: ReasonArithBadKey}},
			{"mod:(3^5)", "5", Verdict{Reason: ReasonArithBadKey}},
			{"mod:(1234567890^5)%7", "5", Verdict{Reason: ReasonArithBadKey}},
			{"mod:(3^5)%7", "12", Verdict{Reason: ReasonArithBadAnswer}},
		}
		for _, tc := range tests {
			q := Problem{Family: "mod", Key: tc.key, Answer: tc.answer}
			if got := f.Verify(&q, ans(tc.answer)); got != tc.want {
				t.Errorf("key %q answer %q: %+v, want %+v", tc.key, tc.answer, got, tc.want)
			}
		}
	})
}

// TestArithVerifyAllocs demands zero allocations from every arithmetic
// verifier, on right, wrong and malformed answers.

func ExampleVerify_mod() {
	p := modFamily{}.problem(4, modPow, 3, 5, 0, 7)
	fmt.Println(p.Prompt)
	fmt.Println(FormatCompletion(&p))
	for _, a := range []string{"5", "12", "-2"} {
		v, _ := Verify(&p, "<think></think><answer>"+a+"</answer>")
		fmt.Printf("%-2s %+v\n", a, v)
	}
	// Output:
	// mod (3^5)%7
	// <think>3=0*7+3; 3*3=9=1*7+2; 2*3=6=0*7+6; 6*3=18=2*7+4; 4*3=12=1*7+5</think><answer>5</answer>
	// 5  {Correct:true FormatOK:true Reason:ok}
	// 12 {Correct:false FormatOK:true Reason:wrong value}
	// -2 {Correct:false FormatOK:true Reason:wrong value}
}
