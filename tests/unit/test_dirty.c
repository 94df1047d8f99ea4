/* tests/unit/test_dirty.c - the dirty log, on each backend: after every op
 * it names every page whose bytes changed (checked against a copy of guest
 * RAM), its bitmap and list agree, and a mutant's finding lands on the same
 * op whatever the log.  On KVM, the three ways of asking KVM
 * (--dirty-log ring|clear|get) name the same pages after every op, and a
 * dirty ring that overflows inside one op is noticed (that op is checked in
 * full) and picked up again.  On QEMU the log is the ptsdirty plugin's.
 */
#include "runner.h"
#include "session_impl.h"
#include "vm_impl.h"
#include "testutil.h"

static const char script_text[] = "create a\n"
                                  "create b\n"
                                  "enter a 0x400000 pg1 rw\n"
                                  "enter a 0x401000 pg2 rw\n"
                                  "enter b 0x7fffffffe000 pg1 r wired\n"
                                  "touch a 0x400000 w\n"
                                  "zero pg3\n"
                                  "copy pg3 pg4\n"
                                  "is_modified pg1\n"
                                  "page_protect pg1 r\n"
                                  "zero pg5\n"
                                  "touch a 0x401000 w\n"
                                  "remove a 0x400000 0x402000\n"
                                  "is_modified pg2\n"
                                  "kenter k+0x2000 pg3 rw\n"
                                  "zero pg6\n"
                                  "enter b 0x10000000 pg6 rw\n"
                                  "zero pg7\n"
                                  "destroy a\n"
                                  "collect b\n";

/* The same ops, every other one on CPU 1 of two: CPU 1 walks its own page
 * tables (its own CR3), caches, and changes what CPU 0 had cached. */
static const char script_smp_text[] = "create a\n"
                                      "create b\n"
                                      "cpu1: activate a\n"
                                      "enter a 0x400000 pg1 rw\n"
                                      "cpu1: enter a 0x401000 pg2 rw\n"
                                      "enter b 0x7fffffffe000 pg1 r wired\n"
                                      "cpu1: touch a 0x400000 w\n"
                                      "touch a 0x401000 r\n"
                                      "cpu1: zero pg3\n"
                                      "copy pg3 pg4\n"
                                      "cpu1: is_modified pg1\n"
                                      "page_protect pg1 r\n"
                                      "cpu1: touch a 0x401000 w\n"
                                      "cpu1: touch b 0x7fffffffe000 r\n"
                                      "remove b 0x7fffffffe000\n"
                                      "cpu1: remove a 0x400000 0x402000\n"
                                      "kenter k+0x2000 pg3 rw\n"
                                      "cpu1: kremove k+0x2000\n"
                                      "cpu1: enter b 0x10000000 pg6 rw\n"
                                      "cpu1: touch b 0x10000000 w\n"
                                      "destroy a\n"
                                      "cpu1: collect b\n";

static struct script *parse(const char *text)
{
	struct script *sc = NULL;
	char err[512];

	ck_assert_msg(
	    script_parse_string("<test>", text, strlen(text), NULL, &sc, err, sizeof(err)) == 0,
	    "%s", err);
	return sc;
}

static void config(struct session_config *cfg, const char *guest, enum vm_dirty_mode mode)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->guest = guest;
	cfg->mem_mib = 64;
	cfg->timeout_s = 60;
	cfg->arena_pages = 64;
	cfg->pv_per_page = 8;
	cfg->ring = true;
	cfg->stop_each = true;
	cfg->monitor = true;
	cfg->incremental = true;
	cfg->dirty_mode = mode;
	ck_assert_int_eq(vm_backend_parse(tu_backend(), &cfg->backend), 0);
}

static bool on_qemu(void)
{
	return vm_backend_resolve(strcmp(tu_backend(), "kvm") == 0 ? VM_BACKEND_KVM
	                          : strcmp(tu_backend(), "qemu") == 0
	                              ? VM_BACKEND_QEMU
	                              : VM_BACKEND_AUTO) == VM_BACKEND_QEMU;
}

/* KVM's own log modes: not run on the QEMU pass, which has its own log */
static bool need_kvm_log(const char *test)
{
	char name[128];

	if (!tu_need_backend(test))
		return false;
	if (!on_qemu())
		return true;
	snprintf(name, sizeof(name), "%s [%s]", test, tu_backend());
	tu_skip(name,
	        "KVM's dirty-log modes (ring, clear, get): the qemu backend logs with its plugin");
	return false;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* the published log, sorted; its bitmap holds exactly its list */
static size_t logged(const struct vm *vm, uint64_t *out, size_t max)
{
	const struct pfn_set *p = &vm->dirty_last;
	uint64_t bits = 0;

	ck_assert_uint_le(p->n, max);
	for (uint64_t w = 0; w < vm->dirty_words; w++)
		bits += (uint64_t)__builtin_popcountll(p->bits[w]);
	ck_assert_uint_eq(bits, p->n);
	for (uint64_t i = 0; i < p->n; i++) {
		ck_assert(vm_page_dirty((void *)vm, p->pfns[i] * PTS_PAGE_SIZE));
		out[i] = p->pfns[i];
	}
	qsort(out, p->n, sizeof(*out), cmp_u64);
	return p->n;
}

#define MAXLOG 4096
struct trace {
	size_t nops;
	size_t n[64];
	uint64_t pfn[64][MAXLOG];
	bool all[64];
	char result[64][32];
	uint64_t overflows, full_exits;
	uint64_t op_overflows[64]; /* the ring's overflows during each op */
	size_t violations;
};

/* the script (the SMP one on `cpus` > 1) with a log, its pages after every op */
static void run_trace_on(unsigned cpus, enum vm_dirty_mode mode, uint32_t ring_bytes,
                         struct trace *t)
{
	struct session_config cfg;
	struct session *s = calloc(1, sizeof(*s));
	struct script *sc = parse(cpus > 1 ? script_smp_text : script_text);

	ck_assert_ptr_nonnull(s);
	memset(t, 0, sizeof(*t));
	config(&cfg, tu_guest(), mode);
	cfg.dirty_ring_bytes = ring_bytes;
	cfg.cpus = cpus;
	ck_assert_int_eq(session_boot(s, &cfg), 0);
	ck_assert_int_eq(s->vm->dirty_mode, mode);
	ck_assert_uint_le(sc->n_ops, 64);
	for (size_t i = 0; i < sc->n_ops; i++) {
		uint64_t before = s->vm->ring_overflows;
		enum session_status st = session_op(s, &sc->ops[i]);
		t->op_overflows[i] = s->vm->ring_overflows - before;
		ck_assert_msg(st == SESSION_OK || st == SESSION_VIOLATION, "op %zu: %s", i, s->err);
		t->violations += session_nviolations(s);
		t->all[i] = s->vm->dirty_last.all;
		t->n[i] = logged(s->vm, t->pfn[i], MAXLOG);
		result_format(sc->ops[i].op.result, sc->ops[i].op.value, t->result[i],
		              sizeof(t->result[i]));
	}
	t->nops = sc->n_ops;
	t->overflows = s->vm->ring_overflows;
	t->full_exits = s->vm->ring_full_exits;
	session_destroy(s);
	free(s);
	script_free(sc);
}

static void run_trace(enum vm_dirty_mode mode, uint32_t ring_bytes, struct trace *t)
{
	run_trace_on(1, mode, ring_bytes, t);
}

static void same_pages(const struct trace *a, const struct trace *b, const char *what)
{
	ck_assert_uint_eq(a->nops, b->nops);
	for (size_t i = 0; i < a->nops; i++) {
		ck_assert_msg(strcmp(a->result[i], b->result[i]) == 0, "%s: op %zu: %s vs %s", what,
		              i, a->result[i], b->result[i]);
		if (a->all[i] || b->all[i])
			continue; /* one side lost track and said so */
		ck_assert_msg(a->n[i] == b->n[i], "%s: op %zu: %zu pages vs %zu", what, i, a->n[i],
		              b->n[i]);
		ck_assert_msg(memcmp(a->pfn[i], b->pfn[i], a->n[i] * sizeof(uint64_t)) == 0,
		              "%s: op %zu: different pages", what, i);
	}
	ck_assert_uint_eq(a->violations, b->violations);
}

START_TEST(backends_name_the_same_pages)
{
	static struct trace ring, clear, get;

	if (!need_kvm_log("backends_name_the_same_pages"))
		return;
	run_trace(VM_DIRTY_RING, 0, &ring);
	run_trace(VM_DIRTY_CLEAR, 0, &clear);
	run_trace(VM_DIRTY_GET, 0, &get);
	ck_assert_uint_eq(ring.overflows, 0);
	for (size_t i = 0; i < ring.nops; i++) {
		ck_assert(!ring.all[i] && !clear.all[i] && !get.all[i]);
		ck_assert_msg(ring.n[i] > 0, "op %zu: the guest wrote nothing?", i);
	}
	same_pages(&ring, &clear, "ring vs clear");
	same_pages(&clear, &get, "clear vs get");
}
END_TEST

/* a 512-entry ring: a `zero` pushes about 545 entries (this KVM logs every
 * store, and 512 of them come from one `rep stosq` it does not interrupt),
 * so the ring overflows inside ops */
START_TEST(small_ring_overflows_and_recovers)
{
	static struct trace small, clear;
	size_t lost = 0;

	if (!need_kvm_log("small_ring_overflows_and_recovers"))
		return;
	run_trace_on(1, VM_DIRTY_RING, 8192, &small);
	run_trace_on(1, VM_DIRTY_CLEAR, 0, &clear);
	ck_assert_uint_gt(small.overflows, 0);
	/* each op that overflowed the ring (once, or twice where this KVM's
	 * ring stays full after a harvest) says so, and no other op does */
	for (size_t i = 0; i < small.nops; i++) {
		lost += small.all[i];
		ck_assert_msg(small.all[i] == (small.op_overflows[i] > 0),
		              "op %zu: %llu overflows, marked %s", i,
		              (unsigned long long)small.op_overflows[i],
		              small.all[i] ? "lost" : "complete");
	}
	ck_assert_uint_gt(lost, 0);
	ck_assert_uint_le(lost, small.overflows);
	same_pages(&small, &clear, "small ring vs clear");
}
END_TEST

/* Many ops without a stop fill a 4,096-entry ring several times: KVM stops
 * the vCPU (the run loop reads the ring) or, often here, overflows it.  What
 * the ring names then is either every page the bitmap names or marked lost,
 * and the ops after it name exactly the bitmap's pages again. */
struct batch_trace {
	size_t n[8];
	uint64_t pfn[8][MAXLOG];
	bool all[8];
	uint64_t full_exits, overflows;
};

static void batch_pages(enum vm_dirty_mode mode, uint32_t ring_bytes, struct batch_trace *t)
{
	struct session_config cfg;
	struct session *s = calloc(1, sizeof(*s));
	struct script_op ops[200];

	ck_assert_ptr_nonnull(s);
	memset(t, 0, sizeof(*t));
	config(&cfg, tu_guest(), mode);
	cfg.monitor = false;
	cfg.dirty_ring_bytes = ring_bytes;
	ck_assert_int_eq(session_boot(s, &cfg), 0);
	ck_assert_int_eq(vm_dirty_sync(s->vm), 0);
	memset(ops, 0, sizeof(ops));
	ops[0].op.kind = PTS_OP_CREATE;
	for (unsigned i = 1; i < 200; i++) {
		ops[i].op.kind = i % 4 == 0 ? PTS_OP_ZERO : PTS_OP_ENTER;
		ops[i].op.va = 0x400000 + (uint64_t)i * 0x201000; /* a new table now and then */
		ops[i].op.page = i % 64;
		ops[i].op.prot = PTS_PROT_READ | PTS_PROT_WRITE;
	}
	session_set_stop_each(s, false);
	for (unsigned k = 0; k < 8; k++) {
		/* the batch first, then single ops, each followed by a sync */
		size_t from = k == 0 ? 0 : 192 + k, len = k == 0 ? 193 : 1;
		enum session_status st = session_run_batch(s, ops + from, len);
		ck_assert_msg(st == SESSION_OK, "batch: %s / %s", s->err, s->vm->error);
		ck_assert_int_eq(vm_dirty_sync(s->vm), 0);
		t->all[k] = s->vm->dirty_last.all;
		t->n[k] = logged(s->vm, t->pfn[k], MAXLOG);
	}
	t->full_exits = s->vm->ring_full_exits;
	t->overflows = s->vm->ring_overflows;
	session_destroy(s);
	free(s);
}

START_TEST(ring_overflow_in_batch_recovers)
{
	static struct batch_trace ring, clear;

	if (!need_kvm_log("ring_overflow_in_batch_recovers"))
		return;
	batch_pages(VM_DIRTY_RING, 65536, &ring);
	batch_pages(VM_DIRTY_CLEAR, 0, &clear);
	ck_assert_uint_gt(ring.full_exits + ring.overflows, 0);
	ck_assert(!clear.all[0]);
	ck_assert_msg(ring.all[0] || (ring.n[0] == clear.n[0] &&
	                              memcmp(ring.pfn[0], clear.pfn[0], ring.n[0] * 8) == 0),
	              "the batch: ring names %zu pages, clear %zu", ring.n[0], clear.n[0]);
	for (unsigned k = 1; k < 8; k++) {
		ck_assert_msg(!ring.all[k], "op %u after the batch: the ring still lost track", k);
		ck_assert_uint_eq(ring.n[k], clear.n[k]);
		ck_assert(memcmp(ring.pfn[k], clear.pfn[k], ring.n[k] * 8) == 0);
	}
}
END_TEST

/* a mutant's finding is the same op whatever the log: on KVM ring, clear,
 * get and a small ring; on QEMU the plugin and no log at all */
START_TEST(findings_agree_across_logs)
{
	static const char *mutant = "build/mutants/remove-forgets-modified.elf";
	static const enum vm_dirty_mode kvm_modes[] = {VM_DIRTY_RING, VM_DIRTY_CLEAR, VM_DIRTY_GET,
	                                               VM_DIRTY_RING};
	static const enum vm_dirty_mode qemu_modes[] = {VM_DIRTY_PLUGIN, VM_DIRTY_NONE};
	const enum vm_dirty_mode *modes = on_qemu() ? qemu_modes : kvm_modes;
	int n = on_qemu() ? 2 : 4;
	struct finding f[4];
	char err[512];

	if (!tu_need_backend("findings_agree_across_logs"))
		return;
	ck_assert_msg(access(mutant, R_OK) == 0, "%s missing: make mutants", mutant);
	for (int k = 0; k < n; k++) {
		struct session_config cfg;
		struct script *sc = parse(script_text);
		config(&cfg, mutant, modes[k]);
		cfg.dirty_ring_bytes = k == 3 ? 8192 : 0;
		ck_assert_int_eq(run_script(&cfg, sc, false, &f[k], NULL, NULL, err, sizeof(err)),
		                 RUN_FINDING);
		script_free(sc);
	}
	for (int k = 1; k < n; k++) {
		ck_assert_uint_eq(f[k].signature, f[0].signature);
		ck_assert_uint_eq(f[k].op_index, f[0].op_index);
	}
	for (int k = 0; k < n; k++)
		finding_free(&f[k]);
}
END_TEST

/* The oracle: a copy of guest RAM before each op; every page whose bytes
 * differ after it must be in the log (or the log said it lost track), the
 * command ring's page aside (the host writes it, no log sees that).  On QEMU
 * this covers the Accessed/Dirty bits TCG's page walker sets behind the
 * plugin's back (the backend adds the page-table pages of touched pages),
 * with two CPUs each through its own CR3. */
static void log_covers(const char *test, const char *text, unsigned cpus)
{
	struct session_config cfg;
	struct session *s = calloc(1, sizeof(*s));
	struct script *sc = parse(text);
	uint8_t *before;
	uint64_t ring_pfn, ring_last, size, checked = 0, logged_ops = 0;

	if (!tu_need_backend(test))
		return;
	ck_assert_ptr_nonnull(s);
	config(&cfg, tu_guest(), VM_DIRTY_AUTO);
	cfg.cpus = cpus;
	ck_assert_int_eq(session_boot(s, &cfg), 0);
	ck_assert_msg(s->vm->dirty_mode != VM_DIRTY_NONE, "no dirty log on this backend");
	size = s->vm->mem.size;
	before = malloc(size);
	ck_assert_ptr_nonnull(before);
	ring_pfn = (uint64_t)((uint8_t *)s->ring - s->vm->mem.base) / PTS_PAGE_SIZE;
	ring_last = ((uint64_t)((uint8_t *)s->ring - s->vm->mem.base) + sizeof(*s->ring) - 1) /
	            PTS_PAGE_SIZE;
	for (size_t i = 0; i < sc->n_ops; i++) {
		memcpy(before, s->vm->mem.base, size);
		enum session_status st = session_op(s, &sc->ops[i]);
		ck_assert_msg(st == SESSION_OK, "op %zu (%s): %s", i,
		              op_kind_name(sc->ops[i].op.kind), s->err);
		ck_assert_uint_eq(session_nviolations(s), 0);
		if (s->vm->dirty_last.all)
			continue;
		logged_ops++;
		for (uint64_t pfn = 0; pfn < size / PTS_PAGE_SIZE; pfn++) {
			uint64_t off = pfn * PTS_PAGE_SIZE;
			if (pfn >= ring_pfn && pfn <= ring_last)
				continue;
			if (memcmp(before + off, s->vm->mem.base + off, PTS_PAGE_SIZE) == 0)
				continue;
			ck_assert_msg(
			    vm_page_dirty(s->vm, off),
			    "op %zu (%s): page %#llx changed but the %s log does not name it", i,
			    op_kind_name(sc->ops[i].op.kind), (unsigned long long)off,
			    vm_dirty_mode_name(s->vm->dirty_mode));
			checked++;
		}
	}
	ck_assert_uint_gt(checked, sc->n_ops); /* the ops did write pages */
	/* and the log kept track through most of them */
	ck_assert_msg(logged_ops * 4 >= sc->n_ops * 3, "the log lost track at %llu of %zu ops",
	              (unsigned long long)(sc->n_ops - logged_ops), sc->n_ops);
	free(before);
	session_destroy(s);
	free(s);
	script_free(sc);
}

START_TEST(log_covers_every_changed_page)
{
	log_covers("log_covers_every_changed_page", script_text, 1);
}
END_TEST

/* QEMU: the plugin's block a vCPU; KVM: a dirty ring a vCPU (or the bitmap) */
START_TEST(log_covers_every_changed_page_on_two_cpus)
{
	log_covers("log_covers_every_changed_page_on_two_cpus", script_smp_text, 2);
}
END_TEST

Suite *suite_dirty(void);
Suite *suite_dirty(void)
{
	Suite *s = suite_create("dirty");
	TCase *tc = tcase_create("backends");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, backends_name_the_same_pages);
	/* one vCPU: with several the command line refuses the ring on KVM (an
	 * AP's overflowed ring stayed "full" on kvm_pvm; docs/smp.md) */
	tcase_add_test(tc, small_ring_overflows_and_recovers);
	tcase_add_test(tc, ring_overflow_in_batch_recovers);
	tcase_add_test(tc, findings_agree_across_logs);
	tcase_add_test(tc, log_covers_every_changed_page);
	tcase_add_test(tc, log_covers_every_changed_page_on_two_cpus);
	suite_add_tcase(s, tc);
	return s;
}
