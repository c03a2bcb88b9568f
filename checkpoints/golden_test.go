package checkpoints

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "write testdata/golden-v1.ckpt if missing and rewrite testdata/fuzz/FuzzDecode")

const goldenV1 = "testdata/golden-v1.ckpt"

// goldenCheckpoint is the content of testdata/golden-v1.ckpt. Its values
// come from formulas, not from a random generator, so that they stay the
// same in every future Go release. Never change it: the file must keep
// loading, with these values, in every future version of this package.
func goldenCheckpoint() *Checkpoint {
	ramp := func(n int, scale float32) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = scale * float32(i-n/2)
		}
		return x
	}
	return &Checkpoint{
		Header: Header{
			Format:        1,
			RunID:         "golden-v1",
			Step:          1200,
			OptimizerStep: 1200,
			ModelConfig:   json.RawMessage(`{"vocab_size":4,"context":3,"d_model":2,"n_layer":1,"n_head":1,"d_mlp":4,"tied":true}`),
			TrainConfig:   json.RawMessage(`{"lr":0.0003,"group_size":8,"kl_beta":0.04,"seed":1}`),
			Vocab:         []string{"<eos>", "1", "+", "="},
			RNG:           map[string][]byte{"sampler": []byte("pcg:\x00\x01\x02\x03"), "data": {0xde, 0xad, 0xbe, 0xef}},
			DataPosition:  json.RawMessage(`{"epoch":2,"index":17}`),
			Metrics:       map[string]float64{"val_pass1": 0.375, "train_reward": 0.5},
			ParentHash:    "4d3a52b3c1e0f3a5a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718",
			ReferenceHash: "",
			Build:         Build{Module: "tinyr1@(devel)", Revision: "0123456789abcdef", GoVersion: "go1.26.0", Backend: "naive"},
		},
		Tensors: []Tensor{
			{Name: "model.wte", Shape: []int{4, 2}, Data: ramp(8, 0.01)},
			{Name: "model.wpe", Shape: []int{3, 2}, Data: ramp(6, 0.02)},
			{Name: "model.h.0.attn.wqkv", Shape: []int{2, 6}, Data: ramp(12, 0.003)},
			{Name: "model.lnf.g", Shape: []int{2}, Data: []float32{1, 1}},
			{Name: "adam.m.wte", Shape: []int{4, 2}, Data: ramp(8, 1e-4)},
			{Name: "adam.v.wte", Shape: []int{4, 2}, Data: ramp(8, 1e-8)},
			{Name: "ref.wte", Shape: []int{4, 2}, Data: ramp(8, 0.01)},
			{Name: "special", Shape: []int{5}, Data: []float32{
				float32(math.Inf(1)), float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32,
				math.Float32frombits(0x7fc0beef), math.MaxFloat32}},
			{Name: "scalar", Data: []float32{-7.5}},
			{Name: "empty", Shape: []int{0, 3}, Data: []float32{}},
			{Name: "blocks", Shape: []int{262144 + 5}, Data: blocks(262144 + 5)}, // spans two shuffle blocks
		},
	}
}

// blocks returns n exact values with a period (251) that no block size
// divides, so any change to the shuffle block breaks the golden test.
func blocks(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 0.25 * float32(i%251)
	}
	return x
}

func TestGoldenV1(t *testing.T) {
	if *update {
		// The golden file is written once and then only read: a version-1
		// file that a later version rewrites would prove nothing. Delete it
		// by hand to create it anew (only before version 1 ships).
		if _, err := os.Stat(goldenV1); os.IsNotExist(err) {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if _, err := Save(goldenV1, goldenCheckpoint()); err != nil {
				t.Fatal(err)
			}
		}
		writeFuzzCorpus(t)
	}
	c, err := Load(goldenV1)
	if err != nil {
		t.Fatalf("golden version-1 checkpoint no longer loads: %v", err)
	}
	sameCheckpoint(t, c, goldenCheckpoint())
	if c.Header.Format != 1 {
		t.Errorf("Format = %d, want 1", c.Header.Format)
	}
	h, err := ContentHash(goldenV1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash != h {
		t.Errorf("Load set Hash %s, ContentHash says %s", c.Hash, h)
	}
	if err := CheckConfig(c, json.RawMessage(`{"tied":true,"vocab_size":4,"context":3,"d_model":2,"n_layer":1,"n_head":1,"d_mlp":4.0}`)); err != nil {
		t.Errorf("CheckConfig against its own config: %v", err)
	}
}

// fuzzSeeds returns the golden file, a small checkpoint and corruptions of
// both.
func fuzzSeeds(tb testing.TB) [][]byte {
	golden, err := os.ReadFile(goldenV1)
	if err != nil {
		tb.Fatalf("reading the fuzz seed: %v (run go test -run TestGoldenV1 -update)", err)
	}
	small := encode(tb, smallCheckpoint())
	flipped := bytes.Clone(golden)
	flipped[len(flipped)/2] ^= 0x10
	return [][]byte{
		golden,
		small,
		golden[:len(golden)-1],
		golden[:len(magic)+6],
		flipped,
		reseal(bytes.Clone(flipped)),
		withIndex(`{"header":{"format":1},"tensors":[{"name":"a","shape":[2,3],"dtype":"F32"}]}`, []byte{0x28, 0xb5, 0x2f, 0xfd}),
		withIndex(`{"header":{"format":1,"vocab":["a"],"metrics":{"x":1}},"tensors":[]}`, small[len(small)-60:len(small)-32]),
	}
}

// writeFuzzCorpus writes the seeds into testdata/fuzz/FuzzDecode, where go
// test runs them as test cases.
func writeFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, seed := range fuzzSeeds(t) {
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(seed)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
