package checkpoints

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// stepsIn returns the steps that have a checkpoint in run.
func stepsIn(t *testing.T, run *Run) []int {
	t.Helper()
	s, err := run.steps()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRunRetention(t *testing.T) {
	scores := map[int]float64{3: 0.9, 7: 0.2} // step 3 is the best; the rest score 0.1 or are unknown
	tests := []struct {
		name string
		ret  Retention
		want []int
	}{
		{"keep all", Retention{}, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"last 2 plus best", Retention{KeepLast: 2}, []int{3, 11, 12}},
		{"last 3 every 5 plus best", Retention{KeepLast: 3, KeepEvery: 5}, []int{3, 5, 10, 11, 12}},
		{"last 1 every 4", Retention{KeepLast: 1, KeepEvery: 4}, []int{3, 4, 8, 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := OpenRun(t.TempDir())
			c := smallCheckpoint()
			for step := 1; step <= 12; step++ {
				c.Header.Step = step
				score, ok := scores[step]
				if !ok {
					score = 0.1
					if step%2 == 0 {
						score = math.NaN()
					}
				}
				p, err := run.SaveStep(c, score, tt.ret)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				if want := filepath.Join(run.Dir, "checkpoints", StepFileName(step)); p != want {
					t.Fatalf("step %d saved to %s, want %s", step, p, want)
				}
			}
			if got := stepsIn(t, run); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("kept steps %v, want %v", got, tt.want)
			}
			latest, err := run.Latest()
			if err != nil || filepath.Base(latest) != "step-0000012.ckpt" {
				t.Errorf("Latest() = %q, %v; want step-0000012.ckpt", latest, err)
			}
			best, err := run.Best()
			if err != nil || filepath.Base(best) != "step-0000003.ckpt" {
				t.Errorf("Best() = %q, %v; want step-0000003.ckpt", best, err)
			}
			if c, err := Load(latest); err != nil || c.Header.Step != 12 {
				t.Errorf("loading latest: step %v, %v; want 12", c, err)
			}
			b, _ := os.ReadFile(filepath.Join(run.Dir, "best"))
			if string(b) != "checkpoints/step-0000003.ckpt 0.9\n" {
				t.Errorf("best pointer holds %q", b)
			}
		})
	}
}

func TestRunLatestFallsBackToHighestStep(t *testing.T) {
	run := OpenRun(t.TempDir())
	c := smallCheckpoint()
	for _, step := range []int{5, 10000000, 20} {
		c.Header.Step = step
		if _, err := run.SaveStep(c, math.NaN(), Retention{}); err != nil {
			t.Fatal(err)
		}
	}
	// A run killed before its first pointer was written has none.
	if err := os.Remove(filepath.Join(run.Dir, "latest")); err != nil {
		t.Fatal(err)
	}
	got, err := run.Latest()
	if err != nil || filepath.Base(got) != "step-10000000.ckpt" {
		t.Errorf("Latest() = %q, %v; want step-10000000.ckpt", got, err)
	}
	if _, err := run.Best(); err == nil || !strings.Contains(err.Error(), "no best checkpoint") {
		t.Errorf("Best() with only NaN scores: got %v, want a no-best error", err)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	run := OpenRun(dir)
	if _, err := run.Latest(); err == nil || !strings.Contains(err.Error(), "holds no checkpoints") || !strings.Contains(err.Error(), dir) {
		t.Errorf("Latest() of an empty folder: got %v, want one naming %s", err, dir)
	}
	if err := os.WriteFile(filepath.Join(dir, "latest"), []byte("../elsewhere.ckpt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run.Latest(); err == nil || !strings.Contains(err.Error(), "want a path inside") {
		t.Errorf("Latest() with an escaping pointer: got %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "latest"), []byte("checkpoints/step-0000009.ckpt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run.Latest(); err == nil || !strings.Contains(err.Error(), "step-0000009.ckpt") {
		t.Errorf("Latest() naming a missing file: got %v", err)
	}
	c := smallCheckpoint()
	c.Header.Step = -1
	if _, err := run.SaveStep(c, 0, Retention{}); err == nil {
		t.Error("SaveStep with step -1 succeeded")
	}
	if _, err := run.SaveStep(smallCheckpoint(), 0, Retention{KeepLast: -1}); err == nil {
		t.Error("SaveStep with KeepLast -1 succeeded")
	}
}

// TestRunRemovesTemps checks that the temporary files of a killed save are
// cleared by the next save, and that only they are.
func TestRunRemovesTemps(t *testing.T) {
	run := OpenRun(t.TempDir())
	ckdir := filepath.Join(run.Dir, "checkpoints")
	if err := os.MkdirAll(ckdir, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := []string{filepath.Join(ckdir, ".step-0000004.ckpt.tmp-123"), filepath.Join(run.Dir, ".latest.tmp-9")}
	keep := []string{filepath.Join(ckdir, "notes.txt"), filepath.Join(run.Dir, ".other.tmp-1")}
	for _, p := range append(stale, keep...) {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := run.SaveStep(smallCheckpoint(), 0.5, Retention{KeepLast: 1}); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("stale temporary file %s survived", p)
		}
	}
	for _, p := range keep {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("unrelated file %s removed: %v", p, err)
		}
	}
}

func TestResolvePath(t *testing.T) {
	run := OpenRun(t.TempDir())
	p, err := run.SaveStep(smallCheckpoint(), 0.5, DefaultRetention())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{p, run.Dir} {
		if got, err := ResolvePath(in); err != nil || got != p {
			t.Errorf("ResolvePath(%q) = %q, %v; want %q", in, got, err, p)
		}
	}
	if _, err := ResolvePath(filepath.Join(run.Dir, "nope")); err == nil {
		t.Error("ResolvePath of a missing path succeeded")
	}
}

// TestResolvePathForms checks RUN, RUN/latest, RUN/best and RUN@STEP.
func TestResolvePathForms(t *testing.T) {
	run := OpenRun(filepath.Join(t.TempDir(), "run"))
	c := smallCheckpoint()
	paths := map[int]string{}
	for step, score := range []float64{1: 0.9, 2: 0.1, 3: math.NaN()} { // in step order: latest is the last saved
		if step == 0 {
			continue
		}
		c.Header.Step = step
		p, err := run.SaveStep(c, score, Retention{})
		if err != nil {
			t.Fatal(err)
		}
		paths[step] = p
	}
	for in, want := range map[string]string{
		run.Dir:                            paths[3],
		filepath.Join(run.Dir, latestFile): paths[3],
		filepath.Join(run.Dir, bestFile):   paths[1],
		run.Dir + "@2":                     paths[2],
		run.Dir + "@0000001":               paths[1],
		paths[2]:                           paths[2],
	} {
		if got, err := ResolvePath(in); err != nil || got != want {
			t.Errorf("ResolvePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		run.Dir + "@7":  "has no checkpoint of step 7: want one of the steps [1 2 3]",
		run.Dir + "@x":  "no such file",
		run.Dir + "x@1": "no such file",
		paths[1] + "@1": "no such file",
		run.Dir + "@-1": "no such file",
		"@1":            "no such file",
	} {
		if _, err := ResolvePath(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ResolvePath(%q): error %v, want %q", in, err, want)
		}
	}
	// A file called best outside a run folder is a file.
	lone := filepath.Join(t.TempDir(), bestFile)
	os.WriteFile(lone, nil, 0o644)
	if got, err := ResolvePath(lone); err != nil || got != lone {
		t.Errorf("ResolvePath(%q) = %q, %v; want the file itself", lone, got, err)
	}
}

func TestStepFileName(t *testing.T) {
	for _, tt := range []struct {
		step int
		name string
	}{{0, "step-0000000.ckpt"}, {42, "step-0000042.ckpt"}, {12345678, "step-12345678.ckpt"}} {
		if got := StepFileName(tt.step); got != tt.name {
			t.Errorf("StepFileName(%d) = %q, want %q", tt.step, got, tt.name)
		}
		if got, ok := parseStepFileName(tt.name); !ok || got != tt.step {
			t.Errorf("parseStepFileName(%q) = %d, %v; want %d", tt.name, got, ok, tt.step)
		}
	}
	for _, bad := range []string{"step-42.ckpt", "step-00000042.ckpt", "step-000004x.ckpt", "step-0000042.ckpt.tmp", "x"} {
		if _, ok := parseStepFileName(bad); ok {
			t.Errorf("parseStepFileName(%q) accepted", bad)
		}
	}
}

// TestRunFailedSaveKeepsPointers checks that a step that fails to save
// leaves latest, best and every kept checkpoint as they were.
func TestRunFailedSaveKeepsPointers(t *testing.T) {
	run := OpenRun(t.TempDir())
	c := smallCheckpoint()
	c.Header.Step = 1
	if _, err := run.SaveStep(c, 0.5, Retention{KeepLast: 1}); err != nil {
		t.Fatal(err)
	}
	bad := smallCheckpoint()
	bad.Header.Step = 2
	bad.Tensors[0].Data = bad.Tensors[0].Data[:1] // shape no longer matches: Encode refuses
	if _, err := run.SaveStep(bad, 0.9, Retention{KeepLast: 1}); err == nil {
		t.Fatal("SaveStep of an invalid checkpoint succeeded")
	}
	for name, get := range map[string]func() (string, error){"Latest": run.Latest, "Best": run.Best} {
		p, err := get()
		if err != nil || filepath.Base(p) != "step-0000001.ckpt" {
			t.Errorf("%s() = %q, %v; want step-0000001.ckpt", name, p, err)
		}
	}
	if got := stepsIn(t, run); !reflect.DeepEqual(got, []int{1}) {
		t.Errorf("steps %v, want [1]", got)
	}
	onlyFile(t, filepath.Join(run.Dir, "checkpoints"), "step-0000001.ckpt")
}

func TestCreateRunRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644)
	if _, err := CreateRun(dir, false); err == nil {
		t.Fatal("CreateRun over an existing run: got nil error, want ErrRunExists")
	}
	r, err := CreateRun(dir, true)
	if err != nil {
		t.Fatalf("CreateRun with force: %v", err)
	}
	if _, err := ResumeRun(dir); err == nil {
		t.Fatal("second writer on a locked run: got nil error, want a lock error")
	}
	r.Close()
}
