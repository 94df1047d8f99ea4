/* tests/unit/test_monitor_robust.c - the monitor on hostile guest memory:
 * random bytes, and thousands of random corruptions of a valid image.  It
 * must never crash, hang or read outside guest RAM (run it under ASan or
 * valgrind to be sure of the last), and must render whatever it reports.
 */
#include <stdlib.h>

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
		{0x100000, 0x108000},  /* descriptor, pool, pmaps */
		{0x108000, 0x110000},  /* TLB ledger head and first records */
		{0x148000, 0x15c000},  /* vm_page array */
		{0x160000, 0x1a0000},  /* page tables and pool pages */
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

START_TEST(test_corrupted_images)
{
	struct tc t;
	char err[256];
	tc_start(&t);
	uint8_t *clean = malloc(SYNTH_RAM);
	ck_assert_ptr_nonnull(clean);
	memcpy(clean, t.s->mem, SYNTH_RAM);
	rng_state = 0xc0ffee + (uint64_t)_i;
	for (unsigned it = 0; it < iterations(2000) / 2; it++) {
		memcpy(t.s->mem, clean, SYNTH_RAM);
		bool early = rnd() % 4 == 0; /* corrupt before registration too */
		if (early)
			corrupt(t.s);
		struct monitor *m = monitor_create(&t.s->gmem, t.s->desc_pa, NULL, err, sizeof err);
		if (m == NULL)
			continue;
		ck_assert_int_ge(monitor_begin(m, t.s->cr3), 0);
		corrupt(t.s);
		struct pts_op op;
		random_op(&op);
		ck_assert_int_ge(monitor_after_op(m, &op, 1, "random", t.s->cr3), 0);
		corrupt(t.s);
		ck_assert_int_ge(monitor_after_op(m, &op, 2, "random", rnd()), 0);
		render_all(m);
		monitor_destroy(m);
	}
	free(clean);
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
	suite_add_tcase(s, tc);
	return s;
}
