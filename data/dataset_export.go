package data

import "fmt"

// builtinKinds gives the answer kind of every built-in family whose
// verifier accepts exactly the gold answer under that kind's rule, so that
// its problems can be written as a dataset file and verified the same way
// (the round-trip test holds each entry to that). countdown has no kind: it
// accepts every expression that reaches the target.
var builtinKinds = map[string]string{
	"add":    KindInteger,
	"addrev": KindExact,
	"base":   KindExact,
	"bits":   KindInteger,
	"kk":     KindAssignment,
	"lineq":  KindInteger,
	"mod":    KindInteger,
	"mul":    KindInteger,
	"rev":    KindExact,
	"sort":   KindList,
}

// DatasetLineOf returns p as a line of a dataset file (tasks export
// --format file). A built-in family's problem takes the family's answer
// kind, its key as id and its family name as label; a dataset file's
// problem is written back as it was read.
func DatasetLineOf(p *Problem) (DatasetLine, error) {
	l := DatasetLine{Prompt: p.Prompt, Answer: p.Answer, Kind: p.Kind, Solution: p.Solution, Level: p.Level, ID: p.ID}
	if l.Kind == "" {
		kind, ok := builtinKinds[p.Family]
		if !ok {
			return DatasetLine{}, fmt.Errorf("data: family %s has no dataset answer kind: want one of the families %v", p.Family, exportableFamilies())
		}
		l.Kind, l.ID, l.Family = kind, p.Key, p.Family
	}
	return l, nil
}

// exportableFamilies lists the families with an answer kind, sorted.
func exportableFamilies() []string {
	var names []string
	for _, n := range FamilyNames() {
		if _, ok := builtinKinds[n]; ok {
			names = append(names, n)
		}
	}
	return names
}
