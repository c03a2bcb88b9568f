package main

import (
	"bytes"
	"testing"
)

func TestProgressWriter(t *testing.T) {
	var b bytes.Buffer
	p := &progressWriter{w: &b, terminal: true}
	p.Write([]byte("step 1/2\n"))
	p.Write([]byte("step 2/2\n"))
	p.Done()
	if got, want := b.String(), "\r\x1b[Kstep 1/2\r\x1b[Kstep 2/2\n"; got != want {
		t.Errorf("terminal: got %q, want %q", got, want)
	}
	b.Reset()
	p = newProgress(&b) // not a terminal: plain lines
	p.Write([]byte("step 1/2\n"))
	p.Done()
	if got, want := b.String(), "step 1/2\n"; got != want {
		t.Errorf("plain: got %q, want %q", got, want)
	}
}
