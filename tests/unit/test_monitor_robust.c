/* tests/unit/test_monitor_robust.c - the monitor on hostile guest memory:
 * random bytes, thousands of random corruptions of a valid image, hostile
 * descriptors and endless lists.  It must never crash, read outside guest
 * RAM (`make sanitize-test` runs it under ASan), or take more time or memory
 * than its budget (monitor_tc.h), and must render whatever it reports and
 * what `dump --cpu-state` reads of it (test_cpu_state: also on a good image).
 */
#include <stddef.h>
#include <stdlib.h>

#include "desc.h"
#include "monitor_cpus.h"
#include "monitor_tc.h"

Suite *suite_monitor_robust(void);

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static unsigned iterations(unsigned dflt)
{
	const char *e = getenv("PTS_ROBUST_ITERS");
	return e ? (unsigned)strtoul(e, NULL, 0) : dflt;
}

static void random_op(struct pts_op *op)
{
	memset(op, 0, sizeof *op);
	op->kind = (uint32_t)(rnd() % (PTS_OP_COUNT + 2));
	op->pmap = (uint32_t)(rnd() % 4);
	op->va = (rnd() % 8) << 12 | 0x400000;
	op->end = rnd() % 3 ? 0 : rnd();
	op->page = rnd() % 300;
	op->page2 = rnd() % 300;
	op->prot = (uint32_t)(rnd() % 9);
	op->flags = (uint32_t)(rnd() % 8);
	op->result = (uint32_t)(rnd() % (PTS_RES_COUNT + 1));
	op->value = rnd() % 5;
}

/* what `dump --cpu-state` reads of the monitor, on garbage too: within its
 * bounds, the ledger's records consecutive and the last ones written */
static void cpu_state(struct monitor *m)
{
	static struct monitor_cpus mc;
	struct pts_tlb_record rec[8];
	size_t got;
	uint64_t head;

	monitor_cpus(m, &mc);
	ck_assert(mc.ncpus >= 1 && mc.ncpus <= PTS_MAX_CPUS && mc.npmap <= PTS_MAX_PMAPS + 1);
	for (uint32_t c = 0; c < mc.ncpus; c++)
		ck_assert(mc.on[c] >= -1 && mc.on[c] < (int32_t)mc.npmap);
	if (monitor_ledger_tail(m, 8, rec, &got, &head) != 0)
		return;
	ck_assert(got <= 8 && got <= head);
	for (size_t i = 0; i < got; i++)
		ck_assert_uint_eq(rec[i].seq, head - got + i);
}

/* render everything reported, to exercise the printers on garbage */
static void render_all(struct monitor *m)
{
	FILE *null = fopen("/dev/null", "w");
	for (size_t i = 0; i < monitor_nviolations(m); i++) {
		const struct violation *v = monitor_violation(m, i);
		json_t *j = violation_json(v);
		char *s = json_dumps(j, 0);
		ck_assert_ptr_nonnull(s);
		free(s);
		json_decref(j);
		if (null)
			violation_print(v, null);
	}
	if (null) {
		monitor_dump_pmap(m, -1, null);
		monitor_dump_pmap(m, 1, null);
		fclose(null);
	}
	cpu_state(m);
}

START_TEST(test_random_descriptor)
{
	uint8_t *ram = malloc(1 << 16);
	struct gmem mem = {.base = ram, .size = 1 << 16};
	char err[256];
	rng_state = 0x1234567 + (uint64_t)_i;
	for (unsigned it = 0; it < iterations(500); it++) {
		for (size_t i = 0; i < (1 << 16) / 8; i++)
			((uint64_t *)ram)[i] = rnd();
		struct monitor *m = monitor_create(&mem, rnd() % (1 << 16), NULL, err, sizeof err);
		ck_assert_ptr_null(m);
		ck_assert_int_eq(strncmp(err, "descriptor: ", 12), 0);
	}
	free(ram);
}
END_TEST

/* a valid descriptor over random memory: everything it points at is garbage */
START_TEST(test_random_memory)
{
	struct synth *s = synth_new();
	char err[256];
	rng_state = 0xfeedface;
	for (unsigned it = 0; it < iterations(2000) / 40 + 1; it++) {
		for (size_t i = 0; i < SYNTH_RAM / 8; i++)
			((uint64_t *)s->mem)[i] = rnd() & (rnd() | 0xffff000000000fffull);
		memcpy(s->mem + s->desc_pa, &s->desc, sizeof s->desc);
		struct monitor *m = monitor_create(&s->gmem, s->desc_pa, NULL, err, sizeof err);
		ck_assert_ptr_nonnull(m);
		ck_assert_int_ge(monitor_begin(m, rnd()), 0);
		for (int k = 0; k < 10; k++) {
			struct pts_op op;
			random_op(&op);
			ck_assert_int_ge(monitor_after_op(m, &op, (uint64_t)k, "random", rnd()), 0);
		}
		render_all(m);
		monitor_destroy(m);
	}
	synth_free(s);
}
END_TEST

/* a value that looks like something the monitor follows */
static uint64_t plausible(const struct synth *s)
{
	const struct pts_descriptor *d = &s->desc;
	switch (rnd() % 6) {
	case 0:
		return d->dmap_base + rnd() % SYNTH_RAM;
	case 1:
		return d->pv_kva_base + rnd() % 0x4000;
	case 2:
		return (rnd() % (SYNTH_RAM >> 12)) << 12 | (rnd() & 0x8000000000000fffull);
	case 3:
		return rnd();
	case 4:
		return d->vm_page_array + (rnd() % 1024) * d->vm_page_size;
	}
	return 0;
}

static void corrupt(struct synth *s)
{
	static const uint64_t region[][2] = {
	    {0x100000, 0x108000}, /* descriptor, pool, pmaps */
	    {0x108000, 0x110000}, /* TLB ledger head and first records */
	    {0x148000, 0x15c000}, /* vm_page array */
	    {0x160000, 0x1a0000}, /* page tables and pool pages */
	    {0, SYNTH_RAM},
	};
	unsigned n = 1 + (unsigned)(rnd() % 8);
	for (unsigned i = 0; i < n; i++) {
		const uint64_t *r = region[rnd() % 5];
		uint64_t at = (r[0] + rnd() % (r[1] - r[0])) & ~7ull;
		switch (rnd() % 4) {
		case 0:
			s->mem[at + rnd() % 8] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1:
			synth_w64(s, at, synth_r64(s, at) ^ (1ull << (rnd() % 64)));
			break;
		case 2:
			synth_w64(s, at, plausible(s));
			break;
		default:
			s->mem[at] = (uint8_t)rnd();
		}
	}
}

/* ---- hostile descriptors: the fields that size what the monitor allocates or visits */

#define BIG_RAM (128ull << 20)

#define DFIELD(f)                                                                                  \
	{                                                                                          \
#f, offsetof(struct pts_descriptor, f), sizeof(((struct pts_descriptor *)0)->f)    \
	}
static const struct dfield {
	const char *name;
	size_t off, width;
} dfields[] = {
    DFIELD(kenter_size),      DFIELD(kenter_base),       DFIELD(pv_kva_size),
    DFIELD(pv_kva_base),      DFIELD(dmap_size),         DFIELD(kern_size),
    DFIELD(vm_page_array),    DFIELD(vm_page_count),     DFIELD(vm_page_first_pfn),
    DFIELD(vm_page_size),     DFIELD(arena_first_pfn),   DFIELD(arena_npages),
    DFIELD(pv_entry_size),    DFIELD(pool_item_offset),  DFIELD(pmap_size),
    DFIELD(ptp_hash_size),    DFIELD(off_pm_ptp_hash),   DFIELD(pool_size),
    DFIELD(pool_header_size), DFIELD(kernel_slot_first), DFIELD(kernel_slot_last),
    DFIELD(user_max),         DFIELD(tlb_ledger),        DFIELD(pv_pool),
};
#define NDFIELDS (sizeof dfields / sizeof dfields[0])

static uint64_t dfield_get(const uint8_t *desc, const struct dfield *f)
{
	uint64_t v = 0;
	memcpy(&v, desc + f->off, f->width);
	return v;
}

static void dfield_set(uint8_t *desc, const struct dfield *f, uint64_t v)
{
	memcpy(desc + f->off, &v, f->width);
}

/* a value that stretches a size or moves a window */
static uint64_t hostile(uint64_t v)
{
	switch (rnd() % 8) {
	case 0:
		return v ^ (1ull << (rnd() % 48));
	case 1:
		return v << (1 + rnd() % 24);
	case 2:
		return 1ull << (rnd() % 48);
	case 3:
		return BIG_RAM >> (rnd() % 16);
	case 4:
		return ~0ull >> (rnd() % 64);
	case 5:
		return v + (rnd() % 64) * 8;
	case 6:
		return v - (rnd() % 64) * 8;
	}
	return rnd();
}

/* is v for f, with the rest of the descriptor as it is, accepted? */
static bool accepted(const uint8_t *desc, const struct dfield *f, uint64_t v,
                     const struct gmem *mem)
{
	struct pts_descriptor d;
	char err[8];
	memcpy(&d, desc, sizeof d);
	dfield_set((uint8_t *)&d, f, v);
	return dfield_get((const uint8_t *)&d, f) == v &&
	       desc_validate(&d, mem, err, sizeof err) == 0;
}

/*
 * The largest value of f the monitor accepts, among powers of two, their
 * page-aligned predecessors and the distances between the descriptor's own
 * fields (a window stretched up to the next one): what an unbounded monitor
 * would choke on.
 */
static uint64_t stretch(const uint8_t *desc, const struct dfield *f, const struct gmem *mem)
{
	uint64_t best = dfield_get(desc, f);
	for (unsigned k = 0; k < 64; k++) {
		uint64_t v = 1ull << k;
		if (v > best && accepted(desc, f, v, mem))
			best = v;
		if (k > 12 && v - 4096 > best && accepted(desc, f, v - 4096, mem))
			best = v - 4096;
	}
	for (size_t a = 0; a < NDFIELDS; a++)
		for (size_t b = 0; b < NDFIELDS; b++) {
			uint64_t v = dfield_get(desc, &dfields[a]) - dfield_get(desc, &dfields[b]);
			if (v > best && accepted(desc, f, v, mem))
				best = v;
		}
	return best;
}

/* one descriptor field set to a hostile value; what was set, for messages */
static const char *corrupt_descriptor(uint8_t *desc, const struct gmem *mem, char *what, size_t len)
{
	const struct dfield *f = &dfields[rnd() % NDFIELDS];
	dfield_set(desc, f, rnd() % 2 ? hostile(dfield_get(desc, f)) : stretch(desc, f, mem));
	snprintf(what, len, "%s = 0x%llx", f->name, (unsigned long long)dfield_get(desc, f));
	return what;
}

/* the image at the bottom of 128 MiB of guest RAM, all of it resident */
static uint8_t *big_ram(const struct synth *s)
{
	uint8_t *ram = malloc(BIG_RAM);
	ck_assert_ptr_nonnull(ram);
	memset(ram + SYNTH_RAM, 0, BIG_RAM - SYNTH_RAM);
	memcpy(ram, s->mem, SYNTH_RAM);
	return ram;
}

/* the descriptor over all 128 MiB: direct map, vm_page array and arena */
static void whole_ram(struct pts_descriptor *d, uint32_t vm_page_size)
{
	d->dmap_size = BIG_RAM;
	d->vm_page_array = d->dmap_base;
	d->vm_page_size = vm_page_size;
	d->vm_page_count = BIG_RAM >> 12;
	d->arena_npages = d->vm_page_count - d->arena_first_pfn;
}

#define HOSTILE(fn, stmt)                                                                          \
	static void fn(struct pts_descriptor *d)                                                   \
	{                                                                                          \
		stmt;                                                                              \
	}
HOSTILE(kenter_256g, d->kenter_size = 256ull << 30)
HOSTILE(kenter_to_pv, d->kenter_size = d->pv_kva_base - d->kenter_base)
HOSTILE(vmp_page_size, whole_ram(d, PTS_PAGE_SIZE))
HOSTILE(vmp_max_size, whole_ram(d, DESC_VM_PAGE_SIZE_MAX))
HOSTILE(vmp_all_ram, whole_ram(d, SYN_VMP_SIZE))
HOSTILE(pv_window_1t, d->pv_kva_size = 1ull << 40)
HOSTILE(hash_largest,
        (d->pmap_size = PTS_PAGE_SIZE, d->ptp_hash_size = (PTS_PAGE_SIZE - SYN_PM_HASH) / 8))

static const struct {
	const char *field;
	void (*fn)(struct pts_descriptor *d);
} hostile_desc[] = {
    {"kenter_size 256 GiB", kenter_256g},
    {"kenter_size up to the pv KVA window", kenter_to_pv},
    {"vm_page_size 4096 over all RAM", vmp_page_size},
    {"vm_page_size at its limit over all RAM", vmp_max_size},
    {"vm_page_count of all RAM", vmp_all_ram},
    {"pv_kva_size 1 TiB", pv_window_1t},
    {"ptp_hash_size filling pmap_size 4096", hash_largest},
};
#define NHOSTILE ((int)(sizeof hostile_desc / sizeof hostile_desc[0]))

/* the faster of two runs: a budget is about the monitor, not a busy machine */
static struct tc_cost cost_of(const struct gmem *mem, gpa_t desc_pa, uint64_t cr3,
                              unsigned timeout_s, char *over, size_t len)
{
	struct tc_cost c = tc_cost(mem, desc_pa, cr3, timeout_s);
	if (tc_cost_over(&c, timeout_s, over, len)[0] != '\0' && c.ran)
		c = tc_cost(mem, desc_pa, cr3, timeout_s);
	tc_cost_over(&c, timeout_s, over, len);
	return c;
}

START_TEST(test_hostile_descriptor)
{
	struct tc t;
	char over[200];
	tc_start(&t);
	uint8_t *ram = big_ram(t.s);
	struct gmem mem = {.base = ram, .size = BIG_RAM};
	struct pts_descriptor d = t.s->desc;
	hostile_desc[_i].fn(&d);
	memcpy(ram + t.s->desc_pa, &d, sizeof d);
	struct tc_cost c = cost_of(&mem, t.s->desc_pa, t.s->cr3, 20, over, sizeof over);
	ck_assert_msg(over[0] == '\0', "descriptor %s: %s", hostile_desc[_i].field, over);
	size_t name = strcspn(hostile_desc[_i].field, " "); /* a refusal names the field */
	ck_assert_msg(c.created ||
	                  (strncmp(c.err, "descriptor: ", 12) == 0 && strstr(c.err, "\n") == NULL &&
	                   memmem(c.err, strlen(c.err), hostile_desc[_i].field, name) != NULL),
	              "%s: %s", hostile_desc[_i].field, c.err);
	free(ram);
	tc_end(&t);
}
END_TEST

/* ---- lists the guest builds: as long as RAM allows, never longer */

/* a chain of 8-byte links at [from, to): each link's word holds the KVA of the next */
static uint64_t chain(struct synth *s, gpa_t from, gpa_t to, uint64_t stride)
{
	uint64_t n = 0;
	for (gpa_t pa = from; pa + stride < to; pa += stride, n++)
		synth_w64(s, pa, s->desc.dmap_base + pa + stride);
	return n;
}

static bool reported_text(const struct tc *t, const char *id, const char *text)
{
	for (size_t i = 0; i < monitor_nviolations(t->m); i++) {
		const struct violation *v = monitor_violation(t->m, i);
		if (strcmp(v->inv->id, id) == 0 && strstr(v->message, text) != NULL)
			return true;
	}
	return false;
}

/* with a pv KVA window far larger than RAM, the pool page lists are still followed only as far as
 * RAM holds pages */
START_TEST(test_pool_pages_bounded_by_ram)
{
	struct tc t;
	char err[256];
	tc_start(&t);
	monitor_destroy(t.m);
	struct pts_descriptor *d = &t.s->desc;
	d->pv_kva_size = 1ull << 40;
	memcpy(t.s->mem + t.s->desc_pa, d, sizeof *d);
	uint64_t links =
	    chain(t.s, 0x300000, SYNTH_RAM, SYN_PH_SIZE); /* headers: next at 0, freelist 0 */
	for (gpa_t pa = 0x300000 + SYN_PH_FREELIST; pa < SYNTH_RAM; pa += SYN_PH_SIZE)
		synth_w64(t.s, pa, 0);
	synth_w64(t.s, t.s->pool_pa + SYN_PR_EMPTY, d->dmap_base + 0x300000);
	t.m = monitor_create(&t.s->gmem, t.s->desc_pa, NULL, err, sizeof err);
	ck_assert_msg(t.m != NULL, "%s", err);
	ck_assert_uint_gt(links, desc_max_pool_pages(d, &t.s->gmem));
	ck_assert_int_ge(monitor_begin(t.m, t.s->cr3), 0);
	ck_assert_msg(reported_text(&t, "POOL-2", "overflow"),
	              "pv_kva_size 1 TiB: a list of %llu pool pages in %llu pages of RAM was "
	              "followed to its end",
	              (unsigned long long)links, (unsigned long long)(SYNTH_RAM >> 12));
	tc_end(&t);
}
END_TEST

/* the pv lists likewise: no more entries than the pool's pages in RAM hold */
START_TEST(test_pv_entries_bounded_by_ram)
{
	struct tc t;
	char err[256];
	tc_start(&t);
	monitor_destroy(t.m);
	struct pts_descriptor *d = &t.s->desc;
	d->pv_kva_size = 1ull << 40;
	memcpy(t.s->mem + t.s->desc_pa, d, sizeof *d);
	uint64_t links = chain(t.s, 0x300000, SYNTH_RAM, 8); /* entries overlap: next at offset 0 */
	synth_w64(t.s, tc_vmp(&t, 9, SYN_VMP_PVLIST), d->dmap_base + 0x300000);
	t.m = monitor_create(&t.s->gmem, t.s->desc_pa, NULL, err, sizeof err);
	ck_assert_msg(t.m != NULL, "%s", err);
	ck_assert_uint_gt(links, desc_max_pv(d, &t.s->gmem));
	ck_assert_int_ge(monitor_begin(t.m, t.s->cr3), 0);
	ck_assert_msg(reported_text(&t, "PV-5", "more than"),
	              "pv_kva_size 1 TiB: a pv list of %llu entries in %llu pages of RAM was "
	              "followed to its end",
	              (unsigned long long)links, (unsigned long long)(SYNTH_RAM >> 12));
	tc_end(&t);
}
END_TEST

/* ---- corrupted images, each within the budget */

struct image_run {
	struct synth *s; /* the clean image's synth (for addresses) */
	const uint8_t *clean;
	uint8_t *ram; /* BIG_RAM; the monitor reads it */
	struct gmem mem;
	char what[96]; /* the descriptor field corrupted, if any */
};

/* corrupt the image the synth describes, in ram */
static void corrupt_ram(struct image_run *r)
{
	uint8_t *mem = r->s->mem;
	r->s->mem = r->ram;
	corrupt(r->s);
	r->s->mem = mem;
}

/* one corrupted image: create, begin, two checks; the time of each into ms[] */
static void run_image(struct image_run *r, double *ms)
{
	char err[256];
	struct pts_op op;
	memcpy(r->ram, r->clean, SYNTH_RAM);
	r->what[0] = '\0';
	if (rnd() % 4 == 0) /* corrupt before registration too */
		corrupt_ram(r);
	if (rnd() % 4 == 0)
		corrupt_descriptor(r->ram + r->s->desc_pa, &r->mem, r->what, sizeof r->what);
	memset(ms, 0, 3 * sizeof *ms);
	struct monitor *m = monitor_create(&r->mem, r->s->desc_pa, NULL, err, sizeof err);
	if (m == NULL)
		return;
	double t = tc_now_ms();
	ck_assert_int_ge(monitor_begin(m, r->s->cr3), 0);
	ms[0] = tc_now_ms() - t;
	corrupt_ram(r);
	random_op(&op);
	t = tc_now_ms();
	ck_assert_int_ge(monitor_after_op(m, &op, 1, "random", r->s->cr3), 0);
	ms[1] = tc_now_ms() - t;
	corrupt_ram(r);
	t = tc_now_ms();
	ck_assert_int_ge(monitor_after_op(m, &op, 2, "random", rnd()), 0);
	ms[2] = tc_now_ms() - t;
	render_all(m);
	monitor_destroy(m);
}

static bool image_within(const double *ms)
{
	double k = tc_budget_scale();
	return ms[0] <= TC_BUDGET_FIRST_MS * k && ms[1] <= TC_BUDGET_FIRST_MS * k &&
	       ms[2] <= TC_BUDGET_CHECK_MS * k;
}

START_TEST(test_corrupted_images)
{
	struct tc t;
	struct image_run r;
	double ms[3];
	tc_start(&t);
	r.s = t.s;
	uint8_t *clean = malloc(SYNTH_RAM);
	ck_assert_ptr_nonnull(clean);
	memcpy(clean, t.s->mem, SYNTH_RAM);
	r.clean = clean;
	r.ram = big_ram(t.s);
	r.mem = (struct gmem){.base = r.ram, .size = BIG_RAM};
	rng_state = 0xc0ffee + (uint64_t)_i;
	long rss0 = tc_maxrss_kib();
	for (unsigned it = 0; it < iterations(2000) / 2; it++) {
		uint64_t seed = rng_state;
		run_image(&r, ms);
		if (!image_within(ms)) { /* the same image again: the budget is about the monitor */
			rng_state = seed;
			run_image(&r, ms);
		}
		ck_assert_msg(image_within(ms),
		              "image %u (descriptor %s): begin %.1f ms, checks %.1f and %.1f ms; "
		              "budget %.0f ms for "
		              "begin and the first check, %.0f ms after",
		              it, r.what[0] ? r.what : "intact", ms[0], ms[1], ms[2],
		              TC_BUDGET_FIRST_MS * tc_budget_scale(),
		              TC_BUDGET_CHECK_MS * tc_budget_scale());
		long grown = tc_maxrss_kib() - rss0;
		ck_assert_msg(
		    !tc_budget_rss() || grown <= TC_BUDGET_RSS_KIB,
		    "image %u (descriptor %s): the monitor grew the RSS by %ld KiB, budget %ld KiB",
		    it, r.what[0] ? r.what : "intact", grown, TC_BUDGET_RSS_KIB);
	}
	free(r.ram);
	free(clean);
	tc_end(&t);
}
END_TEST

/* struct pts_smp as a hostile guest may write it: a random word at a time
 * (put back after its check), then ncpus past the ABI's CPUs.  The monitor
 * reports (SMP-2 for the shape), renders, and never crashes or overruns. */
START_TEST(test_hostile_smp)
{
	struct tc t;
	tc_start_cpus_mode(&t, TC_FULL, 2);
	gpa_t smp = t.s->smp_pa;
	rng_state = 0x5eed5eedull;
	for (unsigned it = 0; it < iterations(2000) / 4; it++) {
		gpa_t w = smp + 8 * (rnd() % (sizeof(struct pts_smp) / 8));
		uint64_t old = synth_r64(t.s, w);
		synth_w64(t.s, w, rnd() % 4 ? rnd() : rnd() % 16);
		tc_run(&t, PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
		tc_check(&t);
		render_all(t.m);
		synth_w64(t.s, w, old);
	}
	synth_w32(t.s, smp + offsetof(struct pts_smp, ncpus), PTS_MAX_CPUS + 1);
	tc_run(&t, PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
	tc_check(&t);
	ck_assert(tc_reported(&t, "SMP-2"));
	tc_end(&t);
}
END_TEST

/* the CPUs as `dump --cpu-state` shows them: CPU 0 on pmap 1 and in its
 * pm_active, CPU 1 on the kernel pmap, the ledger's last records; a broken
 * struct pts_smp leaves CPU 0 with its vCPU's CR3 and says why; a broken
 * ledger header is an error, not a read of garbage */
START_TEST(test_cpu_state)
{
	static struct monitor_cpus mc;
	struct pts_tlb_record rec[PTS_TLB_RECORDS];
	size_t got;
	uint64_t head;
	struct tc t;

	tc_start_cpus_mode(&t, TC_FULL, 2);
	tc_ok(&t, PTS_OP_REMOVE, 1, 0x400000, 0x402000, 0, 0, 0); /* two PAGE records at least */
	monitor_cpus(t.m, &mc);
	ck_assert(mc.smp && mc.ncpus == 2 && mc.issue[0] == '\0');
	ck_assert(mc.on[0] > 0 && mc.pmap[mc.on[0]].slot == 1 && mc.pmap[mc.on[0]].active == 1u);
	ck_assert(mc.on[1] == 0 && mc.pmap[0].slot == -1);
	ck_assert_uint_eq(mc.cr3[0] & PG_FRAME, mc.pmap[mc.on[0]].root);
	ck_assert_int_eq(monitor_ledger_tail(t.m, PTS_TLB_RECORDS, rec, &got, &head), 0);
	ck_assert(head >= 2 && got == head && rec[got - 1].seq == head - 1);
	ck_assert_int_eq(monitor_ledger_tail(t.m, 2, rec, &got, &head), 0);
	ck_assert(got == 2 && rec[0].seq == head - 2 && rec[1].seq == head - 1);
	ck_assert_str_eq(monitor_tlb_kind_name(PTS_TLB_SWITCH), "SWITCH");
	ck_assert_ptr_null(monitor_tlb_kind_name(99));

	synth_w32(t.s, t.s->smp_pa + offsetof(struct pts_smp, magic), 0);
	synth_w64(t.s, t.s->ledger_pa, 0); /* the ledger's magic and nrecords */
	tc_run(&t, PTS_OP_EXTRACT, 1, 0x402000, 0, 0, 0, 0);
	tc_check(&t);
	monitor_cpus(t.m, &mc);
	ck_assert(!mc.smp && mc.ncpus == 1 && strstr(mc.issue, "magic") != NULL);
	ck_assert_uint_eq(mc.cr3[0], t.s->cr3);
	ck_assert_int_eq(monitor_ledger_tail(t.m, 2, rec, &got, &head), -1);
	ck_assert_uint_eq(got, 0);
	tc_end(&t);
}
END_TEST

Suite *suite_monitor_robust(void)
{
	Suite *s = suite_create("monitor_robust");
	TCase *tc = tcase_create("robust");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_random_descriptor, 0, 2);
	tcase_add_test(tc, test_random_memory);
	tcase_add_loop_test(tc, test_corrupted_images, 0, 2);
	tcase_add_loop_test(tc, test_hostile_descriptor, 0, NHOSTILE);
	tcase_add_test(tc, test_pool_pages_bounded_by_ram);
	tcase_add_test(tc, test_pv_entries_bounded_by_ram);
	tcase_add_test(tc, test_hostile_smp);
	tcase_add_test(tc, test_cpu_state);
	suite_add_tcase(s, tc);
	return s;
}
