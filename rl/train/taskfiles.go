package train

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"tinyr1/data"
)

// Provenance of dataset files (data.FileFamily): a run whose task mixture
// names files records each file's SHA-256 in its config (task_files), and
// so in every checkpoint; a resumed run, whose config comes from its run
// folder, refuses to go on when a file's bytes changed.

// TaskFiles returns "PATH=SHA256,..." for the dataset files of a task
// mixture, in mixture order, or "" when it names none. Each hash is of the
// file's bytes on disk now, and must equal the hash of the copy this
// process read (data.LoadFile reads a file once per process).
func TaskFiles(tasks string) (string, error) {
	mix, err := data.ParseMixture(tasks)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, f := range mix.Files() {
		raw, err := os.ReadFile(f.Path())
		if err != nil {
			return "", fmt.Errorf("rl: task file: %w", err)
		}
		sum := sha256.Sum256(raw)
		disk := hex.EncodeToString(sum[:])
		if disk != f.SHA256() {
			return "", fmt.Errorf("rl: task file %s has SHA-256 %s on disk: want %s, the bytes this process read (the file changed while in use)", f.Path(), disk, f.SHA256())
		}
		parts = append(parts, f.Path()+"="+disk)
	}
	return strings.Join(parts, ","), nil
}

// PinTaskFiles records the dataset files' hashes in c.TaskFiles when it is
// empty; when it is set (a resumed run's config, or a pin given on the
// command line) it refuses files whose bytes differ from it.
func (c *Config) PinTaskFiles() error {
	got, err := TaskFiles(c.Tasks)
	if err != nil {
		return err
	}
	if c.TaskFiles == "" {
		c.TaskFiles = got
		return nil
	}
	if got == c.TaskFiles {
		return nil
	}
	want := map[string]string{}
	for _, part := range strings.Split(c.TaskFiles, ",") {
		path, sum, _ := strings.Cut(part, "=")
		want[path] = sum
	}
	for _, part := range strings.Split(got, ",") {
		path, sum, _ := strings.Cut(part, "=")
		if w, ok := want[path]; ok && w != sum {
			return fmt.Errorf("rl: task file %s has SHA-256 %s: want %s (task_files of the run's config): the file changed; restore it, or start a new run without task_files", path, sum, w)
		}
	}
	return fmt.Errorf("rl: config task_files = %q: want the files of tasks with their SHA-256, %q", c.TaskFiles, got)
}

// checkFileSplits refuses, before the first step, a dataset file that
// cannot feed the run: every level a file item trains on (each level of the
// curriculum's range under a curriculum) needs train problems, and, when
// the run validates, every item's level needs validation problems.
func (t *Trainer) checkFileSplits() error {
	for _, it := range t.Mix {
		f, err := data.Lookup(it.Family)
		if err != nil {
			return err
		}
		if _, finite := data.Distinct(f, it.Level, data.Train); !finite {
			continue
		}
		lo, hi := it.Level, it.Level
		if t.Cur != nil {
			lo, hi = t.Cur.Config.MinLevel, t.Cur.Config.MaxLevel
		}
		for l := lo; l <= hi; l++ {
			if n, _ := data.Distinct(f, l, data.Train); n == 0 {
				why := ""
				if t.Cur != nil {
					why = fmt.Sprintf(" (the curriculum moves between levels %d and %d)", lo, hi)
				}
				return fmt.Errorf("rl: --tasks: %s has no level %d problems in the train split%s: want train problems at every level it trains on", f.Name(), l, why)
			}
		}
		if n, _ := data.Distinct(f, it.Level, data.Validation); n == 0 && t.Cfg.EvalEvery > 0 {
			return fmt.Errorf("rl: --tasks: %s has no level %d problems in the validation split: want some, or --eval-every 0", f.Name(), it.Level)
		}
	}
	return nil
}
