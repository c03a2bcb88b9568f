package checkpoints

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Names inside a run folder; see the package doc.
const (
	checkpointDir = "checkpoints"
	latestFile    = "latest"
	bestFile      = "best"
)

// Retention says which step checkpoints a run folder keeps. The latest and
// the best are always kept.
type Retention struct {
	KeepLast  int // keep the KeepLast most recent steps; 0 keeps every checkpoint
	KeepEvery int // also keep steps that are multiples of KeepEvery; 0 keeps none this way
}

// DefaultRetention keeps the three most recent checkpoints and the best.
func DefaultRetention() Retention { return Retention{KeepLast: 3} }

// Validate reports negative counts.
func (r Retention) Validate() error {
	if r.KeepLast < 0 {
		return fmt.Errorf("checkpoints: retention keep-last %d: want >= 0 (0 keeps all)", r.KeepLast)
	}
	if r.KeepEvery < 0 {
		return fmt.Errorf("checkpoints: retention keep-every %d: want >= 0 (0 turns it off)", r.KeepEvery)
	}
	return nil
}

// Run is a run folder. Its methods are not safe for concurrent use. A Run
// from OpenRun reads (Latest, Best, Checkpoints) and may save; one from
// CreateRun or ResumeRun also holds the folder's lock, so that one process
// at a time writes into it, and writes its JSON files and metrics
// (run_write.go).
type Run struct {
	Dir      string   // the run folder; checkpoints go in Dir/checkpoints
	Replaced []string // what CreateRun with force removed from an existing run
	lock     *os.File
	metrics  *os.File
	metricsW *bufio.Writer
}

// OpenRun returns the run folder dir to read, without its lock; nothing is
// created until SaveStep.
func OpenRun(dir string) *Run { return &Run{Dir: dir} }

// StepFileName returns the file name of the checkpoint for step:
// "step-0000100.ckpt".
func StepFileName(step int) string { return fmt.Sprintf("step-%07d.ckpt", step) }

// parseStepFileName is the inverse of StepFileName.
func parseStepFileName(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, "step-")
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, ".ckpt")
	if !ok || len(digits) < 7 || len(digits) > 18 || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	step, err := strconv.Atoi(digits)
	return step, err == nil && StepFileName(step) == name
}

// SaveStep saves c as checkpoints/step-NNNNNNN.ckpt (NNNNNNN = c.Header.Step),
// points latest at it, points best at it when valScore beats the best so far
// (NaN: unknown, never best) and then deletes the checkpoints ret does not
// keep. Files are replaced atomically in that order, so a crash leaves a
// folder whose latest and best both load. It returns the checkpoint's path,
// also when only the deleting failed.
func (r *Run) SaveStep(c *Checkpoint, valScore float64, ret Retention) (string, error) {
	if err := ret.Validate(); err != nil {
		return "", err
	}
	if c.Header.Step < 0 {
		return "", fmt.Errorf("checkpoints: step %d: want >= 0", c.Header.Step)
	}
	dir := filepath.Join(r.Dir, checkpointDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("checkpoints: %w", err)
	}
	r.removeTemps()
	rel := path.Join(checkpointDir, StepFileName(c.Header.Step))
	p := filepath.Join(r.Dir, filepath.FromSlash(rel))
	if _, err := Save(p, c); err != nil {
		return "", err
	}
	if err := r.writePointer(latestFile, rel+"\n"); err != nil {
		return p, err
	}
	if !math.IsNaN(valScore) {
		bestRel, bestScore, err := r.readBest()
		if err != nil || bestRel == rel || valScore > bestScore {
			line := rel + " " + strconv.FormatFloat(valScore, 'g', -1, 64) + "\n"
			if err := r.writePointer(bestFile, line); err != nil {
				return p, err
			}
		}
	}
	return p, r.prune(ret)
}

// writePointer replaces the pointer file name with text, atomically.
func (r *Run) writePointer(name, text string) error {
	return writeAtomic(filepath.Join(r.Dir, name), writeHooks{}, func(w io.Writer) error {
		_, err := io.WriteString(w, text)
		return err
	})
}

// readPointer returns the first field of the pointer file name, checked to
// be a path inside the run folder.
func (r *Run) readPointer(name string) ([]string, error) {
	p := filepath.Join(r.Dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 || !filepath.IsLocal(filepath.FromSlash(f[0])) {
		return nil, fmt.Errorf("checkpoints: pointer %s holds %q: want a path inside %s such as %q",
			p, b, r.Dir, path.Join(checkpointDir, StepFileName(100)))
	}
	return f, nil
}

// readBest returns the best pointer's path (relative, slash-separated) and score.
func (r *Run) readBest() (string, float64, error) {
	f, err := r.readPointer(bestFile)
	if err != nil {
		return "", 0, err
	}
	if len(f) != 2 {
		return "", 0, fmt.Errorf("checkpoints: pointer %s has %d fields: want 2, path and score", filepath.Join(r.Dir, bestFile), len(f))
	}
	s, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return "", 0, fmt.Errorf("checkpoints: pointer %s: score %q: want a number", filepath.Join(r.Dir, bestFile), f[1])
	}
	return f[0], s, nil
}

// resolve turns a pointer's relative path into a path that exists.
func (r *Run) resolve(pointer, rel string) (string, error) {
	p := filepath.Join(r.Dir, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("checkpoints: %s names %s: %w", filepath.Join(r.Dir, pointer), rel, err)
	}
	return p, nil
}

// Latest returns the path of the run's latest checkpoint. Without a latest
// pointer (a run killed before its first pointer was written) it is the
// checkpoint with the highest step.
func (r *Run) Latest() (string, error) {
	f, err := r.readPointer(latestFile)
	if err == nil {
		return r.resolve(latestFile, f[0])
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	all, err := r.Checkpoints()
	if err != nil {
		return "", err
	}
	if len(all) == 0 {
		return "", fmt.Errorf("checkpoints: run folder %s holds no checkpoints: want %s files",
			r.Dir, filepath.Join(r.Dir, checkpointDir, "step-NNNNNNN.ckpt"))
	}
	return all[len(all)-1], nil
}

// Best returns the path of the checkpoint with the highest validation score.
func (r *Run) Best() (string, error) {
	rel, _, err := r.readBest()
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("checkpoints: run folder %s has no best checkpoint yet: want a %s pointer, written when a step has a validation score",
			r.Dir, bestFile)
	}
	if err != nil {
		return "", err
	}
	return r.resolve(bestFile, rel)
}

// Checkpoints returns the paths of the run's step checkpoints, by step.
func (r *Run) Checkpoints() ([]string, error) {
	steps, err := r.steps()
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(steps))
	for i, s := range steps {
		paths[i] = filepath.Join(r.Dir, checkpointDir, StepFileName(s))
	}
	return paths, nil
}

// steps lists the steps that have a checkpoint file, ascending.
func (r *Run) steps() ([]int, error) {
	entries, err := os.ReadDir(filepath.Join(r.Dir, checkpointDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	var steps []int
	for _, e := range entries {
		if s, ok := parseStepFileName(e.Name()); ok && e.Type().IsRegular() {
			steps = append(steps, s)
		}
	}
	sort.Ints(steps)
	return steps, nil
}

// prune deletes the step checkpoints ret does not keep.
func (r *Run) prune(ret Retention) error {
	if ret.KeepLast == 0 {
		return nil
	}
	steps, err := r.steps()
	if err != nil {
		return err
	}
	keep := make(map[string]bool)
	for _, name := range []string{latestFile, bestFile} {
		if f, err := r.readPointer(name); err == nil {
			keep[path.Base(f[0])] = true
		}
	}
	var errs []error
	for i, s := range steps {
		name := StepFileName(s)
		if keep[name] || i >= len(steps)-ret.KeepLast || (ret.KeepEvery > 0 && s%ret.KeepEvery == 0) {
			continue
		}
		if err := os.Remove(filepath.Join(r.Dir, checkpointDir, name)); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("checkpoints: pruning %s: %w", r.Dir, errors.Join(errs...))
	}
	return nil
}

// removeTemps deletes temporary files a killed save left in the run folder.
func (r *Run) removeTemps() {
	for _, dir := range []string{r.Dir, filepath.Join(r.Dir, checkpointDir)} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if isTemp(e.Name()) && e.Type().IsRegular() {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
}

// isTemp reports whether name is a temporary file of writeAtomic for a
// checkpoint or pointer.
func isTemp(name string) bool {
	target, _, ok := strings.Cut(strings.TrimPrefix(name, "."), tempSuffix)
	if !ok || !strings.HasPrefix(name, ".") {
		return false
	}
	_, isStep := parseStepFileName(target)
	return isStep || target == latestFile || target == bestFile
}

// ResolvePath returns the checkpoint file that p names:
//
//	FILE        the file itself
//	RUN         the run folder's latest checkpoint
//	RUN/latest  the same, through the pointer
//	RUN/best    the checkpoint the best pointer names
//	RUN@STEP    the run's checkpoint of that step, checkpoints/step-NNNNNNN.ckpt
//
// A RUN is a folder; latest and best are read as pointers only inside a
// folder that has a checkpoints/ folder.
func ResolvePath(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		if dir, step, ok := cutStep(p); ok {
			return OpenRun(dir).stepPath(p, step)
		}
		return "", fmt.Errorf("checkpoints: %w", err)
	}
	if fi.IsDir() {
		return OpenRun(p).Latest()
	}
	dir, name := filepath.Split(p)
	if name != latestFile && name != bestFile {
		return p, nil
	}
	if dir == "" {
		dir = "."
	}
	if ci, err := os.Stat(filepath.Join(dir, checkpointDir)); err != nil || !ci.IsDir() {
		return p, nil // a file that happens to be called latest or best
	}
	if name == bestFile {
		return OpenRun(dir).Best()
	}
	return OpenRun(dir).Latest()
}

// cutStep splits "RUN@STEP" when RUN is a folder and STEP a step number.
func cutStep(p string) (string, int, bool) {
	i := strings.LastIndexByte(p, '@')
	if i <= 0 {
		return "", 0, false
	}
	step, err := strconv.Atoi(p[i+1:])
	if err != nil || step < 0 {
		return "", 0, false
	}
	if fi, err := os.Stat(p[:i]); err != nil || !fi.IsDir() {
		return "", 0, false
	}
	return p[:i], step, true
}

// stepPath returns the path of the run's checkpoint of step; arg is what
// the user wrote, for the error.
func (r *Run) stepPath(arg string, step int) (string, error) {
	p := filepath.Join(r.Dir, checkpointDir, StepFileName(step))
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	steps, err := r.steps()
	if err != nil {
		return "", err
	}
	return "", fmt.Errorf("checkpoints: %s: run folder %s has no checkpoint of step %d: want one of the steps %v", arg, r.Dir, step, steps)
}
