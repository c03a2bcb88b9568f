//go:build race

package model

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// Sgemm's pooled packing buffers are reallocated and allocation counts are
// meaningless.
const raceEnabled = true
