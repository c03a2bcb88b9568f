package data

import (
	"fmt"
	"strings"
	"testing"
)

func TestVerifyAdd(t *testing.T) {
	f := addFamily{}
	p := f.problem(2, 47, 38) // 85
	badKey, badAnswer := p, p
	badKey.Key = "add:47+038"
	badAnswer.Answer = "86"
	runArithCases(t, f, p, []arithCase{
		{"negative", ans("-85"), vWrong},
		{"negative zero", ans("-0"), Verdict{FormatOK: true, Reason: ReasonNegZero}},
		{"reversed digits", ans("58"), vWrong},
		{"off by one", ans("86"), vWrong},
		{"digits spaced", ans("8 5"), vNotNum},
		{"thousands separator", ans("0,085"), vNotNum},
		{"concatenated operands", ans("4738"), vWrong},
		{"wrong answer in think, right answer", ans("85"), vOK},
	})
	t.Run("bad key", func(t *testing.T) {
		if got, want := f.Verify(&badKey, ans("85")), (Verdict{Reason: ReasonArithBadKey}); got != want {
			t.Errorf("Verify = %+v, want %+v", got, want)
		}
	})
	t.Run("answer disagrees with key", func(t *testing.T) {
		for _, a := range []string{"85", "86"} {
			if got, want := f.Verify(&badAnswer, ans(a)), (Verdict{Reason: ReasonArithBadAnswer}); got != want {
				t.Errorf("Verify(%s) = %+v, want %+v", a, got, want)
			}
		}
	})
	t.Run("addrev key rejected", func(t *testing.T) {
		q := addFamily{reversed: true}.problem(2, 47, 38)
		if got := f.Verify(&q, ans("85")); got.Reason != ReasonArithBadKey {
			t.Errorf("add verifier on an addrev problem: %+v, want %q", got, ReasonArithBadKey)
		}
	})
}

func TestVerifyAddRev(t *testing.T) {
	f := addFamily{reversed: true}
	p := f.problem(2, 95, 8) // 103, answer 301
	runArithCases(t, f, p, []arithCase{
		{"plain sum", ans("103"), vWrong},
		{"trailing zero", ans("3010"), vZeros},
		{"zero then digits", ans("0301"), vWrong},
		{"sign", ans("-301"), vNotNum},
		{"digits spaced", ans("3 0 1"), vNotNum},
		{"leading zeros", ans("00301"), vWrong}, // zeros in front of a reversed number are its trailing zeros: 10300, canonical and wrong
		{"huge number", ans("1" + strings.Repeat("0", 200)), vZeros},
		{"huge reversed number", ans(strings.Repeat("0", 200) + "1"), vWrong},
	})
	t.Run("zeros", func(t *testing.T) {
		z := f.problem(1, 0, 0)
		ten := f.problem(1, 5, 5) // 10, answer 01
		tests := []struct {
			p    Problem
			a    string
			want Verdict
		}{
			{z, "0", vOK}, {z, "00", vZeros}, {ten, "01", vOK}, {ten, "1", vWrong}, {ten, "10", vZeros}, {ten, "010", vZeros},
		}
		for _, tc := range tests {
			if got := f.Verify(&tc.p, ans(tc.a)); got != tc.want {
				t.Errorf("%s: Verify(%q) = %+v, want %+v", tc.p.Prompt, tc.a, got, tc.want)
			}
		}
	})
}

func ExampleVerify_add() {
	p := addFamily{}.problem(2, 47, 38)
	fmt.Println(p.Prompt)
	fmt.Println(FormatCompletion(&p))
	for _, a := range []string{"85", "85 or 86", "085", "58"} {
		v, _ := Verify(&p, "<think></think><answer>"+a+"</answer>")
		fmt.Printf("%-8s %+v\n", a, v)
	}
	// Output:
	// add 47+38
	// <think>7+8=15 c1; 4+3+1=8 c0; so 85</think><answer>85</answer>
	// 85       {Correct:true FormatOK:true Reason:ok}
	// 85 or 86 {Correct:false FormatOK:true Reason:not a number}
	// 085      {Correct:false FormatOK:true Reason:leading zeros}
	// 58       {Correct:false FormatOK:true Reason:wrong value}
}

func ExampleVerify_addrev() {
	p := addFamily{reversed: true}.problem(2, 95, 8)
	fmt.Println(p.Prompt)
	fmt.Println(FormatCompletion(&p))
	for _, a := range []string{"301", "103", "3010"} {
		v, _ := Verify(&p, "<think></think><answer>"+a+"</answer>")
		fmt.Printf("%-4s %+v\n", a, v)
	}
	// Output:
	// addrev 95+8
	// <think>5+8=13 c1; 9+0+1=10 c1; so 301</think><answer>301</answer>
	// 301  {Correct:true FormatOK:true Reason:ok}
	// 103  {Correct:false FormatOK:true Reason:wrong value}
	// 3010 {Correct:false FormatOK:true Reason:leading zeros}
}
