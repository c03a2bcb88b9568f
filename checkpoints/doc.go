// Package checkpoints reads and writes tinyr1 checkpoints: a header that
// describes a training run and a list of named float32 tensors, in one
// crash-safe, compressed, checksummed file that resumes exactly.
//
// The package is a file format and the run folder that holds such files; it
// knows nothing of trainers or of the model. Configs, the data position and generator states
// are stored as the caller hands them over (JSON and bytes) and come back
// bit for bit.
//
// # File format, version 1
//
// All integers are little-endian.
//
//	offset  size  field
//	0       8     magic "TINYR1CK"
//	8       4     format version, uint32 = 1
//	12      4     index length H, uint32, at most 64 MiB
//	16      H     index: UTF-8 JSON {"header": Header, "tensors": [{"name", "shape", "dtype"}...]}
//	16+H    8     body length B, uint64
//	24+H    B     body: one zstd frame (window at most 8 MiB)
//	24+H+B  32    checksum: SHA-256 of every byte before it
//
// Nothing may follow the checksum. The index is plain JSON so that a reader
// can show the header without decompressing the tensors. Its "header" object
// is [Header] as encoding/json writes it (map keys sorted, configs compacted);
// readers ignore header fields they do not know, and any change that an
// older reader would misread bumps the version. Each tensor entry has a name
// (1 to 1024 bytes of UTF-8, unique in the file), a shape (at most 8
// non-negative dimensions; [] is a scalar with one element) and a dtype,
// which in version 1 is always "F32".
//
// The body decompresses to the tensors' data in index order, 4·n bytes for
// a tensor of n elements. Each tensor is cut into blocks of 262144 elements
// (the last block may be shorter) and each block is byte-plane shuffled:
// byte 0 of every little-endian float32 in the block, then byte 1, byte 2
// and byte 3. Grouping the sign-and-exponent bytes lets zstd shrink
// N(0, 0.02²) weights to about 86% of their float32 size, where the plain
// bytes do not compress at all. Values are stored as raw bits, so NaN
// payloads and negative zeros survive.
//
// The file's content hash ([ContentHash]) is the hex SHA-256 of the whole
// file, the same string `sha256sum` prints. Checkpoints name their parent and
// reference checkpoints by it.
//
// # Determinism
//
// The same [Checkpoint] value always encodes to the same bytes: the index is
// written by encoding/json (sorted map keys), the compressor runs single
// threaded with fixed settings, and nothing time-dependent is written unless
// the caller sets Header.Created.
//
// # Reading untrusted files
//
// Decoding never panics, and memory stays bounded by the input: every
// length read from the file is checked against a fixed maximum and against
// the bytes that remain; the checksum is verified before the body is
// decompressed; the tensor bytes the index declares may not exceed what a
// zstd frame of the body's size can expand to (32768 bytes per byte); and
// tensors grow as their data actually decompresses, never more than 16 MiB
// ahead of it. Errors are [*FormatError] values naming the file, what was
// found and what was expected; errors.Is matches them against [ErrMagic],
// [ErrVersion], [ErrTruncated], [ErrChecksum] and [ErrCorrupt].
//
// # Writing
//
// [Save] writes to a temporary file in the destination folder, syncs it,
// renames it over the final name and syncs the folder, so a crash at any
// moment leaves the old file or the new one, never a partial file. A failed
// save removes its temporary file and leaves the previous checkpoint alone.
//
// # Run folders
//
// A run folder is the folder one training run writes and a resumed run
// reads back. This package is its only owner: [Run] knows every file in it;
// the trainer (rl/train) decides what goes into the config, the manifest and
// the metric lines, and hands them over as values to be written as JSON. A
// run folder holds
//
//	checkpoints/step-0000100.ckpt   one file per saved step (7 digits, more past 9,999,999)
//	latest                          "checkpoints/step-0000100.ckpt\n", replaced atomically
//	best                            "checkpoints/step-0000080.ckpt 0.4375\n": path and validation score
//	config.json                     the settings of the run's mode ([ConfigFile]); checkpoints hold the whole config
//	manifest.json                   how the run was started, for reproduction ([ManifestFile])
//	metrics.jsonl                   one JSON object per step, with its "step" ([MetricsFile])
//	init.ckpt                       a hard link to (or copy of) the initial checkpoint, if any ([InitFile])
//	lock                            held with flock while a writer has the run open
//
// and whatever else its users put there (eval/, notes), which the run
// never touches. [OpenRun] opens a folder to read it; [CreateRun] and
// [ResumeRun] open it to write, holding the lock: one writer per run.
// CreateRun refuses a non-empty folder unless forced, and then removes only
// the files listed above. [Run.SaveStep] writes the checkpoint, then the
// pointers, and only then deletes checkpoints that [Retention] no longer
// keeps (the last N, every K-th step, the best and the latest).
//
// # Tensor names
//
// Trainers name tensors "model.<param>" for model parameters,
// "adam.m.<param>" and "adam.v.<param>" for the AdamW first and second
// moments (the AdamW step count is Header.OptimizerStep), and "ref.<param>"
// for an embedded reference policy. When the reference policy is not
// embedded, Header.ReferenceHash names its checkpoint and [LoadReference]
// or [VerifyReference] checks it. Parameters, with V the vocabulary size, T
// the context length, D the model width and M the MLP width; matrices are
// row-major with shape (in, out), so y = x·W:
//
//	wte             (V, D)   token embedding
//	wpe             (T, D)   position embedding
//	h.<l>.ln1.g     (D)      block l: layer norm before attention, gain
//	h.<l>.ln1.b     (D)      ... and bias
//	h.<l>.attn.wqkv (D, 3D)  query, key, value projections; columns [q | k | v], heads contiguous inside each
//	h.<l>.attn.bqkv (3D)     their biases, same order
//	h.<l>.attn.wo   (D, D)   attention output projection
//	h.<l>.attn.bo   (D)      its bias
//	h.<l>.ln2.g     (D)      layer norm before the MLP, gain
//	h.<l>.ln2.b     (D)      ... and bias
//	h.<l>.mlp.w1    (D, M)   MLP input projection
//	h.<l>.mlp.b1    (M)      its bias
//	h.<l>.mlp.w2    (M, D)   MLP output projection
//	h.<l>.mlp.b2    (D)      its bias
//	lnf.g, lnf.b    (D)      final layer norm
//	head            (D, V)   output head, only when untied; tied: logits = x · wteᵀ
//
// A PyTorch nn.Linear stores its weight as (out, in): the transpose of the
// matrices above. [ExportSafetensors] writes the "model.*" tensors with the
// prefix stripped, shapes as stored, as little-endian F32 safetensors.
package checkpoints
