package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"tinyr1/checkpoints"
)

// ckptCmd runs the app in-process with its exit status mapping and returns
// the status, stdout and stderr.
func ckptCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	code := run(append([]string{"tinyr1"}, args...), stdout, stderr)
	stdout.Close()
	stderr.Close()
	o, _ := os.ReadFile(stdout.Name())
	e, _ := os.ReadFile(stderr.Name())
	return code, string(o), string(e)
}

// testRun saves steps 10 and 20 of a two-tensor model into a run folder
// and returns the folder and the checkpoint of step 20.
func testRun(t *testing.T) (string, *checkpoints.Checkpoint) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	run := checkpoints.OpenRun(dir)
	c := &checkpoints.Checkpoint{
		Header: checkpoints.Header{
			RunID:         "cli-test",
			OptimizerStep: 20,
			ModelConfig:   json.RawMessage(`{"d_model":2,"vocab_size":3}`),
			TrainConfig:   json.RawMessage(`{"lr":0.001}`),
			Vocab:         []string{"<eos>", "1", "+"},
			RNG:           map[string][]byte{"sampler": make([]byte, 20)},
			ReferenceHash: strings.Repeat("ab", 32),
			Build:         checkpoints.BuildInfo("naive"),
		},
		Tensors: []checkpoints.Tensor{
			{Name: "model.wte", Shape: []int{3, 2}, Data: []float32{0.1, -0.2, 0.3, -0.4, 0.5, -0.6}},
			{Name: "model.lnf.g", Shape: []int{2}, Data: []float32{1, 1}},
			{Name: "adam.m.wte", Shape: []int{3, 2}, Data: make([]float32, 6)},
			{Name: "adam.v.wte", Shape: []int{3, 2}, Data: make([]float32, 6)},
		},
	}
	for _, step := range []int{10, 20} {
		c.Header.Step = step
		c.Header.Metrics = map[string]float64{"val_pass1": float64(step) / 100}
		if _, err := run.SaveStep(c, float64(step)/100, checkpoints.DefaultRetention()); err != nil {
			t.Fatal(err)
		}
	}
	return dir, c
}

func TestInspectText(t *testing.T) {
	dir, _ := testRun(t)
	for _, args := range [][]string{
		{"inspect", dir},
		{"inspect", "--tensors", filepath.Join(dir, "checkpoints", "step-0000020.ckpt")},
		{"inspect", dir, "--tensors"},
	} {
		code, out, errOut := ckptCmd(t, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d, stderr %q", args, code, errOut)
		}
		for _, want := range []string{"step-0000020.ckpt", "20 (AdamW step 20)", "parameters     8\n",
			"val_pass1=0.2", "by hash abab", "sampler (20 bytes)", `{"d_model":2,"vocab_size":3}`, "vocabulary     3 tokens"} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: output lacks %q:\n%s", args, want, out)
			}
		}
		if wantTensors := len(args) == 3; strings.Contains(out, "adam.v.wte") != wantTensors {
			t.Errorf("%q: tensor list shown = %v, want %v:\n%s", args, !wantTensors, wantTensors, out)
		}
	}
}

func TestInspectJSON(t *testing.T) {
	dir, c := testRun(t)
	for _, args := range [][]string{{"inspect", "--json", dir}, {"inspect", dir, "--json"}} {
		code, out, errOut := ckptCmd(t, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d, stderr %q", args, code, errOut)
		}
		var rep inspectReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%q: output is not JSON: %v\n%s", args, err, out)
		}
		hash, err := checkpoints.ContentHash(rep.File)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Step != 20 || rep.Parameters != 8 || rep.AdamElements != 12 || rep.ContentHash != hash ||
			rep.RunFolder != dir || filepath.Base(rep.Best) != "step-0000020.ckpt" || len(rep.Tensors) != 4 ||
			rep.RawBytes != 4*20 || rep.FileBytes == 0 || rep.ReferenceHash != c.Header.ReferenceHash {
			t.Errorf("%q: report %+v", args, rep)
		}
	}
}

func TestInspectErrors(t *testing.T) {
	dir, _ := testRun(t)
	file := filepath.Join(dir, "checkpoints", "step-0000020.ckpt")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(t.TempDir(), "corrupt.ckpt")
	b[len(b)/2] ^= 1
	if err := os.WriteFile(corrupt, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no path", []string{"inspect"}, 2, "missing PATH"},
		{"two paths", []string{"inspect", file, file}, 2, "want one PATH"},
		{"unknown flag after path", []string{"inspect", file, "--nope"}, 2, "unknown flag --nope"},
		{"unknown flag", []string{"inspect", "--nope", file}, 2, "nope"},
		{"missing file", []string{"inspect", filepath.Join(dir, "missing.ckpt")}, 1, "no such file"},
		{"corrupt file", []string{"inspect", corrupt}, 1, "corrupt.ckpt: checksum mismatch"},
		{"empty run folder", []string{"inspect", t.TempDir()}, 1, "holds no checkpoints"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := ckptCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}

func TestExportSafetensors(t *testing.T) {
	c, err := checkpoints.Load(evalFixture)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "hf")
	// Flags after PATH, as the documentation writes the command.
	code, stdout, errOut := ckptCmd(t, "export", evalFixture, "--format", "safetensors", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(stdout, fmt.Sprintf("exported step %d", c.Header.Step)) || !strings.Contains(stdout, "model.safetensors") {
		t.Errorf("stdout %q", stdout)
	}
	raw, err := os.ReadFile(filepath.Join(out, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]int{}
	for _, m := range checkpoints.ModelTensors(c) {
		shapes[m.Name] = m.Shape
	}
	checkSafetensorsLayout(t, raw, shapes)

	got, meta, err := checkpoints.ReadSafetensors(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := checkpoints.ModelTensors(c)
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Name != want[i].Name || !reflect.DeepEqual(got[i].Shape, want[i].Shape) {
			t.Fatalf("tensor %d: got %s %v, want %s %v", i, got[i].Name, got[i].Shape, want[i].Name, want[i].Shape)
		}
		for j := range want[i].Data {
			if math.Float32bits(got[i].Data[j]) != math.Float32bits(want[i].Data[j]) {
				t.Fatalf("%s[%d] = %v, want %v", want[i].Name, j, got[i].Data[j], want[i].Data[j])
			}
		}
	}
	if meta["format"] != "pt" || meta["tinyr1_step"] != fmt.Sprint(c.Header.Step) {
		t.Errorf("metadata %v", meta)
	}
	var cfg map[string]any
	if err := json.Unmarshal(readOrFail(t, filepath.Join(out, "config.json")), &cfg); err != nil || cfg["dim"] != 16.0 {
		t.Errorf("config.json: %v, %v", cfg, err)
	}
	var vocab []string
	if err := json.Unmarshal(readOrFail(t, filepath.Join(out, "vocab.json")), &vocab); err != nil || !reflect.DeepEqual(vocab, c.Header.Vocab) {
		t.Errorf("vocab.json: %v, %v", vocab, err)
	}
	loadWithPython(t, out, want)
}

// checkSafetensorsLayout checks raw against the safetensors format itself,
// independently of the package's reader: an 8-byte little-endian header
// length, a JSON header padded with spaces to 8-byte alignment, F32 dtypes
// and data offsets that tile the data.
func checkSafetensorsLayout(t *testing.T, raw []byte, shapes map[string][]int) {
	t.Helper()
	n := binary.LittleEndian.Uint64(raw)
	if (8+n)%8 != 0 || 8+n > uint64(len(raw)) {
		t.Fatalf("header length %d: want 8+N a multiple of 8 inside %d bytes", n, len(raw))
	}
	hdr := raw[8 : 8+n]
	if trimmed := bytes.TrimRight(hdr, " "); !bytes.HasSuffix(trimmed, []byte("}")) {
		t.Errorf("header %q: want JSON padded with spaces only", hdr)
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &entries); err != nil {
		t.Fatalf("header is not a JSON object: %v", err)
	}
	var total int64
	for name, msg := range entries {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			DType       string   `json:"dtype"`
			Shape       []int    `json:"shape"`
			DataOffsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(msg, &e); err != nil {
			t.Fatal(err)
		}
		if e.DType != "F32" || !reflect.DeepEqual(e.Shape, shapes[name]) {
			t.Errorf("%s: dtype %s shape %v, want F32 %v", name, e.DType, e.Shape, shapes[name])
		}
		total += e.DataOffsets[1] - e.DataOffsets[0]
	}
	if len(entries) != len(shapes)+1 {
		t.Errorf("header has %d entries, want %d tensors and __metadata__", len(entries), len(shapes))
	}
	if total != int64(len(raw))-8-int64(n) {
		t.Errorf("tensors hold %d bytes, data section has %d", total, int64(len(raw))-8-int64(n))
	}
}

// loadWithPython loads the export with the Python safetensors library when
// it is installed, through PyTorch if present, else NumPy.
func loadWithPython(t *testing.T, dir string, want []checkpoints.Tensor) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import safetensors").Run() != nil {
		t.Log("python3 with safetensors not installed: skipping the Python load")
		return
	}
	script := `
import json, sys
path = sys.argv[1]
try:
    from safetensors.torch import load_file
    ts = {k: v.tolist() for k, v in load_file(path).items()}
except ImportError:
    from safetensors.numpy import load_file
    ts = {k: v.tolist() for k, v in load_file(path).items()}
print(json.dumps(ts))
`
	out, err := exec.Command(py, "-c", script, filepath.Join(dir, "model.safetensors")).CombinedOutput()
	if err != nil {
		t.Fatalf("python failed to load the export: %v\n%s", err, out)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
	for _, w := range want {
		if _, ok := got[w.Name]; !ok {
			t.Errorf("python did not find tensor %s", w.Name)
		}
	}
}

func readOrFail(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExportErrors(t *testing.T) {
	dir, _ := testRun(t)
	out := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no out", []string{"export", dir}, 2, "--out is required"},
		{"bad format", []string{"export", dir, "--format", "gguf", "--out", out}, 2, `--format "gguf": want safetensors`},
		{"flag without value", []string{"export", dir, "--out"}, 2, "needs a value"},
		{"no path", []string{"export", "--out", out}, 2, "missing PATH"},
		{"missing checkpoint", []string{"export", filepath.Join(dir, "nope"), "--out", out}, 1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := ckptCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}

// TestInspectInProcess runs the app as newApp().Run does, writing to
// App.Writer.
func TestInspectInProcess(t *testing.T) {
	dir, _ := testRun(t)
	app := newApp()
	var buf bytes.Buffer
	app.Writer = &buf
	if err := app.Run([]string{"tinyr1", "inspect", "--json", dir}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"step": 20`) {
		t.Errorf("output %s", buf.String())
	}
}
