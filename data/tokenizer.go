package data

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Token ids of the special tokens. The four tags of the output contract are
// single tokens, so that a tag costs one position of the model's context and
// the model cannot emit half a tag.
const (
	PAD           = 0 // padding; never part of a text
	BOS           = 1 // beginning of sequence; starts every prompt
	EOS           = 2 // end of sequence; ends every completion
	ThinkOpenID   = 3 // "<think>"
	ThinkCloseID  = 4 // "</think>"
	AnswerOpenID  = 5 // "<answer>"
	AnswerCloseID = 6 // "</answer>"
	NewlineID     = 7 // '\n'
	firstCharID   = 8 // ' ' (0x20); printable ASCII 0x20..0x7e follow in order
)

const (
	firstPrintable = 0x20                                             // ' '
	lastPrintable  = 0x7e                                             // '~'
	vocabSize      = firstCharID + lastPrintable - firstPrintable + 1 // 103
)

// tagTokens are the tag strings in id order, from ThinkOpenID on.
var tagTokens = [...]string{TagThinkOpen, TagThinkClose, TagAnswerOpen, TagAnswerClose}

// Tokenizer is tinyr1's character-level tokenizer. Its vocabulary is fixed:
//
//	0 <pad>  1 <bos>  2 <eos>
//	3 <think>  4 </think>  5 <answer>  6 </answer>
//	7 '\n'   8..102 printable ASCII ' '..'~' in byte order
//
// Every character a task can produce is in it. Encode turns each of the four
// tag strings into its single token wherever it occurs (so "<think>" written
// out character by character does not exist as a token sequence) and every
// other byte into its character token; a character outside the vocabulary is
// an error, never dropped.
//
// Decode is the exact inverse of Encode over texts: it accepts only tag and
// character tokens and rejects PAD, BOS and EOS with an error, so that
// Decode(Encode(s)) == s for every encodable s and a stray control token is
// never silently turned into text. DecodeCompletion is the form for sampled
// completions: it stops at the first EOS.
//
// A Tokenizer holds only lookup tables; it is safe for concurrent use.
type Tokenizer struct {
	byteID [256]int8 // token id of a byte, -1 when the byte is not in the vocabulary
	tokens []string  // token id -> string
}

// NewTokenizer returns the tokenizer.
func NewTokenizer() *Tokenizer {
	t := &Tokenizer{tokens: make([]string, vocabSize)}
	for i := range t.byteID {
		t.byteID[i] = -1
	}
	t.tokens[PAD] = "<pad>"
	t.tokens[BOS] = "<bos>"
	t.tokens[EOS] = "<eos>"
	for i, tag := range tagTokens {
		t.tokens[ThinkOpenID+i] = tag
	}
	t.byteID['\n'] = NewlineID
	t.tokens[NewlineID] = "\n"
	for c := firstPrintable; c <= lastPrintable; c++ {
		id := firstCharID + c - firstPrintable
		t.byteID[c] = int8(id)
		t.tokens[id] = string(rune(c))
	}
	return t
}

// VocabSize is the number of token ids.
func (t *Tokenizer) VocabSize() int { return vocabSize }

// PAD, BOS and EOS return the special ids (also available as constants).
func (t *Tokenizer) PAD() int { return PAD }
func (t *Tokenizer) BOS() int { return BOS }
func (t *Tokenizer) EOS() int { return EOS }

// Tokens returns the vocabulary as strings, indexed by id: "<pad>", "<bos>",
// "<eos>", the four tags, "\n", then the printable ASCII characters.
// Checkpoints store it; CheckTokens compares a stored one.
func (t *Tokenizer) Tokens() []string {
	return append([]string(nil), t.tokens...)
}

// CheckTokens returns an error unless tokens is exactly this tokenizer's
// vocabulary (e.g. the one saved in a checkpoint).
func (t *Tokenizer) CheckTokens(tokens []string) error {
	if len(tokens) != len(t.tokens) {
		return fmt.Errorf("data: vocabulary has %d tokens: want %d", len(tokens), len(t.tokens))
	}
	for i, s := range tokens {
		if s != t.tokens[i] {
			return fmt.Errorf("data: vocabulary token %d is %q: want %q", i, s, t.tokens[i])
		}
	}
	return nil
}

// TokenString returns the string of one id, or an error for an unknown id.
func (t *Tokenizer) TokenString(id int) (string, error) {
	if id < 0 || id >= len(t.tokens) {
		return "", fmt.Errorf("data: unknown token id %d: want 0 to %d", id, len(t.tokens)-1)
	}
	return t.tokens[id], nil
}

// EncodeError reports a character outside the vocabulary.
type EncodeError struct {
	Char rune // the character (utf8.RuneError for invalid UTF-8)
	Byte byte // the first byte of the character
	Pos  int  // its byte offset in the text
}

func (e *EncodeError) Error() string {
	if e.Char == utf8.RuneError {
		return fmt.Sprintf("data: cannot encode byte 0x%02x at byte %d: want printable ASCII or newline", e.Byte, e.Pos)
	}
	return fmt.Sprintf("data: cannot encode character %q (%U) at byte %d: want printable ASCII or newline", e.Char, e.Char, e.Pos)
}

// Encode returns the token ids of s.
func (t *Tokenizer) Encode(s string) ([]int, error) {
	return t.AppendEncode(make([]int, 0, len(s)), s)
}

// AppendEncode appends the token ids of s to dst and returns the extended
// slice. It does not allocate when dst has room for len(s) more ids. On
// error it returns dst as it was (same length) and an *EncodeError.
func (t *Tokenizer) AppendEncode(dst []int, s string) ([]int, error) {
	n0 := len(dst)
	for i := 0; i < len(s); {
		c := s[i]
		if c == '<' {
			if id, n := matchTag(s[i:]); n > 0 {
				dst = append(dst, id)
				i += n
				continue
			}
		}
		id := t.byteID[c]
		if id < 0 {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return dst[:n0], &EncodeError{Char: r, Byte: c, Pos: i}
		}
		dst = append(dst, int(id))
		i++
	}
	return dst, nil
}

// matchTag returns the id and length of the tag s starts with, or n == 0.
func matchTag(s string) (id, n int) {
	if len(s) < len(TagThinkOpen) {
		return 0, 0
	}
	for i, tag := range tagTokens {
		if strings.HasPrefix(s, tag) {
			return ThinkOpenID + i, len(tag)
		}
	}
	return 0, 0
}

// EncodePrompt returns BOS followed by the tokens of prompt.
func (t *Tokenizer) EncodePrompt(prompt string) ([]int, error) {
	dst := make([]int, 1, len(prompt)+1)
	dst[0] = BOS
	return t.AppendEncode(dst, prompt)
}

// EncodeCompletion returns the tokens of text followed by EOS.
func (t *Tokenizer) EncodeCompletion(text string) ([]int, error) {
	dst, err := t.AppendEncode(make([]int, 0, len(text)+1), text)
	if err != nil {
		return nil, err
	}
	return append(dst, EOS), nil
}

// DecodeError reports an id that Decode does not accept.
type DecodeError struct {
	ID  int // the offending id
	Pos int // its index in the id slice
}

func (e *DecodeError) Error() string {
	switch e.ID {
	case PAD, BOS, EOS:
		return fmt.Sprintf("data: cannot decode special token %d (%s) at position %d: want a tag or character token", e.ID, [...]string{"<pad>", "<bos>", "<eos>"}[e.ID], e.Pos)
	}
	return fmt.Sprintf("data: cannot decode unknown token id %d at position %d: want 0 to %d", e.ID, e.Pos, vocabSize-1)
}

// Decode returns the text of ids. It is the inverse of Encode: PAD, BOS and
// EOS are not text and are rejected with a *DecodeError, as is any id
// outside the vocabulary.
func (t *Tokenizer) Decode(ids []int) (string, error) {
	n := 0
	for i, id := range ids {
		if id < ThinkOpenID || id >= vocabSize {
			return "", &DecodeError{ID: id, Pos: i}
		}
		n += len(t.tokens[id])
	}
	var b strings.Builder
	b.Grow(n)
	for _, id := range ids {
		b.WriteString(t.tokens[id])
	}
	return b.String(), nil
}

// AppendDecode appends the text of ids to dst under Decode's rules. It does
// not allocate when dst has room. On error it returns dst unchanged.
func (t *Tokenizer) AppendDecode(dst []byte, ids []int) ([]byte, error) {
	n0 := len(dst)
	for i, id := range ids {
		if id < ThinkOpenID || id >= vocabSize {
			return dst[:n0], &DecodeError{ID: id, Pos: i}
		}
		dst = append(dst, t.tokens[id]...)
	}
	return dst, nil
}

// DecodeCompletion decodes sampled completion ids up to (not including) the
// first EOS. ended reports whether an EOS was found; a completion without
// one was cut off by the length limit. PAD or BOS before the EOS, or an
// unknown id, is an error; ids after the EOS are ignored.
func (t *Tokenizer) DecodeCompletion(ids []int) (text string, ended bool, err error) {
	for i, id := range ids {
		if id == EOS {
			ids, ended = ids[:i], true
			break
		}
	}
	text, err = t.Decode(ids)
	if err != nil {
		return "", ended, err
	}
	return text, ended, nil
}
