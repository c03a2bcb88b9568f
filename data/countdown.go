package data

import (
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Family "countdown": reach a target with the given numbers, + - * / and
// parentheses (the Countdown task of TinyZero and other R1 reproductions).
//
//	prompt    use 2 3 5 8 to make 12
//	answer    (8-5+3)*2                    (any correct expression is accepted, e.g. 2*(3+8-5))
//	solution  8-5=3 3+3=6 6*2=12 (8-5+3)*2=12
//	key       countdown:2,3,5,8=12         (the multiset sorted ascending, then the target)
//
// The worked solution is one step per inner node of the generated tree,
// larger operand first ("a op b=c", separated by spaces), then the whole
// expression with its value, so that the last step is the answer. With two
// numbers the single step already is the whole expression.
//
// Rules (as in TinyZero's Countdown): every given number is used exactly
// once. The numbers are a MULTISET: a number given twice may (and must) be
// used twice; a number given once may not be used twice. The arithmetic is
// exact (math/big rationals): fractional and negative intermediate values
// are allowed, division by zero fails the answer, and the value must equal
// the target exactly. The generator only builds trees whose intermediate
// values are positive integers, so the worked solution stays in integers.
//
// Answer syntax (a strict recursive-descent parser, no partial credit):
//
//	expr   = term { ("+" | "-") term }
//	term   = factor { ("*" | "/") factor }
//	factor = number | "(" expr ")"
//	number = decimal digits, no leading zeros ("0" alone is a number)
//
// ASCII spaces may separate tokens; any other byte (letters, '=', tabs,
// newlines inside the expression, unicode digits) is "unexpected
// character". There is no unary minus or plus ("-3+5" is "missing number").
// The expression is at most countdownMaxExprBytes bytes, nests parentheses at
// most countdownMaxDepth deep and holds at most countdownMaxUsed numbers.
// Reasons, checked in this order: syntax (the constants below or
// ReasonLeadingZeros), multiset ("uses 7 which is not given", "uses 3 twice
// but it is given once", "does not use 5", "uses 5 once but it is given
// twice"), "division by zero", ReasonWrongValue.
//
// Levels (numbers drawn uniformly with repetition; every intermediate value
// a positive integer at most maxInter):
//
//	1: 2 numbers in 1..20, target <= 400
//	2: 3 numbers in 1..20, target <= 200
//	3: 4 numbers in 1..10, target <= 100
//	4: 4 numbers in 1..50, target <= 1000
//	5: 5 numbers in 1..50, target <= 1000 (out of distribution: one more number)
//
// Key: equal multisets with equal targets are the same problem whatever
// order the numbers were drawn in, so the prompt lists them sorted too.
// Levels outside 1..5 are clamped.
type countdown struct{}

func init() { register(countdown{}) }

// Countdown syntax reasons. The multiset reasons name the number and are
// built on the failure path.
const (
	ReasonCountdownChar     = "unexpected character"   // a byte outside digits, + - * / ( ) and space
	ReasonCountdownNumber   = "missing number"         // a number or '(' expected: "3+", "()", "-3"
	ReasonCountdownOperator = "missing operator"       // two operands side by side: "3 5", "(3)(5)"
	ReasonCountdownParens   = "unbalanced parentheses" // a '(' not closed or a ')' not opened
	ReasonCountdownDeep     = "expression too deep"    // more than countdownMaxDepth nested '('
	ReasonCountdownLong     = "expression too long"    // more than countdownMaxExprBytes bytes
	ReasonCountdownTooMany  = "too many numbers"       // more than countdownMaxUsed numbers
	ReasonCountdownDivZero  = "division by zero"
	ReasonCountdownBadKey   = "bad problem key"
)

const (
	countdownMaxGiven     = 8       // most numbers a key may give
	countdownMaxUsed      = 16      // most numbers an answer may hold
	countdownMaxDepth     = 16      // deepest parenthesis nesting accepted
	countdownMaxExprBytes = 100     // longest expression accepted (gold ones are under 40)
	countdownMaxValue     = 1 << 40 // largest number or target a key may hold
)

// countdownLevels gives each level's shape.
var countdownLevels = [MaxLevel + 1]struct {
	n         int   // how many numbers
	maxNum    int64 // numbers are drawn from 1..maxNum
	maxTarget int64 // the target is in 1..maxTarget
	maxInter  int64 // every intermediate value is in 1..maxInter
}{
	{},
	{2, 20, 400, 400},
	{3, 20, 200, 1000},
	{4, 10, 100, 1000},
	{4, 50, 1000, 10000},
	{5, 50, 1000, 10000},
}

func (countdown) Name() string { return "countdown" }

func (countdown) Description() string {
	return "reach a target using each given number once with + - * / and parentheses; exact rational check"
}

// countdownNode is a subtree of the generated expression.
type countdownNode struct {
	val  int64
	expr string
	op   byte // top-level operator; 0 for a single number
}

func (countdown) Generate(rng *rand.Rand, level int) Problem {
	level = min(max(level, 1), MaxLevel)
	c := countdownLevels[level]
	var nums [countdownMaxGiven]int64
	var pool [countdownMaxGiven]countdownNode
	steps := make([]byte, 0, 128)
	for {
		for i := range c.n {
			nums[i] = 1 + rng.Int64N(c.maxNum)
			pool[i] = countdownNode{val: nums[i], expr: strconv.FormatInt(nums[i], 10)}
		}
		steps = steps[:0]
		m := c.n
		ok := true
		for m > 1 && ok {
			i := rng.IntN(m)
			j := rng.IntN(m - 1)
			if j >= i {
				j++
			}
			a, b := pool[i], pool[j]
			if a.val < b.val {
				a, b = b, a
			}
			limit := c.maxInter
			if m == 2 {
				limit = c.maxTarget
			}
			var ops [4]byte
			k := 0
			if a.val+b.val <= limit {
				ops[k], k = '+', k+1
			}
			if a.val > b.val && a.val-b.val <= limit {
				ops[k], k = '-', k+1
			}
			if a.val*b.val <= limit {
				ops[k], k = '*', k+1
			}
			if a.val%b.val == 0 && a.val/b.val <= limit {
				ops[k], k = '/', k+1
			}
			if k == 0 {
				ok = false
				break
			}
			node := countdownCombine(a, b, ops[rng.IntN(k)])
			if len(steps) > 0 {
				steps = append(steps, ' ')
			}
			steps = strconv.AppendInt(steps, a.val, 10)
			steps = append(steps, node.op)
			steps = strconv.AppendInt(steps, b.val, 10)
			steps = append(steps, '=')
			steps = strconv.AppendInt(steps, node.val, 10)
			// Replace i and j by the new node, keeping the pool packed.
			lo, hi := min(i, j), max(i, j)
			pool[lo] = node
			pool[hi] = pool[m-1]
			m--
		}
		if ok {
			break
		}
	}
	root := pool[0]
	if c.n > 2 { // with two numbers the only step already is the expression
		steps = append(steps, ' ')
		steps = append(steps, root.expr...)
		steps = append(steps, '=')
		steps = strconv.AppendInt(steps, root.val, 10)
	}

	sorted := nums[:c.n]
	sortInsertion(sorted)
	b := make([]byte, 0, 64)
	b = append(b, "use"...)
	for _, v := range sorted {
		b = append(b, ' ')
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, " to make "...)
	b = strconv.AppendInt(b, root.val, 10)
	prompt := string(b)
	b = append(b[:0], "countdown:"...)
	for i, v := range sorted {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, '=')
	b = strconv.AppendInt(b, root.val, 10)
	return Problem{Family: "countdown", Level: level, Key: string(b), Prompt: prompt, Answer: root.expr, Solution: string(steps)}
}

// countdownCombine joins a op b (a >= b) with the fewest parentheses that
// keep the tree's value under the usual precedence and left associativity.
func countdownCombine(a, b countdownNode, op byte) countdownNode {
	sum := func(n countdownNode) bool { return n.op == '+' || n.op == '-' }
	paren := func(n countdownNode, need bool) string {
		if need {
			return "(" + n.expr + ")"
		}
		return n.expr
	}
	var val int64
	var expr string
	switch op {
	case '+':
		val, expr = a.val+b.val, a.expr+"+"+b.expr
	case '-':
		val, expr = a.val-b.val, a.expr+"-"+paren(b, sum(b))
	case '*':
		val, expr = a.val*b.val, paren(a, sum(a))+"*"+paren(b, sum(b))
	case '/':
		val, expr = a.val/b.val, paren(a, sum(a))+"/"+paren(b, b.op != 0)
	}
	return countdownNode{val: val, expr: expr, op: op}
}

func (countdown) Verify(p *Problem, completion string) Verdict {
	ans, reason, ok := ExtractAnswer(completion)
	if !ok {
		return Verdict{Reason: reason}
	}
	var key countdownKey
	if !key.parse(p.Key) {
		return Verdict{FormatOK: true, Reason: ReasonCountdownBadKey}
	}
	var ps countdownParser
	if r := ps.check(ans); r != ReasonOK {
		return Verdict{FormatOK: true, Reason: r}
	}
	if r := key.checkUsed(&ps); r != ReasonOK {
		return Verdict{FormatOK: true, Reason: r}
	}
	val, ok := countdownEval(ans)
	if !ok {
		return Verdict{FormatOK: true, Reason: ReasonCountdownDivZero}
	}
	if !val.IsInt() || !val.Num().IsInt64() || val.Num().Int64() != key.target {
		return Verdict{FormatOK: true, Reason: ReasonWrongValue}
	}
	return Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
}

// countdownKey is a parsed key: the given multiset and the target.
type countdownKey struct {
	nums   [countdownMaxGiven]int64 // (n) sorted ascending
	n      int
	target int64
}

// parse reads "countdown:a,b,c=t" with 1 to countdownMaxGiven canonical
// positive numbers sorted ascending and a canonical positive target, all at
// most countdownMaxValue. It does not allocate.
func (k *countdownKey) parse(key string) bool {
	const prefix = "countdown:"
	if len(key) <= len(prefix) || key[:len(prefix)] != prefix {
		return false
	}
	s := key[len(prefix):]
	k.n = 0
	for {
		v, rest, ok := countdownKeyNumber(s)
		if !ok || k.n == countdownMaxGiven || (k.n > 0 && v < k.nums[k.n-1]) || len(rest) == 0 {
			return false
		}
		k.nums[k.n] = v
		k.n++
		sep := rest[0]
		s = rest[1:]
		if sep == '=' {
			break
		}
		if sep != ',' {
			return false
		}
	}
	t, rest, ok := countdownKeyNumber(s)
	if !ok || rest != "" {
		return false
	}
	k.target = t
	return true
}

// countdownKeyNumber reads a canonical positive integer at most
// countdownMaxValue from the start of s.
func countdownKeyNumber(s string) (v int64, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if i >= 13 { // more digits than countdownMaxValue has
			return 0, "", false
		}
		v = v*10 + int64(s[i]-'0')
		i++
	}
	if i == 0 || s[0] == '0' || v > countdownMaxValue {
		return 0, "", false
	}
	return v, s[i:], true
}

// checkUsed compares the numbers an answer used with the given multiset and
// names the first difference: first numbers used more often than given (in
// the order the answer uses them), then numbers given more often than used
// (ascending). It allocates only to build a failure reason.
func (k *countdownKey) checkUsed(ps *countdownParser) string {
	for i := 0; i < ps.nUsed; i++ {
		v := ps.used[i]
		seen := false
		for j := 0; j < i; j++ {
			if ps.used[j] == v && ps.usedText[j] == ps.usedText[i] {
				seen = true
				break
			}
		}
		if seen {
			continue
		}
		used := ps.count(i)
		given := 0
		if v >= 0 {
			given = k.count(v)
		}
		if given == 0 {
			if len(ps.usedText[i]) > 12 {
				return "uses a huge number which is not given"
			}
			return "uses " + ps.usedText[i] + " which is not given"
		}
		if used > given {
			return "uses " + ps.usedText[i] + " " + countdownTimes(used) + " but it is given " + countdownTimes(given)
		}
	}
	for i := 0; i < k.n; i++ {
		if i > 0 && k.nums[i] == k.nums[i-1] {
			continue
		}
		v := k.nums[i]
		given := k.count(v)
		used := 0
		for j := 0; j < ps.nUsed; j++ {
			if ps.used[j] == v {
				used++
			}
		}
		if used < given {
			text := strconv.FormatInt(v, 10)
			if used == 0 {
				return "does not use " + text
			}
			return "uses " + text + " " + countdownTimes(used) + " but it is given " + countdownTimes(given)
		}
	}
	return ReasonOK
}

// count returns how often v is given.
func (k *countdownKey) count(v int64) int {
	c := 0
	for i := 0; i < k.n; i++ {
		if k.nums[i] == v {
			c++
		}
	}
	return c
}

func countdownTimes(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return strconv.Itoa(n) + " times"
}

// countdownParser checks an answer's syntax and records the numbers it uses.
// It does not allocate.
type countdownParser struct {
	s        string
	pos      int
	depth    int
	reason   string                   // first error, "" while none
	nUsed    int                      // numbers read
	used     [countdownMaxUsed]int64  // (nUsed) their values; -1 for one too large to be given
	usedText [countdownMaxUsed]string // (nUsed) their text, for reasons
}

// check parses s under the grammar in the family comment and returns
// ReasonOK or the first syntax error.
func (ps *countdownParser) check(s string) string {
	if len(s) > countdownMaxExprBytes {
		return ReasonCountdownLong
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '+', c == '-', c == '*', c == '/', c == '(', c == ')', c == ' ':
		default:
			return ReasonCountdownChar
		}
	}
	ps.s, ps.pos, ps.depth, ps.reason, ps.nUsed = s, 0, 0, "", 0
	ps.expr()
	if ps.reason == "" {
		ps.space()
		if ps.pos < len(ps.s) {
			if ps.s[ps.pos] == ')' {
				ps.fail(ReasonCountdownParens)
			} else {
				ps.fail(ReasonCountdownOperator)
			}
		}
	}
	if ps.reason != "" {
		return ps.reason
	}
	return ReasonOK
}

func (ps *countdownParser) fail(reason string) {
	if ps.reason == "" {
		ps.reason = reason
	}
}

func (ps *countdownParser) space() {
	for ps.pos < len(ps.s) && ps.s[ps.pos] == ' ' {
		ps.pos++
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (ps *countdownParser) peek() byte {
	ps.space()
	if ps.pos < len(ps.s) {
		return ps.s[ps.pos]
	}
	return 0
}

func (ps *countdownParser) expr() {
	ps.term()
	for ps.reason == "" {
		if c := ps.peek(); c != '+' && c != '-' {
			return
		}
		ps.pos++
		ps.term()
	}
}

func (ps *countdownParser) term() {
	ps.factor()
	for ps.reason == "" {
		if c := ps.peek(); c != '*' && c != '/' {
			return
		}
		ps.pos++
		ps.factor()
	}
}

func (ps *countdownParser) factor() {
	switch c := ps.peek(); {
	case c == '(':
		ps.depth++
		if ps.depth > countdownMaxDepth {
			ps.fail(ReasonCountdownDeep)
			return
		}
		ps.pos++
		ps.expr()
		if ps.reason != "" {
			return
		}
		if ps.peek() != ')' {
			ps.fail(ReasonCountdownParens)
			return
		}
		ps.pos++
		ps.depth--
	case c >= '0' && c <= '9':
		start := ps.pos
		for ps.pos < len(ps.s) && ps.s[ps.pos] >= '0' && ps.s[ps.pos] <= '9' {
			ps.pos++
		}
		text := ps.s[start:ps.pos]
		if len(text) > 1 && text[0] == '0' {
			ps.fail(ReasonLeadingZeros)
			return
		}
		if ps.nUsed == countdownMaxUsed {
			ps.fail(ReasonCountdownTooMany)
			return
		}
		v := int64(-1)
		if len(text) <= 13 {
			v = 0
			for i := 0; i < len(text); i++ {
				v = v*10 + int64(text[i]-'0')
			}
		}
		ps.used[ps.nUsed], ps.usedText[ps.nUsed] = v, text
		ps.nUsed++
	case c == ')' && ps.depth == 0:
		ps.fail(ReasonCountdownParens)
	default: // end, an operator or ')' where an operand belongs
		ps.fail(ReasonCountdownNumber)
	}
}

// count returns how often the i-th number read occurs among those read.
func (ps *countdownParser) count(i int) int {
	c := 0
	for j := 0; j < ps.nUsed; j++ {
		if ps.used[j] == ps.used[i] && ps.usedText[j] == ps.usedText[i] {
			c++
		}
	}
	return c
}

// countdownEval evaluates an expression that countdownParser accepted, with
// exact rationals. ok is false after a division by zero.
func countdownEval(s string) (val *big.Rat, ok bool) {
	e := countdownEvaluator{s: s, ok: true}
	val = e.expr()
	return val, e.ok
}

// countdownEvaluator is the second pass over a syntactically valid
// expression. Its numbers are at most 13 digits (checkUsed has matched them
// with the key), so they fit an int64.
type countdownEvaluator struct {
	s   string
	pos int
	ok  bool
}

func (e *countdownEvaluator) peek() byte {
	for e.pos < len(e.s) && e.s[e.pos] == ' ' {
		e.pos++
	}
	if e.pos < len(e.s) {
		return e.s[e.pos]
	}
	return 0
}

func (e *countdownEvaluator) expr() *big.Rat {
	v := e.term()
	for {
		op := e.peek()
		if op != '+' && op != '-' {
			return v
		}
		e.pos++
		t := e.term()
		if op == '+' {
			v.Add(v, t)
		} else {
			v.Sub(v, t)
		}
	}
}

func (e *countdownEvaluator) term() *big.Rat {
	v := e.factor()
	for {
		op := e.peek()
		if op != '*' && op != '/' {
			return v
		}
		e.pos++
		f := e.factor()
		switch {
		case op == '*':
			v.Mul(v, f)
		case f.Sign() == 0:
			e.ok = false
		default:
			v.Quo(v, f)
		}
	}
}

func (e *countdownEvaluator) factor() *big.Rat {
	if e.peek() == '(' {
		e.pos++
		v := e.expr()
		if e.peek() == ')' {
			e.pos++
		}
		return v
	}
	var n int64
	for e.pos < len(e.s) && e.s[e.pos] >= '0' && e.s[e.pos] <= '9' {
		n = n*10 + int64(e.s[e.pos]-'0')
		e.pos++
	}
	return new(big.Rat).SetInt64(n)
}

func (countdown) Notation() string {
	return `prompt "use N N N to make T" (the numbers sorted); answer: one expression in + - * / and
parentheses using every given number exactly once (a number given twice is used twice), whose exact
value is T: "use 2 3 5 8 to make 12" -> "(8-5+3)*2" (any correct expression is accepted). Fractional
and negative intermediate values are allowed; there is no unary minus ("-3+5"), no '=' and no
leading zeros; spaces may separate tokens.`
}

func (countdown) KeyOfPrompt(prompt string) (string, bool) {
	s, ok := strings.CutPrefix(prompt, "use ")
	if !ok {
		return "", false
	}
	nums, target, ok := strings.Cut(s, " to make ")
	if !ok {
		return "", false
	}
	key := "countdown:" + strings.ReplaceAll(nums, " ", ",") + "=" + target
	var k countdownKey
	if !k.parse(key) {
		return "", false
	}
	return key, true
}

// Canonical of a countdown answer is what it computes: the multiset of
// numbers it uses, sorted ascending, then '=' and its exact value as a
// fraction in lowest terms ("2,3,5,8=12", "2,3,5=7/2"). A correct answer's
// canonical form is its key without "countdown:". An answer that divides by
// zero, or uses a number of more than 13 digits (which no key gives), has
// none.
func (countdown) Canonical(_ *Problem, answer string) string {
	var ps countdownParser
	if ps.check(answer) != ReasonOK {
		return ""
	}
	used := ps.used[:ps.nUsed]
	for _, v := range used {
		if v < 0 {
			return ""
		}
	}
	val, ok := countdownEval(answer)
	if !ok {
		return ""
	}
	sortInsertion(used)
	b := make([]byte, 0, 64)
	for i, v := range used {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, '=')
	return string(b) + val.RatString()
}
