package data

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestTokenizerVocab(t *testing.T) {
	tok := NewTokenizer()
	if got, want := tok.VocabSize(), 103; got != want {
		t.Fatalf("VocabSize() = %d, want %d", got, want)
	}
	toks := tok.Tokens()
	if len(toks) != tok.VocabSize() {
		t.Fatalf("len(Tokens()) = %d, want %d", len(toks), tok.VocabSize())
	}
	seen := map[string]int{}
	for id, s := range toks {
		if prev, dup := seen[s]; dup {
			t.Errorf("token %q has ids %d and %d", s, prev, id)
		}
		seen[s] = id
	}
	fixed := []struct {
		id   int
		want string
	}{
		{PAD, "<pad>"}, {BOS, "<bos>"}, {EOS, "<eos>"},
		{ThinkOpenID, TagThinkOpen}, {ThinkCloseID, TagThinkClose},
		{AnswerOpenID, TagAnswerOpen}, {AnswerCloseID, TagAnswerClose},
		{NewlineID, "\n"}, {firstCharID, " "}, {102, "~"},
	}
	for _, tc := range fixed {
		if toks[tc.id] != tc.want {
			t.Errorf("Tokens()[%d] = %q, want %q", tc.id, toks[tc.id], tc.want)
		}
	}
	if tok.PAD() != 0 || tok.BOS() != 1 || tok.EOS() != 2 {
		t.Errorf("PAD, BOS, EOS = %d, %d, %d, want 0, 1, 2", tok.PAD(), tok.BOS(), tok.EOS())
	}
	// Every character a task can produce is one token.
	for c := 0; c < 256; c++ {
		ids, err := tok.Encode(string([]byte{byte(c)}))
		inVocab := c == '\n' || (c >= 32 && c <= 126)
		if inVocab && (err != nil || len(ids) != 1 || toks[ids[0]] != string(rune(c))) {
			t.Errorf("Encode(%q) = %v, %v: want one token", byte(c), ids, err)
		}
		if !inVocab && err == nil {
			t.Errorf("Encode(%q) = %v: want an error", byte(c), ids)
		}
	}
	// Tokens returns a copy.
	toks[0] = "x"
	if tok.Tokens()[0] != "<pad>" {
		t.Errorf("Tokens() shares its slice with the tokenizer")
	}
}

func TestTokenizerCheckTokens(t *testing.T) {
	tok := NewTokenizer()
	if err := tok.CheckTokens(tok.Tokens()); err != nil {
		t.Errorf("CheckTokens(own vocabulary) = %v, want nil", err)
	}
	short := tok.Tokens()[:50]
	if err := tok.CheckTokens(short); err == nil || !strings.Contains(err.Error(), "50 tokens") {
		t.Errorf("CheckTokens(50 tokens) = %v, want an error naming the length", err)
	}
	swapped := tok.Tokens()
	swapped[10], swapped[11] = swapped[11], swapped[10]
	if err := tok.CheckTokens(swapped); err == nil || !strings.Contains(err.Error(), "token 10") {
		t.Errorf("CheckTokens(swapped) = %v, want an error naming token 10", err)
	}
}

func TestTokenizerEncode(t *testing.T) {
	tok := NewTokenizer()
	c := func(s string) int { return firstCharID + int(s[0]) - ' ' }
	tests := []struct {
		name string
		in   string
		want []int
	}{
		{"empty", "", []int{}},
		{"chars", "a1 ", []int{c("a"), c("1"), c(" ")}},
		{"newline", "a\nb", []int{c("a"), NewlineID, c("b")}},
		{"tags", "<think>1</think><answer>2</answer>", []int{ThinkOpenID, c("1"), ThinkCloseID, AnswerOpenID, c("2"), AnswerCloseID}},
		{"partial tag", "<thin", []int{c("<"), c("t"), c("h"), c("i"), c("n")}},
		{"partial close tag at end", "</answer", []int{c("<"), c("/"), c("a"), c("n"), c("s"), c("w"), c("e"), c("r")}},
		{"lt before tag", "<<think>", []int{c("<"), ThinkOpenID}},
		{"lt compare", "3<4", []int{c("3"), c("<"), c("4")}},
		{"tag case matters", "<THINK>", []int{c("<"), c("T"), c("H"), c("I"), c("N"), c("K"), c(">")}},
		{"pad name is text", "<pad>", []int{c("<"), c("p"), c("a"), c("d"), c(">")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tok.Encode(tc.in)
			if err != nil {
				t.Fatalf("Encode(%q) error %v", tc.in, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q) = %v, want %v", tc.in, got, tc.want)
			}
			back, err := tok.Decode(got)
			if err != nil || back != tc.in {
				t.Errorf("Decode(Encode(%q)) = %q, %v, want the input", tc.in, back, err)
			}
		})
	}
}

func TestTokenizerEncodeErrors(t *testing.T) {
	tok := NewTokenizer()
	tests := []struct {
		name     string
		in       string
		wantPos  int
		wantText []string // substrings of the error message
	}{
		{"e acute", "ab\u00e9", 2, []string{`'é'`, "U+00E9", "byte 2"}},
		{"tab", "1\t2", 1, []string{`'\t'`, "U+0009", "byte 1"}},
		{"nul", "\x00", 0, []string{`'\x00'`, "U+0000", "byte 0"}},
		{"delete", "12\x7f", 2, []string{"U+007F", "byte 2"}},
		{"carriage return", "1\r\n", 1, []string{"U+000D", "byte 1"}},
		{"invalid utf8", "7\xff", 1, []string{"0xff", "byte 1"}},
		{"arabic digit", "<answer>\u0663</answer>", 8, []string{"U+0663", "byte 8"}},
		{"fullwidth digit", "1\uff11", 1, []string{"U+FF11", "byte 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := []int{42}
			got, err := tok.AppendEncode(dst, tc.in)
			var ee *EncodeError
			if !errors.As(err, &ee) {
				t.Fatalf("AppendEncode(%q) error %v, want *EncodeError", tc.in, err)
			}
			if ee.Pos != tc.wantPos {
				t.Errorf("error position %d, want %d", ee.Pos, tc.wantPos)
			}
			if !slices.Equal(got, dst) {
				t.Errorf("AppendEncode on error returned %v, want dst unchanged %v", got, dst)
			}
			for _, s := range tc.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if !strings.HasPrefix(err.Error(), "data: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
}

func TestTokenizerDecodeErrors(t *testing.T) {
	tok := NewTokenizer()
	a := firstCharID + int('a') - ' '
	tests := []struct {
		name     string
		ids      []int
		wantText []string
	}{
		{"pad", []int{a, PAD}, []string{"token 0", "<pad>", "position 1"}},
		{"bos", []int{BOS, a}, []string{"token 1", "<bos>", "position 0"}},
		{"eos", []int{a, a, EOS}, []string{"token 2", "<eos>", "position 2"}},
		{"negative", []int{a, -1}, []string{"id -1", "position 1"}},
		{"too large", []int{103}, []string{"id 103", "position 0", "0 to 102"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tok.Decode(tc.ids)
			if err == nil {
				t.Fatalf("Decode(%v) = %q, want an error", tc.ids, s)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			b, err2 := tok.AppendDecode([]byte("x"), tc.ids)
			if err2 == nil || string(b) != "x" {
				t.Errorf("AppendDecode(%v) = %q, %v: want dst unchanged and an error", tc.ids, b, err2)
			}
		})
	}
}

func TestTokenizerPromptCompletion(t *testing.T) {
	tok := NewTokenizer()
	p, err := tok.EncodePrompt("add 1+2")
	if err != nil || p[0] != BOS || len(p) != 8 {
		t.Fatalf("EncodePrompt = %v, %v, want BOS + 7 chars", p, err)
	}
	text := "<think>1+2=3</think><answer>3</answer>"
	c, err := tok.EncodeCompletion(text)
	if err != nil || c[len(c)-1] != EOS || len(c) != 11 {
		t.Fatalf("EncodeCompletion = %v, %v, want 10 tokens + EOS", c, err)
	}
	if _, err := tok.EncodeCompletion("\u00e9"); err == nil {
		t.Errorf("EncodeCompletion(é) = nil error, want one")
	}
	tests := []struct {
		name      string
		ids       []int
		wantText  string
		wantEnded bool
		wantErr   bool
	}{
		{"full", c, text, true, false},
		{"cut off", c[:len(c)-1], text, false, false},
		{"after eos ignored", append(slices.Clone(c), BOS, PAD, 999), text, true, false},
		{"only eos", []int{EOS}, "", true, false},
		{"empty", nil, "", false, false},
		{"pad before eos", []int{ThinkOpenID, PAD, EOS}, "", true, true},
		{"unknown before eos", []int{500, EOS}, "", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ended, err := tok.DecodeCompletion(tc.ids)
			if (err != nil) != tc.wantErr {
				t.Fatalf("DecodeCompletion error %v, want error %v", err, tc.wantErr)
			}
			if got != tc.wantText || ended != tc.wantEnded {
				t.Errorf("DecodeCompletion = %q, %v, want %q, %v", got, ended, tc.wantText, tc.wantEnded)
			}
		})
	}
}

func TestTokenizerAllocs(t *testing.T) {
	tok := NewTokenizer()
	text := "<think>47+38: 7+8=15 c1; 4+3+1=8 c0</think><answer>85</answer>"
	dst := make([]int, 0, len(text))
	if n := testing.AllocsPerRun(100, func() {
		dst, _ = tok.AppendEncode(dst[:0], text)
	}); n != 0 {
		t.Errorf("AppendEncode allocs = %v, want 0", n)
	}
	ids, _ := tok.Encode(text)
	buf := make([]byte, 0, len(text))
	if n := testing.AllocsPerRun(100, func() {
		buf, _ = tok.AppendDecode(buf[:0], ids)
	}); n != 0 {
		t.Errorf("AppendDecode allocs = %v, want 0", n)
	}
	if string(buf) != text {
		t.Errorf("AppendDecode = %q, want %q", buf, text)
	}
}

// FuzzTokenizerRoundTrip checks Decode(Encode(s)) == s for every encodable
// s, that Encode fails exactly when s has a byte outside the vocabulary, and
// that decoding arbitrary ids never panics. (Encode(Decode(ids)) need not be
// ids: the characters of "<think>" decode to the text of the tag, which
// encodes to the single tag token.)
func FuzzTokenizerRoundTrip(f *testing.F) {
	for _, s := range []string{"", "add 47+38", "<think>a</think><answer>1</answer>", "<<</think", "x\ny", "\u00e9", "\xff<answer>", "</answer></answer>"} {
		f.Add(s)
	}
	tok := NewTokenizer()
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := tok.Encode(s)
		bad := -1 // first byte outside the vocabulary, by an independent rule
		for i := 0; i < len(s); i++ {
			if c := s[i]; c != '\n' && (c < 32 || c > 126) {
				bad = i
				break
			}
		}
		if bad >= 0 {
			var ee *EncodeError
			if !errors.As(err, &ee) || ee.Pos != bad {
				t.Fatalf("Encode(%q) = %v, %v: want an error at byte %d", s, ids, err, bad)
			}
			return
		}
		if err != nil {
			t.Fatalf("Encode(%q) error %v", s, err)
		}
		back, err := tok.Decode(ids)
		if err != nil || back != s {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", s, back, err)
		}
		// Arbitrary ids (bytes of s taken as ids) never panic.
		raw := make([]int, len(s))
		for i := range s {
			raw[i] = int(s[i]) - 10
		}
		if text, err := tok.Decode(raw); err == nil {
			if _, err := tok.Encode(text); err != nil {
				t.Fatalf("decoded text %q does not encode: %v", text, err)
			}
		}
		_, _, _ = tok.DecodeCompletion(raw)
	})
}

func BenchmarkTokenizerEncode(b *testing.B) {
	tok := NewTokenizer()
	text := "<think>" + strings.Repeat("47+38: 7+8=15 c1; 4+3+1=8 c0 ", 3) + "</think><answer>85</answer>"
	dst := make([]int, 0, len(text))
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		dst, _ = tok.AppendEncode(dst[:0], text)
	}
}

func BenchmarkTokenizerDecode(b *testing.B) {
	tok := NewTokenizer()
	text := "<think>" + strings.Repeat("47+38: 7+8=15 c1; 4+3+1=8 c0 ", 3) + "</think><answer>85</answer>"
	ids, _ := tok.Encode(text)
	buf := make([]byte, 0, len(text))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = tok.AppendDecode(buf[:0], ids)
	}
}

func ExampleTokenizer() {
	tok := NewTokenizer()
	ids, _ := tok.Encode("<answer>42</answer>")
	fmt.Println(ids)
	text, ended, _ := tok.DecodeCompletion(append(ids, EOS, PAD))
	fmt.Println(text, ended)
	_, err := tok.Encode("4\u00b2")
	fmt.Println(err)
	// Output:
	// [5 28 26 6]
	// <answer>42</answer> true
	// data: cannot encode character '²' (U+00B2) at byte 1: want printable ASCII or newline
}
