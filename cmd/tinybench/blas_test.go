package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
)

// readTorch decodes one result of the twin from testdata. The two files
// are real `bench/torch_bench.py --probe` outputs on Debian 12 with
// python3-torch: torch_openblas.json with libopenblas0-pthread
// (OPENBLAS_NUM_THREADS=2, --threads 2), torch_reference.json with
// libblas3's reference libblas.so.3 put first through LD_LIBRARY_PATH
// (OpenBLAS still mapped, through liblapack.so.3).
func readTorch(t *testing.T, name string) *Result {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := decodeResults(b)
	if err != nil || len(rs) != 1 {
		t.Fatalf("%s: %d results, %v", name, len(rs), err)
	}
	return rs[0]
}

func TestCheckTorch(t *testing.T) {
	mkl := &Result{BLAS: &blasReport{TorchThreads: 1, TorchBLASInfo: "mkl", OpenBLASThreads: -1}}
	unknown := &Result{BLAS: &blasReport{Sgemm: "/opt/lib/libfastmath.so", TorchThreads: 1, TorchBLASInfo: "generic"}}
	debianRef := &Result{BLAS: &blasReport{Sgemm: "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0", TorchThreads: 1, OpenBLASThreads: -1}}
	tests := []struct {
		name          string
		r             *Result
		torch, blas   int
		wantErr       []string // substrings of the error; nil: no error
		wantKind      string
		wantConfigLbl string
	}{
		{"openblas as asked", readTorch(t, "torch_openblas.json"), 2, 2, nil, "OpenBLAS", "torch 2 x OpenBLAS 2"},
		{"openblas not checked", readTorch(t, "torch_openblas.json"), 0, 0, nil, "OpenBLAS", "torch 2 x OpenBLAS 2"},
		{"openblas threads differ", readTorch(t, "torch_openblas.json"), 2, 1, []string{"OpenBLAS runs 2 threads: want 1"}, "OpenBLAS", ""},
		{"torch threads differ", readTorch(t, "torch_openblas.json"), 1, 2, []string{"torch.get_num_threads() is 2: want 1"}, "OpenBLAS", ""},
		{"reference refused", readTorch(t, "torch_reference.json"), 1, 1,
			[]string{"reference BLAS", "blas/libblas.so.3.11.0", "apt-get install libopenblas0-pthread"}, "reference", ""},
		{"debian reference path", debianRef, 1, 1, []string{"reference BLAS", "apt-get install libopenblas0-pthread"}, "reference", ""},
		{"no report", &Result{Impl: "pytorch"}, 1, 1, []string{"reported no BLAS"}, "", ""},
		{"static mkl", mkl, 1, 1, nil, "MKL", "torch 1 x MKL"},
		{"unknown library", unknown, 1, 1, []string{"cannot tell which BLAS", "libfastmath.so", "apt-get install libopenblas0-pthread"}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.r.BLAS != nil {
				if got := tc.r.BLAS.kind(); got != tc.wantKind {
					t.Errorf("kind() = %q, want %q", got, tc.wantKind)
				}
			}
			err := checkTorch(tc.r, tc.torch, tc.blas)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("checkTorch: %v, want nil", err)
				}
				if got := tc.r.BLAS.label(); got != tc.wantConfigLbl {
					t.Errorf("label() = %q, want %q", got, tc.wantConfigLbl)
				}
				return
			}
			if err == nil {
				t.Fatalf("checkTorch: nil, want an error with %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestTorchConfigs(t *testing.T) {
	tests := []struct {
		prev, cores int
		want        [][2]int
	}{
		{0, 1, [][2]int{{1, 1}}},
		{1, 2, [][2]int{{1, 2}, {2, 1}, {2, 2}}},
		{0, 2, [][2]int{{1, 1}, {1, 2}, {2, 1}, {2, 2}}},
	}
	for _, tc := range tests {
		if got := torchConfigs(tc.prev, tc.cores); !slices.Equal(got, tc.want) {
			t.Errorf("torchConfigs(%d, %d) = %v, want %v", tc.prev, tc.cores, got, tc.want)
		}
	}
}

// TestWriteTableBest: a budget's table takes each side's best
// configuration within it and names it; a configuration on more cores
// than the budget is left out; allocation rows show the worst.
func TestWriteTableBest(t *testing.T) {
	res := func(impl, config string, cores int, tok, ms, allocs float64) *Result {
		r := &Result{Impl: impl, Preset: "small", Cores: cores, Config: config, Runs: 3, Metrics: map[string]Stat{}}
		r.Metrics["rollout_b64"] = Stat{Median: tok, Unit: "tok/s"}
		r.Metrics["train_ms"] = Stat{Median: ms, Unit: "ms"}
		if impl == "tinyr1" {
			r.Metrics["train_allocs"] = Stat{Median: allocs, Unit: "allocs"}
		}
		return r
	}
	rep := &Report{Budgets: []int{1, 2}, Results: []*Result{
		res("tinyr1", "1 worker", 1, 1000, 200, 0),
		res("tinyr1", "2 workers", 2, 1800, 120, 1),
		res("pytorch", "torch 1 x OpenBLAS 1", 1, 500, 210, 0),
		res("pytorch", "torch 2 x OpenBLAS 1", 2, 600, 150, 0),
		res("pytorch", "torch 1 x OpenBLAS 2", 2, 550, 140, 0),
	}}
	var one, two bytes.Buffer
	writeTable(&one, rep, 1)
	writeTable(&two, rep, 2)
	for _, w := range []struct {
		buf  *bytes.Buffer
		want string
	}{
		{&one, "| rollout tok/s, batch 64 | small | 1000 | 1 worker | 500 | torch 1 x OpenBLAS 1 | 2.00 |"},
		{&one, "| train step ms, 2048 tok | small | 200 | 1 worker | 210 | torch 1 x OpenBLAS 1 | 1.05 |"},
		{&two, "| rollout tok/s, batch 64 | small | 1800 | 2 workers | 600 | torch 2 x OpenBLAS 1 | 3.00 |"},
		{&two, "| train step ms, 2048 tok | small | 120 | 2 workers | 140 | torch 1 x OpenBLAS 2 | 1.17 |"},
		{&two, "| heap allocations per train step | small | 1.00 | 2 workers | - | - | - |"},
	} {
		if !strings.Contains(w.buf.String(), w.want) {
			t.Errorf("table lacks %q:\n%s", w.want, w.buf.String())
		}
	}
	// The GRPO breakdown shows the configuration of the best step, not
	// its own best.
	grpo := func(config string, cores int, step, rollout float64) *Result {
		return &Result{Impl: "tinyr1", Preset: "small", Cores: cores, Config: config, Runs: 3, Metrics: map[string]Stat{
			"grpo_step": {Median: step, Unit: "s"}, "grpo_rollout": {Median: rollout, Unit: "s"}}}
	}
	rep.Results = append(rep.Results, grpo("1 worker", 1, 2.0, 0.5), grpo("2 workers", 2, 1.5, 0.6))
	two.Reset()
	writeTable(&two, rep, 2)
	if want := "|   of which rollout s | small | 0.60 | 2 workers | - | - | - |"; !strings.Contains(two.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, two.String())
	}
	// Every configuration has one column, whatever the presets.
	medium := res("tinyr1", "1 worker", 1, 300, 900, 0)
	medium.Preset = "medium"
	rep.Results = append(rep.Results, medium)
	var all bytes.Buffer
	writeConfigs(&all, rep)
	if n := strings.Count(all.String(), "tinyr1 1 worker, 1 core(s)"); n != 1 {
		t.Errorf("%d columns for tinyr1 1 worker, want 1:\n%s", n, all.String())
	}
	if want := "| train step ms, 2048 tok | medium | 900 | - | - | - | - |"; !strings.Contains(all.String(), want) {
		t.Errorf("configurations table lacks %q:\n%s", want, all.String())
	}

	rep.TorchNote = "tinybench: PyTorch ran on the reference BLAS"
	rep.Results = rep.Results[:2]
	var refused bytes.Buffer
	writeTable(&refused, rep, 2)
	if !strings.Contains(refused.String(), "No PyTorch column: PyTorch ran on the reference BLAS.") {
		t.Errorf("table does not say why it has no PyTorch column:\n%s", refused.String())
	}
}
