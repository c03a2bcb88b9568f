package checkpoints

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/klauspost/compress/zstd"
)

// Decode reads a whole checkpoint from r, verifies its checksum and returns
// it. name is used in error messages (usually the file's path). Malformed
// input gives a *FormatError, never a panic; see the package doc for the
// bounds on memory.
func Decode(r io.Reader, name string) (*Checkpoint, error) {
	buf, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: reading %s: %w", name, err)
	}
	return decode(buf, name, true)
}

// layout holds the positions of a file's sections.
type layout struct {
	version    uint32
	index      []byte // JSON
	indexStart int64
	body       []byte // zstd frame
	bodyStart  int64
	hash       string // content hash of the whole file
}

// decode parses buf. With verify false it skips the checksum, which lets the
// fuzz test reach the index and body parsers with mutated input.
func decode(buf []byte, name string, verify bool) (*Checkpoint, error) {
	lay, err := split(buf, name, verify)
	if err != nil {
		return nil, err
	}
	formatErr := func(kind error, off int64, what, found, want string) error {
		return &FormatError{File: name, Kind: kind, Offset: off, What: what, Found: found, Want: want}
	}
	var idx index
	if err := json.Unmarshal(lay.index, &idx); err != nil {
		return nil, formatErr(ErrCorrupt, lay.indexStart, "index", err.Error(), `JSON {"header": ..., "tensors": [...]}`)
	}
	if idx.Header.Format != int(lay.version) {
		return nil, formatErr(ErrCorrupt, lay.indexStart, "header format",
			strconv.Itoa(idx.Header.Format), fmt.Sprintf("%d, the version in the prefix", lay.version))
	}
	if len(idx.Tensors) > maxTensors {
		return nil, formatErr(ErrCorrupt, lay.indexStart, "tensor count", strconv.Itoa(len(idx.Tensors)), fmt.Sprintf("at most %d", maxTensors))
	}
	// Every declared size is checked before anything is allocated: the body
	// cannot expand by more than zstdMaxRatio, so a short body declaring a
	// huge tensor is rejected here.
	maxRaw := int64(len(lay.body))*zstdMaxRatio + zstdFrameSlop
	seen := make(map[string]bool, len(idx.Tensors))
	var raw int64
	for i, e := range idx.Tensors {
		what := fmt.Sprintf("tensor %d", i)
		if err := checkName(e.Name); err != nil {
			return nil, formatErr(ErrCorrupt, lay.indexStart, what+" name", strconv.Quote(e.Name), err.Error())
		}
		if seen[e.Name] {
			return nil, formatErr(ErrCorrupt, lay.indexStart, what+" name", strconv.Quote(e.Name), "a name not used by an earlier tensor")
		}
		seen[e.Name] = true
		if e.DType != dtypeF32 {
			return nil, formatErr(ErrCorrupt, lay.indexStart, what+" dtype", strconv.Quote(e.DType), strconv.Quote(dtypeF32))
		}
		n, err := numElements(e.Shape, maxElements)
		if err != nil {
			return nil, formatErr(ErrCorrupt, lay.indexStart, what+" shape", fmt.Sprint(e.Shape), err.Error())
		}
		raw += 4 * int64(n)
		if raw > maxRaw {
			return nil, formatErr(ErrCorrupt, lay.indexStart, what+" shape",
				fmt.Sprintf("%v, bringing the tensors to %d bytes", e.Shape, raw),
				fmt.Sprintf("at most %d bytes, the most a %d-byte zstd body can hold", maxRaw, len(lay.body)))
		}
	}

	c := &Checkpoint{Header: idx.Header, Tensors: make([]Tensor, len(idx.Tensors)), File: name}
	for i, e := range idx.Tensors {
		c.Tensors[i] = Tensor{Name: e.Name, Shape: e.Shape}
		if len(e.Shape) == 0 {
			c.Tensors[i].Shape = nil
		}
	}
	if err := decompressTensors(c.Tensors, lay.body); err != nil {
		return nil, formatErr(ErrCorrupt, lay.bodyStart, "body", err.Error(), fmt.Sprintf("a zstd frame of %d tensor bytes", raw))
	}
	c.Hash = lay.hash
	return c, nil
}

// split checks the prefix, the lengths and (with verify) the checksum, and
// returns the sections of buf.
func split(buf []byte, name string, verify bool) (*layout, error) {
	formatErr := func(kind error, off int64, what, found, want string) error {
		return &FormatError{File: name, Kind: kind, Offset: off, What: what, Found: found, Want: want}
	}
	size := int64(len(buf))
	head := buf[:min(len(buf), len(magic))]
	if !bytes.Equal(head, []byte(magic[:len(head)])) {
		return nil, formatErr(ErrMagic, 0, "magic number", strconv.Quote(string(head)), strconv.Quote(magic))
	}
	if size < prefixLen {
		return nil, formatErr(ErrTruncated, size, "prefix", fmt.Sprintf("a %d-byte file", size),
			fmt.Sprintf("at least %d bytes", prefixLen+8+checksumLen))
	}
	lay := &layout{version: binary.LittleEndian.Uint32(buf[8:])}
	if lay.version == 0 || lay.version > Version {
		return nil, formatErr(ErrVersion, 8, "format version", strconv.FormatUint(uint64(lay.version), 10),
			fmt.Sprintf("1 to %d (a newer tinyr1 may read it)", Version))
	}
	indexLen := int64(binary.LittleEndian.Uint32(buf[12:]))
	if indexLen > maxIndexLen {
		return nil, formatErr(ErrCorrupt, 12, "index length", strconv.FormatInt(indexLen, 10), fmt.Sprintf("at most %d", maxIndexLen))
	}
	lay.indexStart = prefixLen
	bodyLenAt := lay.indexStart + indexLen
	if size < bodyLenAt+8 {
		return nil, formatErr(ErrTruncated, size, "index", fmt.Sprintf("the file ending at byte %d", size),
			fmt.Sprintf("%d index bytes and a body length, to byte %d", indexLen, bodyLenAt+8))
	}
	lay.index = buf[lay.indexStart:bodyLenAt]
	lay.bodyStart = bodyLenAt + 8
	left := uint64(size - lay.bodyStart)
	bodyLen := binary.LittleEndian.Uint64(buf[bodyLenAt:])
	if bodyLen > left || left-bodyLen < checksumLen {
		return nil, formatErr(ErrTruncated, size, "body", fmt.Sprintf("%d bytes after the body length", left),
			fmt.Sprintf("the %d-byte body and the %d-byte checksum", bodyLen, checksumLen))
	}
	end := lay.bodyStart + int64(bodyLen) + checksumLen
	if size > end {
		return nil, formatErr(ErrCorrupt, end, "end of file", fmt.Sprintf("%d more bytes", size-end), "nothing after the checksum")
	}
	lay.body = buf[lay.bodyStart : end-checksumLen]
	// One pass gives both the checksum and the content hash, which
	// continues over the checksum itself.
	h := sha256.New()
	h.Write(buf[:end-checksumLen])
	sum := h.Sum(nil)
	stored := buf[end-checksumLen:]
	if verify && !bytes.Equal(sum, stored) {
		return nil, formatErr(ErrChecksum, end-checksumLen, "checksum",
			"sha256 "+hex.EncodeToString(sum), hex.EncodeToString(stored)+" as stored in the file")
	}
	h.Write(stored)
	lay.hash = hex.EncodeToString(h.Sum(nil))
	return lay, nil
}

// decompressTensors fills each tensor's Data from the body. Shapes have been
// checked against the body's size.
func decompressTensors(tensors []Tensor, body []byte) error {
	dec, err := zstd.NewReader(bytes.NewReader(body),
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(maxWindow),
		zstd.WithDecoderLowmem(true))
	if err != nil {
		return err
	}
	defer dec.Close()
	buf := make([]byte, 4*shuffleBlock)
	for i := range tensors {
		t := &tensors[i]
		n := t.NumElements()
		// Up to 16 MiB is allocated at once; beyond that the slice grows
		// as data actually decompresses, so a file that declares more than
		// it holds fails before it costs much memory.
		t.Data = make([]float32, 0, min(n, prealloc))
		for off := 0; off < n; off += shuffleBlock {
			k := min(n-off, shuffleBlock)
			if _, err := io.ReadFull(dec, buf[:4*k]); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("tensor %q: %v", t.Name, err)
			}
			if off+k > cap(t.Data) {
				grown := make([]float32, off, min(n, max(2*cap(t.Data), off+k)))
				copy(grown, t.Data)
				t.Data = grown
			}
			t.Data = t.Data[:off+k]
			unshuffle(t.Data[off:], buf[:4*k])
		}
	}
	switch _, err := io.ReadFull(dec, buf[:1]); err {
	case io.EOF:
		return nil
	case nil:
		return errors.New("data after the last tensor")
	default:
		return err
	}
}
