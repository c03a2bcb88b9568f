package data

import (
	"math/rand/v2"
	"strconv"
)

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
type modFamily struct{}

func init() { register(modFamily{}) }

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

func (modFamily) Notation() string {
	return `prompt "mod (A+B)%M", "mod (A*B)%M", "mod (A*B+C)%M" or "mod (A^E)%M", where ^ is a power
(not kk's ^); answer: the least non-negative residue as a canonical integer:
"mod (3^5)%7" -> "5" (a congruent but unreduced or negative value is wrong).`
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

func (modFamily) Canonical(_ *Problem, answer string) string { return canonicalInteger(answer) }
