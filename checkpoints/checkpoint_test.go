package checkpoints

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	nan := math.Float32frombits(0x7fc00123) // quiet NaN with a payload
	tests := []struct {
		name string
		c    *Checkpoint
	}{
		{"full", testCheckpoint(t)},
		{"empty", &Checkpoint{}},
		{"special values", &Checkpoint{Tensors: []Tensor{{
			Name:  "x",
			Shape: []int{8},
			Data: []float32{nan, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)),
				math.SmallestNonzeroFloat32, math.MaxFloat32, 1, -1},
		}}}},
		{"scalar and empty tensors", &Checkpoint{Tensors: []Tensor{
			{Name: "scalar", Data: []float32{3}},
			{Name: "zero", Shape: []int{0, 5}, Data: []float32{}},
			{Name: "after", Shape: []int{2, 1}, Data: []float32{1, 2}},
		}}},
		{"tensor spanning blocks", &Checkpoint{Tensors: []Tensor{
			{Name: "big", Shape: []int{3, shuffleBlock + 7}, Data: gaussian(rand.New(rand.NewPCG(1, 2)), 3*(shuffleBlock+7), 1)},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encode(t, tt.c)
			got, err := Decode(bytes.NewReader(b), "mem")
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			sameCheckpoint(t, got, tt.c)
			if got.File != "mem" || len(got.Hash) != 64 {
				t.Errorf("got File %q Hash %q, want \"mem\" and 64 hex digits", got.File, got.Hash)
			}
		})
	}
}

// TestRNGResumes checks that a generator restored from a checkpoint
// continues the exact sequence of the one that was saved.
func TestRNGResumes(t *testing.T) {
	src := rand.NewPCG(5, 6)
	r := rand.New(src)
	for range 10 {
		r.Uint64()
	}
	state, err := src.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := &Checkpoint{Header: Header{RNG: map[string][]byte{"policy": state}}}
	got, err := Decode(bytes.NewReader(encode(t, c)), "mem")
	if err != nil {
		t.Fatal(err)
	}
	restored := new(rand.PCG)
	if err := restored.UnmarshalBinary(got.Header.RNG["policy"]); err != nil {
		t.Fatal(err)
	}
	r2 := rand.New(restored)
	for i := range 100 {
		if a, b := r.Uint64(), r2.Uint64(); a != b {
			t.Fatalf("draw %d after resume: got %d, want %d", i, b, a)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a := encode(t, testCheckpoint(t))
	for i := range 3 {
		if b := encode(t, testCheckpoint(t)); !bytes.Equal(a, b) {
			t.Fatalf("encoding %d differs from the first: %d vs %d bytes", i+1, len(b), len(a))
		}
	}
	dir := t.TempDir()
	h1, err := Save(dir+"/a.ckpt", testCheckpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	h2, err := Save(dir+"/b.ckpt", testCheckpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	if h1 != h2 {
		t.Errorf("same checkpoint saved twice: hashes %s and %s, want equal", h1, h2)
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := []struct {
		name string
		c    Checkpoint
		want string
	}{
		{"shape mismatch", Checkpoint{Tensors: []Tensor{{Name: "a", Shape: []int{2, 2}, Data: make([]float32, 3)}}}, "holds 4 elements, found 3"},
		{"negative dim", Checkpoint{Tensors: []Tensor{{Name: "a", Shape: []int{-1}}}}, "negative dimension"},
		{"rank", Checkpoint{Tensors: []Tensor{{Name: "a", Shape: make([]int, 9)}}}, "rank 9"},
		{"empty name", Checkpoint{Tensors: []Tensor{{Name: "", Data: []float32{1}}}}, "empty name"},
		{"long name", Checkpoint{Tensors: []Tensor{{Name: strings.Repeat("a", maxNameLen+1), Data: []float32{1}}}}, "want at most 1024"},
		{"duplicate", Checkpoint{Tensors: []Tensor{{Name: "a", Data: []float32{1}}, {Name: "a", Data: []float32{1}}}}, "already used"},
		{"bad utf8 name", Checkpoint{Tensors: []Tensor{{Name: "a\xff", Data: []float32{1}}}}, "not valid UTF-8"},
		{"bad utf8 vocab", Checkpoint{Header: Header{Vocab: []string{"ok", "\xfe"}}}, "vocab[1]"},
		{"NaN metric", Checkpoint{Header: Header{Metrics: map[string]float64{"val": math.NaN()}}}, `metric "val" is NaN`},
		{"bad config", Checkpoint{Header: Header{ModelConfig: json.RawMessage(`{"a":`)}}, "encoding header"},
		{"future format", Checkpoint{Header: Header{Format: 2}}, "header format 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Encode(&buf, &tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "checkpoints: ") {
				t.Fatalf("Encode: got error %v, want one starting \"checkpoints: \" containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Encode wrote %d bytes before failing, want 0", buf.Len())
			}
		})
	}
}

func TestNumElements(t *testing.T) {
	c := testCheckpoint(t)
	// V=5, T=4, D=8, M=16, L=1: wte 40, wpe 32, block 2·8+8·24+24+64+8+2·8+8·16+16+16·8+8, lnf 16.
	want := 40 + 32 + (16 + 192 + 24 + 64 + 8 + 16 + 128 + 16 + 128 + 8) + 16
	if got := c.NumElements("model."); got != want {
		t.Errorf("NumElements(\"model.\") = %d, want %d", got, want)
	}
	if got := c.NumElements("adam.m."); got != want {
		t.Errorf("NumElements(\"adam.m.\") = %d, want %d", got, want)
	}
	if _, ok := c.Tensor("model.h.0.attn.wqkv"); !ok {
		t.Error("Tensor(\"model.h.0.attn.wqkv\") not found")
	}
	if _, ok := c.Tensor("nope"); ok {
		t.Error("Tensor(\"nope\") found, want absent")
	}
}

func TestBuildInfo(t *testing.T) {
	b := BuildInfo("gorgonia")
	if b.Backend != "gorgonia" || !strings.HasPrefix(b.GoVersion, "go") {
		t.Errorf("BuildInfo = %+v, want backend gorgonia and a Go version", b)
	}
}
