package data

import (
	"math/rand/v2"
	"strconv"
)

// Arithmetic families: "add", "addrev", "mul" and "mod". Operands are
// non-negative integers; every answer is checked exactly against the value
// recomputed from the problem key, so a Problem read back from JSON verifies
// the same way, and a Problem whose Answer disagrees with its Key accepts
// nothing ("problem answer disagrees with key"). Each family has
// its own file: add.go (add and addrev, one type), mul.go and mod.go;
// this file holds what they share.

// Arithmetic reasons (besides the format and number reasons of format.go).
const (
	ReasonArithBadKey    = "bad problem key"
	ReasonArithBadAnswer = "problem answer disagrees with key"
)

// arithMaxDigits bounds each number in a key, so that sums and products of
// key numbers fit in a uint64 (mul and mod allow half of it per operand).
const arithMaxDigits = 18

// pow10 holds 10^0 .. 10^18.
var pow10 = func() (p [19]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// arithDraw draws a number with exactly n digits (0..9 for n == 1).
func arithDraw(rng *rand.Rand, n int) uint64 {
	if n <= 1 {
		return rng.Uint64N(10)
	}
	return pow10[n-1] + rng.Uint64N(pow10[n]-pow10[n-1])
}

// arithClamp maps a level outside 1..MaxLevel to the nearest one.
func arithClamp(level int) int { return min(max(level, 1), MaxLevel) }

// ---- shared helpers ----

// arithAppendOp appends "a<op>b".
func arithAppendOp(dst []byte, a uint64, op byte, b uint64) []byte {
	dst = strconv.AppendUint(dst, a, 10)
	dst = append(dst, op)
	return strconv.AppendUint(dst, b, 10)
}

// arithScan reads a canonical non-negative integer of at most maxDigits
// digits (no sign, no leading zeros) from the start of s.
func arithScan(s string, maxDigits int) (v uint64, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if i == maxDigits {
			return 0, s, false
		}
		v = v*10 + uint64(s[i]-'0')
		i++
	}
	if i == 0 || (i > 1 && s[0] == '0') {
		return 0, s, false
	}
	return v, s[i:], true
}

// arithParseOp parses a key "<prefix>a<op>b". It does not allocate.
func arithParseOp(key, prefix string, op byte, maxDigits int) (a, b uint64, ok bool) {
	if len(key) < len(prefix) || key[:len(prefix)] != prefix {
		return 0, 0, false
	}
	a, s, ok := arithScan(key[len(prefix):], maxDigits)
	if !ok || len(s) == 0 || s[0] != op {
		return 0, 0, false
	}
	b, s, ok = arithScan(s[1:], maxDigits)
	if !ok || len(s) != 0 {
		return 0, 0, false
	}
	return a, b, true
}

// arithVerify is the verifier shared by the arithmetic families: the
// contract (ExtractAnswer), the answer syntax (check), the problem's own
// Answer against the value recomputed from its key (want), then exact
// equality. It does not allocate.
func arithVerify(p *Problem, completion string, want []byte, check func(string) string) Verdict {
	if p.Answer != string(want) {
		return Verdict{Reason: ReasonArithBadAnswer}
	}
	ans, reason, ok := ExtractAnswer(completion)
	if !ok {
		return Verdict{Reason: reason}
	}
	if r := check(ans); r != ReasonOK {
		return Verdict{FormatOK: true, Reason: r}
	}
	if ans != p.Answer {
		return Verdict{FormatOK: true, Reason: ReasonWrongValue}
	}
	return Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
}
