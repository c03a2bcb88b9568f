package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEvalOutputsReplaceOnlyRegularFiles: eval writes --out and
// --log-samples through a temporary file renamed into place (mode 0644),
// except where the path is not a regular file: a symbolic link stays a link
// and its target gets the output (as /dev/stdout would), never replaced.
func TestEvalOutputsReplaceOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	out, log := filepath.Join(dir, "eval.json"), filepath.Join(dir, "samples.jsonl")
	args := []string{"--tasks", "add:1", "--problems", "2", "--n", "1", "--k", "1", "--quiet"}
	evalJSON(t, append(args, "--out", out, "--log-samples", log)...)
	for _, p := range []string{out, log} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o644 || fi.Size() == 0 {
			t.Errorf("%s: %v, %v: want a non-empty file of mode 0644", p, fi, err)
		}
	}
	target, link := filepath.Join(dir, "target.json"), filepath.Join(dir, "link.json")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target.json", link); err != nil {
		t.Fatal(err)
	}
	evalJSON(t, append(args, "--out", link)...)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("--out through a symbolic link replaced the link: %v, %v", fi, err)
	}
	if b, err := os.ReadFile(target); err != nil || len(b) == 0 {
		t.Errorf("the link's target got %d bytes, %v: want the evaluation", len(b), err)
	}
}
