/* guest/tlb.c - TLB invalidation with a ledger: each primitive executes the
 * instruction(s) first and then appends one record, so a record in the
 * ledger means the invalidation has happened.  Nothing else in the guest
 * executes invlpg or writes CR3 (the boot code in entry.S excepted).
 */
#include "cpu.h"
#include "smp.h"
#include "tlb.h"

struct pts_tlb_ledger tlb_ledger __aligned(PAGE_SIZE);
/* a leaf lock: on SMP the CPUs append in turn, so head counts whole
 * records in seq order */
struct spinlock tlb_ledger_lock;

void tlb_init(void)
{
	tlb_ledger.magic = PTS_TLB_MAGIC;
	tlb_ledger.nrecords = PTS_TLB_RECORDS;
	tlb_ledger.head = 0;
}

/* with tlb_ledger_lock held: append a record, return its seq */
static uint64_t tlb_append(uint32_t kind, uint64_t va, uint64_t end)
{
	uint64_t seq = tlb_ledger.head;
	struct pts_tlb_record *r = &tlb_ledger.rec[seq % PTS_TLB_RECORDS];

	r->seq = seq;
	r->kind = kind;
	r->cpu = cpu_number();
	r->cr3 = rcr3();
	r->va = va;
	r->end = end;
	/* the record is complete before the host can see it counted */
	__atomic_store_n(&tlb_ledger.head, seq + 1, __ATOMIC_RELEASE);
	return seq;
}

static void tlb_record(uint32_t kind, uint64_t va, uint64_t end)
{
	spin_lock_leaf(&tlb_ledger_lock);
	(void)tlb_append(kind, va, end);
	spin_unlock(&tlb_ledger_lock);
}

void tlb_invalidate_page(uint64_t va)
{
	invlpg(va);
	tlb_record(PTS_TLB_PAGE, va, va + PAGE_SIZE);
}

void tlb_invalidate_range(uint64_t sva, uint64_t eva, bool global)
{
	KASSERT((sva & PAGE_MASK) == 0 && (eva & PAGE_MASK) == 0 && sva < eva);
	if ((eva - sva) >> PAGE_SHIFT > TLB_RANGE_MAX_PAGES) {
		if (global)
			tlb_invalidate_all_global();
		else
			tlb_invalidate_all();
		return;
	}
	for (uint64_t va = sva; va < eva; va += PAGE_SIZE)
		invlpg(va);
	tlb_record(PTS_TLB_RANGE, sva, eva);
}

void tlb_invalidate_all(void)
{
	lcr3(rcr3());
	tlb_record(PTS_TLB_ALL, 0, 0);
}

void tlb_invalidate_all_global(void)
{
	uint64_t cr4 = rcr4();

	if (cr4 & CR4_PGE) {
		lcr4(cr4 & ~CR4_PGE);
		lcr4(cr4);
	} else {
		lcr3(rcr3());
	}
	tlb_record(PTS_TLB_ALL_GLOBAL, 0, 0);
}

/* not an invalidation: the PTP at pa goes back to the free list now, after
 * every record before this one (the monitor's SMP-5) */
void tlb_ledger_ptp_free(uint64_t pa)
{
	KASSERT((pa & PAGE_MASK) == 0);
	tlb_record(PTS_TLB_FREE_PTP, pa, pa + PAGE_SIZE);
}

/*
 * Not an invalidation: this CPU owes a shootdown for the pmap whose root is
 * root (PTS_TLB_SHOOT_KERNEL: the kernel's) and sends it to cpus (SMP-6).
 * The caller read cpus with no preemption point since, so every CPU that
 * had the root loaded by then is in the set.  A record that would repeat
 * this CPU's last one, with no record in between (no CR3 load anywhere
 * since), is left out: it would tell the monitor nothing new, and a long
 * remove would otherwise write one a page.
 */
void tlb_ledger_shoot(uint64_t root, uint32_t cpus)
{
	struct pcpu *pc = curcpu();

	spin_lock_leaf(&tlb_ledger_lock);
	if (pc->pc_shoot_seq + 1 != tlb_ledger.head || pc->pc_shoot_root != root ||
	    pc->pc_shoot_cpus != cpus) {
		pc->pc_shoot_seq = tlb_append(PTS_TLB_SHOOT, root, cpus);
		pc->pc_shoot_root = root;
		pc->pc_shoot_cpus = cpus;
	}
	spin_unlock(&tlb_ledger_lock);
}

/* not an invalidation: the lock of the pmap whose root is root is being
 * dropped, after every record before this one (the monitor's SMP-7) */
void tlb_ledger_unlock(uint64_t root)
{
	KASSERT((root & PAGE_MASK) == 0);
	tlb_record(PTS_TLB_UNLOCK, root, 0);
}

void tlb_switch(uint64_t pml4_pa)
{
	KASSERT((pml4_pa & PAGE_MASK) == 0);
	lcr3(pml4_pa);
	curcpu()->pc_pub->cr3 = pml4_pa;
	tlb_record(PTS_TLB_SWITCH, pml4_pa, 0);
}
