package checkpoints

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is the format version this package writes. It reads every version
// from 1 up to Version.
const Version = 1

// Tensor is a named float32 array in row-major order.
type Tensor struct {
	Name  string    // e.g. "model.h.0.attn.wqkv"; see the package doc for the convention
	Shape []int     // dimensions; empty for a scalar
	Data  []float32 // len(Data) == product of Shape
}

// NumElements returns the product of t.Shape (1 for a scalar).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Build records what produced a checkpoint.
type Build struct {
	Module    string `json:"module"`     // main module path and version, e.g. "tinyr1@(devel)"
	Revision  string `json:"revision"`   // VCS revision, "-dirty" appended for modified trees; "" when unknown
	GoVersion string `json:"go_version"` // runtime.Version()
	Backend   string `json:"backend"`    // matrix backend, as named by the trainer
}

// BuildInfo returns the build facts of the running binary, from
// runtime/debug.ReadBuildInfo, with the given matrix backend.
func BuildInfo(backend string) Build {
	b := Build{GoVersion: runtime.Version(), Backend: backend}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Module = info.Main.Path
	if info.Main.Version != "" {
		b.Module += "@" + info.Main.Version
	}
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && b.Revision != "" {
		b.Revision += "-dirty"
	}
	return b
}

// Header describes a training run at the moment of the checkpoint. Every
// field round-trips exactly (JSON fields are compacted).
type Header struct {
	Format        int                `json:"format"`                   // format version; Encode writes Version, Decode reports the file's
	RunID         string             `json:"run_id"`                   // names the training run
	Step          int                `json:"step"`                     // optimizer steps taken; training resumes at Step+1
	OptimizerStep int                `json:"optimizer_step"`           // AdamW step count t used for bias correction
	ModelConfig   json.RawMessage    `json:"model_config,omitempty"`   // the model's config, checked by CheckConfig on resume
	TrainConfig   json.RawMessage    `json:"train_config,omitempty"`   // the fully resolved training config
	Vocab         []string           `json:"vocab,omitempty"`          // tokenizer vocabulary, id i is Vocab[i]; valid UTF-8
	RNG           map[string][]byte  `json:"rng,omitempty"`            // every generator's state by name, e.g. PCG MarshalBinary
	DataPosition  json.RawMessage    `json:"data_position,omitempty"`  // where the data stream resumes; opaque here
	Metrics       map[string]float64 `json:"metrics,omitempty"`        // summary, e.g. "val_pass1"; finite values only
	ParentHash    string             `json:"parent_hash,omitempty"`    // content hash of the parent or initial checkpoint
	ReferenceHash string             `json:"reference_hash,omitempty"` // content hash of the reference policy's checkpoint, when not embedded
	Build         Build              `json:"build"`                    // what wrote the checkpoint
	Created       string             `json:"created,omitempty"`        // optional wall-clock time; leave empty for byte-identical files
}

// Checkpoint is a header and its tensors, in the caller's order.
type Checkpoint struct {
	Header  Header
	Tensors []Tensor

	// File and Hash are set by Decode and Load and never written: the name
	// used in error messages and the content hash of the bytes read.
	File string
	Hash string
}

// Tensor returns the tensor with the given name.
func (c *Checkpoint) Tensor(name string) (*Tensor, bool) {
	for i := range c.Tensors {
		if c.Tensors[i].Name == name {
			return &c.Tensors[i], true
		}
	}
	return nil, false
}

// NumElements returns the total number of elements in the tensors whose
// names start with prefix: NumElements("model.") is the parameter count.
func (c *Checkpoint) NumElements(prefix string) int {
	n := 0
	for i := range c.Tensors {
		if strings.HasPrefix(c.Tensors[i].Name, prefix) {
			n += c.Tensors[i].NumElements()
		}
	}
	return n
}
