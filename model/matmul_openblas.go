//go:build openblas

package model

// The OpenBLAS matmul, used by the engine when built with -tags openblas
// (Debian: apt-get install libopenblas-dev). It goes through gonum's netlib
// cgo bindings, as the training graph does (blas_openblas.go), because
// package model itself cannot use cgo next to its Go assembly files; the
// linker flag lives in model/internal/openblas.
//
// OpenBLAS picks its kernel and blocking by matrix shape, so a row's result
// may change in the last bits with the number of rows in the call: with this
// tag, rollouts are reproducible for a fixed batch and worker count, but not
// bitwise independent of batch composition or worker count (the tests that
// demand that are skipped). The thread count is left to OpenBLAS
// (OPENBLAS_NUM_THREADS), which it shares with gorgonia.

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

func init() {
	linearKernel = linearOpenBLAS
	matmulKernel = "openblas"
}

// linearOpenBLAS computes rows [r0, r1) and columns [j0, j1) of a with one
// sgemm on the block, then the bias and epilogue.
func linearOpenBLAS(a *linArgs, r0, r1, j0, j1 int, _ []float32) {
	if r0 >= r1 || j0 >= j1 {
		return
	}
	n, in, out, ldw := r1-r0, a.in, a.out, a.ldw
	dst, x, b, epi := a.dst[r0*out:r1*out], a.x[r0*in:r1*in], a.b, a.epi
	var beta float32
	if epi == epiAdd {
		beta = 1 // dst += x@w, then += b below
	}
	netlib.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, n, j1-j0, in,
		1, x, in, a.w[j0:], ldw, beta, dst[j0:], out)
	for i := range n {
		d := dst[i*out+j0 : i*out+j1]
		for j := range d {
			var bj float32
			if b != nil {
				bj = b[j0+j]
			}
			if epi == epiGELU {
				d[j] = gelu(d[j] + bj)
			} else {
				d[j] += bj
			}
		}
	}
}
