package model

// Matrix kernels of the rollout engine. Every kernel computes, for each
// output element, exactly
//
//	s := 0; for k := 0; k < in; k++ { s += x[i,k] * w[k,j] }; y := s + b[j]
//
// in that order, one accumulator per element, whatever tile or tail path the
// element falls in. So the result for a row never depends on how many rows
// are in the batch, where the row sits, or which worker computes which
// columns: the property the engine's determinism tests rely on. (With
// GOAMD64=v3 the compiler may fuse x*w+s into an FMA; it does so the same way
// in every path of one build.)
//
// The default build is pure Go. Build with -tags openblas for the cgo OpenBLAS
// path (matmul_openblas.go), which trades that bitwise batch independence for
// speed.

// linArgs describe dst (n, out) = epi(x (n, in) @ w (in, out) + b), with
// row k of w at w[k*ldw:] (ldw >= out; the engine pads weights so that ldw
// is a multiple of 16 for the assembly kernel).
type linArgs struct {
	dst, x, w, b []float32
	n, in, out   int
	ldw          int
	epi          epilogue
	wpk          []float32 // w as Sgemm's B panels (mat.pk), read by linearGemm when Engine.gpacked; or nil
}

// linearKernel is the matmul the engine calls: it computes rows [r0, r1)
// and columns [j0, j1) of a, using scratch (at least 4*(j1-j0+15) floats)
// if it needs to. It is linearGo, the AVX2 assembly kernel on amd64 CPUs
// that have it (kern_amd64.go), or OpenBLAS with -tags openblas.
// matmulKernel names it.
var (
	linearKernel = linearGo
	matmulKernel = "go"
	useAVX       = false // AVX2+FMA assembly for attention (kern_amd64.go)
)

// epilogue says what a kernel does with y = x@w + b before storing it.
type epilogue uint8

const (
	epiSet  epilogue = iota // dst = y
	epiAdd                  // dst += y (residual connection)
	epiGELU                 // dst = GELU(y)
)

// matmulRef is the naive reference: dst (n, out) = x (n, in) @ w (in, out) + b,
// with b nil meaning zero. Tests hold the fast kernels to it.
func matmulRef(dst, x, w, b []float32, n, in, out int) {
	for i := 0; i < n; i++ {
		for j := 0; j < out; j++ {
			var s float32
			for k := 0; k < in; k++ {
				s += x[i*in+k] * w[k*out+j]
			}
			var bj float32
			if b != nil {
				bj = b[j]
			}
			dst[i*out+j] = s + bj
		}
	}
}

// store applies the epilogue to y and writes it to *d.
func store(d *float32, y float32, epi epilogue) {
	switch epi {
	case epiSet:
		*d = y
	case epiAdd:
		*d += y
	default:
		*d = gelu(y)
	}
}

// linearGo computes rows [r0, r1) and columns [j0, j1) of a in pure Go:
// 4x4 register tiles over rows and columns with the inner loop over k, then
// 1-row and 1-column tails that sum in the same order.
func linearGo(a *linArgs, r0, r1, j0, j1 int, _ []float32) {
	linearGoRaw(a.dst[r0*a.out:r1*a.out], a.x[r0*a.in:r1*a.in], a.w, a.b, r1-r0, a.in, a.out, a.ldw, j0, j1, a.epi)
}

func linearGoRaw(dst, x, w, b []float32, n, in, out, ldw, j0, j1 int, epi epilogue) {
	if n == 0 || j0 >= j1 {
		return
	}
	// Bounds checked once, by reslicing: an index expression would read
	// dst's last element, which another worker may be writing (its own
	// columns of the same rows), a race the detector reports.
	dst, x, w = dst[:n*out], x[:n*in], w[:(in-1)*ldw+j1]
	var bias [4]float32
	i := 0
	for ; i+4 <= n; i += 4 {
		x0 := x[i*in : i*in+in]
		x1 := x[(i+1)*in : (i+1)*in+in]
		x2 := x[(i+2)*in : (i+2)*in+in]
		x3 := x[(i+3)*in : (i+3)*in+in]
		j := j0
		for ; j+4 <= j1; j += 4 {
			var c00, c01, c02, c03 float32
			var c10, c11, c12, c13 float32
			var c20, c21, c22, c23 float32
			var c30, c31, c32, c33 float32
			for k := range x0 {
				wk := w[k*ldw+j : k*ldw+j+4 : k*ldw+j+4]
				w0, w1, w2, w3 := wk[0], wk[1], wk[2], wk[3]
				a := x0[k]
				c00 += a * w0
				c01 += a * w1
				c02 += a * w2
				c03 += a * w3
				a = x1[k]
				c10 += a * w0
				c11 += a * w1
				c12 += a * w2
				c13 += a * w3
				a = x2[k]
				c20 += a * w0
				c21 += a * w1
				c22 += a * w2
				c23 += a * w3
				a = x3[k]
				c30 += a * w0
				c31 += a * w1
				c32 += a * w2
				c33 += a * w3
			}
			bias = [4]float32{}
			if b != nil {
				bias = [4]float32(b[j : j+4])
			}
			d := dst[i*out+j:]
			store(&d[0], c00+bias[0], epi)
			store(&d[1], c01+bias[1], epi)
			store(&d[2], c02+bias[2], epi)
			store(&d[3], c03+bias[3], epi)
			d = dst[(i+1)*out+j:]
			store(&d[0], c10+bias[0], epi)
			store(&d[1], c11+bias[1], epi)
			store(&d[2], c12+bias[2], epi)
			store(&d[3], c13+bias[3], epi)
			d = dst[(i+2)*out+j:]
			store(&d[0], c20+bias[0], epi)
			store(&d[1], c21+bias[1], epi)
			store(&d[2], c22+bias[2], epi)
			store(&d[3], c23+bias[3], epi)
			d = dst[(i+3)*out+j:]
			store(&d[0], c30+bias[0], epi)
			store(&d[1], c31+bias[1], epi)
			store(&d[2], c32+bias[2], epi)
			store(&d[3], c33+bias[3], epi)
		}
		for ; j < j1; j++ { // column tail: 4 rows x 1 column
			var c0, c1, c2, c3 float32
			for k := range x0 {
				wv := w[k*ldw+j]
				c0 += x0[k] * wv
				c1 += x1[k] * wv
				c2 += x2[k] * wv
				c3 += x3[k] * wv
			}
			var bj float32
			if b != nil {
				bj = b[j]
			}
			store(&dst[i*out+j], c0+bj, epi)
			store(&dst[(i+1)*out+j], c1+bj, epi)
			store(&dst[(i+2)*out+j], c2+bj, epi)
			store(&dst[(i+3)*out+j], c3+bj, epi)
		}
	}
	for ; i < n; i++ { // row tail: the matrix-vector kernel
		matvecGo(dst[i*out:(i+1)*out], x[i*in:(i+1)*in], w, b, in, out, ldw, j0, j1, epi)
	}
}

// matvecGo computes columns [j0, j1) of dst (out) = epi(x (in) @ w (in, out) + b),
// 8 columns at a time: each k reads 8 contiguous floats of row k of w.
func matvecGo(dst, x, w, b []float32, in, out, ldw, j0, j1 int, epi epilogue) {
	dst, w = dst[:out], w[:(in-1)*ldw+j1] // bounds checked without reading dst (see linearGoRaw)
	j := j0
	for ; j+8 <= j1; j += 8 {
		var c0, c1, c2, c3, c4, c5, c6, c7 float32
		for k, a := range x {
			wk := w[k*ldw+j : k*ldw+j+8 : k*ldw+j+8]
			c0 += a * wk[0]
			c1 += a * wk[1]
			c2 += a * wk[2]
			c3 += a * wk[3]
			c4 += a * wk[4]
			c5 += a * wk[5]
			c6 += a * wk[6]
			c7 += a * wk[7]
		}
		var bias [8]float32
		if b != nil {
			bias = [8]float32(b[j : j+8])
		}
		d := dst[j : j+8 : j+8]
		store(&d[0], c0+bias[0], epi)
		store(&d[1], c1+bias[1], epi)
		store(&d[2], c2+bias[2], epi)
		store(&d[3], c3+bias[3], epi)
		store(&d[4], c4+bias[4], epi)
		store(&d[5], c5+bias[5], epi)
		store(&d[6], c6+bias[6], epi)
		store(&d[7], c7+bias[7], epi)
	}
	for ; j < j1; j++ {
		var c float32
		for k, a := range x {
			c += a * w[k*ldw+j]
		}
		var bj float32
		if b != nil {
			bj = b[j]
		}
		store(&dst[j], c+bj, epi)
	}
}

// epilogueRow finishes columns [j0, j1) of one output row from raw sums c
// (c[0] is column j0): dst[j] = epi(c[j-j0] + b[j]).
func epilogueRow(dst, c, b []float32, j0, j1 int, epi epilogue) {
	d := dst[j0:j1]
	c = c[:len(d)]
	var bb []float32
	if b != nil {
		bb = b[j0:j1]
	}
	switch {
	case epi == epiSet && bb == nil:
		for j := range d {
			d[j] = c[j] + 0
		}
	case epi == epiSet:
		bb = bb[:len(d)]
		for j := range d {
			d[j] = c[j] + bb[j]
		}
	case epi == epiAdd && bb != nil:
		bb = bb[:len(d)]
		for j := range d {
			d[j] += c[j] + bb[j]
		}
	default:
		for j := range d {
			var bj float32
			if bb != nil {
				bj = bb[j]
			}
			store(&d[j], c[j]+bj, epi)
		}
	}
}
