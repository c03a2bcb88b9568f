package model

// Sgemm's packing (sgemm.go): panels of op(A) and op(B) copied into
// contiguous buffers in the order the micro-kernel reads them, full panels
// through the assembly copy loops where there are some (sgemmPackRowsAsm),
// and the engine's weights packed once as B panels (sgemmPackBPanels).
// Packing moves values and never changes them, so it cannot change a bit.

// sgemmPackA packs rows [i, i+rows) of op(A) into dst as k rows of mr
// floats (dst[p*mr+r] = op(A)[i+r, p]), zero-padding rows past rows.
func sgemmPackA(dst []float32, p *sgemmArgs, i, rows, mr int) {
	k, lda := p.k, p.lda
	if rows < mr {
		clear(dst[:k*mr])
	}
	if p.tA { // op(A)[i, q] = a[q*lda + i]: rows are contiguous in a
		// Full panels of the two kernels' heights move through a
		// fixed-size temporary, which compiles to a few vector moves;
		// a direct copy calls memmove for every 24 or 32 bytes.
		if rows == mr && sgemmPackRowsAsm(dst, p.a[i:], lda, k, mr) {
			return
		}
		switch {
		case rows == 8 && mr == 8:
			for q := range k {
				t := *(*[8]float32)(p.a[q*lda+i:])
				*(*[8]float32)(dst[q*8:]) = t
			}
			return
		case rows == 6 && mr == 6:
			for q := range k {
				t := *(*[6]float32)(p.a[q*lda+i:])
				*(*[6]float32)(dst[q*6:]) = t
			}
			return
		}
		for q := range k {
			copy(dst[q*mr:q*mr+rows], p.a[q*lda+i:q*lda+i+rows])
		}
		return
	}
	for r := range rows {
		src := p.a[(i+r)*lda : (i+r)*lda+k]
		d := dst[r:]
		for q, v := range src {
			d[q*mr] = v
		}
	}
}

// sgemmPackedLen is the length of an untransposed B (k, n) packed by
// sgemmPackBPanels for nr-wide panels: ceil(n/nr) panels of k*nr floats.
func sgemmPackedLen(k, n, nr int) int { return (n + nr - 1) / nr * nr * k }

// sgemmPackBPanels packs panels [jp0, jp1) of an untransposed B (k, n),
// row q at b[q*ldb:], into dst (sgemmPackedLen(k, n, nr) floats): panel jp
// holds columns [jp*nr, jp*nr+nr) as k rows of nr floats at dst[jp*nr*k:],
// the last one zero-padded past column n, as run packs them for one call
// (sgemmPackB).
func sgemmPackBPanels(dst, b []float32, ldb, k, n, nr, jp0, jp1 int) {
	p := sgemmArgs{k: k, n: n, b: b, ldb: ldb}
	for jp := jp0; jp < jp1; jp++ {
		j := jp * nr
		sgemmPackB(dst[j*k:(j+nr)*k], &p, j, min(nr, n-j), nr)
	}
}

// sgemmPackB packs columns [j, j+cols) of op(B) into dst as k rows of nr
// floats (dst[q*nr+c] = op(B)[q, j+c]), zero-padding columns past cols.
func sgemmPackB(dst []float32, p *sgemmArgs, j, cols, nr int) {
	k, ldb := p.k, p.ldb
	if cols < nr {
		clear(dst[:k*nr])
	}
	if !p.tB { // op(B)[q, j] = b[q*ldb + j]
		if cols == nr && sgemmPackRowsAsm(dst, p.b[j:], ldb, k, nr) {
			return
		}
		switch { // full panels through a temporary, as in sgemmPackA
		case cols == 16 && nr == 16:
			for q := range k {
				t := *(*[16]float32)(p.b[q*ldb+j:])
				*(*[16]float32)(dst[q*16:]) = t
			}
			return
		case cols == 32 && nr == 32:
			for q := range k {
				t := *(*[32]float32)(p.b[q*ldb+j:])
				*(*[32]float32)(dst[q*32:]) = t
			}
			return
		}
		for q := range k {
			copy(dst[q*nr:q*nr+cols], p.b[q*ldb+j:q*ldb+j+cols])
		}
		return
	}
	// op(B)[q, j] = b[j*ldb + q]: transpose 4 columns at a time.
	c := 0
	for ; c+4 <= cols; c += 4 {
		s0 := p.b[(j+c)*ldb : (j+c)*ldb+k]
		s1 := p.b[(j+c+1)*ldb : (j+c+1)*ldb+k]
		s2 := p.b[(j+c+2)*ldb : (j+c+2)*ldb+k]
		s3 := p.b[(j+c+3)*ldb : (j+c+3)*ldb+k]
		for q := range s0 {
			*(*[4]float32)(dst[q*nr+c:]) = [4]float32{s0[q], s1[q], s2[q], s3[q]}
		}
	}
	for ; c < cols; c++ {
		src := p.b[(j+c)*ldb : (j+c)*ldb+k]
		d := dst[c:]
		for q, v := range src {
			d[q*nr] = v
		}
	}
}
