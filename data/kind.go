package data

import (
	"fmt"
	"sort"
	"strings"
)

// Answer kinds of a dataset file (dataset.go). A kind picks the verifier of
// a problem read from a file; the problem's gold answer is the text of its
// answer block, and every kind applies the output contract (ExtractAnswer)
// first, exactly as the built-in families do.
const (
	KindInteger    = "integer"    // a canonical integer (CheckInteger), compared as a string
	KindExact      = "exact"      // the answer text itself
	KindList       = "list"       // items separated by single spaces, in order
	KindMultiset   = "multiset"   // items separated by single spaces, in any order
	KindAssignment = "assignment" // name=value pairs separated by ',', in any order; spaces around tokens are allowed
)

// Kinds lists the answer kinds in the order the documentation gives them.
var Kinds = []string{KindInteger, KindExact, KindList, KindMultiset, KindAssignment}

// Kind reasons. A verdict with one of these has FormatOK == true.
const (
	ReasonKindUnknown    = "unknown answer kind"
	ReasonGoldInvalid    = "gold answer invalid for its kind"
	ReasonEmptyItem      = "empty item"
	ReasonNotAssignment  = "not name=value"
	ReasonNameTwice      = "name twice"
	ReasonUnknownName    = "unknown name"
	ReasonMissingName    = "missing name"
	ReasonTooManyEntries = "too many items"
)

// maxKindEntries bounds the items of a multiset and the pairs of an
// assignment, so that matching them needs only a fixed bit set. An answer
// block holds at most MaxAnswerBytes, so a valid answer never has more.
const maxKindEntries = MaxAnswerBytes

// VerifyKind judges a completion against p by p.Kind: the verifier of a
// problem from a dataset file. It must not panic on any input, and it does
// not allocate.
func VerifyKind(p *Problem, completion string) Verdict {
	ans, reason, ok := ExtractAnswer(completion)
	if !ok {
		return Verdict{Reason: reason}
	}
	if len(p.Answer) > MaxAnswerBytes { // no answer block could match it; also bounds the work below
		return Verdict{FormatOK: true, Reason: ReasonGoldInvalid}
	}
	var r string
	switch p.Kind {
	case KindInteger:
		if CheckInteger(p.Answer) != ReasonOK {
			return Verdict{FormatOK: true, Reason: ReasonGoldInvalid}
		}
		if r = CheckInteger(ans); r == ReasonOK && ans != p.Answer {
			r = ReasonWrongValue
		}
	case KindExact:
		if ans != p.Answer {
			r = ReasonWrongValue
		} else {
			r = ReasonOK
		}
	case KindList:
		r = matchList(ans, p.Answer)
	case KindMultiset:
		r = matchMultiset(ans, p.Answer)
	case KindAssignment:
		r = matchAssignment(ans, p.Answer)
	default:
		return Verdict{FormatOK: true, Reason: ReasonKindUnknown}
	}
	if r != ReasonOK {
		return Verdict{FormatOK: true, Reason: r}
	}
	return Verdict{Correct: true, FormatOK: true, Reason: ReasonOK}
}

// nextItem returns the item of s that starts at i (up to the next single
// space) and where the next item starts; next == -1 after the last item.
func nextItem(s string, i int) (item string, next int) {
	j := strings.IndexByte(s[i:], ' ')
	if j < 0 {
		return s[i:], -1
	}
	return s[i : i+j], i + j + 1
}

// checkItems returns ReasonOK when s is a non-empty list of non-empty items
// separated by single spaces, and how many items it has.
func checkItems(s string) (n int, reason string) {
	if s == "" {
		return 0, ReasonEmptyItem
	}
	for i := 0; i >= 0; {
		var item string
		item, i = nextItem(s, i)
		if item == "" {
			return n, ReasonEmptyItem
		}
		n++
	}
	return n, ReasonOK
}

// matchList compares two lists item by item. Gold is checked first, so a
// bad gold answer is reported as such and not as a wrong completion.
func matchList(ans, gold string) string {
	if _, r := checkItems(gold); r != ReasonOK {
		return ReasonGoldInvalid
	}
	if _, r := checkItems(ans); r != ReasonOK {
		return r
	}
	if ans != gold { // both are canonical lists, so equal lists are equal strings
		return ReasonWrongValue
	}
	return ReasonOK
}

// bitSet marks matched gold entries; maxKindEntries bits.
type bitSet [(maxKindEntries + 63) / 64]uint64

func (b *bitSet) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b *bitSet) set(i int)      { b[i/64] |= 1 << (i % 64) }

// matchMultiset reports whether ans has the items of gold, each as often, in
// any order. Each answer item takes the first unmatched equal gold item:
// O(n^2) over at most maxKindEntries items, without allocating.
func matchMultiset(ans, gold string) string {
	ng, r := checkItems(gold)
	if r != ReasonOK || ng > maxKindEntries {
		return ReasonGoldInvalid
	}
	na, r := checkItems(ans)
	if r != ReasonOK {
		return r
	}
	if na != ng {
		return ReasonWrongValue
	}
	var used bitSet
	for i := 0; i >= 0; {
		var item string
		item, i = nextItem(ans, i)
		found := false
		for j, k := 0, 0; j >= 0; k++ {
			var g string
			g, j = nextItem(gold, j)
			if g == item && !used.has(k) {
				used.set(k)
				found = true
				break
			}
		}
		if !found {
			return ReasonWrongValue
		}
	}
	return ReasonOK
}

// nextPair returns the name=value pair of s that starts at i (up to the
// next ','), with ASCII spaces around the name and the value trimmed, and
// where the next pair starts; next == -1 after the last pair. ok is false
// when the pair has no '=', an empty name or an empty value, or a second '='.
func nextPair(s string, i int) (name, value string, next int, ok bool) {
	pair := s[i:]
	next = -1
	if j := strings.IndexByte(pair, ','); j >= 0 {
		pair, next = pair[:j], i+j+1
	}
	name, value, ok = strings.Cut(pair, "=")
	name, value = trimSpaces(name), trimSpaces(value)
	if !ok || name == "" || value == "" || strings.IndexByte(value, '=') >= 0 {
		return "", "", next, false
	}
	return name, value, next, true
}

// trimSpaces trims ASCII spaces (only) at both ends.
func trimSpaces(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// checkAssignment returns how many pairs s has, or why it is not an
// assignment: a pair without a name, '=' or value, or a name twice.
func checkAssignment(s string) (n int, reason string) {
	for i := 0; i >= 0; {
		var name string
		var ok bool
		name, _, i, ok = nextPair(s, i)
		if !ok {
			return n, ReasonNotAssignment
		}
		// A name seen before? Scan the pairs before this one.
		for j, k := 0, 0; k < n; k++ {
			var prev string
			prev, _, j, _ = nextPair(s, j)
			if prev == name {
				return n, ReasonNameTwice
			}
		}
		n++
	}
	return n, ReasonOK
}

// matchAssignment reports whether ans assigns every name of gold its value,
// and nothing else, in any order.
func matchAssignment(ans, gold string) string {
	ng, r := checkAssignment(gold)
	if r != ReasonOK || ng > maxKindEntries {
		return ReasonGoldInvalid
	}
	var seen bitSet
	na := 0
	for i := 0; i >= 0; {
		name, value, next, ok := nextPair(ans, i)
		if !ok {
			return ReasonNotAssignment
		}
		i = next
		k, found := 0, false
		for j := 0; j >= 0; k++ {
			var gn, gv string
			gn, gv, j, _ = nextPair(gold, j)
			if gn == name {
				if seen.has(k) {
					return ReasonNameTwice
				}
				seen.set(k)
				found = true
				if gv != value {
					r = ReasonWrongValue // keep reading: a later syntax error is a syntax error
				}
				break
			}
		}
		if !found {
			return ReasonUnknownName
		}
		na++
	}
	if na != ng {
		return ReasonMissingName
	}
	if r != ReasonOK {
		return r
	}
	return ReasonOK
}

// CanonicalAnswer returns the canonical form of a (trimmed) answer of the
// given kind: the form two equal answers share. Integer, exact and list
// answers are their own canonical form; a multiset's items are sorted in
// byte order; an assignment's pairs are trimmed to name=value and sorted in
// byte order. It returns an error for an answer the kind's syntax rejects.
func CanonicalAnswer(kind, ans string) (string, error) {
	bad := func(r string) (string, error) {
		return "", fmt.Errorf("answer %q is not a valid %s answer: %s", ans, kind, r)
	}
	switch kind {
	case KindInteger:
		if r := CheckInteger(ans); r != ReasonOK {
			return bad(r)
		}
		return ans, nil
	case KindExact:
		if ans == "" {
			return bad(ReasonEmptyAnswer)
		}
		return ans, nil
	case KindList, KindMultiset:
		if _, r := checkItems(ans); r != ReasonOK {
			return bad(r + " (want items separated by single spaces)")
		}
		if kind == KindList {
			return ans, nil
		}
		items := strings.Split(ans, " ")
		sort.Strings(items)
		return strings.Join(items, " "), nil
	case KindAssignment:
		n, r := checkAssignment(ans)
		if r != ReasonOK {
			return bad(r + " (want name=value pairs separated by ',')")
		}
		pairs := make([]string, 0, n)
		for i := 0; i >= 0; {
			var name, value string
			name, value, i, _ = nextPair(ans, i)
			pairs = append(pairs, name+"="+value)
		}
		sort.Strings(pairs)
		return strings.Join(pairs, ","), nil
	}
	return "", fmt.Errorf("unknown kind %q: want one of %s", kind, strings.Join(Kinds, ", "))
}
