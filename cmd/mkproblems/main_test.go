package main

import (
	"bytes"
	"os"
	"testing"
)

// TestExampleIsDefaultOutput holds the repository's example dataset to the
// program's default output, so the file and its generator never drift.
func TestExampleIsDefaultOutput(t *testing.T) {
	var buf bytes.Buffer
	if err := write(&buf, 1, 40); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../examples/problems.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatal("examples/problems.jsonl differs from the default output: run go generate ./cmd/mkproblems")
	}
	if n := bytes.Count(want, []byte("\n")); n != 400 {
		t.Errorf("%d lines, want 400", n)
	}
}
