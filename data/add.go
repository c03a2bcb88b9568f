package data

import (
	"math/rand/v2"
	"strconv"
)

// "add": addition, worked from the right one column at a time:
//
//	prompt    add 47+38
//	solution  7+8=15 c1; 4+3+1=8 c0; so 85
//	answer    85
//	key       add:38+47
//
// Each step is "a+b[+1]=s cK": the column's digits (0 where an operand has
// run out of digits), the incoming carry when it is 1, the column sum and the
// outgoing carry. The column sums' last digits, read from the last step back
// to the first, are the answer; "so N" states it. The key orders the
// operands (smaller first): "47+38" and "38+47" are one problem, so a test
// problem's mirror image never appears in training. The answer follows
// CheckInteger (no sign, no leading zeros, no separators).
//
// Levels: the longer operand has exactly L digits and the other 1..L
// (uniform), order random; level 1 is 0..9 + 0..9; level 5 (out of
// distribution) has a 6-digit operand.
//
// "addrev": the same problems with the answer written least significant
// digit first, the well-known trick that lets a left-to-right model emit each
// digit right after the column that produces it (Lee et al. 2023, "Teaching
// Arithmetic to Small Transformers"):
//
//	prompt    addrev 47+38
//	solution  7+8=15 c1; 4+3+1=8 c0; so 58
//	answer    58            (85 reversed)
//	key       addrev:38+47
//
// The answer block must hold ASCII digits only (no sign, no separators) and
// equal the reversed canonical sum exactly. A '0' at the end of a reversed
// answer longer than one digit is a leading zero of the number ("580" would
// be 085) and fails with "leading zeros"; zeros at the start are fine (100
// is "001"). The plain sum ("85") is simply a wrong value.
type addFamily struct{ reversed bool }

func init() {
	register(addFamily{})
	register(addFamily{reversed: true})
}

func (f addFamily) Name() string {
	if f.reversed {
		return "addrev"
	}
	return "add"
}

func (f addFamily) Description() string {
	if f.reversed {
		return "add two non-negative integers, answer digits reversed (least significant first)"
	}
	return "add two non-negative integers, column by column with carries"
}

func (f addFamily) Generate(rng *rand.Rand, level int) Problem {
	level = arithClamp(level)
	n := level
	if level == MaxLevel {
		n = 6
	}
	a := arithDraw(rng, n)
	b := arithDraw(rng, 1+rng.IntN(n))
	if rng.IntN(2) == 1 {
		a, b = b, a
	}
	return f.problem(level, a, b)
}

// problem builds the problem a+b of the given level.
func (f addFamily) problem(level int, a, b uint64) Problem {
	name := f.Name()
	sum := strconv.AppendUint(make([]byte, 0, 24), a+b, 10)
	if f.reversed {
		arithReverse(sum)
	}
	answer := string(sum)

	buf := make([]byte, 0, 128)
	buf = arithAddSteps(buf, a, b)
	buf = append(buf, "; so "...)
	buf = append(buf, answer...)
	solution := string(buf)

	buf = append(buf[:0], name...)
	buf = append(buf, ' ')
	buf = arithAppendOp(buf, a, '+', b)
	prompt := string(buf)

	buf = append(buf[:0], name...)
	buf = append(buf, ':')
	buf = arithAppendOp(buf, min(a, b), '+', max(a, b))
	return Problem{Family: name, Level: level, Key: string(buf), Prompt: prompt, Answer: answer, Solution: solution}
}

// arithAddSteps appends the column steps of a+b: "7+8=15 c1; 4+3+1=8 c0".
func arithAddSteps(dst []byte, a, b uint64) []byte {
	carry := uint64(0)
	for first := true; first || a > 0 || b > 0; first = false {
		da, db := a%10, b%10
		s := da + db + carry
		if !first {
			dst = append(dst, "; "...)
		}
		dst = append(dst, byte('0'+da), '+', byte('0'+db))
		if carry == 1 {
			dst = append(dst, "+1"...)
		}
		dst = append(dst, '=')
		dst = strconv.AppendUint(dst, s, 10)
		carry = s / 10
		dst = append(dst, ' ', 'c', byte('0'+carry))
		a, b = a/10, b/10
	}
	return dst
}

func (f addFamily) Verify(p *Problem, completion string) Verdict {
	prefix := "add:"
	if f.reversed {
		prefix = "addrev:"
	}
	a, b, ok := arithParseOp(p.Key, prefix, '+', arithMaxDigits)
	if !ok {
		return Verdict{Reason: ReasonArithBadKey}
	}
	var buf [24]byte
	want := strconv.AppendUint(buf[:0], a+b, 10)
	check := CheckInteger
	if f.reversed {
		arithReverse(want)
		check = arithCheckReversed
	}
	return arithVerify(p, completion, want, check)
}

// arithCheckReversed is the syntax rule of "addrev" answers: ASCII digits
// only, and no '0' at the end unless the answer is "0" (a trailing zero of
// a reversed number is a leading zero of the number).
func arithCheckReversed(s string) string {
	if len(s) == 0 {
		return ReasonNotNumber
	}
	if s[0] == '+' {
		return ReasonPlusSign
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return ReasonNotNumber
		}
	}
	if len(s) > 1 && s[len(s)-1] == '0' {
		return ReasonLeadingZeros
	}
	return ReasonOK
}

// arithReverse reverses b in place.
func arithReverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}

func (f addFamily) Notation() string {
	if f.reversed {
		return `prompt "addrev A+B" (A, B non-negative integers); answer: the sum's digits in reverse order,
least significant first, ASCII digits only: "addrev 47+38" -> "58". Zeros at the start are fine
("001" is 100), a zero at the end is a leading zero of the sum and is rejected ("580").`
	}
	return `prompt "add A+B" (A, B non-negative integers); answer: the sum as a canonical integer
(ASCII digits, no '+', no leading zeros, no separators): "add 47+38" -> "85".`
}

func (f addFamily) KeyOfPrompt(prompt string) (string, bool) {
	a, b, ok := arithParseOp(prompt, f.Name()+" ", '+', arithMaxDigits)
	if !ok {
		return "", false
	}
	return string(arithAppendOp([]byte(f.Name()+":"), min(a, b), '+', max(a, b))), true
}

func (f addFamily) Canonical(_ *Problem, answer string) string {
	if f.reversed {
		if arithCheckReversed(answer) != ReasonOK {
			return ""
		}
		return answer
	}
	return canonicalInteger(answer)
}
