package checkpoints

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// Save writes c to path atomically and returns the file's content hash. It
// writes a temporary file in the same folder, syncs it, renames it to path
// and syncs the folder: a crash at any moment leaves either the previous
// file or the new one under path. On error the temporary file is removed
// and a previous file at path is untouched.
func Save(path string, c *Checkpoint) (hash string, err error) {
	return save(path, c, writeHooks{})
}

func save(path string, c *Checkpoint, hk writeHooks) (string, error) {
	var hash string
	err := writeAtomic(path, hk, func(w io.Writer) (err error) {
		hash, err = encodeHashed(w, c)
		return err
	})
	if err != nil {
		return "", err
	}
	return hash, nil
}

// Load reads and verifies the checkpoint at path. Its File is path and its
// Hash the file's content hash.
func Load(path string) (*Checkpoint, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	return decode(buf, path, true)
}

// ContentHash returns the hex SHA-256 of the file at path, the name by which
// checkpoints refer to each other (Header.ParentHash, Header.ReferenceHash).
func ContentHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("checkpoints: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checkpoints: hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeHooks let tests make the write path fail at chosen points; the zero
// value changes nothing.
type writeHooks struct {
	wrap func(io.Writer) io.Writer // wraps the temporary file, e.g. to fail after k bytes
	fail func(step string) error   // called before "sync", "close", "rename" and "syncdir"
}

func (hk writeHooks) step(name string) error {
	if hk.fail == nil {
		return nil
	}
	return hk.fail(name)
}

// tempSuffix marks temporary files (hidden, next to their target) so that
// a run folder can clear what a killed process left behind.
const tempSuffix = ".tmp-"

// writeAtomic writes path through write, atomically; see Save.
func writeAtomic(path string, hk writeHooks, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+tempSuffix+"*")
	if err != nil {
		return fmt.Errorf("checkpoints: saving %s: %w", path, err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if err != nil && !renamed {
			f.Close()
			os.Remove(tmp)
		}
		if err != nil {
			err = fmt.Errorf("checkpoints: saving %s: %w", path, err)
		}
	}()
	var w io.Writer = f
	if hk.wrap != nil {
		w = hk.wrap(f)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := hk.step("sync"); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := hk.step("close"); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := hk.step("rename"); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// From here the new file is complete under its final name; an error
	// means only that the rename may not yet be durable.
	renamed = true
	if err := hk.step("syncdir"); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. File systems that cannot sync a
// folder (EINVAL, unsupported) are taken at their word.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	return err
}
