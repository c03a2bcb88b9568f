package data

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEExamples checks the task table of the README's Tasks section:
// one row per family, whose example prompt is one the family writes
// (KeyOfPrompt) and whose example answer the family's verifier accepts for
// that prompt, so that no example can drift from the code.
func TestREADMEExamples(t *testing.T) {
	text, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(text), "\n## Tasks\n")
	if !ok {
		t.Fatal("README.md has no \"## Tasks\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	seen := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		name, prompt, answer := readmeCode(cells[1]), readmeCode(cells[2]), readmeCode(cells[3])
		f, err := Lookup(name)
		if err != nil {
			t.Errorf("README row %q: %v", line, err)
			continue
		}
		seen[name] = true
		key, ok := f.KeyOfPrompt(prompt)
		if !ok {
			t.Errorf("README %s: example prompt %q is not one the family writes", name, prompt)
			continue
		}
		p := Problem{Family: name, Key: key, Prompt: prompt, Answer: answer}
		if v := f.Verify(&p, TagThinkOpen+TagThinkClose+TagAnswerOpen+answer+TagAnswerClose); !v.Correct {
			t.Errorf("README %s: example %q -> %q: the verifier says %q", name, prompt, answer, v.Reason)
		}
	}
	for _, name := range FamilyNames() {
		if !seen[name] {
			t.Errorf("README task table has no row for family %s", name)
		}
	}
}

// readmeCode returns the text of the first `code span` of a table cell.
func readmeCode(cell string) string {
	_, rest, _ := strings.Cut(cell, "`")
	code, _, _ := strings.Cut(rest, "`")
	return code
}

// TestNotationExamples checks every `"PROMPT" -> "ANSWER"` example in the
// families' Notation text (what tasks list prints) the same way.
func TestNotationExamples(t *testing.T) {
	for _, f := range Families() {
		text := f.Notation()
		n := 0
		for _, part := range strings.Split(text, `" -> "`)[1:] {
			n++
			answer, _, _ := strings.Cut(part, `"`)
			before := text[:strings.Index(text, part)-len(`" -> "`)]
			prompt := before[strings.LastIndex(before, `"`)+1:]
			key, ok := f.KeyOfPrompt(prompt)
			if !ok {
				t.Errorf("%s notation: example prompt %q is not one the family writes", f.Name(), prompt)
				continue
			}
			p := Problem{Family: f.Name(), Key: key, Prompt: prompt, Answer: answer}
			if v := f.Verify(&p, TagThinkOpen+TagThinkClose+TagAnswerOpen+answer+TagAnswerClose); !v.Correct {
				t.Errorf("%s notation: example %q -> %q: the verifier says %q", f.Name(), prompt, answer, v.Reason)
			}
		}
		if n == 0 {
			t.Errorf("%s notation has no \"PROMPT\" -> \"ANSWER\" example:\n%s", f.Name(), text)
		}
	}
}
