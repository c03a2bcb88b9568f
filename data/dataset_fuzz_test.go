package data

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzReadDataset feeds arbitrary bytes to the loader (seed corpus in
// testdata/fuzz/FuzzReadDataset). It must never panic; a file it accepts
// must hold problems that pass their own verifiers, with unique prompts and
// keys in their own split, and writing them back as dataset lines must read
// back to the same problems (the round trip of tasks export --format file).
func FuzzReadDataset(f *testing.F) {
	f.Add([]byte(`{"prompt": "p", "answer": "1", "kind": "integer"}`))
	f.Add([]byte(`{"prompt": "p", "answer": "b a", "kind": "multiset", "level": 3, "id": "x", "family": "f", "solution": "s"}` + "\n\n" +
		`{"prompt": "q", "answer": "x=1, y=2", "kind": "assignment"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ff, err := ReadDataset("fuzz.jsonl", bytes.NewReader(raw))
		if err != nil {
			return
		}
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		prompts, keys := map[string]bool{}, map[string]bool{}
		for i := range ff.problems {
			p := &ff.problems[i]
			if v := VerifyKind(p, FormatCompletion(p)); !v.Correct {
				t.Fatalf("accepted problem %+v fails its own verifier: %s", p, v.Reason)
			}
			if prompts[p.Prompt] || keys[p.Key] {
				t.Fatalf("accepted a repeated prompt or key %q", p.Key)
			}
			prompts[p.Prompt], keys[p.Key] = true, true
			if p.Split != SplitOfKey(p.Key).String() {
				t.Fatalf("problem in split %s, key in %s", p.Split, SplitOfKey(p.Key))
			}
			l, err := DatasetLineOf(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := enc.Encode(&l); err != nil {
				t.Fatal(err)
			}
		}
		back, err := ReadDataset("fuzz.jsonl", &out)
		if err != nil {
			t.Fatalf("written back, the file is refused: %v", err)
		}
		if len(back.problems) != len(ff.problems) {
			t.Fatalf("round trip: %d problems, want %d", len(back.problems), len(ff.problems))
		}
		for i := range back.problems {
			if back.problems[i] != ff.problems[i] {
				t.Fatalf("round trip: %+v, want %+v", back.problems[i], ff.problems[i])
			}
		}
	})
}
