package report

import (
	"os"
	"path/filepath"
	"testing"

	"tinyr1/checkpoints"
)

// TestOffsetFromInitCopy: a GRPO run whose initial checkpoint was pruned
// since is still drawn from the parent's step, read from the run's own
// init.ckpt header (the original path is gone, and init.ckpt's name says
// no step).
func TestOffsetFromInitCopy(t *testing.T) {
	src := filepath.Join("..", "..", "cmd", "tinyr1", "testdata", "tiny-add1.ckpt")
	ck, err := checkpoints.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Header.Step == 0 {
		t.Fatal("the fixture has step 0: the test needs a parent step")
	}
	dir := t.TempDir()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "init.ckpt"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "manifest.json"),
		[]byte(`{"kind": "train", "init": "/nonexistent/pruned/run/checkpoints/x.ckpt", "init_copy": "init.ckpt"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(`{"step": 1, "reward_mean": 0.5}`+"\n"), 0o644)
	r, err := LoadRunMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Offset != ck.Header.Step {
		t.Errorf("offset %d: want the init copy's step %d", r.Offset, ck.Header.Step)
	}
}
