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

// writeEvalOut writes the evaluation as JSON to path ("" writes nothing).
func writeEvalOut(path string, out *report.EvalFile) error {
	if path == "" {
		return nil
	}
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("eval: --out: %w (the table was printed)", err)
	}
	err = writeEvalJSON(fh, out)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("eval: --out: %w (the table was printed)", err)
	}
	return nil
}
