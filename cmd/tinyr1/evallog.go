package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"tinyr1/rl/eval"
)

var logSamplesFlag = &cli.StringFlag{Name: "log-samples", Category: catOutput,
	Usage: "write every completion with its verdict and reason to `FILE`, one JSON object a line"}

// sampleLog writes eval.SampleRecord values as JSON lines to a temporary file
// beside its destination, renamed into place once every checkpoint is
// evaluated: a failed or interrupted eval leaves an earlier log whole. A
// nil *sampleLog logs nothing.
type sampleLog struct {
	path, tmp string
	f         *os.File
	w         *bufio.Writer
	enc       *json.Encoder
	n         int // records written
}

// openSampleLog creates the temporary file for path, so that an unwritable
// path fails before the evaluation; "" is no log.
func openSampleLog(path string) (*sampleLog, error) {
	if path == "" {
		return nil, nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, usageError("eval: --log-samples %s is a folder: want a file name", path)
	}
	f, tmp, err := createOutput(path)
	if err != nil {
		return nil, fmt.Errorf("eval: --log-samples: %w", err)
	}
	l := &sampleLog{path: path, tmp: tmp, f: f, w: bufio.NewWriterSize(f, 1<<16)}
	l.enc = json.NewEncoder(l.w)
	l.enc.SetEscapeHTML(false) // completions hold <think> and <answer> tags
	return l, nil
}

// forCheckpoint returns the callback of eval.EvaluateLogged for one
// checkpoint file; nil for a nil log.
func (l *sampleLog) forCheckpoint(file string) func(*eval.SampleRecord) error {
	if l == nil {
		return nil
	}
	return func(r *eval.SampleRecord) error {
		r.Checkpoint = file
		l.n++
		if err := l.enc.Encode(r); err != nil {
			return fmt.Errorf("eval: --log-samples: %w", err)
		}
		return nil
	}
}

// commit flushes the log and renames it into place.
func (l *sampleLog) commit() error {
	if l == nil {
		return nil
	}
	err := l.w.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && l.tmp != "" {
		err = os.Rename(l.tmp, l.path)
	}
	if err != nil {
		removeTemp(l.tmp)
		return fmt.Errorf("eval: --log-samples: %w", err)
	}
	l.f = nil
	return nil
}

// abort removes the temporary file unless commit succeeded.
func (l *sampleLog) abort() {
	if l != nil && l.f != nil {
		l.f.Close()
		removeTemp(l.tmp)
	}
}
