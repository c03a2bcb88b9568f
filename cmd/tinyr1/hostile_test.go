package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tinyr1/checkpoints"
)

// hostileCheckpoint writes a copy of the eval fixture whose header's model
// config has key set to value, with a valid checksum, and returns its path.
func hostileCheckpoint(t *testing.T, key string, value any) string {
	t.Helper()
	ck, err := checkpoints.Load(evalFixture)
	if err != nil {
		t.Fatal(err)
	}
	var mc map[string]any
	if err := json.Unmarshal(ck.Header.ModelConfig, &mc); err != nil {
		t.Fatal(err)
	}
	mc[key] = value
	if ck.Header.ModelConfig, err = json.Marshal(mc); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), key+".ckpt")
	if _, err := checkpoints.Save(path, ck); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHostileModelConfig feeds checkpoints whose header claims a model the
// tensor table does not hold (absurd sizes that would exhaust memory, and
// sizes inside the bounds that merely disagree with the tensors) to every
// command that reads a model: each must refuse with one line naming the
// value, and inspect must show the file and say why it is refused.
func TestHostileModelConfig(t *testing.T) {
	for _, tc := range []struct {
		key   string
		value any
		want  string
	}{
		{"dim", 1 << 20, "dim = 1048576: want at most"},
		{"layers", 1e9, "layers = 1000000000: want at most"},
		{"context", int64(1) << 40, "context = 1099511627776: want at most"},
		{"mlp", int64(1) << 45, "mlp = 35184372088832: want at most"},
		{"layers", 3, "means 40 tensors"},
		{"context", 128, "model.wpe is [128 16]"},
		{"tied", false, "means 29 tensors"},
	} {
		path := hostileCheckpoint(t, tc.key, tc.value)
		out := t.TempDir()
		for _, args := range [][]string{
			{"sample", path, "--n", "1"},
			{"score", path, "--text", "add 1+2"},
			{"eval", path, "--problems", "1", "--n", "0", "--quiet"},
			{"train", "--init", path, "--out", filepath.Join(out, "g"), "--quiet"},
			{"sft", "--from-samples", path, "--out", filepath.Join(out, "r"), "--quiet"},
			{"export", path, "--out", filepath.Join(out, "hf")},
		} {
			code, _, stderr := runApp(t, args...)
			if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("%s=%v: %s: exit %d, stderr %q: want exit 1 and one line with %q", tc.key, tc.value, args[0], code, stderr, tc.want)
			}
		}
		code, stdout, stderr := runApp(t, "inspect", path)
		if code != 0 || !strings.Contains(stdout, "model check") || !strings.Contains(stdout, tc.want) {
			t.Errorf("%s=%v: inspect: exit %d, stderr %q, stdout lacks a model check with %q:\n%s", tc.key, tc.value, code, stderr, tc.want, stdout)
		}
	}
	if code, stdout, _ := runApp(t, "inspect", evalFixture); code != 0 || !regexp.MustCompile(`model check +ok`).MatchString(stdout) {
		t.Errorf("inspect of a sound checkpoint: exit %d, want model check ok:\n%s", code, stdout)
	}
}

// TestShortFlagsAfterArgument checks that short flags written after a
// positional argument are applied, not dropped.
func TestShortFlagsAfterArgument(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tasks", "show", "bits", "-l", "3", "--n", "1"}, "--- bits level 3"},
		{[]string{"tasks", "show", "-l", "3", "bits", "--n", "1"}, "--- bits level 3"},
		{[]string{"tasks", "export", "-f", "sort", "-l", "2", "--n", "1"}, `"family":"sort","level":2`},
		{[]string{"sample", evalFixture, "-f", "sort", "-l", "2", "--n", "1", "--max-new", "4"}, "--- sort:2"},
	} {
		code, stdout, stderr := runApp(t, tc.args...)
		if code != 0 || !strings.Contains(stdout, tc.want) {
			t.Errorf("%q: exit %d, stderr %q, stdout %q: want %q", tc.args, code, stderr, stdout, tc.want)
		}
	}
}
