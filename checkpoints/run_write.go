package checkpoints

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// This file opens a run folder for writing (see the package doc, "Run
// folders"): the lock that keeps one writer per run, --force, the initial
// checkpoint's copy, the JSON files and metrics.jsonl. What goes into the
// JSON files and the metric lines is the caller's; this package only keeps
// them safe.

// Files of a run folder beside the checkpoints and their pointers.
const (
	ConfigFile   = "config.json"   // the settings of the run's mode (checkpoints hold the whole config)
	ManifestFile = "manifest.json" // how the run was started, for reproduction
	MetricsFile  = "metrics.jsonl" // one JSON object per step, with its "step"
	lockFile     = "lock"          // held (flock) while a writer has the run open
)

// ErrRunExists is returned when a run folder exists and neither resume nor
// force was asked for.
var ErrRunExists = errors.New("run folder exists")

// InitFile is the name, inside a run folder, of the initial checkpoint of a
// run started from one (train --init, sft --from-samples).
const InitFile = "init.ckpt"

// runFiles are what a run writes into its folder, and so what CreateRun
// with force replaces; anything else there (eval/, notes) is kept.
var runFiles = []string{checkpointDir, latestFile, bestFile, MetricsFile, ConfigFile, ManifestFile, InitFile}

// CreateRun makes a new run folder. An existing non-empty folder is an
// error unless force is set, in which case the files a run writes
// (runFiles) are removed first (after taking its lock) and listed in
// Replaced; other files, such as eval/, are kept.
func CreateRun(dir string, force bool) (*Run, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 && !force {
		return nil, fmt.Errorf("checkpoints: %w: %s holds a run: want --resume %s to continue it, --force to overwrite it, or another --out", ErrRunExists, dir, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	r := &Run{Dir: dir}
	if err := r.takeLock(); err != nil {
		return nil, err
	}
	if force {
		for _, name := range runFiles {
			p := filepath.Join(dir, name)
			if _, err := os.Lstat(p); err != nil {
				continue
			}
			if err := os.RemoveAll(p); err != nil {
				r.Close()
				return nil, fmt.Errorf("checkpoints: --force: %w", err)
			}
			r.Replaced = append(r.Replaced, name)
		}
	}
	return r, r.open()
}

// ResumeRun opens an existing run folder for writing, to resume its run.
func ResumeRun(dir string) (*Run, error) {
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return nil, fmt.Errorf("checkpoints: --resume %s: not a run folder (no config.json): %w", dir, err)
	}
	r := &Run{Dir: dir}
	if err := r.takeLock(); err != nil {
		return nil, err
	}
	return r, r.open()
}

func (r *Run) takeLock() error {
	f, err := os.OpenFile(filepath.Join(r.Dir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("checkpoints: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("checkpoints: run folder %s is in use by another process (lock held): want one writer per run", r.Dir)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	r.lock = f
	return nil
}

func (r *Run) open() error {
	if err := os.MkdirAll(filepath.Join(r.Dir, checkpointDir), 0o755); err != nil {
		return fmt.Errorf("checkpoints: %w", err)
	}
	return nil
}

// Close flushes the metrics and releases the lock.
func (r *Run) Close() error {
	var err error
	if r.metricsW != nil {
		err = r.metricsW.Flush()
	}
	if r.metrics != nil {
		r.metrics.Close()
	}
	if r.lock != nil {
		syscall.Flock(int(r.lock.Fd()), syscall.LOCK_UN)
		r.lock.Close()
		os.Remove(filepath.Join(r.Dir, lockFile))
		r.lock = nil
	}
	return err
}

// KeepInit hard-links the initial checkpoint src into the run folder as
// InitFile, or copies it where a link cannot be made (another file
// system), so that the run does not depend on a file that another run's
// retention may delete. It returns "hard link" or "copy".
func (r *Run) KeepInit(src string) (string, error) {
	dst := filepath.Join(r.Dir, InitFile)
	if err := os.Link(src, dst); err == nil {
		return "hard link", nil
	}
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("checkpoints: %w", err)
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return "", fmt.Errorf("checkpoints: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("checkpoints: copying the initial checkpoint into %s: %w", r.Dir, err)
	}
	return "copy", nil
}

// WriteJSON writes v as indented JSON to name inside the run, atomically
// enough for small files (temporary file and rename).
func (r *Run) WriteJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(r.Dir, name), append(b, '\n'))
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("checkpoints: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("checkpoints: %w", err)
	}
	return nil
}

// TruncateMetrics drops metric lines of steps after step, so that a resumed
// run's metrics.jsonl reads as if the run was never stopped.
func (r *Run) TruncateMetrics(step int) error {
	path := filepath.Join(r.Dir, MetricsFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checkpoints: %w", err)
	}
	var keep []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var m struct {
			Step int `json:"step"`
		}
		if json.Unmarshal([]byte(line), &m) != nil || m.Step > step {
			continue
		}
		keep = append(keep, line)
	}
	out := strings.Join(keep, "\n")
	if out != "" {
		out += "\n"
	}
	return writeFileAtomic(path, []byte(out))
}

// AppendMetrics writes one JSON line to metrics.jsonl and flushes it.
func (r *Run) AppendMetrics(v any) error {
	if r.metrics == nil {
		f, err := os.OpenFile(filepath.Join(r.Dir, MetricsFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("checkpoints: %w", err)
		}
		r.metrics, r.metricsW = f, bufio.NewWriter(f)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	r.metricsW.Write(append(b, '\n'))
	return r.metricsW.Flush()
}
