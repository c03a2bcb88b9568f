package main

import (
	"fmt"
	"os"
	"path/filepath"

	"tinyr1/rl/report"
)

// checkEvalOut checks, before any evaluation, that eval --out names a file
// that can be written: not a folder, in a folder that exists or can be
// made and that takes a new file. "" (no --out) is fine.
func checkEvalOut(path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return usageError("eval: --out %s is a folder: want a file name such as %s", path, filepath.Join(path, "eval.json"))
		}
		fh, err := os.OpenFile(path, os.O_WRONLY, 0) // opened, not truncated: nothing is lost yet
		if err != nil {
			return fmt.Errorf("eval: --out %s: %w", path, err)
		}
		return fh.Close()
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("eval: --out %s: %w", path, err)
	}
	probe, err := os.CreateTemp(dir, ".tinyr1-eval-*")
	if err != nil {
		return fmt.Errorf("eval: --out %s: cannot write into %s: %w", path, dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// writeEvalOut writes the evaluation as JSON to path ("" writes nothing),
// through a temporary file and a rename where path is a regular file, so a
// failed write keeps the previous one.
func writeEvalOut(path string, out *report.EvalFile) error {
	if path == "" {
		return nil
	}
	fh, tmp, err := createOutput(path)
	if err != nil {
		return fmt.Errorf("eval: --out: %w (the table was printed)", err)
	}
	err = writeEvalJSON(fh, out)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil && tmp != "" {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		removeTemp(tmp)
		return fmt.Errorf("eval: --out: %w (the table was printed)", err)
	}
	return nil
}

// createOutput opens a file that will become path. Where path is new or a
// regular file it is a temporary file beside path (mode 0644), which the
// caller renames over path once it is complete, so that a failed write
// never leaves a cut file in place of a good one; tmp is its name.
// Anything else (/dev/stdout, a named pipe, a symbolic link) is written in
// place, never replaced, and tmp is "".
func createOutput(path string) (f *os.File, tmp string, err error) {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		return f, "", err
	}
	f, err = os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, "", err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, "", err
	}
	return f, f.Name(), nil
}

// removeTemp removes a temporary file of createOutput ("" is none).
func removeTemp(tmp string) {
	if tmp != "" {
		os.Remove(tmp)
	}
}
