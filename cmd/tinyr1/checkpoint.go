package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"tinyr1/checkpoints"
	"tinyr1/rl"
)

var (
	tensorsFlag = &cli.BoolFlag{Name: "tensors", Category: catOutput,
		Usage: "also list every tensor with its shape (--json always lists them)", Value: false}
	exportFormatFlag = &cli.StringFlag{Name: "format", Category: catOutput,
		Usage: "export format; safetensors is the only one", Value: "safetensors"}
	exportForceFlag = &cli.BoolFlag{Name: "force", Category: catOutput,
		Usage: "replace model.safetensors, config.json and vocab.json already in --out (export refuses otherwise)", Value: false}
	exportOutFlag = &cli.StringFlag{Name: "out", Category: catOutput,
		Usage: "folder to write model.safetensors, config.json and vocab.json into, created if missing (required, no default)"}
)

var inspectCommand = &cli.Command{
	Name:      "inspect",
	Usage:     "show a checkpoint: step, sizes, configs, metrics, hashes",
	UsageText: "tinyr1 inspect PATH [--json] [--tensors]\n   PATH is a checkpoint file or a run folder, meaning its latest checkpoint",
	Flags:     []cli.Flag{jsonFlag, tensorsFlag},
	Action:    inspectAction,
}

var exportCommand = &cli.Command{
	Name:  "export",
	Usage: "write a checkpoint's model as safetensors for PyTorch",
	Description: "Writes model.safetensors (F32, little-endian), config.json and vocab.json into --out; " +
		"existing files there are replaced only with --force.",
	UsageText: "tinyr1 export PATH --out DIR [--format safetensors]\n" +
		"   PATH is a checkpoint file or a run folder, meaning its latest checkpoint",
	Flags:  []cli.Flag{exportFormatFlag, exportOutFlag, exportForceFlag},
	Action: exportAction,
}

// onePath returns the command's single positional argument, the checkpoint
// path (flags may follow it: see positionalArgs).
func onePath(c *cli.Context) (string, error) {
	pos, err := positionalArgs(c)
	if err != nil {
		return "", err
	}
	name := c.Command.Name
	switch len(pos) {
	case 0:
		return "", usageError("%s: missing PATH: want a checkpoint file or a run folder", name)
	case 1:
		return pos[0], nil
	default:
		return "", usageError("%s: %d arguments %q: want one PATH", name, len(pos), pos)
	}
}

// inspectReport is what inspect shows; --json writes it as is.
type inspectReport struct {
	File          string             `json:"file"`
	RunFolder     string             `json:"run_folder,omitempty"` // when PATH was a run folder
	Best          string             `json:"best,omitempty"`       // the run folder's best checkpoint
	Format        int                `json:"format"`
	RunID         string             `json:"run_id"`
	Step          int                `json:"step"`
	OptimizerStep int                `json:"optimizer_step"`
	Parameters    int                `json:"parameters"`      // elements of "model.*" tensors
	AdamElements  int                `json:"adam_elements"`   // elements of "adam.m.*" and "adam.v.*"
	RefElements   int                `json:"ref_elements"`    // elements of an embedded reference ("ref.*")
	Reference     string             `json:"reference"`       // "embedded", "by hash" or "none"
	FileBytes     int64              `json:"file_bytes"`      // size on disk
	RawBytes      int64              `json:"raw_bytes"`       // all tensors as float32
	Ratio         float64            `json:"compression"`     // file_bytes / raw_bytes
	ContentHash   string             `json:"content_hash"`    // sha256 of the file
	ParentHash    string             `json:"parent_hash"`     // of the parent or initial checkpoint
	ReferenceHash string             `json:"reference_hash"`  // of the reference policy's checkpoint
	Metrics       map[string]float64 `json:"metrics"`         // as saved
	RNG           map[string]int     `json:"rng_state_bytes"` // generator name -> state size
	DataPosition  json.RawMessage    `json:"data_position,omitempty"`
	VocabSize     int                `json:"vocab_size"`
	Build         checkpoints.Build  `json:"build"`
	Created       string             `json:"created,omitempty"`
	ModelConfig   json.RawMessage    `json:"model_config,omitempty"`
	TrainConfig   json.RawMessage    `json:"train_config,omitempty"`
	ModelCheck    string             `json:"model_check"` // "ok", or why the model config does not describe the tensors
	Tensors       []tensorInfo       `json:"tensors"`
}

type tensorInfo struct {
	Name     string `json:"name"`
	Shape    []int  `json:"shape"`
	Elements int    `json:"elements"`
}

// loadPath resolves PATH (a file or a run folder) and loads it.
func loadPath(path string) (*checkpoints.Checkpoint, *inspectReport, error) {
	file, err := checkpoints.ResolvePath(path)
	if err != nil {
		return nil, nil, err
	}
	ck, err := checkpoints.Load(file)
	if err != nil {
		return nil, nil, err
	}
	rep := &inspectReport{File: file}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		rep.RunFolder = path
		rep.Best, _ = checkpoints.OpenRun(path).Best()
	}
	return ck, rep, nil
}

func inspectAction(c *cli.Context) error {
	path, err := onePath(c)
	if err != nil {
		return err
	}
	ck, rep, err := loadPath(path)
	if err != nil {
		return err
	}
	fi, err := os.Stat(rep.File)
	if err != nil {
		return err
	}
	h := ck.Header
	rep.Format, rep.RunID, rep.Step, rep.OptimizerStep = h.Format, h.RunID, h.Step, h.OptimizerStep
	rep.Parameters = ck.NumElements("model.")
	rep.AdamElements = ck.NumElements("adam.m.") + ck.NumElements("adam.v.")
	rep.RefElements = ck.NumElements("ref.")
	rep.Reference = "none"
	switch {
	case rep.RefElements > 0:
		rep.Reference = "embedded"
	case h.ReferenceHash != "":
		rep.Reference = "by hash"
	}
	rep.FileBytes = fi.Size()
	rep.RawBytes = 4 * int64(ck.NumElements(""))
	if rep.RawBytes > 0 {
		rep.Ratio = float64(rep.FileBytes) / float64(rep.RawBytes)
	}
	rep.ContentHash, rep.ParentHash, rep.ReferenceHash = ck.Hash, h.ParentHash, h.ReferenceHash
	rep.Metrics = h.Metrics
	rep.RNG = make(map[string]int, len(h.RNG))
	for k, v := range h.RNG {
		rep.RNG[k] = len(v)
	}
	rep.DataPosition, rep.VocabSize, rep.Build, rep.Created = h.DataPosition, len(h.Vocab), h.Build, h.Created
	rep.ModelConfig, rep.TrainConfig = h.ModelConfig, h.TrainConfig
	// inspect sizes nothing from the header, so it shows a file whose model
	// config the other commands refuse, and says why they refuse it.
	rep.ModelCheck = "ok"
	if _, err := rl.ModelConfig(ck); err != nil {
		rep.ModelCheck = err.Error()
	}
	rep.Tensors = make([]tensorInfo, len(ck.Tensors))
	for i := range ck.Tensors {
		t := &ck.Tensors[i]
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		rep.Tensors[i] = tensorInfo{Name: t.Name, Shape: shape, Elements: t.NumElements()}
	}
	if c.Bool(jsonFlag.Name) {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return writeInspectText(c.App.Writer, rep, c.Bool(tensorsFlag.Name))
}

// writeInspectText writes rep as aligned "key  value" lines.
func writeInspectText(out io.Writer, rep *inspectReport, tensors bool) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	line := func(key, format string, args ...any) { fmt.Fprintf(w, "%s\t%s\n", key, fmt.Sprintf(format, args...)) }
	or := func(s, none string) string {
		if s == "" {
			return none
		}
		return s
	}
	line("file", "%s", rep.File)
	if rep.RunFolder != "" {
		line("run folder", "%s (latest; best: %s)", rep.RunFolder, or(rep.Best, "none yet"))
	}
	line("format", "version %d", rep.Format)
	line("run id", "%s", or(rep.RunID, "-"))
	line("step", "%d (AdamW step %d)", rep.Step, rep.OptimizerStep)
	line("parameters", "%s", thousands(rep.Parameters))
	line("optimizer", "%s AdamW moment values", thousands(rep.AdamElements))
	switch rep.Reference {
	case "embedded":
		line("reference", "embedded, %s values", thousands(rep.RefElements))
	case "by hash":
		line("reference", "by hash %s", rep.ReferenceHash)
	default:
		line("reference", "none")
	}
	line("size", "%s bytes on disk, %s as float32 (file/raw %.3f)", thousands(int(rep.FileBytes)), thousands(int(rep.RawBytes)), rep.Ratio)
	line("content hash", "%s", rep.ContentHash)
	line("parent hash", "%s", or(rep.ParentHash, "none"))
	line("metrics", "%s", formatMetrics(rep.Metrics))
	line("rng states", "%s", formatRNG(rep.RNG))
	line("data position", "%s", or(string(rep.DataPosition), "-"))
	line("vocabulary", "%d tokens", rep.VocabSize)
	b := rep.Build
	line("build", "%s, revision %s, %s, backend %s", or(b.Module, "?"), or(b.Revision, "unknown"), or(b.GoVersion, "?"), or(b.Backend, "?"))
	if rep.Created != "" {
		line("created", "%s", rep.Created)
	}
	line("model config", "%s", or(string(rep.ModelConfig), "-"))
	line("train config", "%s", or(string(rep.TrainConfig), "-"))
	line("model check", "%s", rep.ModelCheck)
	line("tensors", "%d", len(rep.Tensors))
	if err := w.Flush(); err != nil || !tensors {
		return err
	}
	// The tensor list is aligned on its own, so long names do not push the
	// summary's values to the right.
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, t := range rep.Tensors {
		line("  "+t.Name, "%v", t.Shape)
	}
	return w.Flush()
}

// thousands writes n with comma separators: 1234567 -> "1,234,567".
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func formatMetrics(m map[string]float64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%g", k, m[k])
	}
	return strings.Join(parts, " ")
}

func formatRNG(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s (%d bytes)", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func exportAction(c *cli.Context) error {
	path, err := onePath(c)
	if err != nil {
		return err
	}
	if f := c.String(exportFormatFlag.Name); f != "safetensors" {
		return usageError("export: --format %q: want safetensors", f)
	}
	out := c.String(exportOutFlag.Name)
	if out == "" {
		return usageError("export: --out is required: want the folder to write model.safetensors, config.json and vocab.json into")
	}
	ck, rep, err := loadPath(path)
	if err != nil {
		return err
	}
	if _, err := rl.ModelConfig(ck); err != nil {
		return err
	}
	var existing []string
	for _, name := range []string{checkpoints.ExportWeights, checkpoints.ExportConfig, checkpoints.ExportVocab} {
		if _, err := os.Lstat(filepath.Join(out, name)); err == nil {
			existing = append(existing, name)
		}
	}
	if len(existing) > 0 && !c.Bool(exportForceFlag.Name) {
		return fmt.Errorf("export: %s already holds %s: want another --out, or --force to replace them", out, strings.Join(existing, ", "))
	}
	files, err := checkpoints.ExportSafetensors(ck, out)
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "export: --force: replaced %s in %s\n", strings.Join(existing, ", "), out)
	}
	fmt.Fprintf(c.App.Writer, "exported step %d of %s: %d tensors, %s parameters\n",
		ck.Header.Step, rep.File, len(checkpoints.ModelTensors(ck)), thousands(ck.NumElements("model.")))
	for _, f := range files {
		fmt.Fprintf(c.App.Writer, "  %s\n", filepath.ToSlash(f))
	}
	return nil
}
