//go:build !openblas && !gonumblas

package model

// GraphBLAS names the BLAS behind the training graph. The default build uses
// FastBLAS (blas.go): gonum's pure-Go BLAS with this package's Sgemm.
// Build with -tags gonumblas for gonum's alone, or -tags openblas for
// OpenBLAS (blas_openblas.go).
const GraphBLAS = "gonum+sgemm"

func init() { UseFastBLAS() }
