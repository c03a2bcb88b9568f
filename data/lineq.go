package data

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Family "lineq": solve a linear equation a*x+b=c in one variable whose
// solution is an integer.
//
//	prompt    solve 3x+5=20
//	answer    5
//	solution  3x=20-5=15 x=15/3=5
//	key       lineq:3,5,20                (a, b, c)
//
// The worked solution moves b to the right-hand side, then divides by a
// ("x=15/-3=-5" when a is negative). With b = 0 the equation reads "3x=15"
// and the first step is left out. Nothing else is rewritten, so the key is
// the triple as shown and two equations with equal (a, b, c) are the same
// problem.
//
// Levels (x drawn first, then a != 0 and b; c = a*x+b):
//
//	1: a in 2..9, x in 0..9, b in 0..9
//	2: a in 2..9, x in 0..30, b in 0..99
//	3: a in 2..12, x in -20..20, b in -50..50 (negative x, b and c)
//	4: a in +-2..20, x in -50..50, b in -99..99 (negative a too)
//	5: a in +-2..99, x in -999..999, b in -9999..9999 (out of distribution: more digits)
//
// Answer rule: the value of x alone as a canonical integer (CheckInteger):
// "x=5", "5.0", "+5", "05" and "5 or 6" all fail with CheckInteger's
// reason; a different integer is ReasonWrongValue. Verify computes x from
// the key (p.Answer is not consulted) and does not allocate. Levels outside
// 1..5 are clamped.
type lineq struct{}

func init() { register(lineq{}) }

// ReasonLineqBadKey is the verdict for an unreadable key or one whose
// equation has no integer solution.
const ReasonLineqBadKey = "bad problem key"

// lineqMaxAbs bounds the numbers a key may hold.
const lineqMaxAbs = 1_000_000_000

// lineqLevels gives each level's ranges; a's sign is negative half the time
// when negA is set.
var lineqLevels = [MaxLevel + 1]struct {
	aMax     int64 // a in 2..aMax
	negA     bool  // a may be negative
	xLo, xHi int64 // x range
	bLo, bHi int64 // b range
}{
	{},
	{9, false, 0, 9, 0, 9},
	{9, false, 0, 30, 0, 99},
	{12, false, -20, 20, -50, 50},
	{20, true, -50, 50, -99, 99},
	{99, true, -999, 999, -9999, 9999},
}

func (lineq) Name() string { return "lineq" }

func (lineq) Description() string {
	return "solve a linear equation ax+b=c with an integer solution"
}

func (lineq) Generate(rng *rand.Rand, level int) Problem {
	level = min(max(level, 1), MaxLevel)
	c := lineqLevels[level]
	a := 2 + rng.Int64N(c.aMax-1)
	if c.negA && rng.IntN(2) == 1 {
		a = -a
	}
	x := c.xLo + rng.Int64N(c.xHi-c.xLo+1)
	b := c.bLo + rng.Int64N(c.bHi-c.bLo+1)
	rhs := a*x + b

	buf := make([]byte, 0, 64)
	buf = append(buf, "solve "...)
	buf = lineqAppendLHS(buf, a, b)
	buf = append(buf, '=')
	buf = strconv.AppendInt(buf, rhs, 10)
	prompt := string(buf)

	buf = append(buf[:0], "lineq:"...)
	buf = strconv.AppendInt(buf, a, 10)
	buf = append(buf, ',')
	buf = strconv.AppendInt(buf, b, 10)
	buf = append(buf, ',')
	buf = strconv.AppendInt(buf, rhs, 10)
	key := string(buf)

	// 3x=20-5=15 x=15/3=5
	buf = buf[:0]
	buf = strconv.AppendInt(buf, a, 10)
	buf = append(buf, "x="...)
	if b != 0 {
		buf = strconv.AppendInt(buf, rhs, 10)
		buf = lineqAppendTerm(buf, -b)
		buf = append(buf, '=')
	}
	buf = strconv.AppendInt(buf, rhs-b, 10)
	buf = append(buf, " x="...)
	buf = strconv.AppendInt(buf, rhs-b, 10)
	buf = append(buf, '/')
	buf = strconv.AppendInt(buf, a, 10)
	buf = append(buf, '=')
	buf = strconv.AppendInt(buf, x, 10)
	return Problem{Family: "lineq", Level: level, Key: key, Prompt: prompt, Answer: strconv.FormatInt(x, 10), Solution: string(buf)}
}

// lineqAppendLHS writes "ax+b", "ax-b" or "ax" (b = 0).
func lineqAppendLHS(dst []byte, a, b int64) []byte {
	dst = strconv.AppendInt(dst, a, 10)
	dst = append(dst, 'x')
	if b != 0 {
		dst = lineqAppendTerm(dst, b)
	}
	return dst
}

// lineqAppendTerm writes v with an explicit sign: "+5" or "-5".
func lineqAppendTerm(dst []byte, v int64) []byte {
	if v >= 0 {
		dst = append(dst, '+')
	}
	return strconv.AppendInt(dst, v, 10)
}

func (lineq) Verify(p *Problem, completion string) Verdict {
	ans, reason, ok := ExtractAnswer(completion)
	if !ok {
		return Verdict{Reason: reason}
	}
	x, ok := lineqSolveKey(p.Key)
	if !ok {
		return Verdict{FormatOK: true, Reason: ReasonLineqBadKey}
	}
	if r := CheckInteger(ans); r != ReasonOK {
		return Verdict{FormatOK: true, Reason: r}
	}
	var buf [24]byte
	if string(strconv.AppendInt(buf[:0], x, 10)) != ans {
		return Verdict{FormatOK: true, Reason: ReasonWrongValue}
	}
	return Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
}

// lineqSolveKey reads "lineq:a,b,c" (canonical integers of magnitude at
// most lineqMaxAbs, a != 0, a dividing c-b) and returns x = (c-b)/a. It
// does not allocate.
func lineqSolveKey(key string) (x int64, ok bool) {
	const prefix = "lineq:"
	if len(key) <= len(prefix) || key[:len(prefix)] != prefix {
		return 0, false
	}
	var v [3]int64
	s := key[len(prefix):]
	for i := range v {
		end := 0
		for end < len(s) && s[end] != ',' {
			end++
		}
		if (i < 2) != (end < len(s)) { // a and b end at ',', c at the end
			return 0, false
		}
		n, ok := lineqInt(s[:end])
		if !ok {
			return 0, false
		}
		v[i] = n
		if end < len(s) {
			s = s[end+1:]
		}
	}
	a, b, c := v[0], v[1], v[2]
	if a == 0 || (c-b)%a != 0 {
		return 0, false
	}
	return (c - b) / a, true
}

// lineqInt parses a canonical integer of magnitude at most lineqMaxAbs.
func lineqInt(s string) (int64, bool) {
	if CheckInteger(s) != ReasonOK {
		return 0, false
	}
	digits := s
	if s[0] == '-' {
		digits = s[1:]
	}
	if len(digits) > 10 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		n = n*10 + int64(digits[i]-'0')
	}
	if n > lineqMaxAbs {
		return 0, false
	}
	if s[0] == '-' {
		n = -n
	}
	return n, true
}

func (lineq) Notation() string {
	return `prompt "solve AX+B=C" ("solve 3x+5=20", "solve -4x-7=9", "solve 3x=15" when B is 0); answer: x alone
as a canonical integer: "solve 3x+5=20" -> "5" ("x=5", "5.0", "+5" are rejected).`
}

func (lineq) KeyOfPrompt(prompt string) (string, bool) {
	s, ok := strings.CutPrefix(prompt, "solve ")
	if !ok {
		return "", false
	}
	lhs, c, ok := strings.Cut(s, "=")
	if !ok {
		return "", false
	}
	a, term, ok := strings.Cut(lhs, "x")
	if !ok {
		return "", false
	}
	b := "0"
	if term != "" {
		switch term[0] {
		case '+':
			b = term[1:]
		case '-':
			b = term
		default:
			return "", false
		}
		if b == "0" {
			return "", false // the generator leaves out a zero term
		}
	}
	key := "lineq:" + a + "," + b + "," + c
	if _, ok := lineqSolveKey(key); !ok {
		return "", false
	}
	return key, true
}

func (lineq) Canonical(_ *Problem, answer string) string { return canonicalInteger(answer) }
