package checkpoints

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Safetensors layout (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON padded with spaces to a
// multiple of 8, then the tensors' bytes. The JSON maps each name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data,
// end exclusive) and may hold "__metadata__", a string-to-string map.
const (
	safetensorsMaxHeader = 100 << 20 // the limit of the reference implementation
	safetensorsMetadata  = "__metadata__"
)

// WriteSafetensors writes tensors as little-endian F32 safetensors, in the
// given order, with optional string metadata. The output is deterministic.
func WriteSafetensors(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		hdr.WriteString(`"` + safetensorsMetadata + `":{`)
		for i, k := range keys {
			if i > 0 {
				hdr.WriteByte(',')
			}
			writeJSONString(&hdr, k)
			hdr.WriteByte(':')
			writeJSONString(&hdr, metadata[k])
		}
		hdr.WriteByte('}')
	}
	seen := make(map[string]bool, len(tensors))
	var off int64
	for i := range tensors {
		t := &tensors[i]
		if err := checkName(t.Name); err != nil || t.Name == safetensorsMetadata || seen[t.Name] {
			return fmt.Errorf("checkpoints: safetensors tensor %d: name %q: want a unique, non-empty UTF-8 name other than %q", i, t.Name, safetensorsMetadata)
		}
		seen[t.Name] = true
		n, err := numElements(t.Shape, maxElements)
		if err != nil {
			return fmt.Errorf("checkpoints: safetensors tensor %q: %w", t.Name, err)
		}
		if n != len(t.Data) {
			return fmt.Errorf("checkpoints: safetensors tensor %q: shape %v holds %d elements, found %d values", t.Name, t.Shape, n, len(t.Data))
		}
		if hdr.Len() > 1 {
			hdr.WriteByte(',')
		}
		writeJSONString(&hdr, t.Name)
		hdr.WriteString(`:{"dtype":"F32","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				hdr.WriteByte(',')
			}
			hdr.WriteString(strconv.Itoa(d))
		}
		end := off + 4*int64(n)
		fmt.Fprintf(&hdr, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(hdr.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	buf := make([]byte, 4*shuffleBlock)
	for i := range tensors {
		data := tensors[i].Data
		for len(data) > 0 {
			k := min(len(data), shuffleBlock)
			for j, v := range data[:k] {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
			}
			if _, err := w.Write(buf[:4*k]); err != nil {
				return err
			}
			data = data[k:]
		}
	}
	return nil
}

// writeJSONString writes s as a JSON string.
func writeJSONString(b *bytes.Buffer, s string) {
	js, _ := json.Marshal(s) // a string always marshals
	b.Write(js)
}

// safetensorsEntry is one tensor in a safetensors header.
type safetensorsEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// ReadSafetensors reads a whole F32 safetensors file and returns its tensors
// in data order and its metadata. It checks what the reference
// implementation checks: the header length, dtypes, that each tensor's
// offsets match its shape, and that the tensors tile the data exactly.
func ReadSafetensors(r io.Reader) ([]Tensor, map[string]string, error) {
	buf, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoints: reading safetensors: %w", err)
	}
	if len(buf) < 8 {
		return nil, nil, fmt.Errorf("checkpoints: safetensors of %d bytes: want at least 8", len(buf))
	}
	n := binary.LittleEndian.Uint64(buf)
	if n > safetensorsMaxHeader || n > uint64(len(buf)-8) {
		return nil, nil, fmt.Errorf("checkpoints: safetensors header length %d: want at most %d and the %d bytes present",
			n, safetensorsMaxHeader, len(buf)-8)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(buf[8:8+n], &raw); err != nil {
		return nil, nil, fmt.Errorf("checkpoints: safetensors header: %v: want a JSON object", err)
	}
	data := buf[8+n:]
	var meta map[string]string
	type located struct {
		t     Tensor
		begin int64
	}
	var all []located
	for name, msg := range raw {
		if name == safetensorsMetadata {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("checkpoints: safetensors metadata: %v: want a string-to-string map", err)
			}
			continue
		}
		if err := checkName(name); err != nil {
			return nil, nil, fmt.Errorf("checkpoints: safetensors tensor %q: %w", name, err)
		}
		var e safetensorsEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, fmt.Errorf("checkpoints: safetensors tensor %q: %v", name, err)
		}
		if e.DType != dtypeF32 {
			return nil, nil, fmt.Errorf("checkpoints: safetensors tensor %q: dtype %q: want %q", name, e.DType, dtypeF32)
		}
		elems, err := numElements(e.Shape, len(data)/4)
		if err != nil {
			return nil, nil, fmt.Errorf("checkpoints: safetensors tensor %q: %w", name, err)
		}
		b, end := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || end < b || end > int64(len(data)) || end-b != 4*int64(elems) {
			return nil, nil, fmt.Errorf("checkpoints: safetensors tensor %q: data offsets [%d, %d]: want %d bytes inside [0, %d]",
				name, b, end, 4*elems, len(data))
		}
		t := Tensor{Name: name, Shape: e.Shape, Data: make([]float32, elems)}
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[b+4*int64(i):]))
		}
		all = append(all, located{t, b})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].begin != all[j].begin {
			return all[i].begin < all[j].begin
		}
		return all[i].t.Name < all[j].t.Name
	})
	tensors := make([]Tensor, len(all))
	var next int64
	for i, l := range all {
		if l.begin != next {
			return nil, nil, fmt.Errorf("checkpoints: safetensors tensor %q starts at data byte %d: want %d, right after the previous tensor",
				l.t.Name, l.begin, next)
		}
		next += 4 * int64(len(l.t.Data))
		tensors[i] = l.t
	}
	if next != int64(len(data)) {
		return nil, nil, fmt.Errorf("checkpoints: safetensors tensors cover %d data bytes: want all %d", next, len(data))
	}
	return tensors, meta, nil
}

// Export file names.
const (
	ExportWeights = "model.safetensors"
	ExportConfig  = "config.json"
	ExportVocab   = "vocab.json"
)

// ModelTensors returns the "model.*" tensors of c with the prefix removed,
// sharing c's data.
func ModelTensors(c *Checkpoint) []Tensor {
	var ts []Tensor
	for _, t := range c.Tensors {
		if name, ok := strings.CutPrefix(t.Name, "model."); ok {
			t.Name = name
			ts = append(ts, t)
		}
	}
	return ts
}

// ExportSafetensors writes the model of c into dir (created if missing):
// model.safetensors with the "model.*" tensors, prefix stripped, as F32;
// config.json, the header's model config; vocab.json, the vocabulary as a
// JSON array indexed by token id. Each file is written atomically. It
// returns the paths written.
func ExportSafetensors(c *Checkpoint, dir string) ([]string, error) {
	ts := ModelTensors(c)
	if len(ts) == 0 {
		return nil, fmt.Errorf("checkpoints: %s has no model parameters: want tensors named \"model.<param>\"", c.File)
	}
	if len(bytes.TrimSpace(c.Header.ModelConfig)) == 0 {
		return nil, fmt.Errorf("checkpoints: %s has no model config: want one to write %s", c.File, ExportConfig)
	}
	var cfg bytes.Buffer
	if err := json.Indent(&cfg, c.Header.ModelConfig, "", "  "); err != nil {
		return nil, fmt.Errorf("checkpoints: %s: model config: %w", c.File, err)
	}
	cfg.WriteByte('\n')
	vocab, err := json.MarshalIndent(c.Header.Vocab, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %s: vocabulary: %w", c.File, err)
	}
	if c.Header.Vocab == nil {
		vocab = []byte("[]")
	}
	vocab = append(vocab, '\n')
	meta := map[string]string{
		"format":       "pt", // what transformers expects of PyTorch weights
		"tinyr1_step":  strconv.Itoa(c.Header.Step),
		"tinyr1_run":   c.Header.RunID,
		"tinyr1_ckpt":  c.Hash,
		"tinyr1_shape": "matrices (in, out), row-major; nn.Linear weight is the transpose",
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{ExportWeights, func(w io.Writer) error { return WriteSafetensors(w, ts, meta) }},
		{ExportConfig, func(w io.Writer) error { _, err := w.Write(cfg.Bytes()); return err }},
		{ExportVocab, func(w io.Writer) error { _, err := w.Write(vocab); return err }},
	}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := writeAtomic(p, writeHooks{}, f.write); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
