package data

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Family "sort": sort a list of signed integers ascending or descending.
//
//	prompt    sort asc: 5 -3 12          (or "sort desc: ...")
//	answer    -3 5 12
//	solution  min -3; min 5; min 12      ("max ..." for desc: pick the extreme of what is left)
//	key       sort:asc:-3,5,12           (direction, then the multiset sorted ascending)
//
// The key is the direction plus the multiset: prompts listing the same
// numbers in another order are the same problem (they share a key, an answer
// and a split).
//
// Levels (n numbers drawn uniformly, duplicates allowed):
//
//	1: 3 numbers in 0..9      2: 4 numbers in 0..99     3: 5 numbers in -99..99
//	4: 6 numbers in -999..999 5: 8 numbers in -99..99 (out of distribution: longer lists)
//
// Level 5 keeps the values of level 3 so that the 8-number prompt fits the
// 48-token prompt budget; what is new is the length of the list.
//
// Answer rule: canonical integers (CheckInteger) separated by exactly one
// ASCII space; a comma, semicolon, tab, newline or a run of spaces between
// numbers is "bad separator". Verify checks the multiset first: a missing,
// extra or changed number is "wrong multiset"; the right multiset in another
// order is "wrong order". Levels outside 1..5 are clamped.
type sortFamily struct{}

func init() { register(sortFamily{}) }

// Sort reasons.
const (
	ReasonSortSeparator = "bad separator"  // numbers not separated by exactly one space
	ReasonSortMultiset  = "wrong multiset" // a number missing, extra or changed
	ReasonSortOrder     = "wrong order"    // right numbers, wrong order
	ReasonSortBadKey    = "bad problem key"
	ReasonSortBadAnswer = "problem answer disagrees with key"
)

const (
	sortMaxLen    = 16 // longest list a key may hold
	sortMaxDigits = 9  // longest number a key may hold; a longer answer token is a wrong number
)

// sortLevels gives the list length and value range of each level.
var sortLevels = [MaxLevel + 1]struct{ n, lo, hi int }{
	{}, {3, 0, 9}, {4, 0, 99}, {5, -99, 99}, {6, -999, 999}, {8, -99, 99},
}

func (sortFamily) Name() string { return "sort" }

func (sortFamily) Description() string {
	return "sort signed integers ascending or descending; multiset and order checked"
}

func (sortFamily) Generate(rng *rand.Rand, level int) Problem {
	level = min(max(level, 1), MaxLevel)
	c := sortLevels[level]
	var buf [sortMaxLen]int
	vals := buf[:c.n]
	for i := range vals {
		vals[i] = c.lo + rng.IntN(c.hi-c.lo+1)
	}
	desc := rng.IntN(2) == 1
	dir, pick := "asc", "min "
	if desc {
		dir, pick = "desc", "max "
	}
	b := make([]byte, 0, 128)
	b = append(b, "sort "...)
	b = append(b, dir...)
	b = append(b, ':')
	for _, v := range vals {
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(v), 10)
	}
	prompt := string(b)

	slices.Sort(vals)
	b = append(b[:0], "sort:"...)
	b = append(b, dir...)
	b = append(b, ':')
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	key := string(b)

	if desc {
		slices.Reverse(vals)
	}
	b = b[:0]
	for i, v := range vals {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	answer := string(b)

	b = b[:0]
	for i, v := range vals {
		if i > 0 {
			b = append(b, "; "...)
		}
		b = append(b, pick...)
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return Problem{Family: "sort", Level: level, Key: key, Prompt: prompt, Answer: answer, Solution: string(b)}
}

func (sortFamily) Verify(p *Problem, completion string) Verdict {
	ans, reason, ok := ExtractAnswer(completion)
	if !ok {
		return Verdict{Reason: reason}
	}
	var want [sortMaxLen]int64 // (n) the gold list in answer order
	n, ok := sortParseKey(p.Key, &want)
	if !ok {
		return Verdict{FormatOK: true, Reason: ReasonSortBadKey}
	}
	var got [sortMaxLen]int64 // (n) the numbers read
	if m, big, r := sortScan(p.Answer, ' ', &got); r != ReasonOK || big || m != n || got != want {
		return Verdict{FormatOK: true, Reason: ReasonSortBadAnswer}
	}
	m, big, r := sortScan(ans, ' ', &got)
	if r != ReasonOK {
		return Verdict{FormatOK: true, Reason: r}
	}
	if big || m != n {
		return Verdict{FormatOK: true, Reason: ReasonSortMultiset}
	}
	if got == want { // unused tail entries are zero in both
		return Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
	}
	// Same multiset? Sort a copy and compare with the gold list sorted
	// ascending; the gold list is sorted one way or the other.
	sorted := got
	sortInsertion(sorted[:n])
	asc := want
	if n > 1 && asc[0] > asc[n-1] {
		slices.Reverse(asc[:n])
	}
	if sorted != asc {
		return Verdict{FormatOK: true, Reason: ReasonSortMultiset}
	}
	return Verdict{FormatOK: true, Reason: ReasonSortOrder}
}

// sortParseKey reads "sort:asc:a,b,c" or "sort:desc:a,b,c" (numbers sorted
// ascending, canonical, at most sortMaxDigits digits, 1 to sortMaxLen of
// them) into dst in the order the answer lists them. It does not allocate.
func sortParseKey(key string, dst *[sortMaxLen]int64) (n int, ok bool) {
	var desc bool
	switch {
	case len(key) > 9 && key[:9] == "sort:asc:":
		key = key[9:]
	case len(key) > 10 && key[:10] == "sort:desc:":
		key, desc = key[10:], true
	default:
		return 0, false
	}
	n, big, r := sortScan(key, ',', dst)
	if r != ReasonOK || big || n == 0 || n > sortMaxLen {
		return 0, false
	}
	for i := 1; i < n; i++ {
		if dst[i] < dst[i-1] {
			return 0, false
		}
	}
	if desc {
		slices.Reverse(dst[:n])
	}
	return n, true
}

// sortScan reads a list of canonical integers separated by exactly one sep
// byte into dst. It returns the number of tokens (which may exceed
// len(dst); only the first len(dst) are stored, the rest of dst is zeroed),
// big when a token has more than sortMaxDigits digits (its value is not
// stored) or there are too many tokens, and ReasonOK or the first syntax
// error: ReasonSortSeparator for an empty token or a separator-like byte
// (',', ';', ' ', tab, newline other than sep) inside a token, else the
// CheckInteger reason. It does not allocate.
func sortScan(s string, sep byte, dst *[sortMaxLen]int64) (n int, big bool, reason string) {
	*dst = [sortMaxLen]int64{}
	start := 0
	for {
		end := start
		for end < len(s) && s[end] != sep {
			end++
		}
		tok := s[start:end]
		if tok == "" {
			return n, big, ReasonSortSeparator
		}
		for i := 0; i < len(tok); i++ {
			switch tok[i] {
			case ',', ';', ' ', '\t', '\n', '\r':
				return n, big, ReasonSortSeparator
			}
		}
		if r := CheckInteger(tok); r != ReasonOK {
			return n, big, r
		}
		digits := tok
		if tok[0] == '-' {
			digits = tok[1:]
		}
		switch {
		case len(digits) > sortMaxDigits || n >= sortMaxLen:
			big = true
		default:
			var v int64
			for i := 0; i < len(digits); i++ {
				v = v*10 + int64(digits[i]-'0')
			}
			if tok[0] == '-' {
				v = -v
			}
			dst[n] = v
		}
		n++
		if end == len(s) {
			return n, big, ReasonOK
		}
		start = end + 1
	}
}

// sortInsertion sorts a short list ascending in place without allocating.
func sortInsertion(a []int64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func (sortFamily) Notation() string {
	return `prompt "sort asc: N N N" or "sort desc: N N N" (signed integers); answer: the same numbers sorted,
canonical integers separated by exactly one space: "sort asc: 5 -3 12" -> "-3 5 12" (commas, tabs or
two spaces between numbers are a bad separator).`
}

func (sortFamily) KeyOfPrompt(prompt string) (string, bool) {
	dir, list, ok := strings.Cut(prompt, ": ")
	if !ok || (dir != "sort asc" && dir != "sort desc") {
		return "", false
	}
	var vals [sortMaxLen]int64
	n, big, r := sortScan(list, ' ', &vals)
	if r != ReasonOK || big || n > sortMaxLen {
		return "", false
	}
	sortInsertion(vals[:n])
	b := append([]byte("sort:"), dir[len("sort "):]...)
	b = append(b, ':')
	for i, v := range vals[:n] {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return string(b), true
}

// Canonical of a sort answer is the list in the order given: the verifier
// accepts only one spelling of a list (canonical integers, one space).
func (sortFamily) Canonical(_ *Problem, answer string) string {
	var got [sortMaxLen]int64
	if _, _, r := sortScan(answer, ' ', &got); r != ReasonOK {
		return ""
	}
	return answer
}
