//go:build !purego

#include "textflag.h"
#include "vexp_amd64.h"

// AVX2+FMA matmul kernels (see kern_amd64.go). Each output lane keeps one
// accumulator updated acc = fma(x[k], w[k,j], acc) for k = 0..in-1 in order,
// so kern4 and kern1 give bitwise-identical results for the same row.

// func kern4(c *float32, ldc int, x *float32, ldx int, w *float32, ldw int, in int, ncols int)
TEXT ·kern4(SB), NOSPLIT, $0-64
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R8
	MOVQ x+16(FP), SI
	MOVQ ldx+24(FP), R9
	MOVQ w+32(FP), DX
	MOVQ ldw+40(FP), R10
	MOVQ in+48(FP), CX
	MOVQ ncols+56(FP), BX
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, CX
	LEAQ (SI)(R9*1), R11
	LEAQ (R11)(R9*1), R12
	LEAQ (R12)(R9*1), R13

col4:
	CMPQ BX, $16
	JL   done4
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ DX, R14
	XORQ AX, AX

k4:
	VMOVUPS      (R14), Y8
	VMOVUPS      32(R14), Y9
	VBROADCASTSS (SI)(AX*1), Y10
	VFMADD231PS  Y8, Y10, Y0
	VFMADD231PS  Y9, Y10, Y1
	VBROADCASTSS (R11)(AX*1), Y11
	VFMADD231PS  Y8, Y11, Y2
	VFMADD231PS  Y9, Y11, Y3
	VBROADCASTSS (R12)(AX*1), Y12
	VFMADD231PS  Y8, Y12, Y4
	VFMADD231PS  Y9, Y12, Y5
	VBROADCASTSS (R13)(AX*1), Y13
	VFMADD231PS  Y8, Y13, Y6
	VFMADD231PS  Y9, Y13, Y7
	ADDQ         R10, R14
	ADDQ         $4, AX
	CMPQ         AX, CX
	JL           k4

	MOVQ    DI, R14
	VMOVUPS Y0, (R14)
	VMOVUPS Y1, 32(R14)
	ADDQ    R8, R14
	VMOVUPS Y2, (R14)
	VMOVUPS Y3, 32(R14)
	ADDQ    R8, R14
	VMOVUPS Y4, (R14)
	VMOVUPS Y5, 32(R14)
	ADDQ    R8, R14
	VMOVUPS Y6, (R14)
	VMOVUPS Y7, 32(R14)
	ADDQ    $64, DI
	ADDQ    $64, DX
	SUBQ    $16, BX
	JMP     col4

done4:
	VZEROUPPER
	RET

// func kern1(c *float32, x *float32, w *float32, ldw int, in int, ncols int)
// 64 columns at a time (eight FMA chains), then 32 (four), then 16 (two).
TEXT ·kern1(SB), NOSPLIT, $0-48
	MOVQ c+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ ldw+24(FP), R10
	MOVQ in+32(FP), CX
	MOVQ ncols+40(FP), BX
	SHLQ $2, R10
	SHLQ $2, CX

col64:
	CMPQ BX, $64
	JL   col32
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ DX, R14
	XORQ AX, AX

k64:
	VBROADCASTSS (SI)(AX*1), Y8
	VFMADD231PS  (R14), Y8, Y0
	VFMADD231PS  32(R14), Y8, Y1
	VFMADD231PS  64(R14), Y8, Y2
	VFMADD231PS  96(R14), Y8, Y3
	VFMADD231PS  128(R14), Y8, Y4
	VFMADD231PS  160(R14), Y8, Y5
	VFMADD231PS  192(R14), Y8, Y6
	VFMADD231PS  224(R14), Y8, Y7
	ADDQ         R10, R14
	ADDQ         $4, AX
	CMPQ         AX, CX
	JL           k64

	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ    $256, DI
	ADDQ    $256, DX
	SUBQ    $64, BX
	JMP     col64

col32:
	CMPQ BX, $32
	JL   col16
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ DX, R14
	XORQ AX, AX

k32:
	VBROADCASTSS (SI)(AX*1), Y8
	VFMADD231PS  (R14), Y8, Y0
	VFMADD231PS  32(R14), Y8, Y1
	VFMADD231PS  64(R14), Y8, Y2
	VFMADD231PS  96(R14), Y8, Y3
	ADDQ         R10, R14
	ADDQ         $4, AX
	CMPQ         AX, CX
	JL           k32

	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	ADDQ    $128, DX
	SUBQ    $32, BX
	JMP     col32

col16:
	CMPQ BX, $16
	JL   done1
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ DX, R14
	XORQ AX, AX

k16:
	VBROADCASTSS (SI)(AX*1), Y8
	VFMADD231PS  (R14), Y8, Y0
	VFMADD231PS  32(R14), Y8, Y1
	ADDQ         R10, R14
	ADDQ         $4, AX
	CMPQ         AX, CX
	JL           k16

	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, DI
	ADDQ    $64, DX
	SUBQ    $16, BX
	JMP     col16

done1:
	VZEROUPPER
	RET

// func attnMix(out *float32, s *float32, v *float32, ldv int, hd int, n int)
// out[c] = sum_j s[j] * v[j*ldv + c] (FMA, j in order) for c < hd; hd % 8 == 0, n >= 1.
// 32 columns at a time (four independent FMA chains), then 8.
TEXT ·attnMix(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ v+16(FP), DX
	MOVQ ldv+24(FP), R8
	MOVQ hd+32(FP), CX
	MOVQ n+40(FP), BX
	SHLQ $2, R8
	SHLQ $2, BX

mc32:
	CMPQ   CX, $32
	JL     mc8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   DX, R9
	XORQ   AX, AX

mj32:
	VBROADCASTSS (SI)(AX*1), Y4
	VFMADD231PS  (R9), Y4, Y0
	VFMADD231PS  32(R9), Y4, Y1
	VFMADD231PS  64(R9), Y4, Y2
	VFMADD231PS  96(R9), Y4, Y3
	ADDQ         R8, R9
	ADDQ         $4, AX
	CMPQ         AX, BX
	JL           mj32

	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	ADDQ    $128, DX
	SUBQ    $32, CX
	JMP     mc32

mc8:
	CMPQ   CX, $8
	JL     mdone
	VXORPS Y0, Y0, Y0
	MOVQ   DX, R9
	XORQ   AX, AX

mj8:
	VBROADCASTSS (SI)(AX*1), Y1
	VFMADD231PS  (R9), Y1, Y0
	ADDQ         R8, R9
	ADDQ         $4, AX
	CMPQ         AX, BX
	JL           mj8

	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JMP     mc8

mdone:
	VZEROUPPER
	RET

// func expArr(x *float32, n int, c *[12]float32)
// x[i] = exp(x[i]) in place for i < n, n % 8 == 0: clamp to [c0, c1],
// n = round(x*log2e), r = x - n*ln2hi - n*ln2lo, degree-6 Taylor
// polynomial (Horner, FMA), scaled by 2^n through the exponent bits.
TEXT ·expArr(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), CX
	MOVQ         c+16(FP), SI
	EXP_CONSTS
	TESTQ        CX, CX
	JZ           edone

eloop:
	VMOVUPS      (DI), Y0
	VMINPS       Y8, Y0, Y0
	VMAXPS       Y9, Y0, Y0
	VMULPS       Y10, Y0, Y1
	VROUNDPS     $0, Y1, Y1
	VFNMADD231PS Y11, Y1, Y0
	VFNMADD231PS Y12, Y1, Y0
	VMOVAPS      Y13, Y3
	VFMADD213PS  Y14, Y0, Y3
	VFMADD213PS  Y15, Y0, Y3
	VBROADCASTSS 32(SI), Y4
	VFMADD213PS  Y4, Y0, Y3
	VBROADCASTSS 36(SI), Y4
	VFMADD213PS  Y4, Y0, Y3
	VBROADCASTSS 40(SI), Y4
	VFMADD213PS  Y4, Y0, Y3
	VFMADD213PS  Y4, Y0, Y3
	VCVTPS2DQ    Y1, Y5
	VPBROADCASTD 44(SI), Y6
	VPADDD       Y6, Y5, Y5
	VPSLLD       $23, Y5, Y5
	VMULPS       Y5, Y3, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          eloop

edone:
	VZEROUPPER
	RET

// func geluArr(x *float32, n int, c *[12]float32, gc *[2]float32)
// x[i] = u / (1 + exp(gc1 * (u + ((gc0*u)*u)*u))) for u = x[i], i < n,
// n % 8 == 0: the GELU of epilogueRowAVX in one pass, with the same
// operations in the same order (no FMA outside the exp), and expArr's exp
// (constants c) on the middle term, so the bits equal expVec's route.
TEXT ·geluArr(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), CX
	MOVQ         c+16(FP), SI
	MOVQ         gc+24(FP), R8
	EXP_CONSTS
	TESTQ        CX, CX
	JZ           gdone

gloop:
	VMOVUPS      (DI), Y7
	GELU_DENOM
	VDIVPS       Y0, Y7, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          gloop

gdone:
	VZEROUPPER
	RET

// func biasRow(d *float32, c *float32, b *float32, n int, acc bool)
// d[i] = c[i] + b[i], or with acc d[i] = d[i] + (c[i] + b[i]): the
// additions of epilogueRow's epiSet and epiAdd, in the same order, 8 lanes
// at a time and then one by one; n >= 0.
TEXT ·biasRow(SB), NOSPLIT, $0-33
	MOVQ d+0(FP), DI
	MOVQ c+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	MOVB acc+32(FP), AX
	TESTB AL, AL
	JNZ  acc8

set8:
	CMPQ    CX, $8
	JL      set1
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     set8

set1:
	TESTQ  CX, CX
	JZ     bdone
	VMOVSS (SI), X0
	VADDSS (DX), X0, X0
	VMOVSS X0, (DI)
	ADDQ   $4, SI
	ADDQ   $4, DX
	ADDQ   $4, DI
	DECQ   CX
	JMP    set1

acc8:
	CMPQ    CX, $8
	JL      acc1
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VADDPS  (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     acc8

acc1:
	TESTQ  CX, CX
	JZ     bdone
	VMOVSS (SI), X0
	VADDSS (DX), X0, X0
	VADDSS (DI), X0, X0
	VMOVSS X0, (DI)
	ADDQ   $4, SI
	ADDQ   $4, DX
	ADDQ   $4, DI
	DECQ   CX
	JMP    acc1

bdone:
	VZEROUPPER
	RET

// func attnMix2(out0, s0, v0, out1, s1, v1 *float32, ldv int, hd int, n int)
// attnMix of two heads at once (hd % 32 == 0): out0 from s0 and v0, out1
// from s1 and v1, each column's FMA chain over j in order as attnMix's, the
// two heads' eight chains interleaved.
TEXT ·attnMix2(SB), NOSPLIT, $0-72
	MOVQ out0+0(FP), DI
	MOVQ s0+8(FP), SI
	MOVQ v0+16(FP), DX
	MOVQ out1+24(FP), R11
	MOVQ s1+32(FP), R12
	MOVQ v1+40(FP), R13
	MOVQ ldv+48(FP), R8
	MOVQ hd+56(FP), CX
	MOVQ n+64(FP), BX
	SHLQ $2, R8
	SHLQ $2, BX

m2c32:
	CMPQ   CX, $32
	JL     m2done
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ   DX, R9
	MOVQ   R13, R10
	XORQ   AX, AX

m2j32:
	VBROADCASTSS (SI)(AX*1), Y8
	VBROADCASTSS (R12)(AX*1), Y9
	VFMADD231PS  (R9), Y8, Y0
	VFMADD231PS  32(R9), Y8, Y1
	VFMADD231PS  64(R9), Y8, Y2
	VFMADD231PS  96(R9), Y8, Y3
	VFMADD231PS  (R10), Y9, Y4
	VFMADD231PS  32(R10), Y9, Y5
	VFMADD231PS  64(R10), Y9, Y6
	VFMADD231PS  96(R10), Y9, Y7
	ADDQ         R8, R9
	ADDQ         R8, R10
	ADDQ         $4, AX
	CMPQ         AX, BX
	JL           m2j32

	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, (R11)
	VMOVUPS Y5, 32(R11)
	VMOVUPS Y6, 64(R11)
	VMOVUPS Y7, 96(R11)
	ADDQ    $128, DI
	ADDQ    $128, R11
	ADDQ    $128, DX
	ADDQ    $128, R13
	SUBQ    $32, CX
	JMP     m2c32

m2done:
	VZEROUPPER
	RET
