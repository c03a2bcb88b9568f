package data

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reading and checking a dataset file (the format is in dataset.go).

// ReadDataset reads a dataset file from r; name is the file's name in the
// family name ("file:"+name) and in errors. It returns every line error
// (up to a limit) joined, each a *DatasetError.
func ReadDataset(name string, r io.Reader) (*FileFamily, error) {
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(r, h), 64<<10)
	f := &FileFamily{name: FilePrefix + name, path: name}
	var errs []error
	fail := func(line int, format string, a ...any) {
		errs = append(errs, &DatasetError{File: name, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	prompts := map[string]int{} // prompt -> line
	ids := map[string]int{}     // id -> line
	tok := NewTokenizer()
	for lineNo := 1; len(errs) < maxDatasetErrors; lineNo++ {
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Read the rest of the long line, then judge its length.
			buf := append([]byte(nil), raw...)
			for errors.Is(err, bufio.ErrBufferFull) && len(buf) <= MaxDatasetLine {
				raw, err = br.ReadSlice('\n')
				buf = append(buf, raw...)
			}
			raw = buf
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("data: %s: %w", name, err)
		}
		if len(raw) > MaxDatasetLine {
			fail(lineNo, "line longer than %d bytes: want one problem per line", MaxDatasetLine)
			break
		}
		if text := bytes.TrimSpace(raw); len(text) > 0 {
			if len(f.problems) == MaxDatasetProblems {
				fail(lineNo, "more than %d problems: want a smaller file", MaxDatasetProblems)
				break
			}
			p, msg := parseDatasetLine(text, tok, f.name)
			switch {
			case msg != "":
				fail(lineNo, "%s", msg)
			case prompts[p.Prompt] != 0:
				first := prompts[p.Prompt]
				if f.problems[f.lineIndex(first)].Answer == p.Answer {
					fail(lineNo, "duplicate of line %d (same prompt and answer): want each problem once", first)
				} else {
					fail(lineNo, "prompt of line %d again with another answer: want one answer per prompt", first)
				}
			case p.ID != "" && ids[p.ID] != 0:
				fail(lineNo, "id %q already on line %d: want unique ids", p.ID, ids[p.ID])
			default:
				prompts[p.Prompt] = lineNo
				if p.ID != "" {
					ids[p.ID] = lineNo
				}
				f.problems = append(f.problems, p)
				f.lines = append(f.lines, lineNo)
			}
		}
		if err != nil { // io.EOF
			break
		}
	}
	if len(errs) == maxDatasetErrors {
		errs = append(errs, fmt.Errorf("data: %s: stopped after %d errors", name, maxDatasetErrors))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(f.problems) == 0 {
		return nil, fmt.Errorf("data: %s: no problems: want JSON lines with prompt, answer and kind", name)
	}
	if _, err := io.Copy(io.Discard, br); err != nil { // the hash covers the whole file
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	f.sum = hex.EncodeToString(h.Sum(nil))
	f.byPrompt = make(map[string]int32, len(f.problems))
	for i := range f.problems {
		p := &f.problems[i]
		f.byPrompt[p.Prompt] = int32(i)
		s := SplitOfKey(p.Key)
		p.Split = s.String()
		f.index[s][p.Level] = append(f.index[s][p.Level], int32(i))
	}
	return f, nil
}

// lineIndex returns the index of the problem read from line.
func (f *FileFamily) lineIndex(line int) int {
	return sort.SearchInts(f.lines, line)
}

// parseDatasetLine reads one non-blank line into a problem of family, or
// returns why the line is refused.
func parseDatasetLine(text []byte, tok *Tokenizer, family string) (Problem, string) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(text))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		why := "null"
		if err != nil {
			why = err.Error()
		}
		return Problem{}, fmt.Sprintf("not a JSON object (%s): want {\"prompt\": ..., \"answer\": ..., \"kind\": ...}", why)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Problem{}, "text after the JSON object: want one object per line"
	}
	if k := duplicateKey(text); k != "" {
		return Problem{}, fmt.Sprintf("field %q twice: want each field once", k)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		known := false
		for _, f := range datasetFields {
			known = known || k == f
		}
		if !known {
			return Problem{}, fmt.Sprintf("unknown field %q: want %s", k, strings.Join(datasetFields, ", "))
		}
	}
	l := DatasetLine{Level: 1}
	for _, fd := range []struct {
		key      string
		dst      any
		required bool
	}{
		{"prompt", &l.Prompt, true}, {"answer", &l.Answer, true}, {"kind", &l.Kind, true},
		{"solution", &l.Solution, false}, {"level", &l.Level, false}, {"id", &l.ID, false}, {"family", &l.Family, false},
	} {
		v, ok := raw[fd.key]
		if !ok || string(v) == "null" {
			if fd.required {
				return Problem{}, fmt.Sprintf("missing field %q: want prompt, answer and kind on every line", fd.key)
			}
			continue
		}
		want := "a string"
		if fd.key == "level" {
			want = "an integer 1-" + strconv.Itoa(MaxLevel)
		}
		if json.Unmarshal(v, fd.dst) != nil {
			return Problem{}, fmt.Sprintf("field %q is %s: want %s", fd.key, v, want)
		}
	}
	return checkDatasetLine(&l, tok, family)
}

// duplicateKey returns a key that a JSON object (already decoded once, so
// well formed) has twice, or "": encoding/json keeps the last silently.
func duplicateKey(text []byte) string {
	dec := json.NewDecoder(bytes.NewReader(text))
	if _, err := dec.Token(); err != nil { // '{'
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		k, ok := t.(string)
		if err != nil || !ok {
			return ""
		}
		if seen[k] {
			return k
		}
		seen[k] = true
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return ""
		}
	}
	return ""
}

// checkDatasetLine applies every per-line rule and builds the problem.
func checkDatasetLine(l *DatasetLine, tok *Tokenizer, family string) (Problem, string) {
	if l.Level < 1 || l.Level > MaxLevel {
		return Problem{}, fmt.Sprintf("level %d: want 1 to %d", l.Level, MaxLevel)
	}
	for _, fd := range []struct{ key, s string }{
		{"prompt", l.Prompt}, {"answer", l.Answer}, {"solution", l.Solution}, {"id", l.ID}, {"family", l.Family},
	} {
		if msg := checkText(tok, fd.key, fd.s); msg != "" {
			return Problem{}, msg
		}
	}
	switch {
	case strings.TrimSpace(l.Prompt) == "":
		return Problem{}, "empty prompt: want the problem's text"
	case l.Answer == "":
		return Problem{}, "empty answer: want the gold answer"
	case trimSpace(l.Answer) != l.Answer:
		return Problem{}, fmt.Sprintf("answer %q has white space around it: want %q (the verifier trims the answer block)", l.Answer, trimSpace(l.Answer))
	case len(l.Answer) > MaxAnswerBytes:
		return Problem{}, fmt.Sprintf("answer of %d bytes: want at most %d", len(l.Answer), MaxAnswerBytes)
	case strings.ContainsAny(l.ID, "\n") || strings.ContainsAny(l.Family, "\n"):
		return Problem{}, "newline in id or family: want one-line labels"
	}
	canon, err := CanonicalAnswer(l.Kind, l.Answer)
	if err != nil {
		return Problem{}, err.Error()
	}
	p := Problem{Family: family, Level: l.Level, Key: l.Prompt + "\t" + canon, Prompt: l.Prompt,
		Answer: l.Answer, Solution: l.Solution, Kind: l.Kind, ID: l.ID}
	if v := VerifyKind(&p, FormatCompletion(&p)); !v.Correct {
		return Problem{}, fmt.Sprintf("the gold completion <think>solution</think><answer>answer</answer> fails its own %s verifier: %s", l.Kind, v.Reason)
	}
	return p, ""
}

// checkText refuses characters the tokenizer cannot encode and the tags of
// the output contract, which belong to completions only.
func checkText(tok *Tokenizer, key, s string) string {
	for _, tag := range tagTokens {
		if strings.Contains(s, tag) {
			return fmt.Sprintf("%s contains the tag %s: want tags only in completions", key, tag)
		}
	}
	if _, err := tok.Encode(s); err != nil {
		var ee *EncodeError
		if errors.As(err, &ee) && ee.Char != utf8.RuneError {
			return fmt.Sprintf("%s has character %q (%U) at byte %d: want printable ASCII or newline (the tokenizer's vocabulary)", key, ee.Char, ee.Char, ee.Pos)
		}
		if errors.As(err, &ee) {
			return fmt.Sprintf("%s has byte 0x%02x at byte %d: want printable ASCII or newline (the tokenizer's vocabulary)", key, ee.Byte, ee.Pos)
		}
		return fmt.Sprintf("%s: %v", key, err)
	}
	return ""
}
