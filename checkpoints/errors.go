package checkpoints

import (
	"errors"
	"fmt"
	"strings"
)

// Kinds of format error; match them with errors.Is.
var (
	ErrMagic     = errors.New("not a tinyr1 checkpoint")
	ErrVersion   = errors.New("unknown format version")
	ErrTruncated = errors.New("truncated")
	ErrChecksum  = errors.New("checksum mismatch")
	ErrCorrupt   = errors.New("corrupt")
)

// FormatError reports a file that is not a valid checkpoint.
type FormatError struct {
	File   string // the file's name as given to Decode or Load
	Kind   error  // ErrMagic, ErrVersion, ErrTruncated, ErrChecksum or ErrCorrupt
	Offset int64  // byte offset of the bad field
	What   string // the field, e.g. "index length"
	Found  string // what the file holds
	Want   string // what a valid file holds
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("checkpoints: %s: %v: %s at byte %d: found %s, want %s",
		e.File, e.Kind, e.What, e.Offset, e.Found, e.Want)
}

// Unwrap returns e.Kind, so errors.Is(err, ErrChecksum) works.
func (e *FormatError) Unwrap() error { return e.Kind }

// ErrConfigMismatch is matched by every *ConfigMismatchError.
var ErrConfigMismatch = errors.New("config mismatch")

// ConfigDiff is one field that differs between two configs.
type ConfigDiff struct {
	Path  string // dotted path of the field, e.g. "n_layer" or "mlp.hidden"
	Found string // the checkpoint's value as JSON, "(absent)" when missing
	Want  string // the expected value as JSON, "(absent)" when missing
}

// ConfigMismatchError reports a checkpoint whose model config differs from
// the model being resumed.
type ConfigMismatchError struct {
	File  string
	Diffs []ConfigDiff // sorted by Path
}

func (e *ConfigMismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checkpoints: %s: model config does not match the model being resumed:", e.File)
	for i, d := range e.Diffs {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %s: found %s, want %s", d.Path, d.Found, d.Want)
	}
	return b.String()
}

// Unwrap returns ErrConfigMismatch.
func (e *ConfigMismatchError) Unwrap() error { return ErrConfigMismatch }

// ErrReferenceMismatch is matched by every *ReferenceMismatchError.
var ErrReferenceMismatch = errors.New("reference hash mismatch")

// ReferenceMismatchError reports a reference checkpoint whose content hash
// differs from the one the checkpoint names.
type ReferenceMismatchError struct {
	File      string // the checkpoint naming the reference
	Reference string // the reference checkpoint's path
	Found     string // its content hash
	Want      string // Header.ReferenceHash of File
}

func (e *ReferenceMismatchError) Error() string {
	if e.Want == "" {
		return fmt.Sprintf("checkpoints: %s names no reference checkpoint (reference_hash is empty): found %s with hash %s, want none",
			e.File, e.Reference, e.Found)
	}
	return fmt.Sprintf("checkpoints: %s: reference checkpoint %s has content hash %s, want %s",
		e.File, e.Reference, e.Found, e.Want)
}

// Unwrap returns ErrReferenceMismatch.
func (e *ReferenceMismatchError) Unwrap() error { return ErrReferenceMismatch }
