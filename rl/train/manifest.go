package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"runtime"
	"strings"
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

// Backend names the matrix kernels in build facts.
const Backend = "pure-go"

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
