package checkpoints

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// smallCheckpoint is a checkpoint of a few hundred bytes, small enough to
// corrupt at every offset.
func smallCheckpoint() *Checkpoint {
	return &Checkpoint{
		Header: Header{RunID: "r", Step: 3, ModelConfig: json.RawMessage(`{"d":2}`), Vocab: []string{"a", "b"},
			Metrics: map[string]float64{"val_pass1": 0.5}},
		Tensors: []Tensor{
			{Name: "model.wte", Shape: []int{2, 2}, Data: []float32{0.1, -0.2, 0.3, -0.4}},
			{Name: "adam.m.wte", Shape: []int{2, 2}, Data: []float32{1e-3, 0, 0, 2e-3}},
		},
	}
}

// reseal recomputes the checksum of an encoded checkpoint after the test
// has edited it, so the edit reaches the parsers behind the checksum.
func reseal(b []byte) []byte {
	end := len(b) - checksumLen
	sum := sha256.Sum256(b[:end])
	copy(b[end:], sum[:])
	return b
}

// withIndex returns a valid file whose index is idx, with body.
func withIndex(idx string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(magic)
	binary.Write(&b, binary.LittleEndian, uint32(Version))
	binary.Write(&b, binary.LittleEndian, uint32(len(idx)))
	b.WriteString(idx)
	binary.Write(&b, binary.LittleEndian, uint64(len(body)))
	b.Write(body)
	b.Write(make([]byte, checksumLen))
	return reseal(b.Bytes())
}

func TestTruncatedAtEveryOffset(t *testing.T) {
	full := encode(t, smallCheckpoint())
	for n := range len(full) {
		_, err := Decode(bytes.NewReader(full[:n]), "cut.ckpt")
		var fe *FormatError
		if !errors.As(err, &fe) || !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut to %d of %d bytes: got %v, want a *FormatError matching ErrTruncated", n, len(full), err)
		}
		if fe.File != "cut.ckpt" {
			t.Fatalf("cut to %d bytes: error names file %q, want cut.ckpt", n, fe.File)
		}
	}
}

func TestFlippedByteAnywhere(t *testing.T) {
	full := encode(t, smallCheckpoint())
	for i := range full {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(full)
			b[i] ^= mask
			_, err := Decode(bytes.NewReader(b), "flip.ckpt")
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("byte %d ^ %#x: got %v, want a *FormatError", i, mask, err)
			}
		}
	}
}

func TestFormatErrors(t *testing.T) {
	good := encode(t, smallCheckpoint())
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name  string
		in    []byte
		kind  error
		found string
		want  string
	}{
		{"wrong magic", edit(func(b []byte) []byte { copy(b, "PK\x03\x04"); return b }), ErrMagic, `"PK\x03\x04R1CK"`, `"TINYR1CK"`},
		{"text file", []byte("hello, world\n"), ErrMagic, `"hello, w"`, `"TINYR1CK"`},
		{"empty", nil, ErrTruncated, "0-byte file", "at least"},
		{"version 2", edit(func(b []byte) []byte { b[8] = 2; return b }), ErrVersion, "found 2", "want 1 to 1"},
		{"version 0", edit(func(b []byte) []byte { b[8] = 0; return b }), ErrVersion, "found 0", "want 1 to 1"},
		{"checksum", edit(func(b []byte) []byte { b[len(b)-40] ^= 1; return b }), ErrChecksum, "found sha256 ", "as stored in the file"},
		{"trailing bytes", append(bytes.Clone(good), 0), ErrCorrupt, "1 more bytes", "nothing after the checksum"},
		{"huge index length", edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], 1<<31); return b }), ErrCorrupt, "found 2147483648", "at most 67108864"},
		{"index not JSON", withIndex(`{"header":`, nil), ErrCorrupt, "unexpected end of JSON", "JSON"},
		{"bad dtype", withIndex(`{"header":{"format":1},"tensors":[{"name":"a","shape":[1],"dtype":"F16"}]}`, nil), ErrCorrupt, `"F16"`, `"F32"`},
		{"format disagrees", withIndex(`{"header":{"format":7},"tensors":[]}`, nil), ErrCorrupt, "found 7", "the version in the prefix"},
		{"duplicate name", withIndex(`{"header":{"format":1},"tensors":[{"name":"a","shape":[],"dtype":"F32"},{"name":"a","shape":[],"dtype":"F32"}]}`, nil), ErrCorrupt, `"a"`, "not used by an earlier"},
		{"negative dim", withIndex(`{"header":{"format":1},"tensors":[{"name":"a","shape":[-1],"dtype":"F32"}]}`, nil), ErrCorrupt, "[-1]", "negative"},
		{"empty body", withIndex(`{"header":{"format":1},"tensors":[{"name":"a","shape":[2],"dtype":"F32"}]}`, nil), ErrCorrupt, `tensor "a"`, "zstd frame of 8 tensor bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(tt.in), "x/step-0000003.ckpt")
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, tt.kind) {
				t.Fatalf("got %v, want a *FormatError matching %v", err, tt.kind)
			}
			msg := err.Error()
			for _, s := range []string{"checkpoints: x/step-0000003.ckpt: ", tt.found, tt.want} {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not contain %q", msg, s)
				}
			}
		})
	}
}

// TestHostileSizes feeds files with valid checksums whose index declares
// far more data than the body can hold: the decoder must refuse before
// allocating.
func TestHostileSizes(t *testing.T) {
	tests := []struct {
		name  string
		shape string
	}{
		{"one huge tensor", "[1048576,1048576]"},
		{"beyond max elements", "[1099511627776,2]"},
		{"overflowing product", "[4294967296,4294967296,4294967296]"},
		{"64 MiB from a tiny body", "[16777216]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := withIndex(`{"header":{"format":1},"tensors":[{"name":"a","shape":`+tt.shape+`,"dtype":"F32"}]}`, []byte{1, 2, 3})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Decode(bytes.NewReader(in), "hostile")
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
				t.Errorf("decoder allocated %d bytes, want under 1 MiB", got)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, verify := range []bool{true, false} {
			c, err := decode(in, "fuzz", verify)
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("verify=%v: got %T %v, want a *FormatError", verify, err, err)
				}
				continue
			}
			// Whatever decodes must encode and decode to the same values.
			again, err := Decode(bytes.NewReader(encode(t, c)), "again")
			if err != nil {
				t.Fatalf("verify=%v: decoding the re-encoding: %v", verify, err)
			}
			sameCheckpoint(t, again, c)
		}
	})
}
