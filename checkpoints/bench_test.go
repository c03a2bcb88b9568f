package checkpoints

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// benchSizes are two model shapes, ~0.8M and ~4.8M parameters.
var benchSizes = []struct {
	name          string
	V, T, D, M, L int
}{
	{"params=0.8M", 64, 256, 128, 512, 4},
	{"params=4.8M", 64, 256, 256, 1024, 6},
}

// benchCheckpoint returns a checkpoint of N(0, 0.02²) weights, the scale of
// a freshly initialised transformer, and its raw float32 size in bytes.
func benchCheckpoint(V, T, D, M, L int) (*Checkpoint, int64) {
	c := &Checkpoint{Header: Header{RunID: "bench", Vocab: make([]string, V)}, Tensors: testModel(1, V, T, D, M, L, false)}
	return c, 4 * int64(c.NumElements(""))
}

func BenchmarkSave(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			c, raw := benchCheckpoint(s.V, s.T, s.D, s.M, s.L)
			path := filepath.Join(b.TempDir(), "bench.ckpt")
			b.SetBytes(raw)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Save(path, c); err != nil {
					b.Fatal(err)
				}
			}
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(fi.Size())/float64(raw), "file/raw")
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			c, raw := benchCheckpoint(s.V, s.T, s.D, s.M, s.L)
			path := filepath.Join(b.TempDir(), "bench.ckpt")
			if _, err := Save(path, c); err != nil {
				b.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(raw)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Load(path); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(fi.Size())/float64(raw), "file/raw")
		})
	}
}

// BenchmarkEncode and BenchmarkDecode measure the format alone, in memory,
// without the file system's write and fsync.
func BenchmarkEncode(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			c, raw := benchCheckpoint(s.V, s.T, s.D, s.M, s.L)
			var buf bytes.Buffer
			b.SetBytes(raw)
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := Encode(&buf, c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len())/float64(raw), "file/raw")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			c, raw := benchCheckpoint(s.V, s.T, s.D, s.M, s.L)
			var buf bytes.Buffer
			if err := Encode(&buf, c); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(raw)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(bytes.NewReader(buf.Bytes()), "bench"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len())/float64(raw), "file/raw")
		})
	}
}
