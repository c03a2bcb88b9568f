package data

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Family "bits": count the 1 bits of a binary string, or give its parity.
// One family with two operations, drawn with equal probability:
//
//	prompt    ones in 01101              parity of 01101
//	answer    3                          1
//	solution  0:0 1:1 1:2 0:2 1:3        0:0 1:1 1:0 0:0 1:1
//	key       bits:ones:01101            bits:parity:01101
//
// The input is always binary with a fixed width (leading zeros are part of
// the problem: "0110" and "110" are different problems of different
// levels). The answer is always a decimal canonical integer (CheckInteger):
// the popcount, or the parity as 0 (even number of 1 bits) or 1 (odd). An
// answer written in binary ("11" for three), with a prefix ("0b11"), as a
// word ("odd") or with leading zeros fails. The worked solution walks the
// bits from left to right, one "bit:running" pair per bit, where running is
// the count (or the count mod 2) so far; the last pair holds the answer.
//
// Levels (bit widths, every bit uniform):
//
//	1: 4-6 bits   2: 7-8 bits   3: 9-12 bits   4: 13-16 bits   5: 20-24 bits (out of distribution)
//
// Level 1 spans 4-6 bits rather than exactly 4 so that its key space (224
// keys) leaves every split a slice of a dozen keys or more. Levels outside
// 1..5 are clamped.
type bitsFamily struct{}

func init() { register(bitsFamily{}) }

// Bits reasons.
const (
	ReasonBitsBadKey    = "bad problem key"
	ReasonBitsBadAnswer = "problem answer disagrees with key"
)

const bitsMaxWidth = 64 // longest bit string a key may hold

// bitsLevels gives the bit-width range of each level.
var bitsLevels = [MaxLevel + 1]struct{ lo, hi int }{{}, {4, 6}, {7, 8}, {9, 12}, {13, 16}, {20, 24}}

func (bitsFamily) Name() string { return "bits" }

func (bitsFamily) Description() string {
	return "count the 1 bits of a binary string, or give its parity (0 even, 1 odd)"
}

func (bitsFamily) Generate(rng *rand.Rand, level int) Problem {
	level = min(max(level, 1), MaxLevel)
	c := bitsLevels[level]
	width := c.lo + rng.IntN(c.hi-c.lo+1)
	x := rng.Uint64()
	parity := rng.IntN(2) == 1
	op, prompt := "ones", "ones in "
	if parity {
		op, prompt = "parity", "parity of "
	}
	var bits [bitsMaxWidth]byte
	b := make([]byte, 0, 128)
	count := 0
	for i := range width {
		bit := byte('0' + x>>uint(i)&1)
		bits[i] = bit
		count += int(bit - '0')
		if parity {
			count &= 1
		}
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, bit, ':')
		b = strconv.AppendInt(b, int64(count), 10)
	}
	solution := string(b)
	s := string(bits[:width])
	return Problem{
		Family:   "bits",
		Level:    level,
		Key:      "bits:" + op + ":" + s,
		Prompt:   prompt + s,
		Answer:   strconv.Itoa(count),
		Solution: solution,
	}
}

func (bitsFamily) Verify(p *Problem, completion string) Verdict {
	ans, reason, ok := ExtractAnswer(completion)
	if !ok {
		return Verdict{Reason: reason}
	}
	want, ok := bitsParseKey(p.Key)
	if !ok {
		return Verdict{FormatOK: true, Reason: ReasonBitsBadKey}
	}
	var buf [20]byte
	gold := strconv.AppendInt(buf[:0], int64(want), 10)
	if p.Answer != string(gold) {
		return Verdict{FormatOK: true, Reason: ReasonBitsBadAnswer}
	}
	if r := CheckInteger(ans); r != ReasonOK {
		return Verdict{FormatOK: true, Reason: r}
	}
	if ans != string(gold) {
		return Verdict{FormatOK: true, Reason: ReasonWrongValue}
	}
	return Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
}

// bitsParseKey reads "bits:ones:BITS" or "bits:parity:BITS" (1 to
// bitsMaxWidth binary digits) and returns the expected answer. It does not
// allocate.
func bitsParseKey(key string) (want int, ok bool) {
	parity := false
	switch {
	case len(key) > 10 && key[:10] == "bits:ones:":
		key = key[10:]
	case len(key) > 12 && key[:12] == "bits:parity:":
		key, parity = key[12:], true
	default:
		return 0, false
	}
	if len(key) > bitsMaxWidth {
		return 0, false
	}
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '1':
			want++
		case '0':
		default:
			return 0, false
		}
	}
	if parity {
		want &= 1
	}
	return want, true
}

func (bitsFamily) Notation() string {
	return `prompt "ones in BITS" (how many 1 bits) or "parity of BITS" (0 even, 1 odd); BITS is binary,
its leading zeros part of the problem; answer: a canonical decimal integer: "ones in 01101" -> "3",
"parity of 01101" -> "1" (not binary, no "0b", not "odd").`
}

func (bitsFamily) KeyOfPrompt(prompt string) (string, bool) {
	var key string
	switch {
	case strings.HasPrefix(prompt, "ones in "):
		key = "bits:ones:" + prompt[len("ones in "):]
	case strings.HasPrefix(prompt, "parity of "):
		key = "bits:parity:" + prompt[len("parity of "):]
	default:
		return "", false
	}
	if _, ok := bitsParseKey(key); !ok {
		return "", false
	}
	return key, true
}

func (bitsFamily) Canonical(_ *Problem, answer string) string { return canonicalInteger(answer) }
