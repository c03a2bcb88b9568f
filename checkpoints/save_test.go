package checkpoints

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// failAfter passes the first k bytes to w and then fails, like a disk that
// fills up or a process that dies mid-write.
type failAfter struct {
	w   io.Writer
	k   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) <= f.k {
		f.k -= len(p)
		return f.w.Write(p)
	}
	n, _ := f.w.Write(p[:f.k])
	f.k = 0
	return n, f.err
}

// onlyFile fails the test unless dir holds exactly one entry, name.
func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != name {
		t.Fatalf("folder holds %q, want only %q (no temporary files)", names, name)
	}
}

// TestSaveCrash fails the write after k bytes for many k and checks that
// the previous checkpoint still loads and no temporary file is left.
func TestSaveCrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "step-0000001.ckpt")
	old := smallCheckpoint()
	oldHash, err := Save(path, old)
	if err != nil {
		t.Fatal(err)
	}
	next := testCheckpoint(t)
	size := len(encode(t, next))
	for k := 0; k < size; k += 1 + k/8 {
		diskFull := &failAfter{k: k, err: syscall.ENOSPC}
		_, err := save(path, next, writeHooks{wrap: func(w io.Writer) io.Writer { diskFull.w = w; return diskFull }})
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
			t.Fatalf("failing after %d of %d bytes: got %v, want ENOSPC naming %s", k, size, err, path)
		}
		c, err := Load(path)
		if err != nil {
			t.Fatalf("after a failed save at byte %d, the previous checkpoint does not load: %v", k, err)
		}
		if c.Hash != oldHash {
			t.Fatalf("after a failed save at byte %d: hash %s, want the previous %s", k, c.Hash, oldHash)
		}
		onlyFile(t, dir, "step-0000001.ckpt")
	}
}

// TestSaveFailingSteps fails each step after the write: before the rename
// the old file stays, after it the new one is complete.
func TestSaveFailingSteps(t *testing.T) {
	boom := errors.New("injected failure")
	for _, tt := range []struct {
		step    string
		wantNew bool
	}{{"sync", false}, {"close", false}, {"rename", false}, {"syncdir", true}} {
		t.Run(tt.step, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.ckpt")
			oldHash, err := Save(path, smallCheckpoint())
			if err != nil {
				t.Fatal(err)
			}
			next := testCheckpoint(t)
			_, err = save(path, next, writeHooks{fail: func(s string) error {
				if s == tt.step {
					return boom
				}
				return nil
			}})
			if !errors.Is(err, boom) {
				t.Fatalf("got %v, want the injected failure", err)
			}
			c, err := Load(path)
			if err != nil {
				t.Fatalf("checkpoint under the final name does not load: %v", err)
			}
			if gotNew := c.Hash != oldHash; gotNew != tt.wantNew {
				t.Errorf("new checkpoint in place = %v, want %v", gotNew, tt.wantNew)
			}
			onlyFile(t, dir, "a.ckpt")
		})
	}
}

// TestSaveInvalidKeepsPrevious checks that a checkpoint Encode rejects
// leaves no trace.
func TestSaveInvalidKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.ckpt")
	oldHash, err := Save(path, smallCheckpoint())
	if err != nil {
		t.Fatal(err)
	}
	bad := &Checkpoint{Tensors: []Tensor{{Name: "x", Shape: []int{3}, Data: []float32{1}}}}
	if _, err := Save(path, bad); err == nil {
		t.Fatal("Save of an invalid checkpoint succeeded")
	}
	if h, _ := ContentHash(path); h != oldHash {
		t.Errorf("hash %s after a rejected save, want %s", h, oldHash)
	}
	onlyFile(t, dir, "a.ckpt")
}

// TestSaveMissingFolder checks the error for a folder that does not exist.
func TestSaveMissingFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "a.ckpt")
	_, err := Save(path, smallCheckpoint())
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("got %v, want ErrNotExist naming %s", err, path)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.ckpt"))
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "checkpoints: ") {
		t.Errorf("got %v, want a checkpoints: error matching ErrNotExist", err)
	}
}
