/* tests/unit/monitor_tc.h - a synthetic image and a monitor on it, driven op
 * by op, for the monitor's suites (included, not compiled on its own).
 */
#ifndef TESTS_UNIT_MONITOR_TC_H
#define TESTS_UNIT_MONITOR_TC_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "monitor.h"
#include "pte.h"
#include "synth.h"

struct tc {
	struct synth *s;
	struct monitor *m;
	uint64_t idx;
	struct pts_op op;
	bool listed; /* the dirty log is also handed over as a bitmap */
};

/* run an op in the image only; the monitor sees it at tc_check() */
static inline uint32_t tc_run(struct tc *t, uint32_t kind, uint32_t pmap, uint64_t va, uint64_t end,
			      uint64_t page, uint32_t prot, uint32_t flags)
{
	return synth_do(t->s, &t->op, kind, pmap, va, end, page, prot, flags);
}

/* with dirty tracking on (tc_start_mode), each check sees the pages written since the last */
static inline int tc_check(struct tc *t)
{
	if (t->listed)
		ck_assert_int_eq(synth_publish_dirty(t->s), 0);
	int n = monitor_after_op(t->m, &t->op, ++t->idx, NULL, t->s->cr3);
	synth_dirty_reset(t->s);
	return n;
}

static inline void tc_dump(const struct tc *t)
{
	for (size_t i = 0; i < monitor_nviolations(t->m); i++)
		violation_print(monitor_violation(t->m, i), stderr);
}

/* run and check; the op must raise no violation */
static inline void tc_ok(struct tc *t, uint32_t kind, uint32_t pmap, uint64_t va, uint64_t end, uint64_t page,
			 uint32_t prot, uint32_t flags)
{
	tc_run(t, kind, pmap, va, end, page, prot, flags);
	int n = tc_check(t);
	if (n != 0)
		tc_dump(t);
	ck_assert_int_eq(n, 0);
}

static inline bool tc_reported(const struct tc *t, const char *id)
{
	for (size_t i = 0; i < monitor_nviolations(t->m); i++)
		if (strcmp(monitor_violation(t->m, i)->inv->id, id) == 0)
			return true;
	return false;
}

/* how the monitor sees the image: no dirty log (full checks), the log page by
 * page, or the log also as a bitmap it can list */
enum tc_mode { TC_FULL, TC_INCREMENTAL, TC_LISTED };

static inline void tc_start_empty_mode(struct tc *t, const char *spec, enum tc_mode mode)
{
	bool incremental = mode != TC_FULL;
	char err[256];
	struct monitor_config cfg = {.check_spec = spec};
	memset(t, 0, sizeof *t);
	t->s = synth_new();
	ck_assert_ptr_nonnull(t->s);
	if (incremental)
		ck_assert_int_eq(synth_track_dirty(t->s), 0);
	t->m = monitor_create(&t->s->gmem, t->s->desc_pa, &cfg, err, sizeof err);
	if (t->m == NULL)
		fprintf(stderr, "%s\n", err);
	ck_assert_ptr_nonnull(t->m);
	ck_assert_int_eq(monitor_begin(t->m, t->s->cr3), 0);
	synth_dirty_reset(t->s);
	t->listed = mode == TC_LISTED;
}

static inline void tc_start_empty(struct tc *t, const char *spec)
{
	tc_start_empty_mode(t, spec, TC_FULL);
}

/*
 * Base scenario: pmaps 1 and 2; 1 maps pg3 rw (written), pg4 r wired (read),
 * pg5 rx; 2 maps pg3 r and pg6 rw high up; kenter k+0x2000 -> pg7 rw.
 * Pmap 1 is active.
 */
static inline void tc_start_mode(struct tc *t, enum tc_mode mode)
{
	tc_start_empty_mode(t, NULL, mode);
	tc_ok(t, PTS_OP_CREATE, 1, 0, 0, 0, 0, 0);
	tc_ok(t, PTS_OP_CREATE, 2, 0, 0, 0, 0, 0);
	tc_ok(t, PTS_OP_ENTER, 1, 0x400000, 0, 3, 3, 0);
	tc_ok(t, PTS_OP_ENTER, 1, 0x401000, 0, 4, 1, PTS_OPF_WIRED);
	tc_ok(t, PTS_OP_ENTER, 1, 0x402000, 0, 5, 5, 0);
	tc_ok(t, PTS_OP_ENTER, 2, 0x400000, 0, 3, 1, 0);
	tc_ok(t, PTS_OP_ENTER, 2, 0x7f0000001000ull, 0, 6, 3, 0);
	tc_ok(t, PTS_OP_TOUCH, 1, 0x400000, 0, 0, 0, PTS_OPF_WRITE);
	tc_ok(t, PTS_OP_TOUCH, 1, 0x401000, 0, 0, 0, 0);
	tc_ok(t, PTS_OP_KENTER, 0, 0x2000, 0, 7, 3, 0);
}

static inline void tc_start(struct tc *t)
{
	tc_start_mode(t, TC_FULL);
}

static inline void tc_end(struct tc *t)
{
	monitor_destroy(t->m);
	synth_free(t->s);
}

/* pokes */
static inline gpa_t tc_pte(const struct tc *t, uint32_t slot, uint64_t va)
{
	return synth_pte_pa(t->s, slot, va, 1);
}

static inline gpa_t tc_vmp(const struct tc *t, uint64_t page, uint32_t off)
{
	return synth_vmp_pa(t->s, SYNTH_ARENA_FIRST_PFN + page) + off;
}

static inline void tc_add64(struct tc *t, gpa_t pa, int64_t d)
{
	synth_w64(t->s, pa, synth_r64(t->s, pa) + (uint64_t)d);
}

static inline void tc_add32(struct tc *t, gpa_t pa, int32_t d)
{
	synth_w32(t->s, pa, synth_r32(t->s, pa) + (uint32_t)d);
}

static inline void tc_or64(struct tc *t, gpa_t pa, uint64_t set, uint64_t clear)
{
	synth_w64(t->s, pa, (synth_r64(t->s, pa) | set) & ~clear);
}

#endif /* TESTS_UNIT_MONITOR_TC_H */
