package train

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"tinyr1/checkpoints"
)

// Manifest records how a run was started, for reproduction.
type Manifest struct {
	Command    []string          `json:"command"`    // the command line
	Kind       string            `json:"kind"`       // "sft" or "train"
	Build      checkpoints.Build `json:"build"`      // module, VCS revision, Go version, matrix backend
	GOMAXPROCS int               `json:"gomaxprocs"` // threads Go may use
	CPU        string            `json:"cpu"`        // CPU model name
	Started    string            `json:"started"`    // wall-clock start (RFC 3339); not part of any checkpoint
	Init       string            `json:"init"`       // train: the initial checkpoint (also the reference policy)
	InitCopy   string            `json:"init_copy"`  // its hard link (or copy) in the run folder, which resume reads: "init.ckpt"
	InitHash   string            `json:"init_hash"`  // its content hash
	ResumedAt  []int             `json:"resumed_at"` // steps at which the run was resumed
	RunID      string            `json:"run_id"`     // RunID(kind, config, init hash), also in every checkpoint
}

// RunDir is an open run folder: config.json, manifest.json, metrics.jsonl,
// checkpoints/ and a lock held for as long as the run is open.
type RunDir struct {
	Dir      string
	Ckpt     *checkpoints.Run
	Replaced []string // what CreateRun with force removed from an existing run
	lock     *os.File
	metrics  *os.File
	metricsW *bufio.Writer
}

// Backend names the matrix kernels in build facts.
const Backend = "pure-go"

// ErrRunExists is returned when a run folder exists and neither resume nor
// force was asked for.
var ErrRunExists = errors.New("run folder exists")

// InitFile is the name, inside a run folder, of the initial checkpoint of a
// run started from one (train --init, sft --from-samples).
const InitFile = "init.ckpt"

// runFiles are what a run writes into its folder, and so what CreateRun
// with force replaces; anything else there (eval/, notes) is kept.
var runFiles = []string{"checkpoints", "latest", "best", "metrics.jsonl", "config.json", "manifest.json", InitFile}

// CreateRun makes a new run folder. An existing non-empty folder is an
// error unless force is set, in which case the files a run writes
// (runFiles) are removed first (after taking its lock) and listed in
// Replaced; other files, such as eval/, are kept.
func CreateRun(dir string, force bool) (*RunDir, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 && !force {
		return nil, fmt.Errorf("rl: %w: %s holds a run: want --resume %s to continue it, --force to overwrite it, or another --out", ErrRunExists, dir, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("rl: %w", err)
	}
	r := &RunDir{Dir: dir}
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
				return nil, fmt.Errorf("rl: --force: %w", err)
			}
			r.Replaced = append(r.Replaced, name)
		}
	}
	return r, r.open(false)
}

// OpenRun opens an existing run folder to resume it.
func OpenRun(dir string) (*RunDir, error) {
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return nil, fmt.Errorf("rl: --resume %s: not a run folder (no config.json): %w", dir, err)
	}
	r := &RunDir{Dir: dir}
	if err := r.takeLock(); err != nil {
		return nil, err
	}
	return r, r.open(true)
}

func (r *RunDir) takeLock() error {
	f, err := os.OpenFile(filepath.Join(r.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("rl: run folder %s is in use by another process (lock held): want one writer per run", r.Dir)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	r.lock = f
	return nil
}

func (r *RunDir) open(resume bool) error {
	if err := os.MkdirAll(filepath.Join(r.Dir, "checkpoints"), 0o755); err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	r.Ckpt = checkpoints.OpenRun(r.Dir)
	return nil
}

// Close flushes the metrics and releases the lock.
func (r *RunDir) Close() error {
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
		os.Remove(filepath.Join(r.Dir, "lock"))
		r.lock = nil
	}
	return err
}

// KeepInit hard-links the initial checkpoint src into the run folder as
// InitFile, or copies it where a link cannot be made (another file
// system), so that the run does not depend on a file that another run's
// retention may delete. It returns "hard link" or "copy".
func (r *RunDir) KeepInit(src string) (string, error) {
	dst := filepath.Join(r.Dir, InitFile)
	if err := os.Link(src, dst); err == nil {
		return "hard link", nil
	}
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("rl: %w", err)
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return "", fmt.Errorf("rl: %w", err)
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
		return "", fmt.Errorf("rl: copying the initial checkpoint into %s: %w", r.Dir, err)
	}
	return "copy", nil
}

// WriteJSON writes v as indented JSON to name inside the run, atomically
// enough for small files (temporary file and rename).
func (r *RunDir) WriteJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(r.Dir, name), append(b, '\n'))
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rl: %w", err)
	}
	return nil
}

// TruncateMetrics drops metric lines of steps after step, so that a resumed
// run's metrics.jsonl reads as if the run was never stopped.
func (r *RunDir) TruncateMetrics(step int) error {
	path := filepath.Join(r.Dir, "metrics.jsonl")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rl: %w", err)
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
func (r *RunDir) AppendMetrics(v any) error {
	if r.metrics == nil {
		f, err := os.OpenFile(filepath.Join(r.Dir, "metrics.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("rl: %w", err)
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

// RunID names a run by what it computes: a hash of the kind, the fully
// resolved config and the initial checkpoint's content hash. Two runs of the
// same command write byte-identical checkpoints wherever their folders are,
// and runs that differ in any setting get different ids.
func RunID(kind string, cfg Config, initHash string) string {
	b, _ := json.Marshal(struct {
		Kind   string `json:"kind"`
		Config Config `json:"config"`
		Init   string `json:"init"`
	}{kind, cfg, initHash})
	sum := sha256.Sum256(b)
	return kind + "-" + hex.EncodeToString(sum[:6])
}

// NewManifest fills the facts of this process.
func NewManifest(kind string, args []string) Manifest {
	return Manifest{
		Command:    args,
		Kind:       kind,
		Build:      checkpoints.BuildInfo(Backend),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		CPU:        cpuModel(),
		Started:    time.Now().UTC().Format(time.RFC3339),
	}
}

// cpuModel reads the CPU model name on Linux; "unknown" elsewhere.
func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
