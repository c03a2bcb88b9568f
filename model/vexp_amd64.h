// Assembler macros shared by kern_amd64.s and fused_amd64.s: the vector
// exp's constants and the GELU gate built on it, so the kernels that use
// them keep the same instructions, and so the same bits.

// EXP_CONSTS loads expArr's first eight constants, at SI, into Y8-Y15
// (expArr, geluArr and geluGradArr all start with it).
#define EXP_CONSTS \
	VBROADCASTSS 0(SI), Y8; \
	VBROADCASTSS 4(SI), Y9; \
	VBROADCASTSS 8(SI), Y10; \
	VBROADCASTSS 12(SI), Y11; \
	VBROADCASTSS 16(SI), Y12; \
	VBROADCASTSS 20(SI), Y13; \
	VBROADCASTSS 24(SI), Y14; \
	VBROADCASTSS 28(SI), Y15

// Shared by kern_amd64.s (geluArr) and fused_amd64.s (geluGradArr): the
// GELU gate's denominator, from u in Y7, the GELU constants gc at R8 and
// expArr's constants in Y8-Y15 and at SI (loaded by the caller). It leaves
// d = 1 + exp(gc1 * (u + ((gc0 * u) * u) * u)) in Y0 and 1.0 in Y4, with
// expArr's exp, so both kernels keep the same bits. Clobbers Y1, Y3, Y5, Y6.
#define GELU_DENOM \
	VBROADCASTSS 0(R8), Y0; \
	VMULPS       Y7, Y0, Y0; \
	VMULPS       Y7, Y0, Y0; \
	VMULPS       Y7, Y0, Y0; \
	VADDPS       Y0, Y7, Y0; \
	VBROADCASTSS 4(R8), Y1; \
	VMULPS       Y1, Y0, Y0; \
	VMINPS       Y8, Y0, Y0; \
	VMAXPS       Y9, Y0, Y0; \
	VMULPS       Y10, Y0, Y1; \
	VROUNDPS     $0, Y1, Y1; \
	VFNMADD231PS Y11, Y1, Y0; \
	VFNMADD231PS Y12, Y1, Y0; \
	VMOVAPS      Y13, Y3; \
	VFMADD213PS  Y14, Y0, Y3; \
	VFMADD213PS  Y15, Y0, Y3; \
	VBROADCASTSS 32(SI), Y4; \
	VFMADD213PS  Y4, Y0, Y3; \
	VBROADCASTSS 36(SI), Y4; \
	VFMADD213PS  Y4, Y0, Y3; \
	VBROADCASTSS 40(SI), Y4; \
	VFMADD213PS  Y4, Y0, Y3; \
	VFMADD213PS  Y4, Y0, Y3; \
	VCVTPS2DQ    Y1, Y5; \
	VPBROADCASTD 44(SI), Y6; \
	VPADDD       Y6, Y5, Y5; \
	VPSLLD       $23, Y5, Y5; \
	VMULPS       Y5, Y3, Y0; \
	VADDPS       Y4, Y0, Y0
