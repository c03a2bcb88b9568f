package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"tinyr1/checkpoints"
	"tinyr1/rl/objective"
	"tinyr1/rl/train"
)

// helpHasFlag says whether a --help text lists --name.
func helpHasFlag(help, name string) bool {
	return regexp.MustCompile(`(?m)^\s+--` + regexp.QuoteMeta(name) + `[ ,]`).MatchString(help)
}

// TestHelpShowsOnlyOwnSettings checks that sft --help lists exactly the
// settings of sft and sft --from-samples, and train --help exactly those
// of GRPO: no --beta, --eps-low or --loss for sft, no --batch-size,
// --sft-data or --preset for train.
func TestHelpShowsOnlyOwnSettings(t *testing.T) {
	helps := map[string]string{}
	for _, cmd := range []string{"sft", "train"} {
		code, stdout, stderr := runApp(t, cmd, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d: %s", cmd, code, stderr)
		}
		helps[cmd] = stdout
	}
	for _, f := range configFields {
		for cmd, modes := range map[string][]train.Mode{"sft": {train.SFT, train.RFT}, "train": {train.GRPO}} {
			want := slices.ContainsFunc(modes, func(m train.Mode) bool { return slices.Contains(f.modes, m) })
			if got := helpHasFlag(helps[cmd], f.flag()); got != want {
				t.Errorf("%s --help lists --%s: %v, want %v (for %q)", cmd, f.flag(), got, want, f.modes)
			}
		}
	}
	for _, name := range []string{"beta", "eps-low", "loss", "kl", "prompts", "reward", "curriculum", "adv-eps"} {
		if helpHasFlag(helps["sft"], name) {
			t.Errorf("sft --help lists the GRPO setting --%s", name)
		}
	}
	for _, name := range []string{"batch-size", "sft-data", "preset"} {
		if helpHasFlag(helps["train"], name) {
			t.Errorf("train --help lists the sft setting --%s", name)
		}
	}
	if !helpHasFlag(helps["train"], "beta") || !helpHasFlag(helps["sft"], "batch-size") {
		t.Error("train --help lacks --beta or sft --help lacks --batch-size")
	}
}

// TestSettingOutsideModeRefused checks that a setting that cannot apply to
// the run is refused with exit status 2 and one line naming the setting
// and the command, from a flag and from --config alike, and that nothing
// is created.
func TestSettingOutsideModeRefused(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	beta, group, sftData := file("beta.json", `{"steps": 2, "beta": 0.1}`), file("group.json", `{"group": 4}`), file("sftdata.json", `{"sft_data": 4}`)
	out := filepath.Join(dir, "run")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sft", "--out", out, "--beta", "0.1"}, "sft: --beta does not apply to sft: it is a setting of train"},
		{[]string{"sft", "--out", out, "--eps-low", "0.1"}, "sft: --eps-low does not apply to sft"},
		{[]string{"sft", "--out", out, "--group", "4"}, "sft: --group does not apply to sft without --from-samples"},
		{[]string{"sft", "--out", out, "--temperature", "0.5"}, "sft: --temperature does not apply to sft without --from-samples"},
		{[]string{"sft", "--from-samples", evalFixture, "--out", out, "--preset", "tiny"}, "sft: --preset does not apply to sft --from-samples"},
		{[]string{"train", "--init", evalFixture, "--out", out, "--batch-size", "8"}, "train: --batch-size does not apply to train: it is a setting of sft"},
		{[]string{"train", "--init", evalFixture, "--out", out, "--sft-data", "8"}, "train: --sft-data does not apply to train"},
		{[]string{"sft", "--out", out, "--config", beta}, `sft: key "beta" of --config ` + beta + ` does not apply to sft without --from-samples`},
		{[]string{"sft", "--out", out, "--config", group}, `sft: key "group" of --config`},
		{[]string{"sft", "--from-samples", evalFixture, "--out", out, "--config", sftData}, `sft: key "sft_data" of --config`},
		{[]string{"train", "--init", evalFixture, "--out", out, "--config", sftData}, `train: key "sft_data" of --config ` + sftData + ` does not apply to train (GRPO)`},
	} {
		code, _, stderr := runApp(t, tc.args...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q: want exit 2 and one line with %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%q: a refused run created %s", tc.args, out)
		}
	}
}

// TestTrainBetaAndConfigRoundTrip checks that train --beta is accepted and
// recorded, that config.json records exactly the settings of the run's
// mode (so no preset for train, no beta for sft), and that a run's
// config.json serves as --config for the same command.
func TestTrainBetaAndConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	small := []string{"--steps", "1", "--tasks", "add:1", "--prompts", "2", "--group", "2", "--max-new", "8",
		"--eval-every", "0", "--workers", "1", "--quiet"}
	a := filepath.Join(dir, "a")
	// #16's keys at values other than their defaults travel too.
	variants := map[string]any{"advantage": "passk", "passk_k": 1.0, "ratio_level": "sequence", "gspo_eps_high": 0.01, "mu": 2.0,
		"ref_reset_every": 1.0, "ref_reset_optimizer": true}
	args := []string{"train", "--init", evalFixture, "--out", a, "--beta", "0.1"}
	for _, key := range slices.Sorted(maps.Keys(variants)) {
		if v := variants[key]; v == true {
			args = append(args, "--"+flagName(key))
		} else {
			args = append(args, "--"+flagName(key), fmt.Sprint(v))
		}
	}
	if code, _, stderr := runApp(t, append(args, small...)...); code != 0 {
		t.Fatalf("train --beta 0.1 and #16's flags: exit %d: %s", code, stderr)
	}
	cfgA := readConfigJSON(t, filepath.Join(a, "config.json"))
	if cfgA["beta"] != 0.1 {
		t.Errorf("config.json beta = %v, want 0.1", cfgA["beta"])
	}
	for key, want := range variants {
		if cfgA[key] != want {
			t.Errorf("config.json %s = %v, want %v", key, cfgA[key], want)
		}
	}
	checkKeys(t, "train", cfgA, train.GRPO)
	b := filepath.Join(dir, "b")
	if code, _, stderr := runApp(t, "train", "--init", evalFixture, "--out", b, "--config", filepath.Join(a, "config.json"), "--quiet"); code != 0 {
		t.Fatalf("train --config a/config.json: exit %d: %s", code, stderr)
	}
	raw, _ := os.ReadFile(filepath.Join(a, "config.json"))
	rawB, _ := os.ReadFile(filepath.Join(b, "config.json"))
	if string(raw) != string(rawB) {
		t.Errorf("a run from a/config.json records another config:\n%s\nwant\n%s", rawB, raw)
	}
	s := filepath.Join(dir, "s")
	if code, _, stderr := runApp(t, append([]string{"sft", "--out", s, "--steps", "1"}, tinySFTArgs...)...); code != 0 {
		t.Fatalf("sft: exit %d: %s", code, stderr)
	}
	checkKeys(t, "sft", readConfigJSON(t, filepath.Join(s, "config.json")), train.SFT)
}

func readConfigJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// checkKeys demands that cfg holds exactly the keys of mode.
func checkKeys(t *testing.T, cmd string, cfg map[string]any, mode train.Mode) {
	t.Helper()
	for _, f := range configFields {
		_, has := cfg[f.key]
		if want := slices.Contains(f.modes, mode); has != want {
			t.Errorf("%s config.json has %q: %v, want %v", cmd, f.key, has, want)
		}
	}
}

// TestResumeOldConfig checks what resume does with a config.json written
// before the settings were split by mode and before the hidden constants
// became keys: it records every key (beta for an sft run) and lacks
// adam_eps and the others. Keys outside the run's mode are not read, a
// missing key takes its default (the constant such runs used), the run
// resumes, and the rewritten config.json holds the mode's keys only.
func TestResumeOldConfig(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := runApp(t, append([]string{"sft", "--out", run, "--steps", "1"}, tinySFTArgs...)...); code != 0 {
		t.Fatalf("sft: exit %d: %s", code, stderr)
	}
	path := filepath.Join(run, "config.json")
	cur := readConfigJSON(t, path)
	raw, _ := json.Marshal(cur)
	old, err := train.DecodeConfig(raw, train.DefaultSFTConfig(), path)
	if err != nil {
		t.Fatal(err)
	}
	old.Beta, old.Group = 0.5, 3 // silently accepted and ignored by sft before
	var full map[string]any
	raw, _ = json.Marshal(old)
	json.Unmarshal(raw, &full)
	for _, k := range []string{"adam_eps", "adv_eps", "format_bad", "curriculum_window", "curriculum_min_samples", "curriculum_up", "curriculum_down"} {
		delete(full, k)
	}
	raw, _ = json.Marshal(full)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runApp(t, "sft", "--resume", run, "--steps", "2", "--quiet"); code != 0 {
		t.Fatalf("resume of an old config.json: exit %d: %s", code, stderr)
	}
	after := readConfigJSON(t, path)
	checkKeys(t, "sft", after, train.SFT)
	if after["adam_eps"] != 1e-8 {
		t.Errorf("resumed config.json adam_eps = %v, want the old constant 1e-8", after["adam_eps"])
	}
	ck, err := checkpoints.Load(filepath.Join(run, "checkpoints", "step-0000002.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	var saved train.Config
	if err := json.Unmarshal(ck.Header.TrainConfig, &saved); err != nil {
		t.Fatal(err)
	}
	if def := train.DefaultSFTConfig(); saved.Beta != def.Beta || saved.Group != def.Group {
		t.Errorf("resumed run's training config has beta %v, group %d: want the defaults %v, %d (keys outside sft are not read)",
			saved.Beta, saved.Group, def.Beta, def.Group)
	}
}

// TestHiddenConstantsAreSettings checks that the former constants are
// settings whose defaults are the old values, and that each reaches the
// code it sets.
func TestHiddenConstantsAreSettings(t *testing.T) {
	for _, def := range []train.Config{train.DefaultSFTConfig(), train.DefaultTrainConfig()} {
		if def.AdamEps != 1e-8 || def.AdvEps != 1e-4 || def.FormatBad != 0 || def.CurriculumWindow != 64 ||
			def.CurriculumMinSamples != 32 || def.CurriculumUp != 0.8 || def.CurriculumDown != 0.2 {
			t.Errorf("defaults adam_eps %v adv_eps %v format_bad %v curriculum %d %d %v %v: want the old constants 1e-8 1e-4 0 64 32 0.8 0.2",
				def.AdamEps, def.AdvEps, def.FormatBad, def.CurriculumWindow, def.CurriculumMinSamples, def.CurriculumUp, def.CurriculumDown)
		}
	}
	c := train.DefaultTrainConfig()
	c.AdvEps, c.FormatBad, c.CurriculumWindow, c.CurriculumMinSamples, c.CurriculumUp, c.CurriculumDown = 0.5, -0.25, 7, 3, 0.9, 0.1
	if got := c.AdvantageConfig().Eps; got != 0.5 {
		t.Errorf("AdvantageConfig().Eps = %v, want adv_eps 0.5", got)
	}
	if got := c.RewardConfig().FormatBad; got != -0.25 {
		t.Errorf("RewardConfig().FormatBad = %v, want format_bad -0.25", got)
	}
	if cc := c.CurriculumConfig(); cc.Window != 7 || cc.MinSamples != 3 || cc.Up != 0.9 || cc.Down != 0.1 {
		t.Errorf("CurriculumConfig() = %+v, want window 7, min_samples 3, up 0.9, down 0.1", cc)
	}

	// adam_eps reaches the optimizer: a huge epsilon changes the update.
	dir := t.TempDir()
	weights := func(name string, extra ...string) []float32 {
		out := filepath.Join(dir, name)
		if code, _, stderr := runApp(t, append(append([]string{"sft", "--out", out, "--steps", "1"}, tinySFTArgs...), extra...)...); code != 0 {
			t.Fatalf("sft %q: exit %d: %s", extra, code, stderr)
		}
		ck, err := checkpoints.Load(filepath.Join(out, "checkpoints", "step-0000001.ckpt"))
		if err != nil {
			t.Fatal(err)
		}
		var w []float32
		for _, tn := range ck.Tensors {
			if strings.HasPrefix(tn.Name, "model.") {
				w = append(w, tn.Data...)
			}
		}
		return w
	}
	if slices.Equal(weights("eps-default"), weights("eps-1", "--adam-eps", "1")) {
		t.Error("sft --adam-eps 1 gave the weights of the default 1e-8: the setting does not reach AdamW")
	}

	// The curriculum's settings reach the curriculum saved in the checkpoint.
	out := filepath.Join(dir, "cur")
	args := []string{"train", "--init", evalFixture, "--out", out, "--steps", "1", "--tasks", "add:1", "--prompts", "2", "--group", "2",
		"--max-new", "8", "--eval-every", "0", "--workers", "1", "--quiet", "--curriculum",
		"--curriculum-window", "7", "--curriculum-min-samples", "3", "--curriculum-up", "0.9", "--curriculum-down", "0.1"}
	if code, _, stderr := runApp(t, args...); code != 0 {
		t.Fatalf("train --curriculum: exit %d: %s", code, stderr)
	}
	ck, err := checkpoints.Load(filepath.Join(out, "checkpoints", "step-0000001.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	var pos struct {
		Curriculum struct {
			Config objective.CurriculumConfig `json:"config"`
		} `json:"curriculum"`
	}
	if err := json.Unmarshal(ck.Header.DataPosition, &pos); err != nil {
		t.Fatal(err)
	}
	if cc := pos.Curriculum.Config; cc.Window != 7 || cc.MinSamples != 3 || cc.Up != 0.9 || cc.Down != 0.1 {
		t.Errorf("checkpoint curriculum config %+v: want window 7, min_samples 3, up 0.9, down 0.1", cc)
	}
}

// TestConfigFromPipe: --config is read once, so a named pipe (or
// /dev/stdin, or a shell's <(...)) works.
func TestConfigFromPipe(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "config.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.WriteString(`{"lr": 0.001}`)
		f.Close()
	}()
	run := filepath.Join(dir, "run")
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, stderr := runApp(t, append([]string{"sft", "--out", run, "--steps", "1", "--config", fifo}, tinySFTArgs...)...)
		done <- result{code, stderr}
	}()
	var code int
	var stderr string
	select {
	case r := <-done:
		code, stderr = r.code, r.stderr
	case <-time.After(60 * time.Second):
		t.Fatal("sft --config FIFO still running after 60 s: the pipe is read twice (the second read waits for a writer forever)")
	}
	if code != 0 {
		t.Fatalf("sft --config FIFO: exit %d: %s", code, stderr)
	}
	if cfg := readConfigJSON(t, filepath.Join(run, "config.json")); cfg["lr"] != 0.001 {
		t.Errorf("config.json lr %v: want the pipe's 0.001", cfg["lr"])
	}
}
