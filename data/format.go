package data

import "strings"

// The tags of the output contract. The tokenizer gives each a single token.
const (
	TagThinkOpen   = "<think>"
	TagThinkClose  = "</think>"
	TagAnswerOpen  = "<answer>"
	TagAnswerClose = "</answer>"
)

// Limits that let verifiers reject absurd completions before scanning them.
const (
	MaxCompletionBytes = 4096 // a longer completion is rejected as "completion too long"
	MaxAnswerBytes     = 256  // a longer answer block is rejected as "answer too long"
)

// Format reasons. A verdict with one of these has FormatOK == false.
const (
	ReasonTooLong        = "completion too long"
	ReasonNoThink        = "does not start with <think>"
	ReasonThinkUnclosed  = "no </think>"
	ReasonNoAnswer       = "no answer block"
	ReasonAnswerUnclosed = "answer block not closed"
	ReasonTwoAnswers     = "two answer blocks"
	ReasonTwoThinks      = "two think blocks"
	ReasonTextBetween    = "text between </think> and <answer>"
	ReasonTextAfter      = "text after </answer>"
	ReasonTagInAnswer    = "tag inside answer"
	ReasonEmptyAnswer    = "empty answer"
	ReasonAnswerTooLong  = "answer too long"
)

// ExtractAnswer parses a completion (the text before end-of-sequence) under
// the output contract
//
//	<think>THINK</think><answer>ANSWER</answer>
//
// and returns ANSWER trimmed. The rule, exactly:
//
//   - the completion starts with <think>: no byte before it, not even a space;
//   - THINK is any text without a tag (<think>, </think>, <answer>,
//     </answer>), newlines included;
//   - between </think> and <answer>, and after </answer>, only the four ASCII
//     white-space bytes space, tab, LF and CR may stand, any number of them;
//     any other byte (text, \v, \f, a non-breaking space or other Unicode
//     space) is ReasonTextBetween or ReasonTextAfter;
//   - ANSWER loses the same four bytes at both ends; what remains must be
//     non-empty and at most MaxAnswerBytes, and holds no tag; white space
//     inside it is the family's business (most families reject it);
//   - each tag occurs exactly once, in that order; the whole completion is at
//     most MaxCompletionBytes.
//
// The verifier is deliberately this lenient about white space around the
// blocks: making it stricter would change rewards that runs were trained on.
// On failure it returns ok == false and one of the Reason constants. It does
// not allocate.
func ExtractAnswer(completion string) (answer, reason string, ok bool) {
	if len(completion) > MaxCompletionBytes {
		return "", ReasonTooLong, false
	}
	if !strings.HasPrefix(completion, TagThinkOpen) {
		return "", ReasonNoThink, false
	}
	rest := completion[len(TagThinkOpen):]
	end := strings.Index(rest, TagThinkClose)
	if end < 0 {
		return "", ReasonThinkUnclosed, false
	}
	think := rest[:end]
	if strings.Contains(think, TagThinkOpen) {
		return "", ReasonTwoThinks, false
	}
	if strings.Contains(think, TagAnswerOpen) || strings.Contains(think, TagAnswerClose) {
		return "", ReasonTagInAnswer, false
	}
	rest = rest[end+len(TagThinkClose):]
	if strings.Contains(rest, TagThinkOpen) || strings.Contains(rest, TagThinkClose) {
		return "", ReasonTwoThinks, false
	}
	open := strings.Index(rest, TagAnswerOpen)
	if open < 0 {
		return "", ReasonNoAnswer, false
	}
	if !isSpace(rest[:open]) {
		return "", ReasonTextBetween, false
	}
	rest = rest[open+len(TagAnswerOpen):]
	close := strings.Index(rest, TagAnswerClose)
	if close < 0 {
		return "", ReasonAnswerUnclosed, false
	}
	ans := rest[:close]
	after := rest[close+len(TagAnswerClose):]
	if strings.Contains(ans, TagAnswerOpen) {
		return "", ReasonTwoAnswers, false
	}
	if strings.Contains(after, TagAnswerOpen) || strings.Contains(after, TagAnswerClose) {
		return "", ReasonTwoAnswers, false
	}
	if !isSpace(after) {
		return "", ReasonTextAfter, false
	}
	ans = trimSpace(ans)
	if len(ans) == 0 {
		return "", ReasonEmptyAnswer, false
	}
	if len(ans) > MaxAnswerBytes {
		return "", ReasonAnswerTooLong, false
	}
	return ans, ReasonOK, true
}

// isSpace reports whether s holds only ASCII white space.
func isSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// trimSpace trims ASCII white space at both ends without allocating.
func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t' || s[j-1] == '\n' || s[j-1] == '\r') {
		j--
	}
	return s[i:j]
}

// Number reasons.
const (
	ReasonNotNumber    = "not a number"
	ReasonLeadingZeros = "leading zeros"
	ReasonPlusSign     = "plus sign"
	ReasonNegZero      = "negative zero"
	ReasonWrongValue   = "wrong value"
)

// CheckInteger applies tinyr1's integer rule to an (already trimmed) answer:
// an optional '-' followed by ASCII digits, no '+', no leading zeros (except
// "0" itself), no "-0", no separators, no other characters. It returns
// ReasonOK or the reason the text is not a canonical integer. Comparing two
// canonical integers is plain string equality. It does not allocate.
func CheckInteger(s string) string {
	if len(s) == 0 {
		return ReasonNotNumber
	}
	digits := s
	switch s[0] {
	case '-':
		digits = s[1:]
	case '+':
		return ReasonPlusSign
	}
	if len(digits) == 0 {
		return ReasonNotNumber
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return ReasonNotNumber
		}
	}
	if len(digits) > 1 && digits[0] == '0' {
		return ReasonLeadingZeros
	}
	if s[0] == '-' && digits == "0" {
		return ReasonNegZero
	}
	return ReasonOK
}

// canonicalInteger is the Canonical of the families whose answer is one
// integer under CheckInteger: the answer itself when it is canonical (so
// string equality is value equality), else "".
func canonicalInteger(answer string) string {
	if CheckInteger(answer) != ReasonOK {
		return ""
	}
	return answer
}
