package checkpoints

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	saved := json.RawMessage(`{"d_model":64,"n_layer":2,"attn":{"n_head":4,"bias":true},"sizes":[1,2]}`)
	tests := []struct {
		name string
		want string
		diff []ConfigDiff // nil: match
	}{
		{"same, reordered and reformatted", "{ \"n_layer\": 2.0, \"sizes\": [1, 2],\n \"attn\": {\"bias\": true, \"n_head\": 4}, \"d_model\": 64 }", nil},
		{"one field", `{"d_model":128,"n_layer":2,"attn":{"n_head":4,"bias":true},"sizes":[1,2]}`,
			[]ConfigDiff{{"d_model", "64", "128"}}},
		{"nested and missing", `{"d_model":64,"attn":{"n_head":8,"bias":true},"sizes":[1,3],"extra":"x"}`,
			[]ConfigDiff{{"attn.n_head", "4", "8"}, {"extra", "(absent)", `"x"`}, {"n_layer", "2", "(absent)"}, {"sizes[1]", "2", "3"}}},
		{"array length", `{"d_model":64,"n_layer":2,"attn":{"n_head":4,"bias":true},"sizes":[1]}`,
			[]ConfigDiff{{"sizes", "[1,2]", "[1]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Checkpoint{Header: Header{ModelConfig: saved}, File: "run/step-0000010.ckpt"}
			err := CheckConfig(c, json.RawMessage(tt.want))
			if tt.diff == nil {
				if err != nil {
					t.Fatalf("got %v, want a match", err)
				}
				return
			}
			var ce *ConfigMismatchError
			if !errors.As(err, &ce) || !errors.Is(err, ErrConfigMismatch) {
				t.Fatalf("got %v, want a *ConfigMismatchError", err)
			}
			if !reflect.DeepEqual(ce.Diffs, tt.diff) {
				t.Errorf("diffs %+v, want %+v", ce.Diffs, tt.diff)
			}
			msg := err.Error()
			if !strings.Contains(msg, "run/step-0000010.ckpt") || !strings.Contains(msg, tt.diff[0].Path+": found "+tt.diff[0].Found+", want "+tt.diff[0].Want) {
				t.Errorf("message %q does not name the file and the first difference", msg)
			}
		})
	}
}

func TestCheckConfigAbsent(t *testing.T) {
	err := CheckConfig(&Checkpoint{File: "f"}, json.RawMessage(`{"a":1}`))
	if !errors.Is(err, ErrConfigMismatch) || !strings.Contains(err.Error(), "(whole config): found (absent)") {
		t.Errorf("got %v, want a mismatch on the whole config", err)
	}
	if err := CheckConfig(&Checkpoint{}, json.RawMessage(`{"a":`)); err == nil || errors.Is(err, ErrConfigMismatch) {
		t.Errorf("invalid want config: got %v, want a plain error", err)
	}
}

func TestReference(t *testing.T) {
	dir := t.TempDir()
	refPath := filepath.Join(dir, "ref.ckpt")
	refHash, err := Save(refPath, smallCheckpoint())
	if err != nil {
		t.Fatal(err)
	}
	c := &Checkpoint{Header: Header{ReferenceHash: refHash}, File: "policy.ckpt"}
	if err := VerifyReference(c, refPath); err != nil {
		t.Errorf("VerifyReference: %v", err)
	}
	ref, err := LoadReference(c, refPath)
	if err != nil || ref.Hash != refHash {
		t.Fatalf("LoadReference: %v", err)
	}

	other := smallCheckpoint()
	other.Header.Step++
	if _, err := Save(refPath, other); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"VerifyReference": VerifyReference(c, refPath),
		"LoadReference":   func() error { _, err := LoadReference(c, refPath); return err }(),
	} {
		var re *ReferenceMismatchError
		if !errors.As(err, &re) || !errors.Is(err, ErrReferenceMismatch) {
			t.Fatalf("%s of a changed reference: got %v, want a *ReferenceMismatchError", name, err)
		}
		if re.Want != refHash || re.File != "policy.ckpt" || re.Reference != refPath || !strings.Contains(err.Error(), refHash) {
			t.Errorf("%s: %+v does not name the file, the reference and the wanted hash", name, re)
		}
	}
	if err := VerifyReference(&Checkpoint{File: "p"}, refPath); !errors.Is(err, ErrReferenceMismatch) || !strings.Contains(err.Error(), "names no reference") {
		t.Errorf("no reference hash: got %v", err)
	}
}
