package data

import (
	"math/bits"
	"math/rand/v2"
)

// Family "kk": knights and knaves. Knights always tell the truth, knaves
// always lie; every inhabitant makes one statement; say who is what.
//
//	prompt    A:Q+ Q:Q&U+ U:Q-
//	answer    A=knave,Q=knave,U=knight
//	solution  Q+? A+ U+ x Q- A- U+ ok
//	key       kk:A:Q+ Q:Q&U+ U:Q-
//
// Inhabitants are named by distinct capital letters drawn at random from
// A..Z (not always A, B, C...), so that even the two-inhabitant level has
// thousands of distinct puzzles. The prompt lists the statements in
// alphabetical order of the speaker as "SPEAKER:STATEMENT", separated by
// one space. Statements use a compact notation that keeps six inhabitants
// within the 48-character prompt budget (at most 7n-1 = 41 characters);
// X and Y are inhabitants, X before Y alphabetically, and a pair may include
// the speaker, which is how "X and I are the same kind" is said:
//
//	X+     X is a knight              X-     X is a knave
//	X&Y+   X and Y are both knights   X|Y-   X or Y (or both) is a knave
//	X&Y-   X and Y are both knaves    X|Y+   X or Y (or both) is a knight
//	X=Y    X and Y are the same kind  X^Y    exactly one of X and Y is a knight
//
// A single-name statement is never about the speaker ("I am a knight" says
// nothing). Only puzzles with exactly one consistent assignment (brute force
// over all 2^n) are generated; the generator draws the roles first and
// turns each statement into its negation when the speaker must lie (so no
// role pattern is favoured before the uniqueness filter). The key is "kk:" followed by
// the prompt, which is already canonical (speakers sorted, pair members
// sorted); renaming the inhabitants gives another problem.
//
// The worked solution is a depth-first search with propagation, written
// as it runs, in the prompt's +/- notation: "X+" / "X-" is a role forced by
// one statement and what is known so far; "X+?" is a guess (always knight
// first, on the first unknown inhabitant alphabetically that someone else
// talks about, else the first unknown); "x" marks a contradiction, after
// which the latest guess not yet reversed is reversed ("X-", now forced)
// and everything derived after it is forgotten; "ok" ends the branch that
// agrees with every statement: its roles are the answer. Puzzles whose
// completion would exceed the length budget (100 tokens, 180 at level 5)
// are redrawn.
//
// Levels: n = level+1 inhabitants (1: 2, 2: 3, 3: 4, 4: 5, 5: 6, the last
// for out-of-distribution tests only).
//
// Answer rule: "NAME=ROLE" items separated by ',' with ROLE exactly
// "knight" or "knave" (lower case) and NAME a capital letter; ASCII spaces
// may stand between tokens; items may come in any order but every
// inhabitant exactly once. Reasons (the first problem from the left):
// ReasonKKSyntax, ReasonKKRole, ReasonKKUnknown, ReasonKKTwice, then
// ReasonKKMissing, then ReasonWrongValue. Verify solves the puzzle from the
// key alone (p.Answer is not consulted). Levels outside 1..5 are clamped.
type knights struct{}

func init() { register(knights{}) }

// Knights-and-knaves reasons.
const (
	ReasonKKSyntax  = "bad role list"          // not "A=knight,B=knave,..."
	ReasonKKRole    = "bad role"               // a role other than "knight" or "knave"
	ReasonKKUnknown = "unknown inhabitant"     // a name that is not in the puzzle
	ReasonKKTwice   = "inhabitant named twice" // a name given two roles (or the same one twice)
	ReasonKKMissing = "missing inhabitant"     // an inhabitant without a role
	ReasonKKBadKey  = "bad problem key"        // key unreadable or the puzzle has no unique solution
)

// kkMaxN is the most inhabitants a key may hold (the brute force is 2^n).
const kkMaxN = 10

// kkKind is the form of a statement. Kinds come in pairs k, k^1 that
// negate each other, which is how the generator makes a knave lie.
type kkKind uint8

const (
	kkKnight      kkKind = iota // X+
	kkKnave                     // X-
	kkBothKnights               // X&Y+
	kkSomeKnave                 // X|Y-
	kkBothKnaves                // X&Y-
	kkSomeKnight                // X|Y+
	kkSame                      // X=Y
	kkDiffer                    // X^Y
)

// kkStmt is one statement; speaker, a and b index the inhabitants in
// alphabetical order (b only for the pair kinds).
type kkStmt struct {
	kind       kkKind
	speaker, a uint8
	b          uint8
}

// truth reports whether the statement holds when the inhabitants whose
// bits are set in knights are knights.
func (st kkStmt) truth(knights uint32) bool {
	x := knights>>st.a&1 == 1
	y := knights>>st.b&1 == 1
	switch st.kind {
	case kkKnight:
		return x
	case kkKnave:
		return !x
	case kkBothKnights:
		return x && y
	case kkSomeKnave:
		return !x || !y
	case kkBothKnaves:
		return !x && !y
	case kkSomeKnight:
		return x || y
	case kkSame:
		return x == y
	default: // kkDiffer
		return x != y
	}
}

// consistent reports whether the speaker's role agrees with the truth of
// the statement: knights say true things, knaves false ones.
func (st kkStmt) consistent(knights uint32) bool {
	return (knights>>st.speaker&1 == 1) == st.truth(knights)
}

// vars is the bit set of the inhabitants the statement involves.
func (st kkStmt) vars() uint32 {
	m := uint32(1)<<st.speaker | uint32(1)<<st.a
	if st.kind >= kkBothKnights {
		m |= uint32(1) << st.b
	}
	return m
}

// kkPuzzle is a parsed or generated puzzle.
type kkPuzzle struct {
	n     int
	names [kkMaxN]byte   // (n) capital letters, ascending
	st    [kkMaxN]kkStmt // (n) statement of inhabitant i
}

// solutions returns how many assignments are consistent (stopping at 2) and
// the last one found, as a bit set of knights. It is bit-parallel: bit r of
// word w stands for the assignment w*64+r, and each statement turns into a
// mask of the assignments it is consistent with (kkSolutionsRef in the
// tests is the plain loop it is held to).
func (pz *kkPuzzle) solutions() (count int, sol uint32) {
	words := 1
	valid := ^uint64(0)
	if pz.n > 6 {
		words = 1 << (pz.n - 6)
	} else {
		valid = ^uint64(0) >> (64 - (1 << pz.n))
	}
	for w := 0; w < words; w++ {
		m := valid
		for i := 0; i < pz.n && m != 0; i++ {
			m &= pz.st[i].consistentMask(w)
		}
		if m == 0 {
			continue
		}
		count += bits.OnesCount64(m)
		sol = uint32(w*64 + 63 - bits.LeadingZeros64(m))
		if count >= 2 {
			return 2, sol
		}
	}
	return count, sol
}

// kkPattern is the set of assignments (bit r of word w: assignment
// w*64+r) in which inhabitant i is a knight.
func kkPattern(i uint8, w int) uint64 {
	switch i {
	case 0:
		return 0xAAAAAAAAAAAAAAAA
	case 1:
		return 0xCCCCCCCCCCCCCCCC
	case 2:
		return 0xF0F0F0F0F0F0F0F0
	case 3:
		return 0xFF00FF00FF00FF00
	case 4:
		return 0xFFFF0000FFFF0000
	case 5:
		return 0xFFFFFFFF00000000
	}
	if w>>(i-6)&1 == 1 {
		return ^uint64(0)
	}
	return 0
}

// consistentMask is the set of assignments in word w that the statement is
// consistent with: truth() and consistent() over 64 assignments at once.
func (st kkStmt) consistentMask(w int) uint64 {
	x, y := kkPattern(st.a, w), kkPattern(st.b, w)
	var truth uint64
	switch st.kind {
	case kkKnight:
		truth = x
	case kkKnave:
		truth = ^x
	case kkBothKnights:
		truth = x & y
	case kkSomeKnave:
		truth = ^x | ^y
	case kkBothKnaves:
		truth = ^x & ^y
	case kkSomeKnight:
		truth = x | y
	case kkSame:
		truth = ^(x ^ y)
	default: // kkDiffer
		truth = x ^ y
	}
	return ^(kkPattern(st.speaker, w) ^ truth)
}

func (knights) Name() string { return "kk" }

func (knights) Description() string {
	return "knights and knaves: from each inhabitant's statement, name every knight and knave (unique solution)"
}

// kkBudget is the longest completion kept, in tokens (tags count one).
func kkBudget(level int) int {
	if level == MaxLevel {
		return 180
	}
	return 100
}

func (knights) Generate(rng *rand.Rand, level int) Problem {
	level = min(max(level, 1), MaxLevel)
	var pz kkPuzzle
	pz.n = level + 1
	buf := make([]byte, 0, 256)
	for {
		// n distinct letters: a partial Fisher-Yates shuffle, then sort.
		var letters [26]byte
		for i := range letters {
			letters[i] = 'A' + byte(i)
		}
		for i := 0; i < pz.n; i++ {
			j := i + rng.IntN(26-i)
			letters[i], letters[j] = letters[j], letters[i]
		}
		copy(pz.names[:pz.n], letters[:pz.n])
		kkSortBytes(pz.names[:pz.n])

		roles := rng.Uint32() & (1<<pz.n - 1)
		for s := 0; s < pz.n; s++ {
			st := kkStmt{kind: kkKind(2 * rng.IntN(4)), speaker: uint8(s)}
			if st.kind == kkKnight {
				a := rng.IntN(pz.n - 1)
				if a >= s {
					a++
				}
				st.a, st.b = uint8(a), uint8(a)
			} else {
				a := rng.IntN(pz.n)
				b := rng.IntN(pz.n - 1)
				if b >= a {
					b++
				}
				st.a, st.b = uint8(min(a, b)), uint8(max(a, b))
			}
			if !st.consistent(roles) {
				st.kind ^= 1 // the negation: a knave's statement must be false
			}
			pz.st[s] = st
		}
		if c, _ := pz.solutions(); c != 1 {
			continue
		}
		sol := newKKSolver(&pz, buf[:0])
		if !sol.solve(0, 0) || sol.roles != roles {
			continue // cannot happen for a unique solution; kept as a guard
		}
		buf = sol.trace
		// "X=knight" is 8 bytes, "X=knave" 7, with n-1 commas between.
		answerLen := 8*pz.n - (pz.n - bits.OnesCount32(roles)) + pz.n - 1
		if len(buf)+answerLen+4 > kkBudget(level) { // 4 tags, one token each
			continue
		}
		text := append(pz.appendPrompt([]byte("kk:")), ' ')
		text = pz.appendAnswer(text, roles)
		key := string(text[:len(text)-answerLen-1])
		return Problem{Family: "kk", Level: level, Key: key, Prompt: key[3:], Answer: string(text[len(text)-answerLen:]), Solution: string(buf)}
	}
}

// appendPrompt writes the canonical statement list.
func (pz *kkPuzzle) appendPrompt(dst []byte) []byte {
	for i := 0; i < pz.n; i++ {
		st := pz.st[i]
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, pz.names[i], ':', pz.names[st.a])
		switch st.kind {
		case kkKnight:
			dst = append(dst, '+')
		case kkKnave:
			dst = append(dst, '-')
		case kkBothKnights:
			dst = append(dst, '&', pz.names[st.b], '+')
		case kkSomeKnave:
			dst = append(dst, '|', pz.names[st.b], '-')
		case kkBothKnaves:
			dst = append(dst, '&', pz.names[st.b], '-')
		case kkSomeKnight:
			dst = append(dst, '|', pz.names[st.b], '+')
		case kkSame:
			dst = append(dst, '=', pz.names[st.b])
		case kkDiffer:
			dst = append(dst, '^', pz.names[st.b])
		}
	}
	return dst
}

// appendAnswer writes the canonical answer: every inhabitant in
// alphabetical order.
func (pz *kkPuzzle) appendAnswer(dst []byte, knights uint32) []byte {
	for i := 0; i < pz.n; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, pz.names[i], '=')
		if knights>>i&1 == 1 {
			dst = append(dst, "knight"...)
		} else {
			dst = append(dst, "knave"...)
		}
	}
	return dst
}

// kkSolver writes the worked solution: depth-first search over roles with
// propagation, knight first (see the family comment for the notation).
type kkSolver struct {
	pz        *kkPuzzle
	trace     []byte
	roles     uint32 // the solution once solve returns true
	mentioned uint32 // inhabitants named in someone else's statement
}

func newKKSolver(pz *kkPuzzle, trace []byte) kkSolver {
	s := kkSolver{pz: pz, trace: trace}
	for i := 0; i < pz.n; i++ {
		s.mentioned |= pz.st[i].vars() &^ (uint32(1) << i)
	}
	return s
}

func (s *kkSolver) word(name byte, knight bool, guess bool) {
	if len(s.trace) > 0 {
		s.trace = append(s.trace, ' ')
	}
	c := byte('-')
	if knight {
		c = '+'
	}
	s.trace = append(s.trace, name, c)
	if guess {
		s.trace = append(s.trace, '?')
	}
}

func (s *kkSolver) mark(m string) {
	if len(s.trace) > 0 {
		s.trace = append(s.trace, ' ')
	}
	s.trace = append(s.trace, m...)
}

// solve extends the partial assignment (known: decided inhabitants, roles:
// the knights among them) and reports whether it leads to a solution.
func (s *kkSolver) solve(known, roles uint32) bool {
	known, roles, ok := s.propagate(known, roles)
	if !ok {
		s.mark("x")
		return false
	}
	all := uint32(1)<<s.pz.n - 1
	if known == all {
		s.mark("ok")
		s.roles = roles
		return true
	}
	// Guess on someone another inhabitant talks about: the role of an
	// inhabitant nobody mentions follows from the others and only doubles
	// the search when guessed first.
	cand := ^known & all
	if c := cand & s.mentioned; c != 0 {
		cand = c
	}
	v := bits.TrailingZeros32(cand)
	bit := uint32(1) << v
	s.word(s.pz.names[v], true, true)
	if s.solve(known|bit, roles|bit) {
		return true
	}
	s.word(s.pz.names[v], false, false)
	return s.solve(known|bit, roles)
}

// propagate applies every statement until nothing changes: a statement
// decides an inhabitant when all completions of its unknown inhabitants
// that keep it consistent agree on that inhabitant. ok is false when some
// statement has no consistent completion.
func (s *kkSolver) propagate(known, roles uint32) (uint32, uint32, bool) {
	for changed := true; changed; {
		changed = false
		for i := 0; i < s.pz.n; i++ {
			st := s.pz.st[i]
			unk := st.vars() &^ known
			anyOK := false
			and, or := unk, uint32(0)
			for sub := unk; ; sub = (sub - 1) & unk {
				if st.consistent(roles | sub) {
					anyOK = true
					and &= sub
					or |= sub
				}
				if sub == 0 {
					break
				}
			}
			if !anyOK {
				return known, roles, false
			}
			forced := and | unk&^or
			for f := forced; f != 0; f &= f - 1 {
				v := bits.TrailingZeros32(f)
				bit := uint32(1) << v
				known |= bit
				roles |= and & bit
				s.word(s.pz.names[v], and&bit != 0, false)
				changed = true
			}
		}
	}
	return known, roles, true
}

func (knights) Verify(p *Problem, completion string) Verdict {
	ans, reason, ok := ExtractAnswer(completion)
	if !ok {
		return Verdict{Reason: reason}
	}
	var pz kkPuzzle
	if !pz.parseKey(p.Key) {
		return Verdict{FormatOK: true, Reason: ReasonKKBadKey}
	}
	count, want := pz.solutions()
	if count != 1 {
		return Verdict{FormatOK: true, Reason: ReasonKKBadKey}
	}
	got, r := pz.parseAnswer(ans)
	if r != ReasonOK {
		return Verdict{FormatOK: true, Reason: r}
	}
	if got != want {
		return Verdict{FormatOK: true, Reason: ReasonWrongValue}
	}
	return Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
}

// parseKey reads "kk:" and a canonical statement list (the prompt format):
// 2 to kkMaxN speakers in strictly ascending order, one space between
// statements, every name in a statement a speaker, a single target other
// than the speaker, pair members distinct and ascending. It does not
// allocate.
func (pz *kkPuzzle) parseKey(key string) bool {
	if len(key) < 3 || key[:3] != "kk:" {
		return false
	}
	s := key[3:]
	// Pass 1: the speakers.
	pz.n = 0
	var index [26]int8 // letter -> inhabitant index + 1
	for i := 0; ; {
		if pz.n == kkMaxN || i+1 >= len(s) || !kkUpper(s[i]) || s[i+1] != ':' {
			return false
		}
		if pz.n > 0 && s[i] <= pz.names[pz.n-1] {
			return false
		}
		pz.names[pz.n] = s[i]
		pz.n++
		index[s[i]-'A'] = int8(pz.n)
		for i < len(s) && s[i] != ' ' {
			i++
		}
		if i == len(s) {
			break
		}
		i++
	}
	if pz.n < 2 {
		return false
	}
	// Pass 2: the statements.
	name := func(c byte) (uint8, bool) {
		if !kkUpper(c) || index[c-'A'] == 0 {
			return 0, false
		}
		return uint8(index[c-'A'] - 1), true
	}
	i := 0
	for sp := 0; sp < pz.n; sp++ {
		j := i + 2
		for j < len(s) && s[j] != ' ' {
			j++
		}
		body := s[i+2 : j]
		i = j + 1
		st := kkStmt{speaker: uint8(sp)}
		if len(body) < 2 {
			return false
		}
		a, ok := name(body[0])
		if !ok {
			return false
		}
		st.a, st.b = a, a
		switch {
		case len(body) == 2 && (body[1] == '+' || body[1] == '-'):
			st.kind = kkKnight
			if body[1] == '-' {
				st.kind = kkKnave
			}
			if a == st.speaker {
				return false
			}
		case len(body) == 3 && (body[1] == '=' || body[1] == '^'):
			b, ok := name(body[2])
			if !ok || b <= a {
				return false
			}
			st.b, st.kind = b, kkSame
			if body[1] == '^' {
				st.kind = kkDiffer
			}
		case len(body) == 4 && (body[1] == '&' || body[1] == '|') && (body[3] == '+' || body[3] == '-'):
			b, ok := name(body[2])
			if !ok || b <= a {
				return false
			}
			st.b = b
			switch both, plus := body[1] == '&', body[3] == '+'; {
			case both && plus:
				st.kind = kkBothKnights
			case both:
				st.kind = kkBothKnaves
			case plus:
				st.kind = kkSomeKnight
			default:
				st.kind = kkSomeKnave
			}
		default:
			return false
		}
		pz.st[sp] = st
	}
	return true
}

// parseAnswer reads "A=knight,B=knave,..." (any order, ASCII spaces between
// tokens) into a bit set of knights, or returns the first problem's reason.
// It does not allocate.
func (pz *kkPuzzle) parseAnswer(s string) (knights uint32, reason string) {
	var seen uint32
	i := 0
	skip := func() {
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}
	for {
		skip()
		if i == len(s) || !kkUpper(s[i]) {
			return 0, ReasonKKSyntax
		}
		c := s[i]
		i++
		skip()
		if i == len(s) || s[i] != '=' {
			return 0, ReasonKKSyntax
		}
		i++
		skip()
		j := i
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || kkUpper(s[j])) {
			j++
		}
		var knight bool
		switch s[i:j] {
		case "knight":
			knight = true
		case "knave":
		case "":
			return 0, ReasonKKSyntax
		default:
			return 0, ReasonKKRole
		}
		v := -1
		for k := 0; k < pz.n; k++ {
			if pz.names[k] == c {
				v = k
			}
		}
		if v < 0 {
			return 0, ReasonKKUnknown
		}
		bit := uint32(1) << v
		if seen&bit != 0 {
			return 0, ReasonKKTwice
		}
		seen |= bit
		if knight {
			knights |= bit
		}
		i = j
		skip()
		if i == len(s) {
			break
		}
		if s[i] != ',' {
			return 0, ReasonKKSyntax
		}
		i++
	}
	if seen != uint32(1)<<pz.n-1 {
		return 0, ReasonKKMissing
	}
	return knights, ReasonOK
}

func kkUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// kkSortBytes sorts a few bytes ascending in place.
func kkSortBytes(a []byte) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func (knights) Notation() string {
	return `prompt: one statement per inhabitant, "SPEAKER:STATEMENT" separated by spaces, speakers in
alphabetical order: "A:Q+ Q:Q&U+ U:Q-". Knights always tell the truth, knaves always lie. X and Y
are inhabitants, X before Y alphabetically; a pair may name the speaker ("Q:Q&U+" is Q saying "U
and I are both knights"):
  X+    X is a knight                    X-    X is a knave
  X&Y+  X and Y are both knights         X&Y-  X and Y are both knaves
  X|Y+  X or Y (or both) is a knight     X|Y-  X or Y (or both) is a knave
  X=Y   X and Y are the same kind        X^Y   exactly one of X and Y is a knight
X=Y and X^Y take no + or - (kk's ^ is "exactly one", unlike mod's power). Answer: every inhabitant
once as NAME=knight or NAME=knave, separated by commas, in any order, spaces allowed between
tokens: "A:Q+ Q:Q&U+ U:Q-" -> "A=knave,Q=knave,U=knight" (the unique consistent assignment).`
}

func (knights) KeyOfPrompt(prompt string) (string, bool) {
	var pz kkPuzzle
	key := "kk:" + prompt
	if !pz.parseKey(key) {
		return "", false
	}
	if c, _ := pz.solutions(); c != 1 {
		return "", false // the generator writes only puzzles with one solution
	}
	return key, true
}

// Canonical of a kk answer is the assignment it names, written with every
// inhabitant in alphabetical order ("A=knave,Q=knave,U=knight").
func (knights) Canonical(p *Problem, answer string) string {
	var pz kkPuzzle
	if !pz.parseKey(p.Key) {
		return ""
	}
	got, r := pz.parseAnswer(answer)
	if r != ReasonOK {
		return ""
	}
	return string(pz.appendAnswer(nil, got))
}
