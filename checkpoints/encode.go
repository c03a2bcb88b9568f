package checkpoints

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

// Layout constants of format version 1; see the package doc.
const (
	magic         = "TINYR1CK"
	prefixLen     = 16                      // magic, version, index length
	checksumLen   = sha256.Size             // trailing SHA-256
	maxIndexLen   = 64 << 20                // index JSON bytes
	maxTensors    = 1 << 20                 // tensors in one file
	maxNameLen    = 1024                    // bytes in a tensor name
	maxRank       = 8                       // dimensions of a tensor
	maxElements   = min(1<<40, math.MaxInt) // elements of one tensor
	shuffleBlock  = 262144                  // elements per byte-shuffled block
	prealloc      = 1 << 22                 // elements the decoder allocates before seeing data
	maxWindow     = 8 << 20                 // zstd window the decoder accepts
	dtypeF32      = "F32"                   // the only dtype of version 1
	zstdMaxRatio  = 32768                   // a 4-byte RLE block expands to at most 128 KiB
	zstdFrameSlop = 1 << 17                 // one block beyond the ratio bound
	encoderWindow = 4 << 20                 // zstd window the encoder uses
	encoderLevel  = zstd.SpeedFastest       // fixed so files are byte-identical
)

// index is the JSON document between the prefix and the body.
type index struct {
	Header  Header       `json:"header"`
	Tensors []indexEntry `json:"tensors"`
}

// indexEntry describes one tensor of the body.
type indexEntry struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	DType string `json:"dtype"`
}

// Encode writes c in format version 1. The same c always produces the same
// bytes. It checks c first and writes nothing when c cannot be stored:
// tensor names must be unique, non-empty, valid UTF-8 and at most 1024
// bytes, shapes must match the data, metrics must be finite and JSON fields
// valid JSON.
func Encode(w io.Writer, c *Checkpoint) error {
	_, err := encodeHashed(w, c)
	return err
}

// encodeHashed is Encode that also returns the content hash of what it wrote,
// computed in the same pass as the checksum.
func encodeHashed(w io.Writer, c *Checkpoint) (string, error) {
	idx, total, err := buildIndex(c)
	if err != nil {
		return "", err
	}
	var jb bytes.Buffer
	je := json.NewEncoder(&jb)
	je.SetEscapeHTML(false) // keep "<eos>" readable in the index
	if err := je.Encode(idx); err != nil {
		return "", fmt.Errorf("checkpoints: encoding header: %w", err)
	}
	js := bytes.TrimSuffix(jb.Bytes(), []byte("\n"))
	if len(js) > maxIndexLen {
		return "", fmt.Errorf("checkpoints: header and tensor index take %d bytes: want at most %d", len(js), maxIndexLen)
	}
	var body bytes.Buffer
	body.Grow(4*total + 4*total/64 + 1024) // zstd's worst case, so the buffer never regrows
	if err := compressTensors(&body, c.Tensors); err != nil {
		return "", err
	}

	h := sha256.New()
	out := io.MultiWriter(w, h)
	var prefix [prefixLen]byte
	copy(prefix[:], magic)
	binary.LittleEndian.PutUint32(prefix[8:], Version)
	binary.LittleEndian.PutUint32(prefix[12:], uint32(len(js)))
	var bodyLen [8]byte
	binary.LittleEndian.PutUint64(bodyLen[:], uint64(body.Len()))
	for _, part := range [][]byte{prefix[:], js, bodyLen[:], body.Bytes()} {
		if _, err := out.Write(part); err != nil {
			return "", err
		}
	}
	if _, err := out.Write(h.Sum(nil)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildIndex checks c and returns the index that describes it and the
// number of tensor elements.
func buildIndex(c *Checkpoint) (*index, int, error) {
	hd := c.Header
	if hd.Format != 0 && hd.Format != Version {
		return nil, 0, fmt.Errorf("checkpoints: header format %d: want 0 or %d (this package writes version %d)", hd.Format, Version, Version)
	}
	hd.Format = Version
	if err := checkStrings(&hd); err != nil {
		return nil, 0, err
	}
	for k, v := range hd.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, 0, fmt.Errorf("checkpoints: metric %q is %v: want a finite number (leave unknown metrics out)", k, v)
		}
	}
	if len(c.Tensors) > maxTensors {
		return nil, 0, fmt.Errorf("checkpoints: %d tensors: want at most %d", len(c.Tensors), maxTensors)
	}
	idx := &index{Header: hd, Tensors: make([]indexEntry, len(c.Tensors))}
	seen := make(map[string]int, len(c.Tensors))
	total := 0
	for i := range c.Tensors {
		t := &c.Tensors[i]
		if err := checkName(t.Name); err != nil {
			return nil, 0, fmt.Errorf("checkpoints: tensor %d: %w", i, err)
		}
		if j, dup := seen[t.Name]; dup {
			return nil, 0, fmt.Errorf("checkpoints: tensor %d: name %q already used by tensor %d: want unique names", i, t.Name, j)
		}
		seen[t.Name] = i
		n, err := numElements(t.Shape, maxElements-total)
		if err != nil {
			return nil, 0, fmt.Errorf("checkpoints: tensor %q: %w", t.Name, err)
		}
		if n != len(t.Data) {
			return nil, 0, fmt.Errorf("checkpoints: tensor %q: shape %v holds %d elements, found %d values", t.Name, t.Shape, n, len(t.Data))
		}
		total += n
		shape := t.Shape
		if shape == nil {
			shape = []int{} // a scalar is written "shape": []
		}
		idx.Tensors[i] = indexEntry{Name: t.Name, Shape: shape, DType: dtypeF32}
	}
	return idx, total, nil
}

// checkName reports whether name can be stored as a tensor name.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name: want 1 to %d bytes", maxNameLen)
	case len(name) > maxNameLen:
		return fmt.Errorf("name of %d bytes: want at most %d", len(name), maxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("name %q is not valid UTF-8", name)
	}
	return nil
}

// numElements returns the product of shape, or an error when a dimension is
// negative, the rank exceeds maxRank or the product exceeds limit.
func numElements(shape []int, limit int) (int, error) {
	if len(shape) > maxRank {
		return 0, fmt.Errorf("rank %d: want at most %d", len(shape), maxRank)
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension: want sizes >= 0", shape)
		}
	}
	for _, d := range shape {
		if d == 0 {
			return 0, nil
		}
	}
	for _, d := range shape {
		if n > limit/d {
			return 0, fmt.Errorf("shape %v holds more than %d elements: want at most %d", shape, limit, limit)
		}
		n *= d
	}
	return n, nil
}

// checkStrings rejects strings that encoding/json would silently alter:
// JSON text is UTF-8, so invalid bytes would come back as U+FFFD.
func checkStrings(h *Header) error {
	bad := func(what, s string) error {
		return fmt.Errorf("checkpoints: %s %q is not valid UTF-8: want text (store bytes in RNG or a tensor)", what, s)
	}
	for _, f := range []struct{ what, s string }{
		{"run id", h.RunID}, {"parent hash", h.ParentHash}, {"reference hash", h.ReferenceHash},
		{"build module", h.Build.Module}, {"build revision", h.Build.Revision},
		{"build go version", h.Build.GoVersion}, {"build backend", h.Build.Backend}, {"created", h.Created},
	} {
		if !utf8.ValidString(f.s) {
			return bad(f.what, f.s)
		}
	}
	for i, s := range h.Vocab {
		if !utf8.ValidString(s) {
			return bad(fmt.Sprintf("vocab[%d]", i), s)
		}
	}
	for k := range h.RNG {
		if !utf8.ValidString(k) {
			return bad("generator name", k)
		}
	}
	for k := range h.Metrics {
		if !utf8.ValidString(k) {
			return bad("metric name", k)
		}
	}
	return nil
}

// compressTensors writes the body: one zstd frame holding every tensor's
// data, byte-plane shuffled in blocks of shuffleBlock elements.
func compressTensors(w io.Writer, tensors []Tensor) error {
	enc, err := zstd.NewWriter(w,
		zstd.WithEncoderLevel(encoderLevel),
		zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(encoderWindow),
		zstd.WithZeroFrames(true))
	if err != nil {
		return fmt.Errorf("checkpoints: zstd encoder: %w", err)
	}
	buf := make([]byte, 4*shuffleBlock)
	for i := range tensors {
		data := tensors[i].Data
		for len(data) > 0 {
			n := min(len(data), shuffleBlock)
			shuffle(buf[:4*n], data[:n])
			if _, err := enc.Write(buf[:4*n]); err != nil {
				enc.Close()
				return fmt.Errorf("checkpoints: compressing tensor %q: %w", tensors[i].Name, err)
			}
			data = data[n:]
		}
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("checkpoints: compressing tensors: %w", err)
	}
	return nil
}

// shuffle writes the little-endian bytes of src into dst as four planes:
// byte 0 of every value, then byte 1, byte 2 and byte 3. len(dst) == 4*len(src).
func shuffle(dst []byte, src []float32) {
	n := len(src)
	p0, p1, p2, p3 := dst[:n], dst[n:2*n], dst[2*n:3*n], dst[3*n:4*n]
	for i, v := range src {
		u := math.Float32bits(v)
		p0[i] = byte(u)
		p1[i] = byte(u >> 8)
		p2[i] = byte(u >> 16)
		p3[i] = byte(u >> 24)
	}
}

// unshuffle is the inverse of shuffle. len(src) == 4*len(dst).
func unshuffle(dst []float32, src []byte) {
	n := len(dst)
	p0, p1, p2, p3 := src[:n], src[n:2*n], src[2*n:3*n], src[3*n:4*n]
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(p0[i]) | uint32(p1[i])<<8 | uint32(p2[i])<<16 | uint32(p3[i])<<24)
	}
}
