package data

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Family "base": convert a number between bases 2 to 16.
//
//	prompt    base 10 to base 2: 37
//	answer    100101
//	solution  37/2 18r1 9r0 4r1 2r0 1r0 0r1
//	key       base:10:2:37               (from base, to base, the digits as written in the from base)
//
//	prompt    base 7 to base 3: 254
//	answer    12002
//	solution  2 19 137; 137/3 45r2 15r0 5r0 1r2 0r1
//
// The worked solution has two phases. From a base other than 10, it first
// reads the digits left to right into a decimal value, writing the running
// value v = v*from + digit after each digit (Horner). To a base other than
// 10, it then divides by the target base until the quotient is 0, writing
// "quotient r remainder" for each step (the remainder as a digit of the
// target base); the answer is the remainders read from last to first.
//
// Answer rule: the digits of the value in the target base, lowercase
// letters a-f for 10-15, no prefix ("0x", "0b", "0o" are "base prefix"), no
// sign, no leading zeros (LeadingZeros; "0" itself is fine). Uppercase
// digits fail with "uppercase digit" (only lowercase is accepted, the form
// the prompts and solutions use); a digit the target base does not have
// ("2" in base 2, "g" anywhere) fails with "digit not in base".
//
// Levels:
//
//	1: decimal 0..63 to base 2
//	2: decimal 0..255 to a base in 2..9
//	3: decimal 0..4095 to a base in 2..16 other than 10
//	4: 0..1023 between two different bases in 2..16, neither 10
//	5: 4096..65535 between two different bases in 2..16 (out of distribution: larger numbers)
//
// Level 1 runs to 63 rather than 15 so that its key space (64 keys) leaves
// every split a slice of several keys. Levels outside 1..5 are clamped.
type baseFamily struct{}

func init() { register(baseFamily{}) }

// Base reasons.
const (
	ReasonBasePrefix    = "base prefix"       // "0x1f", "0b101", "0o17"
	ReasonBaseUppercase = "uppercase digit"   // "1F"
	ReasonBaseDigit     = "digit not in base" // "102" in base 2
	ReasonBaseBadKey    = "bad problem key"
	ReasonBaseBadAnswer = "problem answer disagrees with key"
)

const (
	baseDigits    = "0123456789abcdef"
	baseMaxDigits = 64      // longest numeral a key may hold
	baseMaxValue  = 1 << 52 // largest value a key may hold; far beyond every level, far from int64 overflow
)

func (baseFamily) Name() string { return "base" }

func (baseFamily) Description() string {
	return "convert a number between bases 2-16 (lowercase digits, no prefix)"
}

func (baseFamily) Generate(rng *rand.Rand, level int) Problem {
	level = min(max(level, 1), MaxLevel)
	from, to := 10, 2
	var v int64
	switch level {
	case 1:
		v = rng.Int64N(64)
	case 2:
		v, to = rng.Int64N(256), 2+rng.IntN(8)
	case 3:
		v, to = rng.Int64N(4096), baseNotTen(2+rng.IntN(14))
	case 4:
		v = rng.Int64N(1024)
		i, j := rng.IntN(14), rng.IntN(13) // indexes into the 14 bases other than 10
		if j >= i {
			j++
		}
		from, to = baseNotTen(2+i), baseNotTen(2+j)
	default:
		v = 4096 + rng.Int64N(65536-4096)
		from = 2 + rng.IntN(15)
		to = 2 + rng.IntN(14)
		if to >= from {
			to++
		}
	}
	p := baseProblem(v, from, to)
	p.Level = level
	return p
}

// baseProblem builds the problem "convert v from base from to base to".
func baseProblem(v int64, from, to int) Problem {
	var dbuf [64]byte
	digits := string(baseFormat(dbuf[:], v, from))
	answer := string(baseFormat(dbuf[:], v, to))

	b := make([]byte, 0, 192)
	if from != 10 { // Horner: running value after each digit
		var acc int64
		for i := 0; i < len(digits); i++ {
			acc = acc*int64(from) + int64(baseDigitValue(digits[i]))
			if i > 0 {
				b = append(b, ' ')
			}
			b = strconv.AppendInt(b, acc, 10)
		}
	}
	if to != 10 { // repeated division: quotient r remainder
		if len(b) > 0 {
			b = append(b, "; "...)
		}
		b = strconv.AppendInt(b, v, 10)
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(to), 10)
		for q := v; ; {
			r := q % int64(to)
			q /= int64(to)
			b = append(b, ' ')
			b = strconv.AppendInt(b, q, 10)
			b = append(b, 'r', baseDigits[r])
			if q == 0 {
				break
			}
		}
	}
	solution := string(b)

	b = append(b[:0], "base "...)
	b = strconv.AppendInt(b, int64(from), 10)
	b = append(b, " to base "...)
	b = strconv.AppendInt(b, int64(to), 10)
	b = append(b, ": "...)
	b = append(b, digits...)
	prompt := string(b)

	b = append(b[:0], "base:"...)
	b = strconv.AppendInt(b, int64(from), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(to), 10)
	b = append(b, ':')
	b = append(b, digits...)
	return Problem{Family: "base", Key: string(b), Prompt: prompt, Answer: answer, Solution: solution}
}

// baseNotTen maps 2..15 onto the bases 2..16 other than 10, in order.
func baseNotTen(b int) int {
	if b >= 10 {
		return b + 1
	}
	return b
}

func (baseFamily) Verify(p *Problem, completion string) Verdict {
	ans, reason, ok := ExtractAnswer(completion)
	if !ok {
		return Verdict{Reason: reason}
	}
	v, to, ok := baseParseKey(p.Key)
	if !ok {
		return Verdict{FormatOK: true, Reason: ReasonBaseBadKey}
	}
	var buf [64]byte
	gold := baseFormat(buf[:], v, to)
	if p.Answer != string(gold) {
		return Verdict{FormatOK: true, Reason: ReasonBaseBadAnswer}
	}
	if r := baseCheckDigits(ans, to); r != ReasonOK {
		return Verdict{FormatOK: true, Reason: r}
	}
	if ans != string(gold) {
		return Verdict{FormatOK: true, Reason: ReasonWrongValue}
	}
	return Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
}

// baseCheckDigits applies the answer rule to s (already trimmed) for the
// given base and returns ReasonOK or why s is not a canonical numeral. It
// does not allocate.
func baseCheckDigits(s string, base int) string {
	if len(s) == 0 {
		return ReasonNotNumber
	}
	if len(s) > 1 && s[0] == '0' {
		switch s[1] {
		case 'x', 'X', 'b', 'B', 'o', 'O':
			return ReasonBasePrefix
		}
	}
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z':
		default:
			return ReasonNotNumber
		}
	}
	if upper {
		return ReasonBaseUppercase
	}
	for i := 0; i < len(s); i++ {
		if baseDigitValue(s[i]) >= base {
			return ReasonBaseDigit
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return ReasonLeadingZeros
	}
	return ReasonOK
}

// baseDigitValue is the value of a lowercase digit 0-9a-z, or 99.
func baseDigitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	}
	return 99
}

// baseFormat writes v >= 0 in the given base at the end of dst (which must
// hold 64 bytes) and returns that tail. It does not allocate.
func baseFormat(dst []byte, v int64, base int) []byte {
	i := len(dst)
	for {
		i--
		dst[i] = baseDigits[v%int64(base)]
		v /= int64(base)
		if v == 0 {
			return dst[i:]
		}
	}
}

// baseParseKey reads "base:FROM:TO:DIGITS" (bases 2..16 written canonically,
// DIGITS a canonical numeral in FROM of at most baseMaxDigits digits and
// value at most baseMaxValue) and returns the value and the target base. It
// does not allocate.
func baseParseKey(key string) (v int64, to int, ok bool) {
	if len(key) < 5 || key[:5] != "base:" {
		return 0, 0, false
	}
	key = key[5:]
	from, key, ok := baseParseRadix(key)
	if !ok {
		return 0, 0, false
	}
	to, key, ok = baseParseRadix(key)
	if !ok || len(key) > baseMaxDigits || baseCheckDigits(key, from) != ReasonOK {
		return 0, 0, false
	}
	for i := 0; i < len(key); i++ {
		v = v*int64(from) + int64(baseDigitValue(key[i]))
		if v > baseMaxValue {
			return 0, 0, false
		}
	}
	return v, to, true
}

// baseParseRadix reads a base 2..16 written in decimal and the ':' after it.
func baseParseRadix(s string) (base int, rest string, ok bool) {
	switch {
	case len(s) > 2 && s[1] == ':' && s[0] >= '2' && s[0] <= '9':
		return int(s[0] - '0'), s[2:], true
	case len(s) > 3 && s[2] == ':' && s[0] == '1' && s[1] >= '0' && s[1] <= '6':
		return 10 + int(s[1]-'0'), s[3:], true
	}
	return 0, "", false
}

func (baseFamily) Notation() string {
	return `prompt "base F to base T: DIGITS" (bases 2-16, DIGITS written in base F); answer: the value's
digits in base T, lowercase a-f for 10-15, no prefix, no sign, no leading zeros:
"base 7 to base 3: 254" -> "12002" ("0x1f", "1F" and "012" are rejected).`
}

func (baseFamily) KeyOfPrompt(prompt string) (string, bool) {
	rest, ok := strings.CutPrefix(prompt, "base ")
	if !ok {
		return "", false
	}
	from, rest, ok := strings.Cut(rest, " to base ")
	if !ok {
		return "", false
	}
	to, digits, ok := strings.Cut(rest, ": ")
	if !ok {
		return "", false
	}
	key := "base:" + from + ":" + to + ":" + digits
	if _, _, ok := baseParseKey(key); !ok {
		return "", false
	}
	return key, true
}

func (baseFamily) Canonical(p *Problem, answer string) string {
	_, to, ok := baseParseKey(p.Key)
	if !ok || baseCheckDigits(answer, to) != ReasonOK {
		return ""
	}
	return answer
}
