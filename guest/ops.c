/* guest/ops.c - the op executor: one table entry per op kind (its argument
 * checks and its handler), and the loop that serves the host's command ring.
 * A malformed record gets PTS_RES_EINVAL; nothing the host writes can panic
 * the guest through here.
 */
#include "cpu.h"
#include "ops.h"
#include "pmap.h"
#include "preempt.h"
#include "sched.h"
#include "smp.h"

struct pts_ring ops_ring __aligned(PAGE_SIZE);

struct op_ctx {
	struct pts_op *op;
	struct pmap *pm;
	struct vm_page *pg, *pg2;
	uint64_t end; /* resolved exclusive end */
};

typedef uint32_t (*op_handler)(struct op_ctx *c);

static uint32_t op_create(struct op_ctx *c)
{
	return pmap_create(c->op->pmap) != NULL ? PTS_RES_OK : PTS_RES_ENOMEM;
}

static uint32_t op_destroy(struct op_ctx *c)
{
	pmap_destroy(c->pm);
	return PTS_RES_OK;
}

static uint32_t op_activate(struct op_ctx *c)
{
	pmap_activate(c->pm);
	return PTS_RES_OK;
}

static uint32_t op_enter(struct op_ctx *c)
{
	uint32_t flags = 0;

	if (c->op->flags & PTS_OPF_WIRED)
		flags |= PMAP_WIRED;
	if (c->op->flags & PTS_OPF_CANFAIL)
		flags |= PMAP_CANFAIL;
	if (pmap_enter(c->pm, c->op->va, c->pg, c->op->prot, flags) != PMAP_OK)
		return PTS_RES_ENOMEM;
	return PTS_RES_OK;
}

static uint32_t op_remove(struct op_ctx *c)
{
	pmap_remove(c->pm, c->op->va, c->end);
	return PTS_RES_OK;
}

static uint32_t op_protect(struct op_ctx *c)
{
	pmap_protect(c->pm, c->op->va, c->end, c->op->prot);
	return PTS_RES_OK;
}

static uint32_t op_unwire(struct op_ctx *c)
{
	pmap_unwire(c->pm, c->op->va);
	return PTS_RES_OK;
}

static uint32_t op_extract(struct op_ctx *c)
{
	struct vm_page *pg = pmap_extract(c->pm, c->op->va);

	if (pg == NULL)
		return PTS_RES_NONE;
	c->op->value = arena_index(pg);
	return PTS_RES_PAGE;
}

static uint32_t op_page_protect(struct op_ctx *c)
{
	pmap_page_protect(c->pg, c->op->prot);
	return PTS_RES_OK;
}

static uint32_t op_clear_modify(struct op_ctx *c)
{
	(void)pmap_clear_modify(c->pg);
	return PTS_RES_OK;
}

static uint32_t op_clear_reference(struct op_ctx *c)
{
	(void)pmap_clear_reference(c->pg);
	return PTS_RES_OK;
}

static uint32_t op_is_modified(struct op_ctx *c)
{
	return pmap_is_modified(c->pg) ? PTS_RES_TRUE : PTS_RES_FALSE;
}

static uint32_t op_is_referenced(struct op_ctx *c)
{
	return pmap_is_referenced(c->pg) ? PTS_RES_TRUE : PTS_RES_FALSE;
}

static uint32_t op_touch(struct op_ctx *c)
{
	int write = (c->op->flags & PTS_OPF_WRITE) != 0;

	if (pmap_curpmap() != c->pm)
		pmap_activate(c->pm);
	if (cpu_touch(c->op->va, write, (uint8_t)c->op->seq) != 0)
		return PTS_RES_FAULT;
	return PTS_RES_OK;
}

static uint32_t op_kenter(struct op_ctx *c)
{
	pmap_kenter_pa(KENTER_BASE + c->op->va, VM_PAGE_TO_PHYS(c->pg), c->op->prot);
	return PTS_RES_OK;
}

static uint32_t op_kremove(struct op_ctx *c)
{
	pmap_kremove(KENTER_BASE + c->op->va, c->end - c->op->va);
	return PTS_RES_OK;
}

static uint32_t op_zero(struct op_ctx *c)
{
	pmap_zero_page(c->pg);
	return PTS_RES_OK;
}

static uint32_t op_copy(struct op_ctx *c)
{
	pmap_copy_page(c->pg, c->pg2);
	return PTS_RES_OK;
}

static uint32_t op_collect(struct op_ctx *c)
{
	pmap_collect(c->pm);
	return PTS_RES_OK;
}

static uint32_t op_fail_alloc(struct op_ctx *c)
{
	pmap_fail_alloc(c->op->value);
	return PTS_RES_OK;
}

/* The handler of each op kind; what its record's fields must be comes from
 * the kind's argument codes in PTS_OP_TABLE (optable.h).  Sized by its
 * entries: a kind added at the end of the table without a handler here does
 * not compile. */
static const op_handler op_handlers[] = {
    [PTS_OP_CREATE] = op_create,
    [PTS_OP_DESTROY] = op_destroy,
    [PTS_OP_ACTIVATE] = op_activate,
    [PTS_OP_ENTER] = op_enter,
    [PTS_OP_REMOVE] = op_remove,
    [PTS_OP_PROTECT] = op_protect,
    [PTS_OP_UNWIRE] = op_unwire,
    [PTS_OP_EXTRACT] = op_extract,
    [PTS_OP_PAGE_PROTECT] = op_page_protect,
    [PTS_OP_CLEAR_MODIFY] = op_clear_modify,
    [PTS_OP_CLEAR_REFERENCE] = op_clear_reference,
    [PTS_OP_IS_MODIFIED] = op_is_modified,
    [PTS_OP_IS_REFERENCED] = op_is_referenced,
    [PTS_OP_TOUCH] = op_touch,
    [PTS_OP_KENTER] = op_kenter,
    [PTS_OP_KREMOVE] = op_kremove,
    [PTS_OP_ZERO] = op_zero,
    [PTS_OP_COPY] = op_copy,
    [PTS_OP_COLLECT] = op_collect,
    [PTS_OP_FAIL_ALLOC] = op_fail_alloc,
};
_Static_assert(sizeof(op_handlers) / sizeof(op_handlers[0]) == PTS_OP_COUNT,
               "a handler in op_handlers for every op kind of PTS_OP_TABLE");

/* [va, end) with end 0 meaning one page; both page-aligned, va < end <= limit */
static bool range_ok(uint64_t va, uint64_t end, uint64_t limit, uint64_t *endp)
{
	if ((va & PAGE_MASK) != 0 || va >= limit)
		return false;
	if (end == 0)
		end = va + PAGE_SIZE;
	if ((end & PAGE_MASK) != 0 || end <= va || end > limit)
		return false;
	*endp = end;
	return true;
}

static bool prot_ok(uint32_t prot, bool page_protect)
{
	if (page_protect) /* r, rx or none */
		return prot == 0 || prot == PTS_PROT_READ ||
		       prot == (PTS_PROT_READ | PTS_PROT_EXEC);
	/* r, rw, rx, rwx: the op language has no write-only or exec-only prot */
	return (prot & PTS_PROT_READ) &&
	       !(prot & ~(PTS_PROT_READ | PTS_PROT_WRITE | PTS_PROT_EXEC));
}

static bool page_ok(uint64_t index, struct vm_page **pg)
{
	if (index >= arena_npages)
		return false;
	*pg = arena_page(index);
	return true;
}

/* One argument code of the op's kind (optable.h).  An end (E, L) follows its
 * start (V, K) and checks the range they make; without one the range is one
 * page.  Codes only the text form has (A, F, a) need nothing here. */
static bool arg_ok(char code, struct op_ctx *c)
{
	struct pts_op *op = c->op;

	switch (code) {
	case 'C':
		return op->pmap < PTS_MAX_PMAPS && pmap_lookup(op->pmap) == NULL;
	case 'P':
		return (c->pm = pmap_lookup(op->pmap)) != NULL;
	case 'V':
	case 'E':
		return range_ok(op->va, code == 'E' ? op->end : 0, PTS_USER_MAX, &c->end);
	case 'K':
	case 'L':
		return range_ok(op->va, code == 'L' ? op->end : 0, KENTER_SIZE, &c->end);
	case 'G':
		return page_ok(op->page, &c->pg);
	case 'H':
		return page_ok(op->page2, &c->pg2);
	case 'R':
	case 'Q':
		return prot_ok(op->prot, code == 'Q');
	case 'N':
		return op->value != 0;
	default:
		return true;
	}
}

static bool op_validate(const char *args, struct op_ctx *c)
{
	for (; *args != '\0'; args++)
		if (!arg_ok(*args, c))
			return false;
	return true;
}

/* The CPU that runs the op says so in its struct pts_cpu (op_begun, op_ended:
 * 1 + the record's seq), so that a host whose guest hangs can tell which CPUs
 * are inside their op and which have not begun it. */
void ops_execute(struct pts_op *op)
{
	struct op_ctx c = {.op = op};
	struct pts_cpu *pub = curcpu()->pc_pub;
	uint64_t t0 = rdtsc();
	uint32_t result = PTS_RES_EINVAL;

	pub->op_begun = op->seq + 1;
	selftest_in_op(); /* selftest=ap_triple, ap_hang: an AP dies or hangs here */
	if (op->kind < PTS_OP_COUNT && op_handlers[op->kind] != NULL &&
	    op_validate(pts_op_args(op->kind), &c))
		result = op_handlers[op->kind](&c);
	op->cycles = rdtsc() - t0;
	op->result = result;
	pub->op_ended = op->seq + 1;
}

/* destroy: no CPU may keep the pmap in CR3 (FreeBSD asserts an empty
 * pm_active), so every other CPU that has it moves to the kernel pmap first,
 * as a thread switch would do on a real kernel */
static void ops_deactivate_others(const struct pts_op *op)
{
	struct pmap *pm = op->pmap < PTS_MAX_PMAPS ? pmap_lookup(op->pmap) : NULL;

	if (pm == NULL)
		return;
	for (uint32_t c = 0; c < smp_ncpus(); c++) {
		if (c == op->cpu || (struct pmap *)smp_info.cpu[c].curpmap != pm)
			continue;
		if (c == 0)
			pmap_activate(pmap_kernel());
		else
			(void)smp_run_on(c, SMP_CMD_ACTIVATE, (uint64_t)pmap_kernel());
	}
}

/* Run the op on the CPU its record names: CPU 0 itself, another through its
 * mailbox (smp_run_on), while CPU 0 waits and serves shootdowns.  A CPU that
 * is not up makes the record malformed. */
static void ops_dispatch(struct pts_op *op)
{
	if (op->cpu >= smp_ncpus()) {
		op->cycles = 0;
		op->result = PTS_RES_EINVAL;
		return;
	}
	preempt_op_begin();
	if (op->kind == PTS_OP_DESTROY)
		ops_deactivate_others(op);
	if (op->cpu == 0)
		ops_execute(op);
	else
		(void)smp_run_on(op->cpu, SMP_CMD_OP, (uint64_t)op);
}

/*
 * The host posts ops at head; we complete them at tail.  The record is copied
 * in and the results copied out, so the host sees either the whole result or
 * none of it.  An empty ring, and with stop_each every op, is reported with
 * PTS_HC_OP_DONE; the host refills the ring or sets quit meanwhile.
 */
/*
 * selftest=... for a guest that misbehaves at its ring, so that the host's
 * answer to each can be tested (the boot-time ones are in kmain.c):
 *   opdoneloop  after the first op, signal op-done forever, never taking the next
 *   ringback    after each op, move the tail back to the op (it is done again)
 *   reregister  after the first op, register a descriptor outside guest RAM
 */
enum ring_selftest { RING_HONEST, RING_OPDONE_LOOP, RING_TAIL_BACK, RING_REREGISTER };

static enum ring_selftest ring_selftest(void)
{
	if (cmdline_is("selftest", "opdoneloop"))
		return RING_OPDONE_LOOP;
	if (cmdline_is("selftest", "ringback"))
		return RING_TAIL_BACK;
	if (cmdline_is("selftest", "reregister"))
		return RING_REREGISTER;
	return RING_HONEST;
}

static void ring_misbehave(enum ring_selftest how)
{
	if (how == RING_OPDONE_LOOP)
		for (;;)
			hc_op_done(&ops_ring);
	if (how == RING_TAIL_BACK)
		ops_ring.tail = ops_ring.tail - 1;
	if (how == RING_REREGISTER)
		hc_raw(PTS_HC_REGISTER, 0xfffff000u); /* outside RAM with --mem below 4 GiB */
}

/* A group's records are fit to run together: distinct CPUs that are up,
 * kinds that may (PTS_GROUP_KINDS), each after the first marked PAR. */
static bool group_valid(const struct pts_op *ops, uint32_t n)
{
	uint32_t cpus = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (ops[i].cpu >= smp_ncpus() || (cpus & (1u << ops[i].cpu)) || ops[i].kind >= 32 ||
		    !(PTS_GROUP_KINDS & (1u << ops[i].kind)) ||
		    ((ops[i].flags & PTS_OPF_PAR) != 0) != (i > 0))
			return false;
		cpus |= 1u << ops[i].cpu;
	}
	return true;
}

/* Copy in the records at tail that run together (1 unless PAR follows): how many. */
static uint32_t ring_take(struct pts_op *ops)
{
	uint32_t n = 0;

	do {
		ops[n] = ops_ring.slots[(ops_ring.tail + n) % PTS_RING_SLOTS];
		n++;
	} while (n < PTS_GROUP_MAX && ops_ring.tail + n != ops_ring.head &&
	         (ops_ring.slots[(ops_ring.tail + n) % PTS_RING_SLOTS].flags & PTS_OPF_PAR));
	return n;
}

/* Run ops[0..n): one op as before, a group at once (guest/sched.c), a
 * malformed group not at all (einval for each). */
static void ops_run(struct pts_op *ops, uint32_t n)
{
	if (n == 1 && !(ops[0].flags & PTS_OPF_PAR)) {
		ops_dispatch(&ops[0]);
		return;
	}
	ops_ring.sched.ntrace = 0;
	for (uint32_t i = 0; i < n; i++) {
		ops[i].cycles = 0;
		ops[i].result = PTS_RES_EINVAL;
	}
	if (smp_ncpus() < 2 || !group_valid(ops, n))
		return;
	for (uint32_t i = 0; i < n; i++)
		ops[i].flags &= ~PTS_OPF_PAR;
	preempt_op_begin();
	sched_run_group(ops, n);
}

void ops_ring_run(void)
{
	enum ring_selftest how = ring_selftest();

	kprintf("ops: serving the command ring at %#lx\n", KVTOPHYS(&ops_ring));
	for (;;) {
		struct pts_op ops[PTS_GROUP_MAX];
		uint32_t n;

		while (ops_ring.tail == ops_ring.head) {
			if (ops_ring.quit)
				guest_exit(0);
			hc_op_done(&ops_ring);
		}
		n = ring_take(ops);
		ops_run(ops, n);
		for (uint32_t i = 0; i < n; i++) {
			struct pts_op *slot = &ops_ring.slots[(ops_ring.tail + i) % PTS_RING_SLOTS];
			slot->value = ops[i].value;
			slot->cycles = ops[i].cycles;
			__asm__ volatile("" ::: "memory");
			slot->result = ops[i].result;
		}
		__asm__ volatile("" ::: "memory");
		ops_ring.tail = ops_ring.tail + n;
		if (how != RING_HONEST)
			ring_misbehave(how);
		selftest_after_op(); /* selftest=escpanic, flood=N: after the op, before it ends */
		if (ops_ring.stop_each)
			hc_op_done(&ops_ring);
	}
}
