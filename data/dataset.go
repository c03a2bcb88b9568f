package data

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// A dataset file is a task family read from JSON lines, one problem a line:
//
//	{"prompt": "digit sum of 4821", "answer": "15", "kind": "integer",
//	 "solution": "4+8+2+1=15", "level": 1, "id": "ds-17", "family": "digits"}
//
// prompt, answer and kind are required; kind picks the verifier (kind.go).
// solution is the worked solution of the think block for SFT; level (1-5,
// default 1) lets a mixture pick part of the file; id and family are labels
// of your own (id is kept with the problem, family is only checked). Blank
// lines are skipped. In a task mixture the file is the family "file:PATH".
//
// A problem's canonical key is its prompt, a tab and its canonical answer
// (CanonicalAnswer), and its split is SplitOfKey(key), the rule of every
// built-in family: a test problem can never be drawn for training.
//
// Loading refuses the whole file, naming file and line, for malformed JSON,
// a missing, unknown or mistyped field, an unknown kind, an answer its kind
// rejects, a character outside the tokenizer's vocabulary or a tag of the
// output contract in a field, a gold completion its own verifier rejects,
// and a repeated prompt or id. The length check against a model's context
// is CheckContext, since the context is a property of the model.

// FilePrefix starts the family name of a dataset file: "file:PATH".
const FilePrefix = "file:"

// DatasetLine is one line of a dataset file.
type DatasetLine struct {
	Prompt   string `json:"prompt"`             // what the model sees
	Answer   string `json:"answer"`             // gold answer, the text of the answer block
	Kind     string `json:"kind"`               // answer kind: integer, exact, list, multiset or assignment
	Solution string `json:"solution,omitempty"` // worked solution, the text of the think block (SFT)
	Level    int    `json:"level"`              // difficulty 1-5; absent is 1
	ID       string `json:"id,omitempty"`       // your own identifier, unique in the file
	Family   string `json:"family,omitempty"`   // your own label, e.g. the generator that made the problem
}

// datasetFields are the keys a line may have, in documentation order.
var datasetFields = []string{"prompt", "answer", "kind", "solution", "level", "id", "family"}

// Limits of a dataset file.
const (
	MaxDatasetLine     = 1 << 20 // bytes of one line
	MaxDatasetProblems = 1 << 22 // problems of one file
	maxDatasetErrors   = 10      // line errors reported before giving up
)

// DatasetError is a problem with one line of a dataset file.
type DatasetError struct {
	File string // the file's name as given
	Line int    // 1-based line number
	Msg  string // what is wrong and what is expected
}

func (e *DatasetError) Error() string {
	return fmt.Sprintf("data: %s:%d: %s", e.File, e.Line, e.Msg)
}

// FileFamily is a task family read from a dataset file. It holds a fixed
// set of problems; Generate (split.go) draws them through Finite.
type FileFamily struct {
	name     string                   // "file:PATH"
	path     string                   // PATH as given
	sum      string                   // SHA-256 of the file's bytes, hex
	problems []Problem                // in file order; Split set
	lines    []int                    // line number of each problem
	index    [3][MaxLevel + 1][]int32 // (split, level) -> indices into problems, in file order
	byPrompt map[string]int32         // prompt -> index into problems (prompts are unique in a file)
}

var _ Family = (*FileFamily)(nil)
var _ Finite = (*FileFamily)(nil)

// Finite is implemented by families with a fixed set of problems, such as
// dataset files. Generate draws item index of a split from it without
// repeats within each pass over the split (see Generate).
type Finite interface {
	// Distinct returns how many distinct problems a level has in a split.
	Distinct(level int, split Split) int
	// Nth returns problem i (0 <= i < Distinct(level, split)) of a level in
	// a split, in a fixed order.
	Nth(level int, split Split, i int) Problem
}

// Distinct returns how many distinct problems level of f has in split, and
// whether f is finite at all (a generated family's problems are unbounded).
func Distinct(f Family, level int, split Split) (n int, finite bool) {
	if ff, ok := f.(Finite); ok {
		return ff.Distinct(level, split), true
	}
	return 0, false
}

func (f *FileFamily) Name() string { return f.name }

func (f *FileFamily) Description() string {
	return fmt.Sprintf("%d problems from %s (sha256 %s)", len(f.problems), f.path, f.sum[:12])
}

// Path returns the file's name as given; SHA256 the hex SHA-256 of the
// bytes read.
func (f *FileFamily) Path() string   { return f.path }
func (f *FileFamily) SHA256() string { return f.sum }

// Len returns the number of problems in the file.
func (f *FileFamily) Len() int { return len(f.problems) }

// Levels returns the levels that have problems, ascending.
func (f *FileFamily) Levels() []int {
	var lv []int
	for l := 1; l <= MaxLevel; l++ {
		for s := range f.index {
			if len(f.index[s][l]) > 0 {
				lv = append(lv, l)
				break
			}
		}
	}
	return lv
}

// Generate draws a problem of the level from any split; Generate (split.go)
// does not use it, it draws through Finite so that splits stay apart.
func (f *FileFamily) Generate(rng *rand.Rand, level int) Problem {
	n := 0
	for s := range f.index {
		n += len(f.index[s][level])
	}
	if n == 0 {
		return Problem{Family: f.name, Level: level}
	}
	i := rng.IntN(n)
	for s := range f.index {
		if i < len(f.index[s][level]) {
			return f.problems[f.index[s][level][i]]
		}
		i -= len(f.index[s][level])
	}
	panic("unreachable")
}

// Verify judges a completion by the problem's kind.
func (f *FileFamily) Verify(p *Problem, completion string) Verdict {
	return VerifyKind(p, completion)
}

// Notation says that the prompts are the file's own and what each answer
// kind accepts; a line's kind picks its verifier.
func (f *FileFamily) Notation() string {
	var kinds []string
	for _, k := range Kinds {
		for i := range f.problems {
			if f.problems[i].Kind == k {
				kinds = append(kinds, k)
				break
			}
		}
	}
	return "prompts: the file's own text, one problem a line.\n" +
		"answer: by each line's kind (this file: " + strings.Join(kinds, ", ") + "): integer, a canonical integer (optional -, no leading zeros);\n" +
		"exact, the text itself; list, items separated by single spaces, in order; multiset, the same in any order;\n" +
		"assignment, name=value pairs separated by ',', in any order."
}

// KeyOfPrompt returns the key of the file's problem with this prompt.
func (f *FileFamily) KeyOfPrompt(prompt string) (string, bool) {
	i, ok := f.byPrompt[prompt]
	if !ok {
		return "", false
	}
	return f.problems[i].Key, true
}

// Canonical returns the answer's canonical form under the problem's kind
// (CanonicalAnswer), or "" when the kind's syntax rejects it.
func (f *FileFamily) Canonical(p *Problem, answer string) string {
	c, err := CanonicalAnswer(p.Kind, answer)
	if err != nil {
		return ""
	}
	return c
}

func (f *FileFamily) Distinct(level int, split Split) int {
	if level < 1 || level > MaxLevel || int(split) >= len(f.index) {
		return 0
	}
	return len(f.index[split][level])
}

func (f *FileFamily) Nth(level int, split Split, i int) Problem {
	return f.problems[f.index[split][level][i]]
}

// CheckContext returns an error naming the first problem of f whose
// prompt and gold completion do not fit a model's context: BOS, prompt,
// completion and EOS must fit in context tokens.
func (f *FileFamily) CheckContext(tok *Tokenizer, context int) error {
	for i := range f.problems {
		p := &f.problems[i]
		pt, err := tok.EncodePrompt(p.Prompt)
		if err != nil {
			return err
		}
		ct, err := tok.EncodeCompletion(FormatCompletion(p))
		if err != nil {
			return err
		}
		if n := len(pt) + len(ct); n > context {
			return &DatasetError{File: f.path, Line: f.lines[i], Msg: fmt.Sprintf(
				"prompt and gold completion take %d tokens: want at most %d (the model's context)", n, context)}
		}
	}
	return nil
}

// CheckContext checks every dataset file of a mixture against a model's
// context (FileFamily.CheckContext). Built-in families fit by design.
func (m Mixture) CheckContext(tok *Tokenizer, context int) error {
	for _, f := range m.Files() {
		if err := f.CheckContext(tok, context); err != nil {
			return err
		}
	}
	return nil
}

// Files returns the dataset files of a mixture, once each, in order.
func (m Mixture) Files() []*FileFamily {
	var fs []*FileFamily
	for _, it := range m {
		if !strings.HasPrefix(it.Family, FilePrefix) {
			continue
		}
		f, err := LoadFile(it.Family[len(FilePrefix):])
		if err != nil {
			continue // ParseMixture loaded it; a cache miss cannot fail differently
		}
		if !slices.Contains(fs, f) {
			fs = append(fs, f)
		}
	}
	return fs
}

// files caches loaded dataset files by path: a process reads each file
// once, so every part of a run sees the same problems even if the file
// changes on disk meanwhile (provenance records the hash of what was read).
var files struct {
	sync.Mutex
	m map[string]*FileFamily
}

// LoadFile reads and checks a dataset file, or returns the one already read
// from path by this process.
func LoadFile(path string) (*FileFamily, error) {
	files.Lock()
	defer files.Unlock()
	if f, ok := files.m[path]; ok {
		return f, nil
	}
	if path == "" {
		return nil, errors.New("data: empty dataset file name: want file:PATH")
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: dataset file: %w", err)
	}
	defer fh.Close()
	f, err := ReadDataset(path, fh)
	if err != nil {
		return nil, err
	}
	if files.m == nil {
		files.m = map[string]*FileFamily{}
	}
	files.m[path] = f
	return f, nil
}

// parseFileItem reads the mixture item "file:PATH[:LEVEL]" (weight already
// removed): LEVEL is a level or a range lo-hi; without it, every level the
// file has. The path may not contain ',', '=' or ':'.
func parseFileItem(item string, w float64) (Mixture, string) {
	path, lv, hasLevel := strings.Cut(item[len(FilePrefix):], ":")
	f, err := LoadFile(path)
	if err != nil {
		return nil, err.Error()
	}
	levels := f.Levels()
	if hasLevel {
		lo, hi := lv, lv
		if a, b, ok := strings.Cut(lv, "-"); ok {
			lo, hi = a, b
		}
		l1, err1 := strconv.Atoi(lo)
		l2, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || l1 < 1 || l2 > MaxLevel || l1 > l2 {
			return nil, fmt.Sprintf("level %q: want 1 to %d or a range like 1-3", lv, MaxLevel)
		}
		levels = levels[:0]
		for l := l1; l <= l2; l++ {
			if f.Distinct(l, Train)+f.Distinct(l, Validation)+f.Distinct(l, Test) == 0 {
				return nil, fmt.Sprintf("%s has no level %d problems: want one of its levels %v", path, l, f.Levels())
			}
			levels = append(levels, l)
		}
	}
	var m Mixture
	for _, l := range levels {
		m = append(m, MixItem{Family: f.name, Level: l, Weight: w})
	}
	return m, ""
}

// generateFinite is Generate for a finite family: item index of a split is
// a fixed problem of it. The items of each pass over the n problems (index
// e*n to e*n+n-1) are a permutation of them that depends on the seed, the
// split, the family, the level and e, so the first n items are distinct and
// a long run sees every problem once per pass.
func generateFinite(f Family, ff Finite, level int, split Split, seed, index uint64) (Problem, error) {
	n := ff.Distinct(level, split)
	if n == 0 {
		return Problem{}, fmt.Errorf("data: %s has no level %d problems in the %s split: want a file with more problems at that level (the split is decided by the hash of each problem's key)", f.Name(), level, split)
	}
	pass, pos := index/uint64(n), index%uint64(n)
	s1, s2 := StreamSeed(seed, split, f.Name(), level, pass)
	return ff.Nth(level, split, int(permute(pos, uint64(n), s1, s2))), nil
}

// permute maps i in [0, n) to a position in [0, n), bijectively for fixed
// keys: a four-round Feistel network over the smallest even number of bits
// that covers n, with cycle walking until the value falls below n (each
// walk step stays on i's cycle, so it ends, after fewer than 4 steps on
// average). It does not allocate.
func permute(i, n, k1, k2 uint64) uint64 {
	half := 1
	for uint64(1)<<(2*half) < n {
		half++
	}
	mask := uint64(1)<<half - 1
	for {
		l, r := i>>half, i&mask
		for round := uint64(0); round < 4; round++ {
			k := k1
			if round&1 == 1 {
				k = k2
			}
			l, r = r, l^(mix64(r^k^round*0x9e3779b97f4a7c15)&mask)
		}
		i = l<<half | r
		if i < n {
			return i
		}
	}
}
