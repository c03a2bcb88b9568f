package main

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestBudgets(t *testing.T) {
	tests := []struct {
		cores   string
		want    []int
		wantErr string
	}{
		{"1", []int{1}, ""},
		{fmt.Sprintf("%d,1,%d", runtime.NumCPU(), runtime.NumCPU()), []int{1, runtime.NumCPU()}, ""},
		{"0", nil, `"0" is not a core count`},
		{"two", nil, `"two" is not a core count`},
		{fmt.Sprint(runtime.NumCPU() + 1), nil, "is not a core count from 1 to"},
		{" , ", nil, "want at least one core count"},
	}
	for _, tc := range tests {
		got, err := config{Cores: tc.cores}.budgets()
		if tc.wantErr == "" {
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("budgets(%q) = %v, %v; want %v", tc.cores, got, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("budgets(%q) error = %v, want one with %q", tc.cores, err, tc.wantErr)
		}
	}
}

// TestRunsNote: the header names each part whose run count differs once,
// though the GRPO step of a preset runs once per core budget.
func TestRunsNote(t *testing.T) {
	grpo := map[string]Stat{"grpo_step": {}}
	rep := &Report{Results: []*Result{
		{Impl: "tinyr1", Preset: "small", Runs: 3}, {Impl: "pytorch", Preset: "small", Runs: 3},
		{Impl: "tinyr1", Preset: "medium", Runs: 3},
		{Impl: "tinyr1", Preset: "small", Runs: 3, Metrics: grpo},
		{Impl: "tinyr1", Preset: "medium", Runs: 2, Threads: 1, Metrics: grpo},
		{Impl: "tinyr1", Preset: "medium", Runs: 2, Threads: 2, Metrics: grpo},
	}}
	if got, want := runsNote(rep), "3 (GRPO medium: 2)"; got != want {
		t.Errorf("runsNote = %q, want %q", got, want)
	}
}

// TestValidateRounds: --rounds takes 1 to 20 and names a bad value.
func TestValidateRounds(t *testing.T) {
	for _, tc := range []struct {
		rounds  int
		wantErr string
	}{
		{1, ""},
		{3, ""},
		{20, ""},
		{0, "tinybench: --rounds 0: want 1 to 20"},
		{21, "tinybench: --rounds 21: want 1 to 20"},
		{-2, "tinybench: --rounds -2: want 1 to 20"},
	} {
		c := config{Cores: "1", Threads: 1, Runs: 3, GRPORuns: 3, Presets: "small", Rounds: tc.rounds}
		err := c.validate()
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("--rounds %d: %v, want no error", tc.rounds, err)
			}
			continue
		}
		if err == nil || err.Error() != tc.wantErr {
			t.Errorf("--rounds %d: error %v, want %q", tc.rounds, err, tc.wantErr)
		}
	}
}
