package checkpoints

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSafetensorsBytes checks the exact bytes of a tiny file against the
// format: 8-byte little-endian header length, JSON padded with spaces to a
// multiple of 8, then little-endian float32 data.
func TestSafetensorsBytes(t *testing.T) {
	var buf bytes.Buffer
	err := WriteSafetensors(&buf, []Tensor{
		{Name: "a", Shape: []int{2}, Data: []float32{1, -2}},
		{Name: "b", Data: []float32{0.5}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	json := `{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}`
	hdr := json + strings.Repeat(" ", (8-len(json)%8)%8)
	var want bytes.Buffer
	binary.Write(&want, binary.LittleEndian, uint64(len(hdr)))
	want.WriteString(hdr)
	want.Write([]byte{0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x3f})
	if !bytes.Equal(buf.Bytes(), want.Bytes()) {
		t.Errorf("got\n%q\nwant\n%q", buf.Bytes(), want.Bytes())
	}
	if (8+len(hdr))%8 != 0 {
		t.Errorf("data starts at byte %d, want a multiple of 8", 8+len(hdr))
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	tensors := testModel(9, 7, 5, 8, 16, 2, false)
	tensors = append(tensors, Tensor{Name: "empty", Shape: []int{0}, Data: []float32{}})
	meta := map[string]string{"format": "pt", "note": "<ok> & \"quoted\""}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, tensors, meta); err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := ReadSafetensors(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotMeta, meta) {
		t.Errorf("metadata %v, want %v", gotMeta, meta)
	}
	// The empty tensor shares its offset with the end; order ties by name.
	sameCheckpoint(t, &Checkpoint{Tensors: got[:len(got)-1], Header: Header{Format: 1}}, &Checkpoint{Tensors: tensors[:len(tensors)-1]})
}

func TestReadSafetensorsRejects(t *testing.T) {
	file := func(hdr string, data int) []byte {
		hdr += strings.Repeat(" ", (8-len(hdr)%8)%8)
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, uint64(len(hdr)))
		b.WriteString(hdr)
		b.Write(make([]byte, data))
		return b.Bytes()
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"short", []byte{1, 2}, "want at least 8"},
		{"huge header", []byte{0, 0, 0, 0, 0, 0, 0, 1}, "header length"},
		{"not JSON", file(`{"a":`, 0), "want a JSON object"},
		{"dtype", file(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`, 2), `dtype "F16"`},
		{"offsets vs shape", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 8), "data offsets [0, 4]"},
		{"hole", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "starts at data byte 4"},
		{"uncovered tail", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 8), "cover 4 data bytes"},
		{"out of range", file(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8), "more than 2 elements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ReadSafetensors(bytes.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestExportSafetensors(t *testing.T) {
	c := testCheckpoint(t)
	c.Hash = "cafe"
	dir := filepath.Join(t.TempDir(), "export")
	paths, err := ExportSafetensors(c, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 {
		t.Fatalf("wrote %v, want 3 files", paths)
	}
	f, err := os.Open(filepath.Join(dir, ExportWeights))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, meta, err := ReadSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	want := ModelTensors(c)
	if len(want) == 0 || want[0].Name != "wte" {
		t.Fatalf("ModelTensors: first %v, want wte", want[0].Name)
	}
	sameCheckpoint(t, &Checkpoint{Tensors: got, Header: Header{Format: 1}}, &Checkpoint{Tensors: want})
	if meta["format"] != "pt" || meta["tinyr1_step"] != "42" || meta["tinyr1_ckpt"] != "cafe" {
		t.Errorf("metadata %v", meta)
	}
	if err := CheckConfig(c, readFile(t, filepath.Join(dir, ExportConfig))); err != nil {
		t.Errorf("config.json differs from the model config: %v", err)
	}
	var vocab []string
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, ExportVocab)), &vocab); err != nil || !reflect.DeepEqual(vocab, c.Header.Vocab) {
		t.Errorf("vocab.json = %v, %v; want %v", vocab, err, c.Header.Vocab)
	}

	if _, err := ExportSafetensors(&Checkpoint{File: "x.ckpt"}, dir); err == nil || !strings.Contains(err.Error(), "no model parameters") {
		t.Errorf("export without model tensors: got %v", err)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzReadSafetensors(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, ModelTensors(goldenCheckpoint()), map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:40])
	f.Fuzz(func(t *testing.T, in []byte) {
		ts, meta, err := ReadSafetensors(bytes.NewReader(in))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteSafetensors(&out, ts, meta); err != nil {
			t.Fatalf("rewriting what was read: %v", err)
		}
		again, _, err := ReadSafetensors(&out)
		if err != nil || len(again) != len(ts) {
			t.Fatalf("reading the rewrite: %d tensors, %v; want %d", len(again), err, len(ts))
		}
	})
}
