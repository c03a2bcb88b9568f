package checkpoints

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// CheckConfig compares the checkpoint's model config with want, the config
// of the model being resumed, field by field. It returns nil when they hold
// the same values (formatting, key order and 1 versus 1.0 do not matter) and
// a *ConfigMismatchError naming every differing field otherwise.
func CheckConfig(c *Checkpoint, want json.RawMessage) error {
	found, err := parseConfig(c.Header.ModelConfig)
	if err != nil {
		return fmt.Errorf("checkpoints: %s: model config: %w", c.File, err)
	}
	w, err := parseConfig(want)
	if err != nil {
		return fmt.Errorf("checkpoints: CheckConfig: want config: %w", err)
	}
	var diffs []ConfigDiff
	diffJSON(&diffs, "", found, w)
	if len(diffs) == 0 {
		return nil
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i].Path < diffs[j].Path })
	return &ConfigMismatchError{File: c.File, Diffs: diffs}
}

// absent stands for a field that one side does not have.
type absent struct{}

// parseConfig decodes a config; an empty message is absent.
func parseConfig(m json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(m)) == 0 {
		return absent{}, nil
	}
	d := json.NewDecoder(bytes.NewReader(m))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// diffJSON appends to dst the paths where found and want differ.
func diffJSON(dst *[]ConfigDiff, path string, found, want any) {
	fo, fok := found.(map[string]any)
	wo, wok := want.(map[string]any)
	if fok && wok {
		keys := make(map[string]bool)
		for k := range fo {
			keys[k] = true
		}
		for k := range wo {
			keys[k] = true
		}
		for k := range keys {
			f, ok := fo[k]
			if !ok {
				f = absent{}
			}
			w, ok := wo[k]
			if !ok {
				w = absent{}
			}
			diffJSON(dst, joinPath(path, k), f, w)
		}
		return
	}
	fa, fok := found.([]any)
	wa, wok := want.([]any)
	if fok && wok && len(fa) == len(wa) {
		for i := range fa {
			diffJSON(dst, path+"["+strconv.Itoa(i)+"]", fa[i], wa[i])
		}
		return
	}
	if !sameValue(found, want) {
		if path == "" {
			path = "(whole config)"
		}
		*dst = append(*dst, ConfigDiff{Path: path, Found: show(found), Want: show(want)})
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// sameValue compares two JSON scalars (or mismatched composites); numbers
// compare by value.
func sameValue(a, b any) bool {
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok && bok {
		if an == bn {
			return true
		}
		x, err1 := an.Float64()
		y, err2 := bn.Float64()
		return err1 == nil && err2 == nil && x == y
	}
	if _, ok := a.(absent); ok {
		_, ok := b.(absent)
		return ok
	}
	if _, ok := b.(absent); ok {
		return false
	}
	return show(a) == show(b)
}

// show renders a value for an error message.
func show(v any) string {
	if _, ok := v.(absent); ok {
		return "(absent)"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// VerifyReference checks that the file at refPath is the reference policy
// c names in Header.ReferenceHash. It returns a *ReferenceMismatchError when
// the hashes differ or c names no reference.
func VerifyReference(c *Checkpoint, refPath string) error {
	h, err := ContentHash(refPath)
	if err != nil {
		return err
	}
	if h != c.Header.ReferenceHash {
		return &ReferenceMismatchError{File: c.File, Reference: refPath, Found: h, Want: c.Header.ReferenceHash}
	}
	return nil
}

// LoadReference loads the reference checkpoint at refPath and verifies it is
// the one c names, hashing the same bytes it decodes.
func LoadReference(c *Checkpoint, refPath string) (*Checkpoint, error) {
	ref, err := Load(refPath)
	if err != nil {
		return nil, err
	}
	if ref.Hash != c.Header.ReferenceHash {
		return nil, &ReferenceMismatchError{File: c.File, Reference: refPath, Found: ref.Hash, Want: c.Header.ReferenceHash}
	}
	return ref, nil
}
