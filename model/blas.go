package model

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
)

// FastBLAS is gonum's pure-Go BLAS with Sgemm replaced by this package's
// (sgemm.go): the float32 matrix multiplies of the training graph
// (gorgonia's Mul and BatchedMatMul reach tensor's MatMul, which calls
// Sgemm) run in the Go-assembly kernels; everything else, including the
// float64 Dgemm of the gradient checks, stays gonum's.
type FastBLAS struct {
	gonum.Implementation
}

var _ G.BLAS = FastBLAS{}

// Sgemm implements blas.Float32 with row-major C = alpha*op(A)*op(B) + beta*C.
func (FastBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	Sgemm(blasTrans(tA), blasTrans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemv implements blas.Float32: y = alpha*op(A)*x + beta*y. With unit
// strides it is a one-row Sgemm (x^T op(A)^T); otherwise gonum's.
func (f FastBLAS) Sgemv(tA blas.Transpose, m, n int, alpha float32, a []float32, lda int, x []float32, incX int, beta float32, y []float32, incY int) {
	if incX != 1 || incY != 1 || m == 0 || n == 0 {
		f.Implementation.Sgemv(tA, m, n, alpha, a, lda, x, incX, beta, y, incY)
		return
	}
	if blasTrans(tA) { // y (n) = A^T x = x^T A
		Sgemm(false, false, 1, n, m, alpha, x, m, a, lda, beta, y, n)
		return
	}
	Sgemm(false, true, 1, m, n, alpha, x, n, a, lda, beta, y, m) // y (m) = (x^T A^T)^T
}

func blasTrans(t blas.Transpose) bool {
	switch t {
	case blas.NoTrans:
		return false
	case blas.Trans, blas.ConjTrans:
		return true
	}
	panic("model: bad blas.Transpose")
}

var useFastBLAS sync.Once

// UseFastBLAS makes gorgonia (and tensor, which gorgonia.Use also sets) use
// FastBLAS. The default build calls it at start-up (blas_fast.go); it is
// process-wide, like any gorgonia.Use.
func UseFastBLAS() { useFastBLAS.Do(func() { G.Use(FastBLAS{}) }) }
