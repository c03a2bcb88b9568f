package data

import (
	"math/rand/v2"
	"strconv"
)

// "mul": multiplication as partial products, then their sum:
//
//	prompt    mul 47*38
//	solution  47*8=376; 47*30=1410; 376+1410=1786
//	answer    1786
//	key       mul:38*47
//
// The first prompt operand is multiplied by each digit of the second, from
// the right, each partial product shifted by its place; with a one-digit
// second operand the single partial product is the answer. The first operand
// is the one with more digits (random order for equal lengths); the key
// orders the operands, smaller first. Levels (digits of the two operands):
// 1: 1x1, 2: 2x1, 3: 2x2, 4: 3x2, 5: 3x3 (out of distribution). A one-digit
// operand is 0..9, a longer one has no leading zero.
type mulFamily struct{}

func init() { register(mulFamily{}) }

// mulDigits gives the digit counts of the two operands per level.
var mulDigits = [MaxLevel + 1][2]int{{}, {1, 1}, {2, 1}, {2, 2}, {3, 2}, {3, 3}}

func (mulFamily) Name() string { return "mul" }

func (mulFamily) Description() string {
	return "multiply two non-negative integers via partial products"
}

func (mulFamily) Generate(rng *rand.Rand, level int) Problem {
	level = arithClamp(level)
	d := mulDigits[level]
	a, b := arithDraw(rng, d[0]), arithDraw(rng, d[1])
	if d[0] == d[1] && rng.IntN(2) == 1 {
		a, b = b, a
	}
	return mulFamily{}.problem(level, a, b)
}

// problem builds the problem a*b of the given level.
func (mulFamily) problem(level int, a, b uint64) Problem {
	answer := strconv.FormatUint(a*b, 10)

	buf := make([]byte, 0, 128)
	var parts [arithMaxDigits]uint64
	n := 0
	for i, y := 0, b; n == 0 || y > 0; i, y = i+1, y/10 {
		m := y % 10 * pow10[i]
		parts[n] = a * m
		n++
		if n > 1 {
			buf = append(buf, "; "...)
		}
		buf = arithAppendOp(buf, a, '*', m)
		buf = append(buf, '=')
		buf = strconv.AppendUint(buf, a*m, 10)
	}
	if n > 1 {
		buf = append(buf, "; "...)
		for i := range n {
			if i > 0 {
				buf = append(buf, '+')
			}
			buf = strconv.AppendUint(buf, parts[i], 10)
		}
		buf = append(buf, '=')
		buf = append(buf, answer...)
	}
	solution := string(buf)

	buf = append(buf[:0], "mul "...)
	buf = arithAppendOp(buf, a, '*', b)
	prompt := string(buf)
	buf = append(buf[:0], "mul:"...)
	buf = arithAppendOp(buf, min(a, b), '*', max(a, b))
	return Problem{Family: "mul", Level: level, Key: string(buf), Prompt: prompt, Answer: answer, Solution: solution}
}

func (mulFamily) Verify(p *Problem, completion string) Verdict {
	a, b, ok := arithParseOp(p.Key, "mul:", '*', arithMaxDigits/2)
	if !ok {
		return Verdict{Reason: ReasonArithBadKey}
	}
	var buf [24]byte
	return arithVerify(p, completion, strconv.AppendUint(buf[:0], a*b, 10), CheckInteger)
}

func (mulFamily) Notation() string {
	return `prompt "mul A*B"; answer: the product as a canonical integer: "mul 47*38" -> "1786".`
}

func (mulFamily) KeyOfPrompt(prompt string) (string, bool) {
	a, b, ok := arithParseOp(prompt, "mul ", '*', arithMaxDigits/2)
	if !ok {
		return "", false
	}
	return string(arithAppendOp([]byte("mul:"), min(a, b), '*', max(a, b))), true
}

func (mulFamily) Canonical(_ *Problem, answer string) string { return canonicalInteger(answer) }
