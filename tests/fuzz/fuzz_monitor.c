/* tests/fuzz/fuzz_monitor.c - libFuzzer harness for the monitor: the input is a
 * program of guest ops and corruptions of a synthetic image, checked in full and incremental modes.
 *
 * The synthetic guest (tests/lib/synth*.c) runs the ops on its own, clean
 * memory; the monitors read a copy of it with the input's patches written over
 * it (descriptor, pmaps, page tables, pv entries, pool pages, vm_pages, TLB
 * ledger, any word), so a patch stays until the input lets it go and the guest
 * itself never reads garbage.  The incremental monitor is told the pages that
 * changed since its last check, the honest dirty log, unless the input writes
 * behind the log's back.  While the log is honest both monitors must report
 * the same invariants at every op; a crash, a sanitizer report, a hang
 * (-timeout) or unbounded memory (-rss_limit_mb) is a finding too.
 *
 * Input: byte 0 picks the image (booted, the base scenario, that with a
 * pool of several pages, or on two CPUs: struct pts_smp, ops on either), how the log is handed over
 * (asked per page, or also listed) and whether a --check spec follows; then commands, each a byte
 * and its operands, until the input ends.  Missing bytes read as zero.  A
 * group (two ops the synthetic guest runs one after the other, one of the
 * orders a group may take) is checked once, at its end, as `par { }` is.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desc.h"
#include "monitor.h"
#include "pte.h"
#include "synth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- reading the input */

struct input {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		uint64_t b = in->n ? (in->n--, *in->p++) : 0;
		v |= b << (8 * i);
	}
	return v;
}

/* ---- the images */

#define NPATCH 48
#define PAGES  (SYNTH_RAM >> 12)

struct patch {
	gpa_t pa; /* 8-byte aligned */
	uint64_t value;
	unsigned life; /* rebuilds left, 0 = for good */
	bool unlogged; /* written behind the dirty log's back */
};

#define NTMPL 4

struct harness {
	/* booted, the base scenario, with a pool of several pages, the base
	 * scenario on two CPUs with cpu1 on pmap 2 */
	struct synth *tmpl[NTMPL];
	struct synth *s;       /* the guest, on clean memory */
	uint8_t *ram;          /* what the monitors read */
	uint8_t *logged;       /* ram as the last check left it */
	uint64_t dirty[PAGES]; /* the pages written since the last check */
	uint64_t ndirty;
	struct gmem full_mem, incr_mem;
	struct monitor *full, *incr;
	struct patch patch[NPATCH];
	unsigned npatch;
	char spec[32]; /* --check spec, "" for none */
	bool listed, dishonest, begun, refused;
	uint64_t op_index;
	FILE *null;
};

static struct harness H;

static void base_scenario(struct synth *s)
{
	struct pts_op op;
	synth_do(s, &op, PTS_OP_CREATE, 1, 0, 0, 0, 0, 0);
	synth_do(s, &op, PTS_OP_CREATE, 2, 0, 0, 0, 0, 0);
	synth_do(s, &op, PTS_OP_ENTER, 1, 0x400000, 0, 3, 3, 0);
	synth_do(s, &op, PTS_OP_ENTER, 1, 0x401000, 0, 4, 1, PTS_OPF_WIRED);
	synth_do(s, &op, PTS_OP_ENTER, 1, 0x402000, 0, 5, 5, 0);
	synth_do(s, &op, PTS_OP_ENTER, 2, 0x400000, 0, 3, 1, 0);
	synth_do(s, &op, PTS_OP_ENTER, 2, 0x7f0000001000ull, 0, 6, 3, 0);
	synth_do(s, &op, PTS_OP_TOUCH, 1, 0x400000, 0, 0, 0, PTS_OPF_WRITE);
	synth_do(s, &op, PTS_OP_KENTER, 0, 0x2000, 0, 7, 3, 0);
}

/* pmap 3 maps 300 pages from 0x10000000: three pool pages, which go back as it unmaps */
static void big_pool(struct synth *s)
{
	struct pts_op op;
	base_scenario(s);
	synth_do(s, &op, PTS_OP_CREATE, 3, 0, 0, 0, 0, 0);
	for (uint64_t i = 0; i < 300; i++)
		synth_do(s, &op, PTS_OP_ENTER, 3, 0x10000000 + i * 0x1000, 0, 10 + i % 40, 3, 0);
}

/* the base scenario on two CPUs; cpu1 caches pmap 2's 0x400000 */
static void two_cpus(struct synth *s)
{
	struct pts_op op;
	base_scenario(s);
	s->op_cpu = 1;
	synth_do(s, &op, PTS_OP_TOUCH, 2, 0x400000, 0, 0, 0, 0);
	s->op_cpu = 0;
}

static bool page_dirty(void *ctx, gpa_t gpa)
{
	const struct harness *h = ctx;
	gpa &= ~(gpa_t)4095;
	return gpa >= SYNTH_RAM || memcmp(h->ram + gpa, h->logged + gpa, 4096) != 0;
}

static void setup_once(void)
{
	if (H.s != NULL)
		return;
	for (int k = 0; k < NTMPL; k++)
		if ((H.tmpl[k] = synth_new_cpus(k == 3 ? 2 : 1)) == NULL)
			abort();
	base_scenario(H.tmpl[1]);
	big_pool(H.tmpl[2]);
	two_cpus(H.tmpl[3]);
	H.s = synth_new();
	H.ram = malloc(SYNTH_RAM);
	H.logged = malloc(SYNTH_RAM);
	H.null = fopen("/dev/null", "w");
	if (H.s == NULL || H.ram == NULL || H.logged == NULL || H.null == NULL)
		abort();
	invariants_print_text(
	    H.null); /* `ptshadow invariants` prints the table: every entry renders */
	invariants_print_markdown(H.null);
}

/* the guest back to a template: its memory and its bookkeeping */
static void restore(struct synth *s, const struct synth *t)
{
	uint8_t *mem = s->mem;
	*s = *t;
	s->mem = mem;
	s->logged = NULL;
	s->gmem.base = mem;
	memcpy(mem, t->mem, SYNTH_RAM);
}

/* what the monitors read: the guest's memory with the patches over it */
static void rebuild(struct harness *h)
{
	memcpy(h->ram, h->s->mem, SYNTH_RAM);
	unsigned kept = 0;
	for (unsigned i = 0; i < h->npatch; i++) {
		struct patch *p = &h->patch[i];
		memcpy(h->ram + p->pa, &p->value, 8);
		if (p->unlogged)
			memcpy(h->logged + p->pa, &p->value, 8);
		if (p->life == 0 || --p->life > 0)
			h->patch[kept++] = *p;
	}
	h->npatch = kept;
}

static void add_patch(struct harness *h, gpa_t pa, uint64_t value, unsigned life, bool unlogged)
{
	if (pa > SYNTH_RAM - 8 || h->npatch == NPATCH)
		return;
	pa &= ~(gpa_t)7;
	h->patch[h->npatch++] = (struct patch){pa, value, life, unlogged};
	memcpy(h->ram + pa, &value, 8);
	if (unlogged) {
		memcpy(h->logged + pa, &value, 8);
		h->dishonest = true;
	}
}

static uint64_t r64(const struct harness *h, gpa_t pa)
{
	uint64_t v = 0;
	if (pa <= SYNTH_RAM - 8)
		memcpy(&v, h->ram + pa, 8);
	return v;
}

/* ---- where a patch goes: an object of the image, chosen by sel */

static gpa_t page_of_usage(const struct harness *h, uint32_t usage, uint64_t sel)
{
	uint64_t n = 0;
	for (uint64_t pfn = 0; pfn < PAGES; pfn++)
		n += synth_r32(h->s, synth_vmp_pa(h->s, pfn) + SYN_VMP_USAGE) == usage;
	if (n == 0)
		return 0;
	sel %= n;
	for (uint64_t pfn = 0; pfn < PAGES; pfn++)
		if (synth_r32(h->s, synth_vmp_pa(h->s, pfn) + SYN_VMP_USAGE) == usage && sel-- == 0)
			return pfn << 12;
	return 0;
}

static const uint64_t va_of[] = {0x400000, 0x401000,          0x402000,   0x403000,
                                 0x600000, 0x7f0000001000ull, 0x10000000, 0x10080000};
#define NVA (sizeof va_of / sizeof va_of[0])

/* the k-th pv entry on an arena page's list (in the guest's own memory) */
static gpa_t pv_entry(const struct harness *h, uint64_t sel)
{
	uint64_t kva =
	    synth_r64(h->s, synth_vmp_pa(h->s, SYNTH_ARENA_FIRST_PFN + sel % 24) + SYN_VMP_PVLIST);
	for (unsigned k = (unsigned)(sel >> 8) % 4; k > 0 && kva != 0; k--)
		kva = synth_r64(h->s, synth_kva_pa(h->s, kva) + SYN_PVE_NEXT);
	return kva ? synth_kva_pa(h->s, kva) : 0;
}

static gpa_t target(const struct harness *h, unsigned kind, uint64_t sel)
{
	const struct synth *s = h->s;
	switch (kind % 10) {
	case 0: /* descriptor */
		return s->desc_pa + 8 * (sel % (sizeof(struct pts_descriptor) / 8));
	case 1: /* a pmap record: slots 0-2 and the kernel pmap */
		return synth_pmap_pa(s, sel % 4 == 3 ? SYNTH_KERNEL_SLOT : (uint32_t)(sel % 4)) +
		       8 * ((sel >> 2) % (SYN_PM_SIZE / 8));
	case 2: /* a PTE at any level */
		return synth_pte_pa(s, (uint32_t)(sel % 3), va_of[(sel >> 2) % NVA],
		                    1 + (unsigned)((sel >> 5) % 4));
	case 3: /* any entry of a page-table page */
		return page_of_usage(h, PTS_PG_PTP, sel >> 9) + 8 * (sel % 512);
	case 4: /* a pv entry */
		return pv_entry(h, sel) + 8 * ((sel >> 10) % (SYN_PVE_SIZE / 8));
	case 5: /* the pool structure, or a pool page's header and items */
		if (sel % 4 == 0)
			return s->pool_pa + 8 * ((sel >> 2) % (SYN_PR_SIZE / 8));
		return page_of_usage(h, PTS_PG_POOL, sel >> 12) + 8 * ((sel >> 2) % 512);
	case 6: /* a vm_page: mostly arena pages and page tables */
		return synth_vmp_pa(s, sel % 3 == 0   ? SYNTH_ARENA_FIRST_PFN + (sel >> 2) % 32
		                       : sel % 3 == 1 ? page_of_usage(h, PTS_PG_PTP, sel >> 8) >> 12
		                                      : (sel >> 2) % PAGES) +
		       8 * ((sel >> 12) % (SYN_VMP_SIZE / 8));
	case 7: /* the TLB ledger: header or a record */
		return s->ledger_pa + (sel % 2 ? 0 : 8 + 8 * ((sel >> 1) % (PTS_TLB_RECORDS * 5)));
	case 8: /* the pmap list head and curpmap, the lock words; on two CPUs, struct pts_smp */
		if (s->smp_pa != 0 && sel % 4 >= 2)
			return s->smp_pa + 8 * ((sel >> 2) % (sizeof(struct pts_smp) / 8));
		if (sel % 8 == 1)
			return (sel >> 3) % 2
			           ? synth_pv_lock_pa((uint32_t)((sel >> 4) % SYN_PV_LOCKS))
			           : synth_lock_pa((enum pts_lock)((sel >> 4) % PTS_LOCK_KINDS));
		return sel % 2 ? s->pmap_list_pa : s->curpmap_pa;
	}
	return 8 * (sel % (SYNTH_RAM / 8)); /* any word */
}

/* a value the monitor will follow or count */
static uint64_t value(const struct harness *h, unsigned kind, uint64_t old, uint64_t arg)
{
	const struct pts_descriptor *d = &h->s->desc;
	switch (kind % 10) {
	case 0:
		return old ^ (1ull << (arg % 64));
	case 1:
		return old + (uint64_t)(int64_t)(int8_t)arg;
	case 2:
		return 0;
	case 3:
		return arg;
	case 4: /* a direct-map KVA */
		return d->dmap_base + ((arg % SYNTH_RAM) & ~7ull);
	case 5: /* a pv window KVA */
		return d->pv_kva_base + ((arg % (32 * 4096)) & ~7ull);
	case 6: /* a PTE of a page with flags */
		return ((arg % PAGES) << 12) | ((arg >> 32) & 0x8000000000000fffull) | PG_V;
	case 7: /* a vm_page KVA */
		return d->vm_page_array + (arg % PAGES) * d->vm_page_size;
	case 8: /* another word of the image */
		return r64(h, 8 * (arg % (SYNTH_RAM / 8)));
	}
	return old & ~(arg << 1); /* bits cleared */
}

/* a descriptor field stretched as far as the monitor accepts, or set */
static void patch_descriptor(struct harness *h, struct input *in)
{
	static const size_t field[] = {
	    offsetof(struct pts_descriptor, kenter_size),
	    offsetof(struct pts_descriptor, pv_kva_size),
	    offsetof(struct pts_descriptor, dmap_size),
	    offsetof(struct pts_descriptor, vm_page_count),
	    offsetof(struct pts_descriptor, arena_npages),
	    offsetof(struct pts_descriptor, kern_size),
	    offsetof(struct pts_descriptor, kenter_base),
	    offsetof(struct pts_descriptor, pv_kva_base),
	    offsetof(struct pts_descriptor, vm_page_array),
	    offsetof(struct pts_descriptor, user_max),
	};
	size_t off = field[take(in, 1) % (sizeof field / sizeof field[0])];
	unsigned shift = (unsigned)take(in, 1) % 64;
	struct pts_descriptor d;
	char err[8];
	memcpy(&d, h->ram + h->s->desc_pa, sizeof d);
	uint64_t best, *f = (uint64_t *)((uint8_t *)&d + off);
	best = *f;
	for (unsigned k = shift; k < 64;
	     k++) { /* the largest power of two (or one page less) accepted */
		uint64_t v[2] = {1ull << k, (1ull << k) - 4096};
		for (int j = 0; j < 2; j++) {
			*f = v[j];
			if (v[j] > best && desc_validate(&d, &h->full_mem, err, sizeof err) == 0)
				best = v[j];
		}
	}
	add_patch(h, h->s->desc_pa + off, best, 0, false);
}

/* ---- ops and checks */

static void op_from(struct input *in, struct pts_op *op)
{
	static const uint32_t kinds[] = {
	    PTS_OP_ENTER,           PTS_OP_ENTER,       PTS_OP_REMOVE,        PTS_OP_PROTECT,
	    PTS_OP_UNWIRE,          PTS_OP_EXTRACT,     PTS_OP_PAGE_PROTECT,  PTS_OP_CLEAR_MODIFY,
	    PTS_OP_CLEAR_REFERENCE, PTS_OP_IS_MODIFIED, PTS_OP_IS_REFERENCED, PTS_OP_TOUCH,
	    PTS_OP_KENTER,          PTS_OP_KREMOVE,     PTS_OP_COLLECT,       PTS_OP_ACTIVATE,
	    PTS_OP_CREATE,          PTS_OP_DESTROY,     PTS_OP_ZERO,          PTS_OP_COPY,
	    PTS_OP_FAIL_ALLOC};
	static const uint32_t prots[] = {1, 3, 5, 7}, page_prots[] = {0, 1, 5};
	uint64_t a = take(in, 4), b = take(in, 2);
	uint32_t kind = kinds[a % (sizeof kinds / sizeof kinds[0])];
	uint64_t va = va_of[(a >> 5) % NVA] + ((a >> 8) % 4) * 0x1000;
	memset(op, 0, sizeof *op);
	op->kind = kind;
	op->pmap = 1 + (uint32_t)((a >> 10) % 3);
	op->va = va;
	op->page = 3 + (a >> 12) % 20;
	op->page2 = 3 + (a >> 17) % 20;
	op->prot = kind == PTS_OP_PAGE_PROTECT ? page_prots[(a >> 22) % 3] : prots[(a >> 22) % 4];
	if (kind == PTS_OP_REMOVE || kind == PTS_OP_PROTECT) /* a few pages, or up to 320 */
		op->end = va + ((b & 0x80) ? (b >> 8) % 320 + 1 : b % 5 + 1) * 0x1000;
	if (kind == PTS_OP_KENTER || kind == PTS_OP_KREMOVE) {
		op->va = (b % 8) * 0x1000;
		op->end = kind == PTS_OP_KREMOVE && (b & 8) ? op->va + 0x3000 : 0;
	}
	if (kind == PTS_OP_TOUCH)
		op->flags = (b >> 4) & 1 ? PTS_OPF_WRITE : 0;
	else if (kind == PTS_OP_ENTER)
		op->flags = (uint32_t)(b >> 4) & (PTS_OPF_WIRED | PTS_OPF_CANFAIL);
	if (kind == PTS_OP_FAIL_ALLOC)
		op->value = 1 + (b >> 4) % 3;
	/* the CPU: on two CPUs now and then cpu2, not up; on one, seldom cpu1 */
	op->cpu = H.s->ncpus > 1 ? (uint32_t)(a >> 24) % 5 % 3 : (a >> 24) == 0xff;
}

/* an op record the guest did not run: any kind, fields and result */
static void raw_op_from(struct input *in, struct pts_op *op)
{
	memset(op, 0, sizeof *op);
	op->kind = (uint32_t)take(in, 1) % (PTS_OP_COUNT + 2);
	op->pmap = (uint32_t)take(in, 1) % 6;
	op->va = take(in, 1) << 12 | (take(in, 1) % 2 ? 0 : 0x400000);
	op->end = take(in, 1) % 3 ? 0 : take(in, 8);
	op->page = take(in, 2) % 300;
	op->page2 = take(in, 2) % 300;
	op->prot = (uint32_t)take(in, 1) % 9;
	op->flags = (uint32_t)take(in, 1) % 8;
	op->result = (uint32_t)take(in, 1) % (PTS_RES_COUNT + 1);
	op->value = take(in, 1) % 300;
	op->cpu = (uint32_t)take(in, 1) % 4;
}

static void render(struct monitor *m)
{
	for (size_t i = 0; i < monitor_nviolations(m); i++) {
		const struct violation *v = monitor_violation(m, i);
		json_t *j = violation_json(v);
		char *text = json_dumps(j, 0);
		free(text);
		json_decref(j);
		violation_print(v, H.null);
	}
}

/* the invariants m reported at this op, as a bit set over the table */
static uint64_t reported(const struct monitor *m)
{
	uint64_t set = 0;
	for (size_t i = 0; i < monitor_nviolations(m); i++)
		set |= 1ull << invariant_index(monitor_violation(m, i)->inv);
	return set;
}

static void disagree(struct harness *h, uint64_t f, uint64_t i)
{
	fprintf(stderr,
	        "fuzz_monitor: op %llu: full and incremental checks disagree with an honest dirty "
	        "log\n",
	        (unsigned long long)h->op_index);
	for (size_t k = 0; k < invariant_count(); k++)
		if (((f ^ i) >> k) & 1)
			fprintf(stderr, "  %s: full %d, incremental %d\n", invariant_at(k)->id,
			        (int)((f >> k) & 1), (int)((i >> k) & 1));
	fprintf(stderr, "-- full\n");
	for (size_t k = 0; k < monitor_nviolations(h->full); k++)
		violation_print(monitor_violation(h->full, k), stderr);
	fprintf(stderr, "-- incremental\n");
	for (size_t k = 0; k < monitor_nviolations(h->incr); k++)
		violation_print(monitor_violation(h->incr, k), stderr);
	abort();
}

static void publish_dirty(struct harness *h)
{
	h->ndirty = 0;
	for (uint64_t pfn = 0; pfn < PAGES; pfn++)
		if (page_dirty(h, pfn << 12))
			h->dirty[h->ndirty++] = pfn;
	h->incr_mem.dirty_pfns = h->listed ? h->dirty : NULL;
	h->incr_mem.ndirty_pfns = h->listed ? h->ndirty : 0;
}

/* the log harvested: what the monitors read is what they saw */
static void reset_dirty(struct harness *h)
{
	for (uint64_t k = 0; k < h->ndirty; k++)
		memcpy(h->logged + (h->dirty[k] << 12), h->ram + (h->dirty[k] << 12), 4096);
}

/* both monitors on the same image; false when the descriptor was refused */
static bool begin(struct harness *h, uint64_t cr3)
{
	char e1[256], e2[256];
	struct monitor_config cfg = {.check_spec = h->spec[0] ? h->spec : NULL};
	if (h->begun || h->refused)
		return h->begun;
	h->full = monitor_create(&h->full_mem, h->s->desc_pa, &cfg, e1, sizeof e1);
	h->incr = monitor_create(&h->incr_mem, h->s->desc_pa, &cfg, e2, sizeof e2);
	if ((h->full == NULL) != (h->incr == NULL) || (h->full == NULL && strcmp(e1, e2) != 0))
		abort(); /* the same descriptor and spec, two verdicts */
	h->refused = h->full == NULL;
	if (h->refused)
		return false;
	if (monitor_begin(h->full, cr3) < 0 || monitor_begin(h->incr, cr3) < 0)
		abort(); /* out of host memory on a 4 MiB guest: unbounded allocation */
	uint64_t f = reported(h->full), i = reported(h->incr);
	if (f != i)
		disagree(h, f, i);
	render(h->full);
	monitor_clear_violations(h->full);
	monitor_clear_violations(h->incr);
	memcpy(h->logged, h->ram, SYNTH_RAM);
	h->begun = true;
	return true;
}

/* ops[0..k) (k > 1: a group, checked once at its end) */
static void check(struct harness *h, const struct pts_op *ops, size_t k, uint64_t cr3)
{
	h->op_index += k;
	publish_dirty(h);
	if (monitor_after_ops(h->full, ops, k, h->op_index, NULL, cr3) < 0 ||
	    monitor_after_ops(h->incr, ops, k, h->op_index, NULL, cr3) < 0)
		abort();
	uint64_t f = reported(h->full), i = reported(h->incr);
	if (!h->dishonest && f != i)
		disagree(h, f, i);
	render(h->incr);
	monitor_clear_violations(h->full);
	monitor_clear_violations(h->incr);
	reset_dirty(h);
}

static void finish(struct harness *h)
{
	if (h->begun) {
		monitor_dump_pmap(h->full, -1, h->null);
		monitor_dump_pmap(h->incr, 1, h->null);
	}
	monitor_destroy(h->full);
	monitor_destroy(h->incr);
	h->full = h->incr = NULL;
}

/* ---- the program */

enum {
	CMD_OP,
	CMD_GROUP, /* two ops run one after the other, one of the orders a group may take */
	CMD_RAW_OP,
	CMD_PATCH,
	CMD_PATCH_FOR_A_WHILE,
	CMD_DESCRIPTOR,
	CMD_CHECK,
	CMD_PATCH_UNLOGGED,
	CMD_COUNT
};

static void patch_cmd(struct harness *h, struct input *in, unsigned life, bool unlogged)
{
	unsigned where = (unsigned)take(in, 1), how = (unsigned)take(in, 1);
	uint64_t sel = take(in, 2), arg = take(in, how % 10 == 3 ? 8 : 4);
	gpa_t pa = target(h, where, sel);
	if (pa == 0 && where % 10 != 9)
		return; /* no such object in this image */
	add_patch(h, pa, value(h, how, r64(h, pa & ~(gpa_t)7), arg), life, unlogged);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness *h = &H;
	struct input in = {data, size};
	struct pts_op op, two[2];
	setup_once();
	unsigned cfg = (unsigned)take(&in, 1);
	restore(h->s, h->tmpl[cfg % NTMPL]);
	h->listed = (cfg / NTMPL) & 1;
	h->spec[0] = '\0';
	if ((cfg / NTMPL) & 2) /* a --check spec: up to a NUL, as the command line would give it */
		for (size_t k = 0;
		     k + 1 < sizeof h->spec && (h->spec[k] = (char)take(&in, 1)) != '\0'; k++)
			h->spec[k + 1] = '\0';
	h->npatch = 0;
	h->dishonest = h->begun = h->refused = false;
	h->op_index = 0;
	memcpy(h->ram, h->s->mem, SYNTH_RAM);
	memcpy(h->logged, h->ram, SYNTH_RAM);
	h->full_mem = (struct gmem){.base = h->ram, .size = SYNTH_RAM};
	h->incr_mem = (struct gmem){
	    .base = h->ram, .size = SYNTH_RAM, .page_dirty = page_dirty, .dirty_ctx = h};
	for (unsigned steps = 0; in.n > 0 && steps < 32 && !h->refused; steps++) {
		switch (take(&in, 1) % CMD_COUNT) {
		case CMD_OP:
			if (!begin(h, h->s->cr3))
				break;
			op_from(&in, &op);
			synth_op(h->s, &op);
			rebuild(h);
			check(h, &op, 1, h->s->cr3);
			break;
		case CMD_GROUP:
			if (!begin(h, h->s->cr3))
				break;
			for (size_t k = 0; k < 2; k++) {
				op_from(&in, &two[k]);
				synth_op(h->s, &two[k]);
			}
			rebuild(h);
			check(h, two, 2, h->s->cr3);
			break;
		case CMD_RAW_OP:
			if (!begin(h, h->s->cr3))
				break;
			raw_op_from(&in, &op);
			rebuild(h);
			check(h, &op, 1, take(&in, 1) % 4 ? h->s->cr3 : take(&in, 8));
			break;
		case CMD_PATCH:
			patch_cmd(h, &in, 0, false);
			break;
		case CMD_PATCH_FOR_A_WHILE:
			patch_cmd(h, &in, 1 + (unsigned)take(&in, 1) % 3, false);
			break;
		case CMD_DESCRIPTOR:
			patch_descriptor(h, &in);
			break;
		case CMD_CHECK: /* an op that writes nothing, after what the patches wrote */
			if (!begin(h, h->s->cr3))
				break;
			op = (struct pts_op){.kind = PTS_OP_EXTRACT, .pmap = 1, .va = 0x400000};
			synth_op(h->s, &op);
			rebuild(h);
			check(h, &op, 1, h->s->cr3);
			break;
		case CMD_PATCH_UNLOGGED:
			patch_cmd(h, &in, 0, true);
			break;
		}
	}
	if (!h->refused)
		begin(h, h->s->cr3);
	finish(h);
	return 0;
}
