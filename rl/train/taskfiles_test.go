package train

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tinyr1/data"
	"tinyr1/rl/objective"
)

// writeTaskFile writes n problems whose keys all fall in the given splits
// and returns the file's path.
func writeTaskFile(t *testing.T, n int, splits ...data.Split) string {
	t.Helper()
	var b strings.Builder
	for i := 0; n > 0; i++ {
		prompt := fmt.Sprintf("echo %d", i)
		for _, s := range splits {
			if data.SplitOfKey(prompt+"\t"+fmt.Sprint(i)) == s {
				fmt.Fprintf(&b, `{"prompt": %q, "answer": "%d", "kind": "integer", "solution": "%d"}`+"\n", prompt, i, i)
				n--
			}
		}
	}
	path := filepath.Join(t.TempDir(), "f.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPinTaskFiles(t *testing.T) {
	path := writeTaskFile(t, 20, data.Train, data.Validation, data.Test)
	raw, _ := os.ReadFile(path)
	want := fmt.Sprintf("%s=%x", path, sha256.Sum256(raw))
	cfg := tinySFT(1)
	cfg.Tasks = "add:1,file:" + path
	if err := cfg.PinTaskFiles(); err != nil || cfg.TaskFiles != want {
		t.Fatalf("PinTaskFiles: task_files %q, %v: want %q", cfg.TaskFiles, err, want)
	}
	if err := cfg.PinTaskFiles(); err != nil {
		t.Errorf("pinned again on the same bytes: %v", err)
	}
	changed := cfg
	changed.TaskFiles = path + "=" + strings.Repeat("0", 64)
	if err := changed.PinTaskFiles(); err == nil || !strings.Contains(err.Error(), "the file changed") {
		t.Errorf("pinned to other bytes: %v, want a refusal", err)
	}
	other := cfg
	other.TaskFiles = "x.jsonl=" + strings.Repeat("0", 64)
	if err := other.PinTaskFiles(); err == nil || !strings.Contains(err.Error(), "want the files of tasks") {
		t.Errorf("pinned to other files: %v, want a refusal", err)
	}
	builtin := tinySFT(1)
	if err := builtin.PinTaskFiles(); err != nil || builtin.TaskFiles != "" {
		t.Errorf("built-in tasks: task_files %q, %v: want empty", builtin.TaskFiles, err)
	}
}

func TestCheckFileSplits(t *testing.T) {
	testOnly := writeTaskFile(t, 5, data.Test)
	trainOnly := writeTaskFile(t, 5, data.Train)
	for _, tc := range []struct {
		name, tasks string
		evalEvery   int
		want        string
	}{
		{"no train problems", "file:" + testOnly, 0, "no level 1 problems in the train split"},
		{"no validation problems", "file:" + trainOnly, 5, "no level 1 problems in the validation split"},
		{"no validation needed", "file:" + trainOnly, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinySFT(1)
			cfg.Tasks, cfg.EvalEvery = tc.tasks, tc.evalEvery
			tr, err := NewSFT(cfg, "test")
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				tr.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewSFT: %v, want an error naming %q", err, tc.want)
			}
		})
	}
	// Under a curriculum every level of its range needs train problems.
	mix, err := data.ParseMixture("file:" + trainOnly)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := objective.NewCurriculum(objective.DefaultCurriculumConfig(), mix[0].Family)
	tr := &Trainer{Mix: mix, Cur: cur, Cfg: tinyGRPO(1)}
	tr.Cfg.EvalEvery = 0
	if err := tr.checkFileSplits(); err == nil || !strings.Contains(err.Error(), "no level 2 problems in the train split (the curriculum") {
		t.Errorf("curriculum over a level-1 file: %v, want a refusal", err)
	}
}
