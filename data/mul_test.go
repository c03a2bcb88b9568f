package data

import (
	"fmt"
	"testing"
)

func TestVerifyMul(t *testing.T) {
	f := mulFamily{}
	p := f.problem(3, 47, 38) // 1786
	runArithCases(t, f, p, []arithCase{
		{"partial product", ans("1410"), vWrong},
		{"sum of partials", ans("376+1410"), vNotNum},
		{"with equation", ans("47*38=1786"), vNotNum},
		{"thousands separator", ans("1,786"), vNotNum},
		{"scientific", ans("1.786e3"), vNotNum},
		{"negative", ans("-1786"), vWrong},
	})
	t.Run("bad keys", func(t *testing.T) {
		for _, key := range []string{"", "mul:", "mul:47*", "mul:*38", "mul:47+38", "mul:47*38*2", "mul:1234567890*2", "mul:47*38 ", "add:38+47"} {
			q := p
			q.Key = key
			if got := f.Verify(&q, ans("1786")); got.Reason != ReasonArithBadKey || got.Correct {
				t.Errorf("key %q: %+v, want %q", key, got, ReasonArithBadKey)
			}
		}
	})
}

func ExampleVerify_mul() {
	p := mulFamily{}.problem(3, 47, 38)
	fmt.Println(p.Prompt)
	fmt.Println(FormatCompletion(&p))
	v, _ := Verify(&p, "<think></think><answer>376+1410</answer>")
	fmt.Printf("%+v\n", v)
	// Output:
	// mul 47*38
	// <think>47*8=376; 47*30=1410; 376+1410=1786</think><answer>1786</answer>
	// {Correct:false FormatOK:true Reason:not a number}
}
