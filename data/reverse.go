package data

import (
	"math/rand/v2"
	"strings"
)

// Family "rev": reverse a string of lowercase letters.
//
//	prompt    reverse: abcd
//	answer    dcba
//	solution  4:d 3:c 2:b 1:a      (position in the input, from the last to the first, and its letter)
//	key       rev:abcd
//
// Answer rule: exactly the reversed letters; ExtractAnswer trims the white
// space around the answer, anything else that is not a lowercase letter
// (inner spaces, uppercase, digits, punctuation) fails with "not lowercase
// letters"; a wrong letter, a wrong length or the input echoed back fails
// with WrongValue (for a palindrome the echo is the right answer).
//
// Levels (string lengths, letters uniform):
//
//	1: 3-4   2: 5-6   3: 7-9   4: 10-12   5: 16-20 (out of distribution)
//
// Levels outside 1..5 are clamped.
type revFamily struct{}

func init() { register(revFamily{}) }

// Reverse reasons.
const (
	ReasonRevNotLetters = "not lowercase letters"
	ReasonRevBadKey     = "bad problem key"
	ReasonRevBadAnswer  = "problem answer disagrees with key"
)

const revMaxLen = 64 // longest string a key may hold

// revLevels gives the string-length range of each level.
var revLevels = [MaxLevel + 1]struct{ lo, hi int }{{}, {3, 4}, {5, 6}, {7, 9}, {10, 12}, {16, 20}}

func (revFamily) Name() string { return "rev" }

func (revFamily) Description() string { return "reverse a string of lowercase letters" }

func (revFamily) Generate(rng *rand.Rand, level int) Problem {
	level = min(max(level, 1), MaxLevel)
	c := revLevels[level]
	n := c.lo + rng.IntN(c.hi-c.lo+1)
	var s, r [revMaxLen]byte
	for i := range n {
		s[i] = byte('a' + rng.IntN(26))
		r[n-1-i] = s[i]
	}
	b := make([]byte, 0, 96)
	for i := n - 1; i >= 0; i-- {
		if i < n-1 {
			b = append(b, ' ')
		}
		if i+1 >= 10 {
			b = append(b, byte('0'+(i+1)/10))
		}
		b = append(b, byte('0'+(i+1)%10), ':', s[i])
	}
	str := string(s[:n])
	return Problem{
		Family:   "rev",
		Level:    level,
		Key:      "rev:" + str,
		Prompt:   "reverse: " + str,
		Answer:   string(r[:n]),
		Solution: string(b),
	}
}

func (revFamily) Verify(p *Problem, completion string) Verdict {
	ans, reason, ok := ExtractAnswer(completion)
	if !ok {
		return Verdict{Reason: reason}
	}
	s := ""
	if len(p.Key) > 4 && p.Key[:4] == "rev:" {
		s = p.Key[4:]
	}
	if s == "" || len(s) > revMaxLen || !revLetters(s) {
		return Verdict{FormatOK: true, Reason: ReasonRevBadKey}
	}
	if !revIsReverse(p.Answer, s) {
		return Verdict{FormatOK: true, Reason: ReasonRevBadAnswer}
	}
	if !revLetters(ans) {
		return Verdict{FormatOK: true, Reason: ReasonRevNotLetters}
	}
	if !revIsReverse(ans, s) {
		return Verdict{FormatOK: true, Reason: ReasonWrongValue}
	}
	return Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
}

// revLetters reports whether s holds only the letters a-z.
func revLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// revIsReverse reports whether a is s reversed, without allocating.
func revIsReverse(a, s string) bool {
	if len(a) != len(s) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != s[len(s)-1-i] {
			return false
		}
	}
	return true
}

func (revFamily) Notation() string {
	return `prompt "reverse: LETTERS" (lowercase a-z); answer: the letters in reverse order, nothing else:
"reverse: abcd" -> "dcba".`
}

func (revFamily) KeyOfPrompt(prompt string) (string, bool) {
	s, ok := strings.CutPrefix(prompt, "reverse: ")
	if !ok || s == "" || len(s) > revMaxLen || !revLetters(s) {
		return "", false
	}
	return "rev:" + s, true
}

func (revFamily) Canonical(_ *Problem, answer string) string {
	if answer == "" || !revLetters(answer) {
		return ""
	}
	return answer
}
