/* guest/smoke.c - the built-in smoke scenario: every op kind once or more,
 * with the result docs/semantics.md requires, run through the executor when
 * no host drives the command ring (plain QEMU, or ptshadow without "ring").
 *
 * The ops are records as the host posts them on the ring, with the slots the
 * host would give the pmaps a, b and c; cmdline flag "trace" prints each
 * result, "check" runs the pmap's own consistency check after each op.
 */
#include "ops.h"
#include "pmap.h"

struct smoke_op {
	struct pts_op op;
	uint32_t expect;       /* enum pts_result */
	uint64_t expect_value; /* the page when expect is PTS_RES_PAGE */
};

#define OP(k, res, ...)                                                                            \
	{                                                                                          \
		{.kind = PTS_OP_##k, __VA_ARGS__}, PTS_RES_##res, 0                                \
	}
#define EXTRACT_PAGE(slot, addr, pg)                                                               \
	{                                                                                          \
		{.kind = PTS_OP_EXTRACT, .pmap = (slot), .va = (addr)}, PTS_RES_PAGE, (pg)         \
	}

#define R       PTS_PROT_READ
#define RW      (PTS_PROT_READ | PTS_PROT_WRITE)
#define RX      (PTS_PROT_READ | PTS_PROT_EXEC)
#define WRITE   PTS_OPF_WRITE /* touch: a write, else a read */
#define WIRED   PTS_OPF_WIRED
#define CANFAIL PTS_OPF_CANFAIL

enum { A = 0, B = 1, C = 0 }; /* pmap a, b; c comes after a and b are gone */
#define GONE PTS_MAX_PMAPS    /* a's name once destroyed: no slot */

static const struct smoke_op smoke_ops[] = {
    OP(CREATE, OK, .pmap = A),
    OP(CREATE, OK, .pmap = B),
    OP(IS_MODIFIED, FALSE, .page = 1),
    OP(ENTER, OK, .pmap = A, .va = 0x400000, .page = 1, .prot = RW),
    EXTRACT_PAGE(A, 0x400000, 1),
    OP(EXTRACT, NONE, .pmap = A, .va = 0x401000),
    OP(IS_REFERENCED, FALSE, .page = 1),
    OP(TOUCH, OK, .pmap = A, .va = 0x400000),
    OP(IS_REFERENCED, TRUE, .page = 1),
    OP(IS_MODIFIED, FALSE, .page = 1),
    OP(TOUCH, OK, .pmap = A, .va = 0x400000, .flags = WRITE),
    OP(IS_MODIFIED, TRUE, .page = 1),
    OP(TOUCH, FAULT, .pmap = A, .va = 0x401000),
    /* one page, several pmaps and VAs */
    OP(ENTER, OK, .pmap = B, .va = 0x400000, .page = 1, .prot = R),
    OP(ENTER, OK, .pmap = A, .va = 0x7f0000000000, .page = 1, .prot = RX, .flags = WIRED),
    OP(TOUCH, FAULT, .pmap = B, .va = 0x400000, .flags = WRITE),
    OP(TOUCH, OK, .pmap = B, .va = 0x400000),
    OP(PAGE_PROTECT, OK, .page = 1, .prot = R),
    OP(TOUCH, FAULT, .pmap = A, .va = 0x400000, .flags = WRITE),
    OP(TOUCH, OK, .pmap = A, .va = 0x400000),
    OP(PROTECT, OK, .pmap = A, .va = 0x400000, .end = 0x401000, .prot = R),
    OP(CLEAR_MODIFY, OK, .page = 1),
    OP(IS_MODIFIED, FALSE, .page = 1),
    OP(CLEAR_REFERENCE, OK, .page = 1),
    OP(IS_REFERENCED, FALSE, .page = 1),
    OP(TOUCH, OK, .pmap = B, .va = 0x400000),
    OP(IS_REFERENCED, TRUE, .page = 1),
    OP(UNWIRE, OK, .pmap = A, .va = 0x7f0000000000),
    /* enter over an existing mapping: same page, then another page */
    OP(ENTER, OK, .pmap = A, .va = 0x400000, .page = 1, .prot = RW),
    OP(TOUCH, OK, .pmap = A, .va = 0x400000, .flags = WRITE),
    OP(ENTER, OK, .pmap = A, .va = 0x400000, .page = 2, .prot = RW),
    EXTRACT_PAGE(A, 0x400000, 2),
    OP(TOUCH, OK, .pmap = A, .va = 0x400000),
    OP(IS_MODIFIED, FALSE, .page = 2),
    OP(IS_MODIFIED, TRUE, .page = 1),
    OP(PAGE_PROTECT, OK, .page = 1, .prot = 0 /* none */),
    OP(EXTRACT, NONE, .pmap = B, .va = 0x400000),
    OP(EXTRACT, NONE, .pmap = A, .va = 0x7f0000000000),
    OP(IS_MODIFIED, TRUE, .page = 1),
    OP(REMOVE, OK, .pmap = A, .va = 0x400000),
    OP(EXTRACT, NONE, .pmap = A, .va = 0x400000),
    OP(TOUCH, FAULT, .pmap = A, .va = 0x400000),
    OP(IS_REFERENCED, TRUE, .page = 2),
    /* unmanaged kernel window (va: offset in it), page contents */
    OP(KENTER, OK, .va = 0x1000, .page = 3, .prot = RW),
    OP(KENTER, OK, .va = 0x2000, .page = 4, .prot = R),
    OP(KENTER, OK, .va = 0x1000, .page = 5, .prot = RX),
    OP(KREMOVE, OK, .va = 0x1000, .end = 0x3000),
    OP(ZERO, OK, .page = 5),
    OP(COPY, OK, .page = 5, .page2 = 6),
    /* injected allocation failure leaves no trace */
    OP(FAIL_ALLOC, OK, .value = 1),
    OP(ENTER, ENOMEM, .pmap = A, .va = 0x40000000, .page = 7, .prot = RW, .flags = CANFAIL),
    OP(EXTRACT, NONE, .pmap = A, .va = 0x40000000),
    OP(ENTER, OK, .pmap = A, .va = 0x40000000, .page = 7, .prot = RW, .flags = CANFAIL),
    OP(FAIL_ALLOC, OK, .value = 4),
    OP(ENTER, ENOMEM, .pmap = B, .va = 0x8000000000, .page = 7, .prot = RW, .flags = CANFAIL),
    OP(ENTER, OK, .pmap = B, .va = 0x8000000000, .page = 7, .prot = RW, .flags = WIRED | CANFAIL),
    OP(COLLECT, OK, .pmap = A),
    OP(EXTRACT, NONE, .pmap = A, .va = 0x40000000),
    OP(ACTIVATE, OK, .pmap = B),
    OP(DESTROY, OK, .pmap = B),
    OP(DESTROY, OK, .pmap = A),
    /* malformed records are refused */
    OP(EXTRACT, EINVAL, .pmap = GONE, .va = 0x400000),
    OP(CREATE, OK, .pmap = C),
    OP(ENTER, EINVAL, .pmap = C, .va = 0x400001, .page = 1, .prot = R),
    OP(ENTER, EINVAL, .pmap = C, .va = 0x800000000000, .page = 1, .prot = R),
    OP(REMOVE, EINVAL, .pmap = C, .va = 0x2000, .end = 0x1000),
    OP(DESTROY, OK, .pmap = C),
};

static void result_text(uint32_t result, uint64_t value, char *buf, size_t len)
{
	const char *name = pts_result_name(result);

	if (result == PTS_RES_PAGE)
		ksnprintf(buf, len, "%s%lu", name, value);
	else
		ksnprintf(buf, len, "%s", name != NULL ? name : "?");
}

/* Run op i; false, after saying why, when its result or (with "check") the
 * pmap afterwards is not what it must be. */
static bool smoke_op(unsigned i, bool trace, bool check)
{
	const struct smoke_op *s = &smoke_ops[i];
	const char *name = pts_op_name(s->op.kind);
	struct pts_op op = s->op;
	char got[32], want[32];
	uint64_t before;
	bool ok;

	op.seq = i;
	before = check ? pmap_check_state(op.pmap) : 0;
	if (check)
		pmap_check_tlb_begin();
	ops_execute(&op);
	result_text(op.result, op.value, got, sizeof(got));
	ok = op.result == s->expect && (s->expect != PTS_RES_PAGE || op.value == s->expect_value);
	if (trace)
		kprintf("smoke: op %u %s => %s (%lu cycles)\n", i, name, got, op.cycles);
	if (!ok) {
		result_text(s->expect, s->expect_value, want, sizeof(want));
		kprintf("smoke: op %u %s: got %s, expected %s\n", i, name, got, want);
	}
	if (check && op.result == PTS_RES_ENOMEM && pmap_check_state(op.pmap) != before) {
		kprintf("smoke: op %u %s: enomem, but the pmap, pages or pool changed\n", i, name);
		ok = false;
	}
	if (check && pmap_check_tlb_end() + pmap_check() != 0) {
		kprintf("smoke: op %u %s: the pmap is inconsistent afterwards\n", i, name);
		ok = false;
	}
	return ok;
}

void smoke_run(void)
{
	bool trace = cmdline_flag("trace"), check = cmdline_flag("check");

	for (unsigned i = 0; i < nitems(smoke_ops); i++)
		if (!smoke_op(i, trace, check))
			guest_exit(1);
	if (pmap_list != NULL || pmap_pv_pool.pr_nout != 0) {
		kprintf("smoke: leftovers: pmap list %p, %u pv entries out\n", (void *)pmap_list,
		        pmap_pv_pool.pr_nout);
		guest_exit(1);
	}
	kprintf("smoke: %u ops ok\n", (unsigned)nitems(smoke_ops));
	guest_exit(0);
}
