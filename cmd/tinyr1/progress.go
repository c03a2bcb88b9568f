package main

import (
	"bytes"
	"io"
	"os"
)

// progressWriter shows the trainer's per-step progress lines. On a terminal
// each line overwrites the previous one (a one-line progress bar: step,
// ETA, reward, validation score, tokens/s); elsewhere (a log file, CI) the
// lines are written as they are.
type progressWriter struct {
	w        io.Writer
	terminal bool
	pending  bool // a line is on screen without its newline
}

// newProgress wraps w; it is a terminal when w is a character device.
func newProgress(w io.Writer) *progressWriter {
	p := &progressWriter{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if !p.terminal {
		return p.w.Write(b)
	}
	for _, line := range bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n")) {
		// Carriage return and erase-to-end-of-line: overwrite in place.
		if _, err := p.w.Write(append([]byte("\r\x1b[K"), line...)); err != nil {
			return 0, err
		}
		p.pending = true
	}
	return len(b), nil
}

// Done ends the progress line so that later output starts on a new line.
func (p *progressWriter) Done() {
	if p.pending {
		p.w.Write([]byte("\n"))
		p.pending = false
	}
}
