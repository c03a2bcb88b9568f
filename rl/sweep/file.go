package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"tinyr1/rl/train"
)

// This file reads an experiment file and refuses a bad one before any job
// starts, with one line that names the file, the line and the problem.

// Experiment is an experiment file (see the package doc).
type Experiment struct {
	Out    string           `json:"out"`    // the sweep's folder: OUT/ARM-sSEED is a run folder
	Seeds  []uint64         `json:"seeds"`  // every arm runs once per seed
	Stages map[string]Stage `json:"stages"` // named base settings of a training command
	Arms   []Arm            `json:"arms"`   // the arms, in the order of tables and jobs
	Evals  []Eval           `json:"evals"`  // evaluations of the arms' final checkpoints

	File string `json:"-"` // the file it was read from, for messages
	raw  []byte // its bytes, to find the line of a problem
}

// Stage is a training command with base settings.
type Stage struct {
	Command string          `json:"command"` // sft, train (GRPO) or rft (sft --from-samples)
	Config  json.RawMessage `json:"config"`  // config.json keys
}

// Arm is a stage with an overlay, run once per seed.
type Arm struct {
	Name   string          `json:"name"`   // names its run folders: ARM-sSEED
	Stage  string          `json:"stage"`  // a key of stages
	From   string          `json:"from"`   // parent arm of the same seed: train's --init, rft's --from-samples
	Config json.RawMessage `json:"config"` // config.json keys over the stage's
	Match  *Match          `json:"match"`  // compute matching: extra steps; nil for none
}

// Match gives an arm extra steps: as many as the matched arm's measured
// seconds buy at the per_step arm's seconds per step, or a fixed number.
type Match struct {
	Arm     string `json:"arm"`      // whose seconds (sum of time_step, mean over seeds) are matched
	PerStep string `json:"per_step"` // whose seconds per step (mean time_step of train and rft, time_update of sft; mean over seeds) price a step
	Steps   *int   `json:"steps"`    // fixed extra steps instead of the measurement
}

// Eval is one evaluation of the arms' final checkpoints: RUN/eval/NAME.json.
type Eval struct {
	Name   string          `json:"name"`   // the output file's name
	Arms   []string        `json:"arms"`   // the arms it evaluates; empty: every arm
	Config json.RawMessage `json:"config"` // eval settings: the keys of eval's JSON config ("ks" for --k)
}

// Commands of a stage, and the mode each trains in.
var stageModes = map[string]train.Mode{"sft": train.SFT, "rft": train.RFT, "train": train.GRPO}

// Error is a problem in an experiment file, at a line (0: unknown).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("sweep: %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("sweep: %s: %s", e.File, e.Msg)
}

// MaxFileBytes bounds an experiment file.
const MaxFileBytes = 1 << 20

// Load reads and checks the experiment file at path.
func Load(path string) (*Experiment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("sweep: %s: %w", path, err)
	}
	if len(raw) > MaxFileBytes {
		return nil, &Error{path, 0, fmt.Sprintf("more than %d bytes: want an experiment file of at most 1 MiB", MaxFileBytes)}
	}
	return Parse(raw, path)
}

// Parse reads and checks an experiment file's bytes; name is its name in
// messages.
func Parse(raw []byte, name string) (*Experiment, error) {
	e := &Experiment{File: name, raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(e); err != nil {
		return nil, e.decodeError(err)
	}
	end := int(dec.InputOffset())
	if rest := bytes.TrimSpace(raw[end:]); len(rest) > 0 {
		// Decoder.More would pass a stray } or ].
		return nil, e.errAt(len(raw)-len(bytes.TrimLeft(raw[end:], " \t\r\n")), fmt.Sprintf("%q after the object: want one JSON object and nothing after it", rest[:1]))
	}
	e.File, e.raw = name, raw
	if key, offset, ok := duplicateKey(raw); ok {
		return nil, e.errAt(offset, fmt.Sprintf("key %q appears twice in one object: want each key once (a JSON decoder keeps the last one silently)", key))
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	return e, nil
}

// decodeError turns an encoding/json error into an Error at its line.
func (e *Experiment) decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return e.errAt(int(syn.Offset), fmt.Sprintf("%v: want one JSON object", syn))
	case errors.As(err, &typ) && typ.Field == "":
		return e.errAt(int(typ.Offset), fmt.Sprintf("the file holds a JSON %s: want one JSON object", typ.Value))
	case errors.As(err, &typ):
		return e.errAt(int(typ.Offset), fmt.Sprintf("key %q holds a JSON %s: want %s", typ.Field, typ.Value, typeName(typ.Type)))
	case errors.Is(err, io.EOF):
		return &Error{e.File, 0, "empty: want one JSON object"}
	}
	if key, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &Error{e.File, e.keyLine(strings.Trim(key, `"`)),
			fmt.Sprintf("unknown key %s: want out, seeds, stages, arms and evals (stages: command, config; arms: name, stage, from, config, match; match: arm, per_step, steps; evals: name, arms, config)", key)}
	}
	return &Error{e.File, 0, err.Error()}
}

// duplicateKey returns the first key that appears a second time in one
// object of raw, a valid JSON value, and the offset of that second one.
func duplicateKey(raw []byte) (key string, offset int, found bool) {
	type frame struct {
		keys    map[string]bool // nil in an array
		wantKey bool            // an object's next string is a key
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		start := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return "", 0, false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if k, ok := tok.(string); ok && top != nil && top.wantKey {
			if top.keys[k] {
				return k, start + bytes.IndexByte(raw[start:], '"'), true
			}
			top.keys[k], top.wantKey = true, false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			return "", 0, false
		}
		if top != nil && top.keys != nil && tok != json.Delim('}') && tok != json.Delim(']') {
			top.wantKey = true // a value of top's: its next string is a key
		}
	}
}

// typeName says what Go type t means in an experiment file.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Uint64, reflect.Int:
		return "a whole number"
	}
	return t.String()
}

// errAt is an Error at a byte offset of the file.
func (e *Experiment) errAt(offset int, msg string) error {
	return &Error{e.File, lineAt(e.raw, offset), msg}
}

// lineAt is the line (1-based) of a byte offset.
func lineAt(raw []byte, offset int) int {
	offset = min(max(offset, 0), len(raw))
	return bytes.Count(raw[:offset], []byte("\n")) + 1
}

// keyLine is the line of the first occurrence of key as an object key, or 0.
func (e *Experiment) keyLine(key string) int {
	re := regexp.MustCompile(`"` + regexp.QuoteMeta(key) + `"\s*:`)
	if loc := re.FindIndex(e.raw); loc != nil {
		return lineAt(e.raw, loc[0])
	}
	return 0
}

// nameLine is the line of `"name": "value"` (an arm's or an eval's), or 0.
func (e *Experiment) nameLine(value string) int { return e.nthNameLine(value, 1) }

// nthNameLine is the line of the nth `"name": "value"`, or 0: n = 2 points
// at a name declared twice where it is declared again.
func (e *Experiment) nthNameLine(value string, n int) int {
	re := regexp.MustCompile(`"name"\s*:\s*"` + regexp.QuoteMeta(value) + `"`)
	if locs := re.FindAllIndex(e.raw, n); len(locs) == n {
		return lineAt(e.raw, locs[n-1][0])
	}
	return 0
}

// armErr is a problem of an arm, at the line of its name.
func (e *Experiment) armErr(a *Arm, format string, args ...any) error {
	return &Error{e.File, e.nameLine(a.Name), fmt.Sprintf("arm %q: ", a.Name) + fmt.Sprintf(format, args...)}
}

// namePattern is what arm and eval names may hold: they name folders and files.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// check refuses what would fail later: every problem that a job would
// meet before it computes anything.
func (e *Experiment) check() error {
	if e.Out == "" {
		return &Error{e.File, e.keyLine("out"), `"out" is empty or missing: want the sweep's folder, such as "runs/experiment"`}
	}
	if len(e.Seeds) == 0 {
		return &Error{e.File, e.keyLine("seeds"), `"seeds" is empty or missing: want a list of seeds, such as [1, 2, 3]`}
	}
	for i, s := range e.Seeds {
		if slices.Contains(e.Seeds[:i], s) {
			return &Error{e.File, e.keyLine("seeds"), fmt.Sprintf("seed %d appears twice: want distinct seeds", s)}
		}
	}
	if len(e.Stages) == 0 {
		return &Error{e.File, e.keyLine("stages"), `"stages" is empty or missing: want at least one stage, such as {"warm": {"command": "sft"}}`}
	}
	for _, name := range e.stageNames() {
		st := e.Stages[name]
		if _, ok := stageModes[st.Command]; !ok {
			return &Error{e.File, e.keyLine(name), fmt.Sprintf("stage %q: command %q: want sft, train or rft", name, st.Command)}
		}
		ov, err := overlayKeys(st.Config)
		if err == nil {
			err = checkKeys(ov, st.Command)
		}
		if err != nil {
			return &Error{e.File, e.keyLine(name), fmt.Sprintf("stage %q: %v", name, err)}
		}
	}
	if len(e.Arms) == 0 {
		return &Error{e.File, e.keyLine("arms"), `"arms" is empty or missing: want at least one arm, such as {"name": "sft", "stage": "warm"}`}
	}
	for i := range e.Arms {
		if err := e.checkArm(&e.Arms[i], i); err != nil {
			return err
		}
	}
	if _, err := e.armOrder(); err != nil {
		return err
	}
	for i := range e.Arms {
		a := &e.Arms[i]
		if _, err := e.TrainConfig(a, e.Seeds[0], 0); err != nil {
			return e.armErr(a, "%v", err)
		}
	}
	for i := range e.Evals {
		if err := e.checkEval(&e.Evals[i], i); err != nil {
			return err
		}
	}
	return nil
}

// stageNames are the stages' names, sorted.
func (e *Experiment) stageNames() []string {
	names := make([]string, 0, len(e.Stages))
	for n := range e.Stages {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (e *Experiment) checkArm(a *Arm, i int) error {
	if !namePattern.MatchString(a.Name) {
		return &Error{e.File, e.nameLine(a.Name), fmt.Sprintf("arm %d: name %q: want letters, digits, '_', '.' or '-' (it names run folders)", i+1, a.Name)}
	}
	if e.Arm(a.Name) != a {
		return &Error{e.File, e.nthNameLine(a.Name, 2), fmt.Sprintf("arm %q: declared twice: want distinct arm names", a.Name)}
	}
	st, ok := e.Stages[a.Stage]
	if !ok {
		return e.armErr(a, "stage %q is not declared: want one of %s", a.Stage, strings.Join(e.stageNames(), ", "))
	}
	ov, err := overlayKeys(a.Config)
	if err == nil {
		err = checkKeys(ov, st.Command)
	}
	if err != nil {
		return e.armErr(a, "%v", err)
	}
	switch {
	case st.Command == "sft" && a.From != "":
		return e.armErr(a, `from %q: an sft stage starts from scratch: want no "from" (or a train or rft stage)`, a.From)
	case st.Command != "sft" && a.From == "":
		return e.armErr(a, `stage %q (%s) starts from a checkpoint: want "from": the parent arm`, a.Stage, st.Command)
	case a.From != "" && e.Arm(a.From) == nil:
		return e.armErr(a, "from %q: no such arm: want one of %s", a.From, strings.Join(e.armNames(), ", "))
	case a.From == a.Name:
		return e.armErr(a, "from %q: an arm cannot start from itself", a.From)
	}
	if m := a.Match; m != nil {
		if m.Steps != nil {
			if m.Arm != "" || m.PerStep != "" {
				return e.armErr(a, `match: "steps" with "arm" or "per_step": want either fixed steps or the arms to measure, not both`)
			}
			if *m.Steps < 0 {
				return e.armErr(a, "match steps %d: want extra steps >= 0", *m.Steps)
			}
			return nil
		}
		for _, ref := range []struct{ key, arm string }{{"arm", m.Arm}, {"per_step", m.PerStep}} {
			if ref.arm == "" {
				return e.armErr(a, `match %s is empty: want an arm name (or "steps": N)`, ref.key)
			}
			if e.Arm(ref.arm) == nil {
				return e.armErr(a, "match %s %q: no such arm: want one of %s", ref.key, ref.arm, strings.Join(e.armNames(), ", "))
			}
			if ref.arm == a.Name {
				return e.armErr(a, "match %s %q: an arm cannot be matched to itself", ref.key, ref.arm)
			}
		}
	}
	return nil
}

func (e *Experiment) checkEval(ev *Eval, i int) error {
	if !namePattern.MatchString(ev.Name) {
		return &Error{e.File, e.nameLine(ev.Name), fmt.Sprintf("eval %d: name %q: want letters, digits, '_', '.' or '-' (it names RUN/eval/NAME.json)", i+1, ev.Name)}
	}
	for _, other := range e.Evals[:i] {
		if other.Name == ev.Name {
			return &Error{e.File, e.nthNameLine(ev.Name, 2), fmt.Sprintf("eval %q: declared twice: want distinct eval names", ev.Name)}
		}
	}
	for _, a := range ev.Arms {
		if e.Arm(a) == nil {
			return &Error{e.File, e.nameLine(ev.Name), fmt.Sprintf("eval %q: arm %q: no such arm: want one of %s", ev.Name, a, strings.Join(e.armNames(), ", "))}
		}
	}
	if _, err := EvalConfig(ev); err != nil {
		return &Error{e.File, e.nameLine(ev.Name), fmt.Sprintf("eval %q: %v", ev.Name, err)}
	}
	return nil
}

// Arm returns the arm named name, or nil.
func (e *Experiment) Arm(name string) *Arm {
	for i := range e.Arms {
		if e.Arms[i].Name == name {
			return &e.Arms[i]
		}
	}
	return nil
}

func (e *Experiment) armNames() []string {
	names := make([]string, len(e.Arms))
	for i, a := range e.Arms {
		names[i] = a.Name
	}
	return names
}

// armDeps are the arms a must wait for: its parent, and the arms its
// compute matching measures.
func (e *Experiment) armDeps(a *Arm) []string {
	var deps []string
	if a.From != "" {
		deps = append(deps, a.From)
	}
	if m := a.Match; m != nil && m.Steps == nil {
		for _, d := range []string{m.Arm, m.PerStep} {
			if !slices.Contains(deps, d) {
				deps = append(deps, d)
			}
		}
	}
	return deps
}

// armOrder returns the arms in an order where each comes after the arms it
// waits for, file order otherwise; a cycle is an error naming it.
func (e *Experiment) armOrder() ([]*Arm, error) {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var order []*Arm
	var visit func(a *Arm, path []string) error
	visit = func(a *Arm, path []string) error {
		switch state[a.Name] {
		case done:
			return nil
		case active:
			cycle := append(path[slices.Index(path, a.Name):], a.Name)
			return e.armErr(a, "the arms form a cycle (from and match): %s: want each arm to wait only for arms that do not wait for it", strings.Join(cycle, " -> "))
		}
		state[a.Name] = active
		for _, d := range e.armDeps(a) {
			if err := visit(e.Arm(d), append(path, a.Name)); err != nil {
				return err
			}
		}
		state[a.Name] = done
		order = append(order, a)
		return nil
	}
	for i := range e.Arms {
		if err := visit(&e.Arms[i], nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
