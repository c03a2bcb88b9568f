//go:build gonumblas && !openblas

package model

// GraphBLAS names the BLAS behind the training graph: with -tags gonumblas,
// gonum's pure-Go one unchanged (see blas_fast.go for the default).
const GraphBLAS = "gonum"
