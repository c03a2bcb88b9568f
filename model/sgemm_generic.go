//go:build !amd64 || purego

package model

// Other architectures, and amd64 with -tags purego, use the portable Go
// micro-kernel that sgemmKern starts as (sgemm.go).

// sgemmPackTAsm has no assembly here: sgemmPackA packs in Go.
func sgemmPackTAsm(dst, src []float32, lda, k, mr int) bool { return false }
