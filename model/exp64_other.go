//go:build !amd64 || purego

package model

// The vector exp exists only on amd64 (exp64_amd64.go); elsewhere expF64
// runs math.Exp one element at a time.

const exp64MatchesMath = false

func exp64VecAVX(dst, x []float64) int { panic("model: exp64VecAVX: not built for this platform") }
