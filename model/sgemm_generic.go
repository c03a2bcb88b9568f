//go:build !amd64 || purego

package model

// Other architectures, and amd64 with -tags purego, use the portable Go
// micro-kernel that sgemmKern starts as (sgemm.go).

// sgemmPackRowsAsm has no assembly here: sgemmPackA and sgemmPackB pack
// in Go.
func sgemmPackRowsAsm(dst, src []float32, ld, k, w int) bool { return false }
