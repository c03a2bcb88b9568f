package data

import (
	"math/rand/v2"
	"strconv"
)

// Arithmetic families: "add", "addrev", "mul" and "mod". Operands are
// non-negative integers; every answer is checked exactly against the value
// recomputed from the problem key, so a Problem read back from JSON verifies
// the same way, and a Problem whose Answer disagrees with its Key accepts
// nothing ("problem answer disagrees with key").
//
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
//
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
//
// "mod": modular arithmetic; the answer is the least non-negative residue
// (CheckInteger; a congruent but unreduced or negative value is wrong):
//
//	level 1  mod (17+15)%9     17+15=32; 32=3*9+5
//	level 2  mod (47*38)%19    47=2*19+9; 38=2*19+0; 9*0=0; 0=0*19+0
//	level 3  mod (47*38+12)%29 operands reduced, then 18*9+12=174; 174=6*29+0
//	level 4  mod (3^5)%7       3=0*7+3; 3*3=9=1*7+2; 2*3=6=0*7+6; 6*3=18=2*7+4; 4*3=12=1*7+5
//	level 5  a^e with a longer chain of multiplications and a larger modulus
//
// Every reduction is written "x=q*m+r". Sizes: level 1 a,b < 20, m 2..9;
// level 2 a,b < 50, m 2..19; level 3 a,b,c < 100, m 2..29; level 4 a 2..29,
// e 2..5, m 3..29; level 5 a 2..99, e 6..8, m 30..49. The key is the
// expression as prompted, with the operands of a+b and a*b ordered smaller
// first: "mod:(15+17)%9".
type addFamily struct{ reversed bool }

type mulFamily struct{}

type modFamily struct{}

func init() {
	register(addFamily{})
	register(addFamily{reversed: true})
	register(mulFamily{})
	register(modFamily{})
}

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

// ---- add and addrev ----

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

// ---- mul ----

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

// ---- mod ----

// modOp is the expression kind of a "mod" problem.
type modOp uint8

const (
	modAdd    modOp = iota // (a+b)%m
	modMul                 // (a*b)%m
	modMulAdd              // (a*b+c)%m
	modPow                 // (a^b)%m
)

func (modFamily) Name() string { return "mod" }

func (modFamily) Description() string {
	return "modular arithmetic: (a+b)%m, (a*b)%m, (a*b+c)%m, (a^e)%m"
}

func (modFamily) Generate(rng *rand.Rand, level int) Problem {
	level = arithClamp(level)
	var op modOp
	var a, b, c, m uint64
	switch level {
	case 1:
		op, a, b, m = modAdd, rng.Uint64N(20), rng.Uint64N(20), 2+rng.Uint64N(8)
	case 2:
		op, a, b, m = modMul, rng.Uint64N(50), rng.Uint64N(50), 2+rng.Uint64N(18)
	case 3:
		op, a, b, c, m = modMulAdd, rng.Uint64N(100), rng.Uint64N(100), rng.Uint64N(100), 2+rng.Uint64N(28)
	case 4:
		op, a, b, m = modPow, 2+rng.Uint64N(28), 2+rng.Uint64N(4), 3+rng.Uint64N(27)
	default:
		op, a, b, m = modPow, 2+rng.Uint64N(98), 6+rng.Uint64N(3), 30+rng.Uint64N(20)
	}
	return modFamily{}.problem(level, op, a, b, c, m)
}

// problem builds the problem (a op b [+c]) % m of the given level; for
// modPow, b is the exponent (at least 1).
func (modFamily) problem(level int, op modOp, a, b, c, m uint64) Problem {

	buf := make([]byte, 0, 192)
	var r uint64
	switch op {
	case modAdd:
		s := a + b
		buf = arithAppendOp(buf, a, '+', b)
		buf = append(buf, '=')
		buf = strconv.AppendUint(buf, s, 10)
		buf = append(buf, "; "...)
		buf, r = modReduce(buf, s, m)
	case modMul, modMulAdd:
		var ra, rb, rc uint64
		buf, ra = modReduce(buf, a, m)
		buf = append(buf, "; "...)
		buf, rb = modReduce(buf, b, m)
		buf = append(buf, "; "...)
		if op == modMulAdd {
			buf, rc = modReduce(buf, c, m)
			buf = append(buf, "; "...)
		}
		s := ra*rb + rc
		buf = arithAppendOp(buf, ra, '*', rb)
		if op == modMulAdd {
			buf = append(buf, '+')
			buf = strconv.AppendUint(buf, rc, 10)
		}
		buf = append(buf, '=')
		buf = strconv.AppendUint(buf, s, 10)
		buf = append(buf, "; "...)
		buf, r = modReduce(buf, s, m)
	case modPow:
		var ra uint64
		buf, ra = modReduce(buf, a, m)
		r = ra
		for range b - 1 {
			buf = append(buf, "; "...)
			buf = arithAppendOp(buf, r, '*', ra)
			buf = append(buf, '=')
			buf, r = modReduce(buf, r*ra, m)
		}
	}
	solution := string(buf)
	answer := strconv.FormatUint(r, 10)

	buf = append(buf[:0], "mod "...)
	buf = modAppendExpr(buf, op, a, b, c, m)
	prompt := string(buf)
	if op == modAdd || op == modMul {
		a, b = min(a, b), max(a, b)
	}
	buf = append(buf[:0], "mod:"...)
	buf = modAppendExpr(buf, op, a, b, c, m)
	return Problem{Family: "mod", Level: level, Key: string(buf), Prompt: prompt, Answer: answer, Solution: solution}
}

// modReduce appends "x=q*m+r" and returns r.
func modReduce(dst []byte, x, m uint64) ([]byte, uint64) {
	dst = strconv.AppendUint(dst, x, 10)
	dst = append(dst, '=')
	dst = arithAppendOp(dst, x/m, '*', m)
	dst = append(dst, '+')
	dst = strconv.AppendUint(dst, x%m, 10)
	return dst, x % m
}

// modAppendExpr appends "(a+b)%m", "(a*b)%m", "(a*b+c)%m" or "(a^b)%m".
func modAppendExpr(dst []byte, op modOp, a, b, c, m uint64) []byte {
	dst = append(dst, '(')
	dst = arithAppendOp(dst, a, "+**^"[op], b)
	if op == modMulAdd {
		dst = append(dst, '+')
		dst = strconv.AppendUint(dst, c, 10)
	}
	dst = append(dst, ')', '%')
	return strconv.AppendUint(dst, m, 10)
}

func (modFamily) Verify(p *Problem, completion string) Verdict {
	r, ok := modParseKey(p.Key)
	if !ok {
		return Verdict{Reason: ReasonArithBadKey}
	}
	var buf [24]byte
	return arithVerify(p, completion, strconv.AppendUint(buf[:0], r, 10), CheckInteger)
}

// modParseKey parses "mod:(EXPR)%M" and returns the residue. Numbers have at
// most 9 digits, so that every product below fits a uint64; M must be at
// least 1. It does not allocate.
func modParseKey(key string) (r uint64, ok bool) {
	const prefix = "mod:"
	if len(key) < len(prefix) || key[:len(prefix)] != prefix {
		return 0, false
	}
	op, a, b, c, m, ok := modParseExpr(key[len(prefix):])
	if !ok {
		return 0, false
	}
	switch op {
	case modAdd:
		return (a + b) % m, true
	case modMul, modMulAdd:
		return (a%m*(b%m) + c) % m, true
	default: // modPow
		// Square and multiply; m < 1e9 keeps every product below 1e18.
		r, x := 1%m, a%m
		for e := b; e > 0; e >>= 1 {
			if e&1 == 1 {
				r = r * x % m
			}
			x = x * x % m
		}
		return r, true
	}
}

// modParseExpr parses "(a+b)%m", "(a*b)%m", "(a*b+c)%m" or "(a^b)%m" with
// canonical numbers of at most 9 digits and m >= 1. It does not allocate.
func modParseExpr(s string) (op modOp, a, b, c, m uint64, ok bool) {
	if len(s) == 0 || s[0] != '(' {
		return 0, 0, 0, 0, 0, false
	}
	a, s, ok1 := arithScan(s[1:], 9)
	if !ok1 || len(s) == 0 {
		return 0, 0, 0, 0, 0, false
	}
	switch s[0] {
	case '+':
		op = modAdd
	case '*':
		op = modMul
	case '^':
		op = modPow
	default:
		return 0, 0, 0, 0, 0, false
	}
	b, s, ok2 := arithScan(s[1:], 9)
	if !ok2 || len(s) == 0 {
		return 0, 0, 0, 0, 0, false
	}
	if op == modMul && s[0] == '+' {
		op = modMulAdd
		var ok3 bool
		if c, s, ok3 = arithScan(s[1:], 9); !ok3 {
			return 0, 0, 0, 0, 0, false
		}
	}
	if len(s) < 2 || s[0] != ')' || s[1] != '%' {
		return 0, 0, 0, 0, 0, false
	}
	m, s, ok4 := arithScan(s[2:], 9)
	if !ok4 || len(s) != 0 || m == 0 {
		return 0, 0, 0, 0, 0, false
	}
	return op, a, b, c, m, true
}

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

// ---- notation, prompts and canonical answers ----

func (f addFamily) Notation() string {
	if f.reversed {
		return `prompt "addrev A+B" (A, B non-negative integers); answer: the sum's digits in reverse order,
least significant first, ASCII digits only: "addrev 47+38" -> "58". Zeros at the start are fine
("001" is 100), a zero at the end is a leading zero of the sum and is rejected ("580").`
	}
	return `prompt "add A+B" (A, B non-negative integers); answer: the sum as a canonical integer
(ASCII digits, no '+', no leading zeros, no separators): "add 47+38" -> "85".`
}

func (mulFamily) Notation() string {
	return `prompt "mul A*B"; answer: the product as a canonical integer: "mul 47*38" -> "1786".`
}

func (modFamily) Notation() string {
	return `prompt "mod (A+B)%M", "mod (A*B)%M", "mod (A*B+C)%M" or "mod (A^E)%M", where ^ is a power
(not kk's ^); answer: the least non-negative residue as a canonical integer:
"mod (3^5)%7" -> "5" (a congruent but unreduced or negative value is wrong).`
}

func (f addFamily) KeyOfPrompt(prompt string) (string, bool) {
	a, b, ok := arithParseOp(prompt, f.Name()+" ", '+', arithMaxDigits)
	if !ok {
		return "", false
	}
	return string(arithAppendOp([]byte(f.Name()+":"), min(a, b), '+', max(a, b))), true
}

func (mulFamily) KeyOfPrompt(prompt string) (string, bool) {
	a, b, ok := arithParseOp(prompt, "mul ", '*', arithMaxDigits/2)
	if !ok {
		return "", false
	}
	return string(arithAppendOp([]byte("mul:"), min(a, b), '*', max(a, b))), true
}

func (modFamily) KeyOfPrompt(prompt string) (string, bool) {
	const prefix = "mod "
	if len(prompt) < len(prefix) || prompt[:len(prefix)] != prefix {
		return "", false
	}
	op, a, b, c, m, ok := modParseExpr(prompt[len(prefix):])
	if !ok {
		return "", false
	}
	if op == modAdd || op == modMul {
		a, b = min(a, b), max(a, b)
	}
	return string(modAppendExpr([]byte("mod:"), op, a, b, c, m)), true
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

func (mulFamily) Canonical(_ *Problem, answer string) string { return canonicalInteger(answer) }

func (modFamily) Canonical(_ *Problem, answer string) string { return canonicalInteger(answer) }
