//go:build race

package model

// raceEnabled: under the race detector allocation counts are meaningless
// (its instrumentation allocates where the plain build does not: a training
// step counted 355), so the allocation tests that see it skip.
const raceEnabled = true
