package checkpoints

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// gaussian returns n draws of N(0, std²) from a fixed-seed generator: the
// scale of freshly initialised transformer weights.
func gaussian(r *rand.Rand, n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * std)
	}
	return x
}

// testModel returns tensors named like a trainer's for a model with vocab V,
// context T, width D, MLP width M and L blocks, with AdamW moments.
func testModel(seed uint64, V, T, D, M, L int, withAdam bool) []Tensor {
	r := rand.New(rand.NewPCG(seed, 1))
	type p struct {
		name  string
		shape []int
	}
	params := []p{{"wte", []int{V, D}}, {"wpe", []int{T, D}}}
	for l := range L {
		pre := "h." + string(rune('0'+l%10)) + "."
		if l >= 10 {
			pre = "h.1" + string(rune('0'+l%10)) + "."
		}
		params = append(params,
			p{pre + "ln1.g", []int{D}}, p{pre + "ln1.b", []int{D}},
			p{pre + "attn.wqkv", []int{D, 3 * D}}, p{pre + "attn.bqkv", []int{3 * D}},
			p{pre + "attn.wo", []int{D, D}}, p{pre + "attn.bo", []int{D}},
			p{pre + "ln2.g", []int{D}}, p{pre + "ln2.b", []int{D}},
			p{pre + "mlp.w1", []int{D, M}}, p{pre + "mlp.b1", []int{M}},
			p{pre + "mlp.w2", []int{M, D}}, p{pre + "mlp.b2", []int{D}})
	}
	params = append(params, p{"lnf.g", []int{D}}, p{"lnf.b", []int{D}})
	var ts []Tensor
	for _, q := range params {
		n := 1
		for _, d := range q.shape {
			n *= d
		}
		ts = append(ts, Tensor{Name: "model." + q.name, Shape: q.shape, Data: gaussian(r, n, 0.02)})
	}
	if withAdam {
		for _, q := range params[:len(params)] {
			n := 1
			for _, d := range q.shape {
				n *= d
			}
			m := gaussian(r, n, 1e-3)
			v := gaussian(r, n, 1e-3)
			for i := range v {
				v[i] *= v[i]
			}
			ts = append(ts,
				Tensor{Name: "adam.m." + q.name, Shape: q.shape, Data: m},
				Tensor{Name: "adam.v." + q.name, Shape: q.shape, Data: v})
		}
	}
	return ts
}

// testCheckpoint returns a small checkpoint with every header field set.
func testCheckpoint(t testing.TB) *Checkpoint {
	t.Helper()
	pcg := rand.NewPCG(7, 11)
	pcg.Uint64()
	state, err := pcg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return &Checkpoint{
		Header: Header{
			RunID:         "run-test",
			Step:          42,
			OptimizerStep: 42,
			ModelConfig:   json.RawMessage(`{"d_model":8,"n_layer":1,"vocab":5}`),
			TrainConfig:   json.RawMessage(`{"lr":0.0003,"seed":1}`),
			Vocab:         []string{"<pad>", "1", "+", "=", "é"},
			RNG:           map[string][]byte{"sampler": state, "data": {1, 2, 3}},
			DataPosition:  json.RawMessage(`{"epoch":1,"index":17}`),
			Metrics:       map[string]float64{"val_pass1": 0.25, "loss": 1.5},
			ParentHash:    "00aa",
			ReferenceHash: "11bb",
			Build:         Build{Module: "tinyr1@(devel)", Revision: "abc", GoVersion: "go1.26", Backend: "gorgonia"},
		},
		Tensors: testModel(3, 5, 4, 8, 16, 1, true),
	}
}

// encode returns c's encoding or fails the test.
func encode(t testing.TB, c *Checkpoint) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, c); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.Bytes()
}

// sameCheckpoint fails the test unless got holds exactly want's header and
// tensors, comparing float32 values bit for bit.
func sameCheckpoint(t testing.TB, got, want *Checkpoint) {
	t.Helper()
	wh := want.Header
	wh.Format = Version
	if !reflect.DeepEqual(got.Header, wh) {
		t.Errorf("header:\n got %+v\nwant %+v", got.Header, wh)
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("got %d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for i := range want.Tensors {
		g, w := &got.Tensors[i], &want.Tensors[i]
		if g.Name != w.Name || !reflect.DeepEqual(g.Shape, w.Shape) || len(g.Data) != len(w.Data) {
			t.Fatalf("tensor %d: got %q %v (%d values), want %q %v (%d values)",
				i, g.Name, g.Shape, len(g.Data), w.Name, w.Shape, len(w.Data))
		}
		for j := range w.Data {
			if math.Float32bits(g.Data[j]) != math.Float32bits(w.Data[j]) {
				t.Fatalf("tensor %q[%d]: got bits %#08x, want %#08x", w.Name, j,
					math.Float32bits(g.Data[j]), math.Float32bits(w.Data[j]))
			}
		}
	}
}
