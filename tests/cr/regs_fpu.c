// SPDX-License-Identifier: MIT
/*
 * Registers survive checkpoint/restart: one asm block loads known values into
 * the x87 stack, the vector registers (xmm0-15; ymm0-15 with AVX; zmm0-31 and
 * k0-7 with AVX-512F), rdx, r8-r10 and r12-r15, sets MXCSR and the x87
 * control word to unusual values, then waits with raw rt_sigsuspend syscalls
 * until SIGUSR2 has set cr_flag, and stores every register back. No libc code
 * runs in between, so nothing but a lost or wrong register can change them.
 * (The SIGUSR2 handler may clobber anything: the kernel saves the whole FPU
 * state in the signal frame and sigreturn puts it back.)
 *
 * The widest vector extension the CPU and the kernel enable is used; AVX2
 * adds instructions but no register state, so AVX covers it.
 */
#include <cpuid.h>
#include <stddef.h>
#include <sys/syscall.h>

#include "cr/crtest.h"

#define S(x)  #x
#define XS(x) S(x)

/* struct regs, with the offsets spelt out for the asm */
#define OFF_VEC	      0
#define OFF_GPR	      2048
#define OFF_K	      2112
#define OFF_ST	      2128
#define OFF_MXCSR     2256
#define OFF_MXCSR_DEF 2260
#define OFF_FCW	      2264
#define OFF_FCW_DEF   2266
#define OFF_ENV	      2272
#define REGS_SIZE     2368

#define MXCSR_TEST 0xffc0 /* flush to zero, round toward zero, DAZ, all masked */
#define MXCSR_DEF  0x1f80
#define FCW_TEST   0x0a7f /* 53-bit precision, round up, all masked */
#define FCW_DEF	   0x037f
#define NGPR	   8

/* regs[0] holds the values to load, regs[1] what the registers held after the wait */
struct regs {
	uint8_t vec[32][64];
	uint64_t gpr[NGPR];
	uint16_t k[8];
	uint8_t st[8][16]; /* 80-bit values, 16 bytes apart */
	uint32_t mxcsr, mxcsr_def;
	uint16_t fcw, fcw_def, pad0[2];
	uint8_t env[2][32]; /* fnstenv in regs[1]: [0] before the wait, [1] after */
	uint8_t pad[REGS_SIZE - OFF_ENV - 64];
};

_Static_assert(offsetof(struct regs, gpr) == OFF_GPR, "gpr");
_Static_assert(offsetof(struct regs, k) == OFF_K, "k");
_Static_assert(offsetof(struct regs, st) == OFF_ST, "st");
_Static_assert(offsetof(struct regs, mxcsr) == OFF_MXCSR, "mxcsr");
_Static_assert(offsetof(struct regs, mxcsr_def) == OFF_MXCSR_DEF, "mxcsr_def");
_Static_assert(offsetof(struct regs, fcw) == OFF_FCW, "fcw");
_Static_assert(offsetof(struct regs, fcw_def) == OFF_FCW_DEF, "fcw_def");
_Static_assert(offsetof(struct regs, env) == OFF_ENV, "env");
_Static_assert(sizeof(struct regs) == REGS_SIZE, "size");

static struct regs regs[2] __attribute__((aligned(64)));
static uint64_t wait_mask; /* the kernel sigset for rt_sigsuspend: ours minus SIGUSR2 */

static const char *const gpr_names[NGPR] = { "rdx", "r8", "r9", "r10", "r12", "r13", "r14", "r15" };

/*
 * The asm templates are tables, one register per step; clang-format would
 * fold them into unreadable lines.
 */
// clang-format off
/* Operand strings relative to %rbx = regs: IN(x) in regs[0], OUT(x) in regs[1]. */
#define IN(off)	 XS(off) "(%%rbx)"
#define OUT(off) XS(REGS_SIZE) "+" XS(off) "(%%rbx)"

#define VLD(ins, reg, n) ins " " XS(OFF_VEC) "+" #n "*64(%%rbx), %%" reg #n "\n\t"
#define VST(ins, reg, n) ins " %%" reg #n ", " XS(REGS_SIZE) "+" XS(OFF_VEC) "+" #n "*64(%%rbx)\n\t"
#define KLD(n)		 "kmovw " XS(OFF_K) "+" #n "*2(%%rbx), %%k" #n "\n\t"
#define KST(n)		 "kmovw %%k" #n ", " XS(REGS_SIZE) "+" XS(OFF_K) "+" #n "*2(%%rbx)\n\t"
#define STLD(n)		 "fldt " XS(OFF_ST) "+" #n "*16(%%rbx)\n\t"
#define STST(n)		 "fstpt " XS(REGS_SIZE) "+" XS(OFF_ST) "+" #n "*16(%%rbx)\n\t"
#define GLD(reg, n)	 "mov " XS(OFF_GPR) "+" #n "*8(%%rbx), %%" reg "\n\t"
#define GST(reg, n)	 "mov %%" reg ", " XS(REGS_SIZE) "+" XS(OFF_GPR) "+" #n "*8(%%rbx)\n\t"

#define V16(M, i, r) M(i, r, 0) M(i, r, 1) M(i, r, 2) M(i, r, 3) M(i, r, 4) M(i, r, 5) \
	M(i, r, 6) M(i, r, 7) M(i, r, 8) M(i, r, 9) M(i, r, 10) M(i, r, 11) M(i, r, 12) \
	M(i, r, 13) M(i, r, 14) M(i, r, 15)
#define V32HI(M, i, r) M(i, r, 16) M(i, r, 17) M(i, r, 18) M(i, r, 19) M(i, r, 20) \
	M(i, r, 21) M(i, r, 22) M(i, r, 23) M(i, r, 24) M(i, r, 25) M(i, r, 26) M(i, r, 27) \
	M(i, r, 28) M(i, r, 29) M(i, r, 30) M(i, r, 31)

/* x87 and MXCSR first (fninit: an empty stack whatever came before), then the GPRs */
#define LOAD_FPU                                                                        \
	"ldmxcsr " IN(OFF_MXCSR) "\n\t"                                                 \
	"fninit\n\t"                                                                    \
	"fldcw " IN(OFF_FCW) "\n\t"                                                     \
	STLD(0) STLD(1) STLD(2) STLD(3) STLD(4) STLD(5) STLD(6) STLD(7)                 \
	"fnstenv " OUT(OFF_ENV) "\n\t"
#define LOAD_GPR                                                                        \
	GLD("rdx", 0) GLD("r8", 1) GLD("r9", 2) GLD("r10", 3) GLD("r12", 4) GLD("r13", 5) \
	GLD("r14", 6) GLD("r15", 7)

/* rt_sigsuspend(&wait_mask, 8) until cr_flag: clobbers only rax, rcx, r11, rdi, rsi */
#define WAIT                                                                            \
	"1:\n\t"                                                                        \
	"cmpl $0, %[flag]\n\t"                                                          \
	"jne 2f\n\t"                                                                    \
	"mov %[nr], %%eax\n\t"                                                          \
	"lea %[mask], %%rdi\n\t"                                                        \
	"mov $8, %%esi\n\t"                                                             \
	"syscall\n\t"                                                                   \
	"jmp 1b\n"                                                                      \
	"2:\n\t"

#define STORE_GPR                                                                       \
	GST("rdx", 0) GST("r8", 1) GST("r9", 2) GST("r10", 3) GST("r12", 4) GST("r13", 5) \
	GST("r14", 6) GST("r15", 7)
/* the stack pops st(0) first: the value loaded last */
#define STORE_FPU                                                                       \
	"fnstenv " OUT(OFF_ENV + 32) "\n\t"                                             \
	"fnstcw " OUT(OFF_FCW) "\n\t"                                                   \
	STST(7) STST(6) STST(5) STST(4) STST(3) STST(2) STST(1) STST(0)                 \
	"stmxcsr " OUT(OFF_MXCSR) "\n\t"                                                \
	"fldcw " IN(OFF_FCW_DEF) "\n\t"                                                 \
	"ldmxcsr " IN(OFF_MXCSR_DEF) "\n\t"

#define OPERANDS                                                                        \
	: "b"(regs), [flag] "m"(cr_flag), [mask] "m"(wait_mask), [nr] "i"(SYS_rt_sigsuspend)
#define CLOBBER_GPR                                                                     \
	"rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14",   \
		"r15", "memory", "cc"
#define CLOBBER_XMM                                                                     \
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",     \
		"xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

static __attribute__((noinline)) void hold_sse(void)
{
	asm volatile(LOAD_FPU V16(VLD, "movdqu", "xmm") LOAD_GPR WAIT STORE_GPR
		     V16(VST, "movdqu", "xmm") STORE_FPU
		     : OPERANDS : CLOBBER_GPR, CLOBBER_XMM);
}

static __attribute__((noinline)) void hold_avx(void)
{
	asm volatile(LOAD_FPU V16(VLD, "vmovdqu", "ymm") LOAD_GPR WAIT STORE_GPR
		     V16(VST, "vmovdqu", "ymm") STORE_FPU "vzeroupper\n\t"
		     : OPERANDS : CLOBBER_GPR, CLOBBER_XMM);
}

static __attribute__((noinline, target("avx512f"))) void hold_avx512(void)
{
	asm volatile(LOAD_FPU V16(VLD, "vmovdqu64", "zmm") V32HI(VLD, "vmovdqu64", "zmm")
		     KLD(0) KLD(1) KLD(2) KLD(3) KLD(4) KLD(5) KLD(6) KLD(7) LOAD_GPR WAIT STORE_GPR
		     V16(VST, "vmovdqu64", "zmm") V32HI(VST, "vmovdqu64", "zmm")
		     KST(0) KST(1) KST(2) KST(3) KST(4) KST(5) KST(6) KST(7) STORE_FPU
		     "vzeroupper\n\t"
		     : OPERANDS
		     : CLOBBER_GPR, CLOBBER_XMM, "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
		       "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28",
		       "xmm29", "xmm30", "xmm31", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
}

// clang-format on

enum level {
	SSE,
	AVX,
	AVX512
};

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/* The widest vector state both the CPU has and the kernel enabled in XCR0. */
static enum level probe(void)
{
	unsigned int a, b, c, d;
	bool avx, avx2 = false, avx512 = false;
	uint64_t xcr0;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) {
		printf("regs_fpu: x87 sse\n");
		return SSE;
	}
	xcr0 = xgetbv0();
	avx = (c & bit_AVX) && (xcr0 & 0x6) == 0x6;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		avx2 = avx && (b & bit_AVX2);
		avx512 = avx && (b & bit_AVX512F) && (xcr0 & 0xe0) == 0xe0;
	}
	printf("regs_fpu: x87 sse%s%s%s\n", avx ? " avx" : "", avx2 ? " avx2" : "",
	       avx512 ? " avx512f" : "");
	return avx512 ? AVX512 : avx ? AVX : SSE;
}

static void prepare(void)
{
	struct regs *in = &regs[0];
	long double st[8] = { -0.0L, __builtin_infl(), 3.14159265358979323846264338327950288L };

	cr_fill(in->vec, sizeof(in->vec), 0x7ec);
	for (int i = 0; i < NGPR; i++)
		in->gpr[i] = cr_pattern(0x69b, (uint64_t)i);
	for (int i = 0; i < 8; i++)
		in->k[i] = (uint16_t)cr_pattern(0x3a5, (uint64_t)i);
	for (int i = 3; i < 8; i++)
		st[i] = (long double)(cr_pattern(0x87, (uint64_t)i) >> 1) / (i * 7 + 3);
	for (int i = 0; i < 8; i++)
		memcpy(in->st[i], &st[i], 10);
	in->mxcsr = MXCSR_TEST;
	in->mxcsr_def = MXCSR_DEF;
	in->fcw = FCW_TEST;
	in->fcw_def = FCW_DEF;
}

static void make_wait_mask(void)
{
	sigset_t cur;

	if (sigprocmask(SIG_BLOCK, NULL, &cur))
		cr_fail("sigprocmask: %m");
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGUSR2 && sigismember(&cur, sig) == 1)
			wait_mask |= 1ULL << (sig - 1);
}

static void check_vec(enum level lv)
{
	int nreg = lv == AVX512 ? 32 : 16, width = lv == AVX512 ? 64 : lv == AVX ? 32 : 16;
	const char *name = lv == AVX512 ? "zmm" : lv == AVX ? "ymm" : "xmm";

	for (int r = 0; r < nreg; r++)
		for (int i = 0; i < width; i++)
			cr_check(regs[1].vec[r][i] == regs[0].vec[r][i],
				 "%s%d byte %d is %#x, wanted %#x", name, r, i, regs[1].vec[r][i],
				 regs[0].vec[r][i]);
	for (int k = 0; lv == AVX512 && k < 8; k++)
		cr_check(regs[1].k[k] == regs[0].k[k], "k%d is %#x, wanted %#x", k, regs[1].k[k],
			 regs[0].k[k]);
}

static void check_fpu(void)
{
	const struct regs *in = &regs[0], *out = &regs[1];
	static const char *const env_names[] = { "control", "status", "tag" };

	for (int i = 0; i < NGPR; i++)
		cr_check(out->gpr[i] == in->gpr[i], "%s is %#llx, wanted %#llx", gpr_names[i],
			 (unsigned long long)out->gpr[i], (unsigned long long)in->gpr[i]);
	cr_check(out->mxcsr == MXCSR_TEST, "MXCSR is %#x, wanted %#x", out->mxcsr, MXCSR_TEST);
	cr_check(out->fcw == FCW_TEST, "x87 control word is %#x, wanted %#x", out->fcw, FCW_TEST);
	/* fnstenv (32-bit layout): control, status (TOP, codes), tag words, 4 bytes apart */
	for (int w = 0; w < 3; w++) {
		uint16_t before, after;

		memcpy(&before, &out->env[0][4 * w], 2);
		memcpy(&after, &out->env[1][4 * w], 2);
		cr_check(before == after, "x87 %s word is %#x, was %#x", env_names[w], after,
			 before);
	}
	for (int i = 0; i < 8; i++)
		cr_check(!memcmp(out->st[i], in->st[i], 10),
			 "x87 st(%d) changed while waiting (value %d of 8 loaded)", 7 - i, i + 1);
}

int main(void)
{
	enum level lv;

	cr_init();
	lv = probe();
	prepare();
	make_wait_mask();
	cr_ready();
	if (lv == AVX512)
		hold_avx512();
	else if (lv == AVX)
		hold_avx();
	else
		hold_sse();
	check_fpu();
	check_vec(lv);
	cr_pass();
}
