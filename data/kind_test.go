package data

import (
	"fmt"
	"strings"
	"testing"
)

// answerOf wraps an answer block's text in a valid completion.
func answerOf(a string) string { return "<think>work</think><answer>" + a + "</answer>" }

// TestVerifyKindAdversarial holds each kind's verifier to adversarial
// completions: near misses that must fail, equivalent forms that must pass.
func TestVerifyKindAdversarial(t *testing.T) {
	tests := []struct {
		kind, gold, completion string
		correct                bool
		reason                 string
	}{
		// integer: the canonical rule of the built-in families.
		{KindInteger, "-42", answerOf("-42"), true, ReasonOK},
		{KindInteger, "-42", answerOf(" -42\n"), true, ReasonOK},
		{KindInteger, "42", answerOf("042"), false, ReasonLeadingZeros},
		{KindInteger, "42", answerOf("+42"), false, ReasonPlusSign},
		{KindInteger, "0", answerOf("-0"), false, ReasonNegZero},
		{KindInteger, "42", answerOf("42.0"), false, ReasonNotNumber},
		{KindInteger, "42", answerOf("4 2"), false, ReasonNotNumber},
		{KindInteger, "42", answerOf("43"), false, ReasonWrongValue},
		{KindInteger, "42", "42", false, ReasonNoThink},
		{KindInteger, "42", "<think></think><answer>42</answer><answer>42</answer>", false, ReasonTwoAnswers},
		{KindInteger, "42", "<think><answer>42</answer></think><answer>42</answer>", false, ReasonTagInAnswer},
		{KindInteger, "42", answerOf("42") + "42", false, ReasonTextAfter},
		{KindInteger, "4x", answerOf("4x"), false, ReasonGoldInvalid},
		// exact: the string, after the contract's trim only.
		{KindExact, "Paris", answerOf("Paris"), true, ReasonOK},
		{KindExact, "Paris", answerOf("  Paris "), true, ReasonOK},
		{KindExact, "Paris", answerOf("paris"), false, ReasonWrongValue},
		{KindExact, "Paris", answerOf("Paris."), false, ReasonWrongValue},
		{KindExact, "Paris", answerOf("Pa ris"), false, ReasonWrongValue},
		{KindExact, "a b", answerOf("a  b"), false, ReasonWrongValue},
		{KindExact, "Paris", answerOf(""), false, ReasonEmptyAnswer},
		// list: single spaces, in order.
		{KindList, "3 1 2", answerOf("3 1 2"), true, ReasonOK},
		{KindList, "3 1 2", answerOf("1 2 3"), false, ReasonWrongValue},
		{KindList, "3 1 2", answerOf("3  1 2"), false, ReasonEmptyItem},
		{KindList, "3 1 2", answerOf("3,1,2"), false, ReasonWrongValue},
		{KindList, "3 1 2", answerOf("3 1"), false, ReasonWrongValue},
		{KindList, "3 1 2", answerOf("3 1 2 2"), false, ReasonWrongValue},
		{KindList, "3 1 2", answerOf("3\t1 2"), false, ReasonWrongValue},
		{KindList, "3 1  2", answerOf("3 1  2"), false, ReasonGoldInvalid},
		// multiset: single spaces, any order, each item as often as in gold.
		{KindMultiset, "2 2 3", answerOf("3 2 2"), true, ReasonOK},
		{KindMultiset, "2 2 3", answerOf("2 3 2"), true, ReasonOK},
		{KindMultiset, "2 2 3", answerOf("2 3 3"), false, ReasonWrongValue},
		{KindMultiset, "2 2 3", answerOf("2 3"), false, ReasonWrongValue},
		{KindMultiset, "2 2 3", answerOf("2 2 3 3"), false, ReasonWrongValue},
		{KindMultiset, "2 2 3", answerOf("2 2 3 "), true, ReasonOK}, // the contract trims the block
		{KindMultiset, "2 2 3", answerOf("2 2  3"), false, ReasonEmptyItem},
		{KindMultiset, "2 2 3", answerOf("22 3"), false, ReasonWrongValue},
		{KindMultiset, "a b", answerOf("B a"), false, ReasonWrongValue},
		// assignment: name=value pairs, any order, spaces around tokens.
		{KindAssignment, "x=1,y=2", answerOf("y=2,x=1"), true, ReasonOK},
		{KindAssignment, "x=1,y=2", answerOf(" x = 1 , y=2 "), true, ReasonOK},
		{KindAssignment, "x=1,y=2", answerOf("x=1,y=3"), false, ReasonWrongValue},
		{KindAssignment, "x=1,y=2", answerOf("x=1"), false, ReasonMissingName},
		{KindAssignment, "x=1,y=2", answerOf("x=1,y=2,z=3"), false, ReasonUnknownName},
		{KindAssignment, "x=1,y=2", answerOf("x=1,x=1,y=2"), false, ReasonNameTwice},
		{KindAssignment, "x=1,y=2", answerOf("x=1,y=2,"), false, ReasonNotAssignment},
		{KindAssignment, "x=1,y=2", answerOf("x=1;y=2"), false, ReasonNotAssignment},
		{KindAssignment, "x=1,y=2", answerOf("x=1,y=2=2"), false, ReasonNotAssignment},
		{KindAssignment, "x=1,y=2", answerOf("x=1,=2"), false, ReasonNotAssignment},
		{KindAssignment, "x=1,y=2", answerOf("X=1,y=2"), false, ReasonUnknownName},
		{KindAssignment, "x=1,y=2", answerOf("x=1 y=2"), false, ReasonNotAssignment},
		{KindAssignment, "x=1,y=2", answerOf("x=2,y=1"), false, ReasonWrongValue},
		{KindAssignment, "x=1,x=2", answerOf("x=1,x=2"), false, ReasonGoldInvalid},
		// an unknown kind is never correct.
		{"number", "1", answerOf("1"), false, ReasonKindUnknown},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%q/%q", tc.kind, tc.gold, tc.completion), func(t *testing.T) {
			p := Problem{Family: "file:x", Kind: tc.kind, Answer: tc.gold}
			v := VerifyKind(&p, tc.completion)
			if v.Correct != tc.correct || v.Reason != tc.reason {
				t.Errorf("got %+v, want correct %v reason %q", v, tc.correct, tc.reason)
			}
		})
	}
}

func TestVerifyUnknownKind(t *testing.T) {
	p := Problem{Family: "file:x", Kind: "nope", Answer: "1"}
	if _, err := Verify(&p, answerOf("1")); err == nil || !strings.Contains(err.Error(), `kind "nope"`) {
		t.Errorf("Verify with an unknown kind: %v, want an error naming it", err)
	}
}

func TestCanonicalAnswer(t *testing.T) {
	tests := []struct{ kind, in, want string }{
		{KindInteger, "-7", "-7"},
		{KindExact, "Hello world", "Hello world"},
		{KindList, "b a c", "b a c"},
		{KindMultiset, "b a c a", "a a b c"},
		{KindAssignment, " y = 2 ,x=1", "x=1,y=2"},
	}
	for _, tc := range tests {
		got, err := CanonicalAnswer(tc.kind, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("CanonicalAnswer(%s, %q) = %q, %v: want %q", tc.kind, tc.in, got, err, tc.want)
		}
	}
	// Equal answers have equal canonical forms, so equal problems equal keys.
	a, _ := CanonicalAnswer(KindMultiset, "3 1 2")
	b, _ := CanonicalAnswer(KindMultiset, "2 3 1")
	if a != b {
		t.Errorf("multiset forms %q and %q differ", a, b)
	}
}

func TestVerifyKindAllocs(t *testing.T) {
	for _, tc := range []struct{ kind, gold, ans string }{
		{KindInteger, "123", "123"}, {KindExact, "abc", "abd"}, {KindList, "1 2 3", "1 2 3"},
		{KindMultiset, "1 2 2 3", "3 2 1 2"}, {KindAssignment, "a=1,b=2,c=3", "c=3, b=2, a=1"},
	} {
		p := Problem{Family: "file:x", Kind: tc.kind, Answer: tc.gold}
		c := answerOf(tc.ans)
		if n := testing.AllocsPerRun(100, func() { VerifyKind(&p, c) }); n != 0 {
			t.Errorf("%s: %v allocations per verify, want 0", tc.kind, n)
		}
	}
}

func ExampleVerifyKind() {
	p := Problem{Family: "file:my.jsonl", Kind: KindMultiset, Answer: "2 2 3"}
	for _, c := range []string{
		"<think>12=2*2*3</think><answer>3 2 2</answer>",
		"<think>12=2*6</think><answer>2 6</answer>",
		"<think>12</think><answer>2  2 3</answer>",
	} {
		v := VerifyKind(&p, c)
		fmt.Println(v.Correct, v.Reason)
	}
	// Output:
	// true ok
	// false wrong value
	// false empty item
}
