/* tests/lib/monitor_tc.h - a synthetic image and a monitor on it, driven op
 * by op, for the monitor's suites and what they measure of a monitor (bodies
 * in monitor_tc.c, in the test library).
 */
#ifndef TESTS_LIB_MONITOR_TC_H
#define TESTS_LIB_MONITOR_TC_H

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
uint32_t tc_run(struct tc *t, uint32_t kind, uint32_t pmap, uint64_t va, uint64_t end,
                uint64_t page, uint32_t prot, uint32_t flags);
/* with dirty tracking on (tc_start_mode), each check sees the pages written since the last */
int tc_check(struct tc *t);
/* the violations of the last check, on stderr */
void tc_dump(const struct tc *t);
/* run and check; the op must raise no violation */
void tc_ok(struct tc *t, uint32_t kind, uint32_t pmap, uint64_t va, uint64_t end, uint64_t page,
           uint32_t prot, uint32_t flags);
/* the last check reported invariant id */
bool tc_reported(const struct tc *t, const char *id);

/* how the monitor sees the image: no dirty log (full checks), the log page by
 * page, or the log also as a bitmap it can list */
enum tc_mode { TC_FULL, TC_INCREMENTAL, TC_LISTED };

/* a monitor (--check spec) on a new image with no user pmap */
void tc_start_empty_mode(struct tc *t, const char *spec, enum tc_mode mode);
void tc_start_empty(struct tc *t, const char *spec); /* TC_FULL */

/*
 * Base scenario: pmaps 1 and 2; 1 maps pg3 rw (written), pg4 r wired (read),
 * pg5 rx; 2 maps pg3 r and pg6 rw high up; kenter k+0x2000 -> pg7 rw.
 * Pmap 1 is active.
 */
void tc_start_mode(struct tc *t, enum tc_mode mode);
/* ... on ncpus CPUs, all on the kernel pmap but CPU 0 (on pmap 1); t->s->op_cpu
 * names the CPU of the ops tc_run runs */
void tc_start_cpus_mode(struct tc *t, enum tc_mode mode, uint32_t ncpus);
void tc_start_spec_cpus(struct tc *t, const char *spec, enum tc_mode mode, uint32_t ncpus);
void tc_start(struct tc *t); /* TC_FULL */
void tc_end(struct tc *t);

/* what the monitor keeps to itself (monitor_impl.h), for the tests only */
const struct monitor_stats *tc_monitor_stats(const struct monitor *m);
const struct pts_descriptor *tc_monitor_descriptor(const struct monitor *m);

/* pokes */
gpa_t tc_pte(const struct tc *t, uint32_t slot, uint64_t va);
gpa_t tc_vmp(const struct tc *t, uint64_t page, uint32_t off);
void tc_add64(struct tc *t, gpa_t pa, int64_t d);
void tc_add32(struct tc *t, gpa_t pa, int32_t d);
void tc_or64(struct tc *t, gpa_t pa, uint64_t set, uint64_t clear);

/* ---- budgets: what a monitor costs on an image, whatever the image says */

/* CPU time (tc_now_ms) */
#define TC_BUDGET_CHECK_MS 10.0 /* a check once both snapshots exist */
#define TC_BUDGET_FIRST_MS                                                                         \
	100.0 /* begin and the first check: they allocate and fault in the snapshots */
#define TC_BUDGET_RSS_KIB (64l << 10)

#if defined(__SANITIZE_ADDRESS__)
#define TC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TC_SANITIZED 1
#endif
#endif
#ifndef TC_SANITIZED
#define TC_SANITIZED 0
#endif

/* time budgets are multiplied by this: PTS_BUDGET_SCALE, and 5 under the sanitizers */
double tc_budget_scale(void);
/* ASan's shadow and quarantine are not the monitor's: its RSS is not budgeted there */
bool tc_budget_rss(void);
/* the CPU time this thread used: what the monitor costs, whatever else the machine runs */
double tc_now_ms(void);
/* this process's peak RSS */
long tc_maxrss_kib(void);

struct tc_cost {
	bool ran;     /* the child reported back (else it crashed or ran out of time) */
	bool created; /* monitor_create accepted the descriptor */
	double begin_ms, first_ms, steady_ms; /* steady: the slowest check after the first */
	long rss_kib;                         /* growth of the peak RSS */
	char err[200];
};

/*
 * A monitor on mem in a child process: create, begin, four checks, within
 * timeout_s seconds.  The child starts with the parent's pages resident, so
 * its peak RSS grows by what the monitor takes.
 */
struct tc_cost tc_cost(const struct gmem *mem, gpa_t desc_pa, uint64_t cr3, unsigned timeout_s);

/* "" when c is within the budget, else what it overran, for an assertion message */
const char *tc_cost_over(const struct tc_cost *c, unsigned timeout_s, char *buf, size_t len);

#endif /* TESTS_LIB_MONITOR_TC_H */
