package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"tinyr1/checkpoints"
	"tinyr1/rl/train"
)

const catRun = "Run"

var (
	outFlag = &cli.StringFlag{Name: "out", Category: catRun,
		Usage: "run folder to create (config.json, manifest.json, metrics.jsonl, checkpoints/)"}
	resumeFlag = &cli.StringFlag{Name: "resume", Category: catRun,
		Usage: "continue the run in this folder from its latest checkpoint (--steps sets the new total)"}
	forceFlag = &cli.BoolFlag{Name: "force", Category: catRun,
		Usage: "overwrite an existing run folder given by --out", Value: false}
	configFlag = &cli.StringFlag{Name: "config", Category: catRun,
		Usage: "JSON file of settings (keys as in config.json); flags win over the file, the file over defaults"}
	initFlag = &cli.StringFlag{Name: "init", Category: catRun,
		Usage: "initial checkpoint (a file or a run folder, meaning its latest); also the frozen reference policy"}
	fromSamplesFlag = &cli.StringFlag{Name: "from-samples", Category: catRun,
		Usage: "rejection-sampling fine-tuning: start from this checkpoint and train on its own completions " +
			"that the verifier accepts (--group per prompt at --temperature, --top-k, --top-p, --max-new)"}
	quietFlag = &cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Category: catOutput,
		Usage: "no progress lines", Value: false}
)

var sftCommand = &cli.Command{
	Name:  "sft",
	Usage: "supervised warm start on worked solutions (R1's cold start)",
	UsageText: "tinyr1 sft --out RUN [--preset tiny|small|medium] [--tasks MIX] [--steps N] [--seed S] ...\n" +
		"   tinyr1 sft --from-samples CKPT --out RUN [--tasks MIX] [--group G] [--temperature T] ...\n   tinyr1 sft --resume RUN [--steps N]",
	Flags:  append([]cli.Flag{outFlag, resumeFlag, forceFlag, configFlag, fromSamplesFlag, quietFlag}, configFlags(train.DefaultSFTConfig(), train.SFT, train.RFT)...),
	Action: func(c *cli.Context) error { return runTraining(c, "sft") },
}

var trainCommand = &cli.Command{
	Name:      "train",
	Usage:     "GRPO from a warm-started checkpoint on verifiable rewards",
	UsageText: "tinyr1 train --init CKPT --out RUN [--tasks MIX] [--steps N] [--seed S] ...\n   tinyr1 train --resume RUN [--steps N]",
	Flags:     append([]cli.Flag{initFlag, outFlag, resumeFlag, forceFlag, configFlag, quietFlag}, configFlags(train.DefaultTrainConfig(), train.GRPO)...),
	Action:    func(c *cli.Context) error { return runTraining(c, "train") },
}

// interruptedErr carries the exit status of a run stopped by a signal.
type interruptedErr struct{ msg string }

func (e *interruptedErr) Error() string { return e.msg }

// runTraining is the action of sft and train.
func runTraining(c *cli.Context, kind string) error {
	if c.NArg() > 0 {
		return usageError("%s: unexpected argument %q: want flags only", kind, c.Args().First())
	}
	var (
		tr  *train.Trainer
		run *checkpoints.Run
		err error
	)
	if dir := c.String(resumeFlag.Name); dir != "" {
		tr, run, err = resumeRun(c, kind, dir)
	} else {
		tr, run, err = newRun(c, kind)
	}
	if err != nil {
		return err
	}
	defer run.Close()
	defer tr.Close()
	pw := newProgress(c.App.ErrWriter)
	tr.Warn = pw // a warning takes the bar's line instead of landing on it
	if !c.Bool(quietFlag.Name) {
		tr.Progress = pw
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		tr.Stop.Store(true)
	}()
	err = tr.Train()
	pw.Done()
	if errors.Is(err, train.ErrInterrupted) {
		return &interruptedErr{fmt.Sprintf("interrupted: checkpoint of step %d written in %s; resume with: tinyr1 %s --resume %s", tr.Step, run.Dir, kind, run.Dir)}
	}
	if err != nil {
		return err
	}
	latest, err := run.Latest()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s: done at step %d; latest checkpoint %s\n", kind, tr.Step, latest)
	return nil
}

// resolveConfig applies defaults, then --config, then flags, and refuses
// a setting of either that does not apply to mode.
func resolveConfig(c *cli.Context, def train.Config, kind string, mode train.Mode) (train.Config, error) {
	cfg := def
	path := c.String(configFlag.Name)
	var fileKeys []string
	if path != "" {
		raw, err := train.ReadConfigFile(path) // once: it may be a pipe
		if err != nil {
			return cfg, usageError("--config: %v", err)
		}
		if cfg, err = train.DecodeConfig(raw, cfg, path); err != nil {
			return cfg, usageError("--config: %v", err)
		}
		if fileKeys, err = configFileKeys(raw); err != nil {
			return cfg, usageError("--config %s: %v", path, err)
		}
	}
	set, err := applyFlags(c, configFields, &cfg)
	if err != nil {
		return cfg, err
	}
	if err := checkMode(kind, mode, set, fileKeys, path); err != nil {
		return cfg, err
	}
	if err := cfg.ValidateFor(mode); err != nil {
		return cfg, usageError("%v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if err := cfg.CheckUnread(set, func(key string) string { return "--" + flagName(key) }); err != nil {
		return cfg, usageError("%v", err)
	}
	return cfg, nil
}

func newRun(c *cli.Context, kind string) (*train.Trainer, *checkpoints.Run, error) {
	out := c.String(outFlag.Name)
	if out == "" {
		return nil, nil, usageError("%s: --out is required: want the run folder to create (or --resume RUN)", kind)
	}
	def := train.DefaultSFTConfig()
	if kind == "train" {
		def = train.DefaultTrainConfig()
	}
	mode := train.ModeOf(kind, c.IsSet(fromSamplesFlag.Name))
	cfg, err := resolveConfig(c, def, kind, mode)
	if err != nil {
		return nil, nil, err
	}
	if err := cfg.PinTaskFiles(); err != nil {
		return nil, nil, usageError("%s: %v", kind, err)
	}
	man := train.NewManifest(kind, os.Args)
	var tr *train.Trainer
	if mode == train.SFT {
		man.RunID = train.RunID(kind, cfg, "")
		if tr, err = train.NewSFT(cfg, man.RunID); err != nil {
			return nil, nil, err
		}
	} else {
		init := c.String(initFlag.Name)
		if mode == train.RFT {
			if init = c.String(fromSamplesFlag.Name); init == "" {
				return nil, nil, usageError("sft: --from-samples is empty: want the checkpoint to sample from")
			}
		}
		if init == "" {
			return nil, nil, usageError("train: --init is required: want the warm-start checkpoint (or --resume RUN)")
		}
		path, err := checkpoints.ResolvePath(init)
		if err != nil {
			return nil, nil, err
		}
		abs, _ := filepath.Abs(path)
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real // the run keeps (hard-links) the file itself, never a link to it
		}
		if inside, err := insideDir(abs, out); err == nil && inside && c.Bool(forceFlag.Name) {
			return nil, nil, usageError("%s: the initial checkpoint %s lies inside --out %s, which --force would replace before the run could keep it: "+
				"want it outside (copy it first, or use another --out)", kind, abs, out)
		}
		hash, err := checkpoints.ContentHash(abs)
		if err != nil {
			return nil, nil, err
		}
		man.RunID = train.RunID(kind, cfg, hash)
		if tr, err = train.New(mode, cfg, abs, man.RunID); err != nil {
			return nil, nil, err
		}
		man.Init, man.InitHash = abs, tr.ParentHash
	}
	run, err := checkpoints.CreateRun(out, c.Bool(forceFlag.Name))
	if err != nil {
		tr.Close()
		return nil, nil, err
	}
	tr.Run = run
	if len(run.Replaced) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "%s: --force: replaced %s in %s (other files, such as eval/, are kept)\n",
			kind, strings.Join(run.Replaced, ", "), out)
	}
	if man.Init != "" {
		if _, err := run.KeepInit(man.Init); err != nil {
			tr.Close()
			run.Close()
			return nil, nil, err
		}
		man.InitCopy = checkpoints.InitFile
	}
	if err := run.WriteJSON(checkpoints.ConfigFile, modeConfig(cfg, mode)); err != nil {
		return nil, nil, err
	}
	if err := run.WriteJSON(checkpoints.ManifestFile, man); err != nil {
		return nil, nil, err
	}
	return tr, run, nil
}

// resumeMayDiffer are the settings in which config.json may differ from
// the training config of the checkpoint being resumed: the ones --resume
// may change (the total steps, the worker count).
var resumeMayDiffer = map[string]bool{"steps": true, "workers": true}

// checkResumeConfig compares the settings of mode in the run's config.json
// (file) with those of the training config recorded in its latest
// checkpoint: a hand-edited config.json would otherwise change the resumed
// run. A key missing from either (a run older than the key) takes its
// default, which is the value such runs used.
func checkResumeConfig(kind string, mode train.Mode, dir string, file, def train.Config, ck *checkpoints.Checkpoint) error {
	saved, err := train.DecodeConfig(ck.Header.TrainConfig, def, ck.File+" (training config)")
	if err != nil {
		return err
	}
	keys := modeKeys(mode)
	var diff []string
	for _, k := range train.DiffKeys(file, saved) {
		if keys[k] && !resumeMayDiffer[k] {
			diff = append(diff, k)
		}
	}
	if len(diff) > 0 {
		return usageError("%s --resume %s: config.json differs from the training config of %s in %s: want them equal (only steps and workers may change, with --steps and --workers)",
			kind, dir, ck.File, strings.Join(diff, ", "))
	}
	return nil
}

// resumeRun reopens a run folder: its resolved config, its manifest and its
// latest checkpoint. Only --steps (the new total), --workers and the output
// flags may be given with --resume: anything else would change the run.
func resumeRun(c *cli.Context, kind, dir string) (*train.Trainer, *checkpoints.Run, error) {
	def := train.DefaultSFTConfig()
	if kind == "train" {
		def = train.DefaultTrainConfig()
	}
	for _, name := range []string{outFlag.Name, initFlag.Name, fromSamplesFlag.Name, configFlag.Name, forceFlag.Name} {
		if c.IsSet(name) {
			return nil, nil, usageError("%s --resume: --%s cannot be combined with --resume: the run folder holds its settings", kind, name)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, nil, fmt.Errorf("%s --resume %s: not a run folder: %w", kind, dir, err)
	}
	cfg, err := train.DecodeConfig(raw, def, filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, nil, err
	}
	var man train.Manifest
	if raw, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err != nil || json.Unmarshal(raw, &man) != nil {
		return nil, nil, fmt.Errorf("%s --resume %s: unreadable manifest.json: want the file written when the run started", kind, dir)
	}
	if man.Kind != kind {
		return nil, nil, usageError("%s --resume %s: the run is a %q run: want 'tinyr1 %s --resume %s'", kind, dir, man.Kind, man.Kind, dir)
	}
	mode := train.ModeOf(kind, man.Init != "") // sft --from-samples: the sampler is the manifest's initial checkpoint
	keepDefaults(&cfg, def, mode)
	fileCfg := cfg
	over := cfg
	set, err := applyFlags(c, configFields, &over)
	if err != nil {
		return nil, nil, err
	}
	for _, key := range set {
		if !resumeMayDiffer[key] {
			return nil, nil, usageError("%s --resume: --%s cannot change on resume: want only --steps or --workers", kind, flagName(key))
		}
	}
	cfg.Steps, cfg.Workers = over.Steps, over.Workers
	if err := cfg.ValidateFor(mode); err != nil {
		return nil, nil, usageError("%v", err)
	}
	run, err := checkpoints.ResumeRun(dir)
	if err != nil {
		return nil, nil, err
	}
	latest, err := run.Latest()
	if err != nil {
		run.Close()
		return nil, nil, err
	}
	ck, err := checkpoints.Load(latest)
	if err != nil {
		run.Close()
		return nil, nil, err
	}
	if err := checkResumeConfig(kind, mode, dir, fileCfg, def, ck); err != nil {
		run.Close()
		return nil, nil, err
	}
	runID := ck.Header.RunID // the run keeps its id across resumes
	init := man.Init
	if man.InitCopy != "" { // the run's own link or copy, which no other run deletes
		if kept := filepath.Join(dir, man.InitCopy); fileExists(kept) || !fileExists(init) {
			init = kept // (when both are gone, the error names the run's own copy)
		}
	}
	if mode != train.SFT && !fileExists(init) {
		run.Close()
		return nil, nil, fmt.Errorf("%s --resume %s: the run's initial checkpoint (its sampler or reference policy) is missing: want %s or %s, "+
			"which the run started from; it cannot resume without it", kind, dir, filepath.Join(dir, checkpoints.InitFile), man.Init)
	}
	var tr *train.Trainer
	switch {
	case mode != train.SFT && ck.NumElements("ref.") > 0:
		// A reference reset embedded the reference; the initial
		// checkpoint is still the parent the trainer is built from.
		err = verifyParent(ck, init)
	case mode != train.SFT:
		err = checkpoints.VerifyReference(ck, init)
	}
	if err == nil {
		tr, err = train.New(mode, cfg, init, runID)
	}
	if err == nil {
		err = tr.Restore(ck)
	}
	if err == nil {
		err = run.TruncateMetrics(tr.Step)
	}
	if err != nil {
		if tr != nil {
			tr.Close()
		}
		run.Close()
		return nil, nil, err
	}
	tr.Run = run
	man.ResumedAt = append(man.ResumedAt, tr.Step)
	if err := run.WriteJSON(checkpoints.ManifestFile, man); err != nil {
		return nil, nil, err
	}
	if err := run.WriteJSON(checkpoints.ConfigFile, modeConfig(cfg, mode)); err != nil {
		return nil, nil, err
	}
	return tr, run, nil
}

// insideDir reports whether path lies inside (or is) the folder dir, after
// resolving symbolic links where the paths exist.
func insideDir(path, dir string) (bool, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return false, err
	}
	if real, err := filepath.EvalSymlinks(d); err == nil {
		d = real
	}
	rel, err := filepath.Rel(d, path)
	if err != nil {
		return false, err
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))), nil
}

// fileExists reports whether name is an existing regular file.
func fileExists(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// keepDefaults sets every field of cfg that does not apply to mode to its
// default: an old config.json records every key, and one outside the run's
// mode was never read.
func keepDefaults(cfg *train.Config, def train.Config, mode train.Mode) {
	v, d := reflect.ValueOf(cfg).Elem(), reflect.ValueOf(def)
	for _, f := range configFields {
		if !slices.Contains(f.modes, mode) {
			v.Field(f.index).Set(d.Field(f.index))
		}
	}
}

// verifyParent checks that the file at path is the checkpoint ck names in
// Header.ParentHash: a run's initial checkpoint once its reference is
// embedded (after a reference reset).
func verifyParent(ck *checkpoints.Checkpoint, path string) error {
	h, err := checkpoints.ContentHash(path)
	if err != nil {
		return err
	}
	if h != ck.Header.ParentHash {
		return fmt.Errorf("checkpoint %s has parent hash %s: found %s with hash %s: want the run's initial checkpoint", ck.File, ck.Header.ParentHash, path, h)
	}
	return nil
}
