//go:build openblas

package model

// Built with -tags openblas, gorgonia's matrix multiplies go to OpenBLAS
// through gonum's netlib cgo bindings instead of gonum's pure-Go BLAS (about
// 2.4x faster per training step on the GORGONIA.md machine). It needs cgo
// and the OpenBLAS library (Debian: apt-get install libopenblas-dev); the
// linker flag lives in model/internal/openblas. The default build stays
// pure Go.

import (
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"

	_ "tinyr1/model/internal/openblas" // -lopenblas
)

// GraphBLAS names the BLAS behind the training graph.
const GraphBLAS = "openblas"

func init() { G.Use(netlib.Implementation{}) }
