package data

import (
	"fmt"
	"strings"
	"testing"
)

// extractCases is the adversarial table of ExtractAnswer. Every reason of
// format.go is reached by at least one case (TestExtractAnswerReasons).
var extractCases = []struct {
	name       string
	completion string
	want       string // answer when ok
	reason     string
}{
	{"good", "<think>1+1=2</think><answer>2</answer>", "2", ReasonOK},
	{"empty think", "<think></think><answer>x</answer>", "x", ReasonOK},
	{"answer trimmed", "<think>a</think><answer> \n\t 2 \r\n</answer>", "2", ReasonOK},
	{"space between blocks", "<think>a</think> \n<answer>2</answer>", "2", ReasonOK},
	{"trailing white space", "<think>a</think><answer>2</answer>\n \t", "2", ReasonOK},
	{"inner spaces kept", "<think>a</think><answer>1 2  3</answer>", "1 2  3", ReasonOK},
	{"answer at max length", "<think></think><answer>" + strings.Repeat("9", MaxAnswerBytes) + "</answer>", strings.Repeat("9", MaxAnswerBytes), ReasonOK},
	{"lt in answer", "<think></think><answer>3<4</answer>", "3<4", ReasonOK},

	{"empty", "", "", ReasonNoThink},
	{"missing tags", "42", "", ReasonNoThink},
	{"answer only", "<answer>42</answer>", "", ReasonNoThink},
	{"leading space", " <think>a</think><answer>2</answer>", "", ReasonNoThink},
	{"leading text", "sure! <think>a</think><answer>2</answer>", "", ReasonNoThink},
	{"upper case tags", "<THINK>a</THINK><ANSWER>2</ANSWER>", "", ReasonNoThink},
	{"think unclosed", "<think>a<answer>2</answer>", "", ReasonThinkUnclosed},
	{"cut off in think", "<think>7+8=15 c1; 4+3", "", ReasonThinkUnclosed},
	{"nested think", "<think><think>a</think><answer>2</answer>", "", ReasonTwoThinks},
	{"second think after", "<think>a</think><think>b</think><answer>2</answer>", "", ReasonTwoThinks},
	{"think in answer", "<think>a</think><answer><think>2</answer>", "", ReasonTwoThinks},
	{"stray close think after", "<think>a</think><answer>2</answer></think>", "", ReasonTwoThinks},
	{"answer tags in think", "<think><answer>1</answer></think><answer>2</answer>", "", ReasonTagInAnswer},
	{"close answer in think", "<think>a</answer></think><answer>2</answer>", "", ReasonTagInAnswer},
	{"no answer block", "<think>a</think>", "", ReasonNoAnswer},
	{"bare answer after think", "<think>a</think>42", "", ReasonNoAnswer},
	{"close answer only", "<think>a</think>42</answer>", "", ReasonNoAnswer},
	{"text between", "<think>a</think>so<answer>2</answer>", "", ReasonTextBetween},
	{"answer unclosed", "<think>a</think><answer>2", "", ReasonAnswerUnclosed},
	{"answer cut off", "<think>a</think><answer>", "", ReasonAnswerUnclosed},
	{"two answer blocks", "<think>a</think><answer>1</answer><answer>2</answer>", "", ReasonTwoAnswers},
	{"nested answer", "<think>a</think><answer>1<answer>2</answer>", "", ReasonTwoAnswers},
	{"two closes", "<think>a</think><answer>1</answer></answer>", "", ReasonTwoAnswers},
	{"text after", "<think>a</think><answer>2</answer>x", "", ReasonTextAfter},
	{"number after", "<think>a</think><answer>2</answer> 3", "", ReasonTextAfter},
	{"empty answer", "<think>a</think><answer></answer>", "", ReasonEmptyAnswer},
	{"blank answer", "<think>a</think><answer> \n\t</answer>", "", ReasonEmptyAnswer},
	{"answer too long", "<think></think><answer>" + strings.Repeat("9", MaxAnswerBytes+1) + "</answer>", "", ReasonAnswerTooLong},
	{"100 KB", "<think>" + strings.Repeat("x", 100<<10) + "</think><answer>2</answer>", "", ReasonTooLong},
	{"just over the limit", "<think>" + strings.Repeat("x", MaxCompletionBytes-len("<think></think><answer>2</answer>")+1) + "</think><answer>2</answer>", "", ReasonTooLong},
	{"at the limit", "<think>" + strings.Repeat("x", MaxCompletionBytes-len("<think></think><answer>2</answer>")) + "</think><answer>2</answer>", "2", ReasonOK},
}

func TestExtractAnswer(t *testing.T) {
	for _, tc := range extractCases {
		t.Run(tc.name, func(t *testing.T) {
			got, reason, ok := ExtractAnswer(tc.completion)
			if got != tc.want || reason != tc.reason || ok != (tc.reason == ReasonOK) {
				t.Errorf("ExtractAnswer = %q, %q, %v, want %q, %q, %v", got, reason, ok, tc.want, tc.reason, tc.reason == ReasonOK)
			}
		})
	}
}

// TestExtractAnswerReasons checks that the table reaches every reason.
func TestExtractAnswerReasons(t *testing.T) {
	all := []string{ReasonOK, ReasonTooLong, ReasonNoThink, ReasonThinkUnclosed, ReasonNoAnswer, ReasonAnswerUnclosed,
		ReasonTwoAnswers, ReasonTwoThinks, ReasonTextBetween, ReasonTextAfter, ReasonTagInAnswer, ReasonEmptyAnswer, ReasonAnswerTooLong}
	reached := map[string]bool{}
	for _, tc := range extractCases {
		reached[tc.reason] = true
	}
	for _, r := range all {
		if !reached[r] {
			t.Errorf("no ExtractAnswer case reaches reason %q", r)
		}
	}
}

func TestExtractAnswerAllocs(t *testing.T) {
	c := "<think>7+8=15 c1; 4+3+1=8 c0</think><answer> 85 </answer>\n"
	if n := testing.AllocsPerRun(100, func() { ExtractAnswer(c) }); n != 0 {
		t.Errorf("ExtractAnswer allocs = %v, want 0", n)
	}
}

func TestCheckInteger(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"0", ReasonOK},
		{"7", ReasonOK},
		{"85", ReasonOK},
		{"-3", ReasonOK},
		{"-120", ReasonOK},
		{strings.Repeat("9", 200), ReasonOK},
		{"", ReasonNotNumber},
		{"-", ReasonNotNumber},
		{"--3", ReasonNotNumber},
		{"+3", ReasonPlusSign},
		{"+", ReasonPlusSign},
		{"03", ReasonLeadingZeros},
		{"00", ReasonLeadingZeros},
		{"-03", ReasonLeadingZeros},
		{"-0", ReasonNegZero},
		{"1,000", ReasonNotNumber},
		{"1_000", ReasonNotNumber},
		{"1 000", ReasonNotNumber},
		{"1.0", ReasonNotNumber},
		{"1e3", ReasonNotNumber},
		{"0x1f", ReasonNotNumber},
		{" 1", ReasonNotNumber},
		{"1 or 2", ReasonNotNumber},
		{"8 5", ReasonNotNumber},
		{"\u0668\u0665", ReasonNotNumber}, // Arabic-Indic 85
		{"\uff18\uff15", ReasonNotNumber}, // fullwidth 85
		{"\u00b2", ReasonNotNumber},       // superscript two
		{"Infinity", ReasonNotNumber},
		{"NaN", ReasonNotNumber},
		{"five", ReasonNotNumber},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := CheckInteger(tc.in); got != tc.want {
				t.Errorf("CheckInteger(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzExtractAnswer: ExtractAnswer never panics; when it succeeds the
// answer is a trimmed, non-empty substring of the completion holding no
// tag, the completion has exactly one of each tag, and it starts with
// <think>.
func FuzzExtractAnswer(f *testing.F) {
	for _, tc := range extractCases {
		if len(tc.completion) < 1000 {
			f.Add(tc.completion)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		ans, reason, ok := ExtractAnswer(s)
		if ok != (reason == ReasonOK) {
			t.Fatalf("ExtractAnswer(%q) ok %v with reason %q", s, ok, reason)
		}
		if !ok {
			if ans != "" {
				t.Fatalf("ExtractAnswer(%q) failed (%s) but returned %q", s, reason, ans)
			}
			return
		}
		if ans == "" || len(ans) > MaxAnswerBytes || strings.Trim(ans, " \t\r\n") != ans {
			t.Fatalf("ExtractAnswer(%q) = %q: want non-empty, trimmed, at most %d bytes", s, ans, MaxAnswerBytes)
		}
		if !strings.Contains(s, ans) {
			t.Fatalf("ExtractAnswer(%q) = %q: not a substring", s, ans)
		}
		if !strings.HasPrefix(s, TagThinkOpen) {
			t.Fatalf("ExtractAnswer(%q) accepted a completion not starting with <think>", s)
		}
		for _, tag := range tagTokens {
			if strings.Contains(ans, tag) {
				t.Fatalf("ExtractAnswer(%q) = %q holds tag %s", s, ans, tag)
			}
			if n := strings.Count(s, tag); n != 1 {
				t.Fatalf("ExtractAnswer(%q) accepted %d copies of %s", s, n, tag)
			}
		}
		// The answer is exactly the trimmed text between the answer tags.
		inner := s[strings.Index(s, TagAnswerOpen)+len(TagAnswerOpen) : strings.Index(s, TagAnswerClose)]
		if strings.Trim(inner, " \t\r\n") != ans {
			t.Fatalf("ExtractAnswer(%q) = %q, want %q", s, ans, strings.Trim(inner, " \t\r\n"))
		}
		if tail := s[strings.Index(s, TagAnswerClose)+len(TagAnswerClose):]; strings.Trim(tail, " \t\r\n") != "" {
			t.Fatalf("ExtractAnswer(%q) accepted text after </answer>", s)
		}
	})
}

func BenchmarkExtractAnswer(b *testing.B) {
	c := "<think>" + strings.Repeat("7+8=15 c1; ", 8) + "</think><answer>85</answer>"
	b.ReportAllocs()
	for b.Loop() {
		ExtractAnswer(c)
	}
}

func ExampleExtractAnswer() {
	fmt.Println(ExtractAnswer("<think>7+8=15</think><answer> 15 </answer>"))
	fmt.Println(ExtractAnswer("<think>7+8=15</think><answer>15</answer><answer>16</answer>"))
	// Output:
	// 15 ok true
	//  two answer blocks false
}

// TestContractWhiteSpace is the output contract's white-space rule, both
// ways: space, tab, LF and CR are accepted between the blocks, around the
// answer and after </answer>; nothing else is, and nothing at all before
// <think>.
func TestContractWhiteSpace(t *testing.T) {
	accepted := []string{" ", "\t", "\n", "\r", "\r\n", " \t\n\r ", strings.Repeat("\n", 50)}
	rejected := []string{"\v", "\f", "\u00a0", "\u2003", "\u200b", "\x00", ".", "x"}
	for _, ws := range accepted {
		for name, c := range map[string]string{
			"between blocks": "<think>a</think>" + ws + "<answer>7</answer>",
			"around answer":  "<think>a</think><answer>" + ws + "7" + ws + "</answer>",
			"after answer":   "<think>a</think><answer>7</answer>" + ws,
			"everywhere":     "<think>" + ws + "</think>" + ws + "<answer>" + ws + "7" + ws + "</answer>" + ws,
		} {
			if ans, reason, ok := ExtractAnswer(c); !ok || ans != "7" {
				t.Errorf("%s %q: ExtractAnswer = %q, %q, %v, want \"7\" accepted", name, ws, ans, reason, ok)
			}
		}
		if _, _, ok := ExtractAnswer(ws + "<think>a</think><answer>7</answer>"); ok {
			t.Errorf("before <think> %q: accepted, want %q", ws, ReasonNoThink)
		}
	}
	for _, ws := range rejected {
		for _, tc := range []struct{ name, completion, reason string }{
			{"between blocks", "<think>a</think>" + ws + "<answer>7</answer>", ReasonTextBetween},
			{"after answer", "<think>a</think><answer>7</answer>" + ws, ReasonTextAfter},
			{"before think", ws + "<think>a</think><answer>7</answer>", ReasonNoThink},
		} {
			if ans, reason, ok := ExtractAnswer(tc.completion); ok || reason != tc.reason {
				t.Errorf("%s %q: ExtractAnswer = %q, %q, %v, want rejected with %q", tc.name, ws, ans, reason, ok, tc.reason)
			}
		}
		// Around the answer such a byte is not trimmed: it stays in the
		// answer, and the family's answer rule rejects it.
		c := "<think>a</think><answer>" + ws + "7</answer>"
		if ans, _, ok := ExtractAnswer(c); !ok || ans != ws+"7" {
			t.Errorf("around answer %q: ExtractAnswer = %q, %v, want %q kept in the answer", ws, ans, ok, ws+"7")
		}
		if v := (mulFamily{}).Verify(&Problem{Family: "mul", Key: "mul:1*7", Answer: "7"}, c); v.Correct || !v.FormatOK {
			t.Errorf("around answer %q: mul verdict %+v, want format ok and not correct", ws, v)
		}
	}
}
