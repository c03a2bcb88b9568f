// Package data holds tinyr1's verifiable problems: the character-level
// tokenizer, the task families with their generators and strict verifiers,
// the train/validation/test splits and the task-mixture syntax. It stands
// alone: nothing here knows about models or training.
//
// Output contract (see docs/method.md): a completion is
//
//	<think>WORKED SOLUTION</think><answer>ANSWER</answer>
//
// followed by end-of-sequence, with ASCII white space (space, tab, LF, CR)
// allowed between the blocks, around the answer and after </answer>, and
// nowhere else outside the think block (ExtractAnswer states the rule
// exactly). The verifier extracts the single answer block, trims that white
// space around it and checks it exactly under the family's answer rule
// (Family.Notation); there is no partial credit.
package data

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
)

// Problem is one generated task instance. Its exported fields are all a
// verifier needs: a Problem read back from JSON (tasks export) verifies the
// same way as a freshly generated one.
type Problem struct {
	Family   string `json:"family"`   // family name, e.g. "add"
	Level    int    `json:"level"`    // difficulty 1-5; 5 is for out-of-distribution tests only
	Split    string `json:"split"`    // "train", "validation" or "test"
	Key      string `json:"key"`      // canonical key: equal problems have equal keys
	Prompt   string `json:"prompt"`   // what the model sees
	Answer   string `json:"answer"`   // gold answer, the text of the answer block
	Solution string `json:"solution"` // a worked solution, the text of a good think block

	// Problems of dataset files only (dataset.go):
	Kind string `json:"kind,omitempty"` // the answer kind that picks the verifier (kind.go)
	ID   string `json:"id,omitempty"`   // the line's own id
}

// Verdict is a verifier's structured result.
type Verdict struct {
	Correct  bool   `json:"correct"`   // the answer is exactly right and the format is valid
	FormatOK bool   `json:"format_ok"` // the completion follows the output contract
	Reason   string `json:"reason"`    // short reason: "ok", "no answer block", "wrong value", ...
}

// Reasons shared by every family. They are constants so that verifying does
// not allocate.
const (
	ReasonOK = "ok"
)

// Family is one kind of task.
type Family interface {
	// Name is the short name used in task mixtures, e.g. "add".
	Name() string
	// Description is one line for `tinyr1 tasks list`.
	Description() string
	// Generate draws one problem of the given level (1-5) from rng. It sets
	// Family, Level, Key, Prompt, Answer and Solution (not Split).
	Generate(rng *rand.Rand, level int) Problem
	// Verify judges a full completion text (without the end-of-sequence
	// token) against p. It must not panic on any input and does not
	// allocate on the reward's path.
	Verify(p *Problem, completion string) Verdict
	// Notation explains, in a few lines for `tinyr1 tasks list` and the
	// README, the family's prompt notation and the answer form its
	// verifier accepts, with one example of each.
	Notation() string
	// KeyOfPrompt returns the canonical key of the problem a prompt states
	// (Problem.Key of every generated problem with that prompt), or false
	// when the prompt is not one this family writes.
	KeyOfPrompt(prompt string) (key string, ok bool)
	// Canonical returns the canonical form of an answer block (trimmed, as
	// ExtractAnswer returns it) under the family's answer rule: two answers
	// with the same canonical form are one answer to Verify (both correct or
	// both wrong). It is "" for an answer that does not parse (a syntax
	// reason), which therefore has no value to vote for. It is what maj@k
	// votes on; it may allocate, and the reward never calls it.
	Canonical(p *Problem, answer string) string
}

// MaxLevel is the highest difficulty level; it is meant for
// out-of-distribution testing only.
const MaxLevel = 5

var registry = map[string]Family{}

// register adds a family; each family file calls it from init.
func register(f Family) {
	if _, dup := registry[f.Name()]; dup {
		panic("data: family registered twice: " + f.Name())
	}
	registry[f.Name()] = f
}

// Families returns every family, sorted by name.
func Families() []Family {
	fs := make([]Family, 0, len(registry))
	for _, f := range registry {
		fs = append(fs, f)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name() < fs[j].Name() })
	return fs
}

// FamilyNames returns the sorted family names.
func FamilyNames() []string {
	var names []string
	for _, f := range Families() {
		names = append(names, f.Name())
	}
	return names
}

// Lookup returns the family with the given name.
func Lookup(name string) (Family, error) {
	if strings.HasPrefix(name, FilePrefix) {
		return LoadFile(name[len(FilePrefix):])
	}
	f, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("data: unknown task family %q: want one of %v", name, FamilyNames())
	}
	return f, nil
}

// Verify judges a completion with the problem's own family.
func Verify(p *Problem, completion string) (Verdict, error) {
	if strings.HasPrefix(p.Family, FilePrefix) { // a dataset file's problem carries its verifier's kind
		if !slices.Contains(Kinds, p.Kind) {
			return Verdict{}, fmt.Errorf("data: problem of %s has kind %q: want one of %s", p.Family, p.Kind, strings.Join(Kinds, ", "))
		}
		return VerifyKind(p, completion), nil
	}
	f, err := Lookup(p.Family)
	if err != nil {
		return Verdict{}, err
	}
	return f.Verify(p, completion), nil
}

// Canonical returns the family's canonical form (Family.Canonical) of the
// answer block of a completion, or "" when the completion breaks the output
// contract or its answer does not parse.
func Canonical(p *Problem, completion string) (string, error) {
	var f Family
	if strings.HasPrefix(p.Family, FilePrefix) { // as Verify: by the problem's kind, without reading the file
		if !slices.Contains(Kinds, p.Kind) {
			return "", fmt.Errorf("data: problem of %s has kind %q: want one of %s", p.Family, p.Kind, strings.Join(Kinds, ", "))
		}
		f = (*FileFamily)(nil)
	} else {
		var err error
		if f, err = Lookup(p.Family); err != nil {
			return "", err
		}
	}
	ans, _, ok := ExtractAnswer(completion)
	if !ok {
		return "", nil
	}
	return f.Canonical(p, ans), nil
}

// CheckLevel returns an error for a level outside 1..MaxLevel.
func CheckLevel(level int) error {
	if level < 1 || level > MaxLevel {
		return fmt.Errorf("data: level %d: want 1 to %d", level, MaxLevel)
	}
	return nil
}

// FormatCompletion is the ideal completion text for p: its worked solution
// as the think block and its gold answer as the answer block.
func FormatCompletion(p *Problem) string {
	return TagThinkOpen + p.Solution + TagThinkClose + TagAnswerOpen + p.Answer + TagAnswerClose
}
