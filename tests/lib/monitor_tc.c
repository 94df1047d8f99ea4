/* tests/lib/monitor_tc.c - a synthetic image and a monitor on it, driven op
 * by op, for the monitor's suites (see monitor_tc.h).
 */
#include "monitor_tc.h"

#include "monitor_impl.h"

uint32_t tc_run(struct tc *t, uint32_t kind, uint32_t pmap, uint64_t va, uint64_t end,
                uint64_t page, uint32_t prot, uint32_t flags)
{
	return synth_do(t->s, &t->op, kind, pmap, va, end, page, prot, flags);
}

int tc_check(struct tc *t)
{
	if (t->listed)
		ck_assert_int_eq(synth_publish_dirty(t->s), 0);
	int n = monitor_after_op(t->m, &t->op, ++t->idx, NULL, t->s->cr3);
	synth_dirty_reset(t->s);
	return n;
}

void tc_dump(const struct tc *t)
{
	for (size_t i = 0; i < monitor_nviolations(t->m); i++)
		violation_print(monitor_violation(t->m, i), stderr);
}

void tc_ok(struct tc *t, uint32_t kind, uint32_t pmap, uint64_t va, uint64_t end, uint64_t page,
           uint32_t prot, uint32_t flags)
{
	tc_run(t, kind, pmap, va, end, page, prot, flags);
	int n = tc_check(t);
	if (n != 0)
		tc_dump(t);
	ck_assert_int_eq(n, 0);
}

bool tc_reported(const struct tc *t, const char *id)
{
	for (size_t i = 0; i < monitor_nviolations(t->m); i++)
		if (strcmp(monitor_violation(t->m, i)->inv->id, id) == 0)
			return true;
	return false;
}

static void start_empty(struct tc *t, const char *spec, enum tc_mode mode, uint32_t ncpus)
{
	bool incremental = mode != TC_FULL;
	char err[256];
	struct monitor_config cfg = {.check_spec = spec};
	memset(t, 0, sizeof *t);
	t->s = synth_new_cpus(ncpus);
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

void tc_start_empty_mode(struct tc *t, const char *spec, enum tc_mode mode)
{
	start_empty(t, spec, mode, 1);
}

void tc_start_empty(struct tc *t, const char *spec)
{
	tc_start_empty_mode(t, spec, TC_FULL);
}

void tc_start_mode(struct tc *t, enum tc_mode mode)
{
	tc_start_cpus_mode(t, mode, 1);
}

void tc_start_cpus_mode(struct tc *t, enum tc_mode mode, uint32_t ncpus)
{
	tc_start_spec_cpus(t, NULL, mode, ncpus);
}

void tc_start_spec_cpus(struct tc *t, const char *spec, enum tc_mode mode, uint32_t ncpus)
{
	start_empty(t, spec, mode, ncpus);
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

void tc_start(struct tc *t)
{
	tc_start_mode(t, TC_FULL);
}

void tc_end(struct tc *t)
{
	monitor_destroy(t->m);
	synth_free(t->s);
}

const struct monitor_stats *tc_monitor_stats(const struct monitor *m)
{
	return &m->stats;
}

const struct pts_descriptor *tc_monitor_descriptor(const struct monitor *m)
{
	return &m->desc;
}

gpa_t tc_pte(const struct tc *t, uint32_t slot, uint64_t va)
{
	return synth_pte_pa(t->s, slot, va, 1);
}

gpa_t tc_vmp(const struct tc *t, uint64_t page, uint32_t off)
{
	return synth_vmp_pa(t->s, SYNTH_ARENA_FIRST_PFN + page) + off;
}

void tc_add64(struct tc *t, gpa_t pa, int64_t d)
{
	synth_w64(t->s, pa, synth_r64(t->s, pa) + (uint64_t)d);
}

void tc_add32(struct tc *t, gpa_t pa, int32_t d)
{
	synth_w32(t->s, pa, synth_r32(t->s, pa) + (uint32_t)d);
}

void tc_or64(struct tc *t, gpa_t pa, uint64_t set, uint64_t clear)
{
	synth_w64(t->s, pa, (synth_r64(t->s, pa) | set) & ~clear);
}

double tc_budget_scale(void)
{
	const char *e = getenv("PTS_BUDGET_SCALE");
	double k = e ? strtod(e, NULL) : 1.0;
	return (k > 0 ? k : 1.0) * (TC_SANITIZED ? 5.0 : 1.0);
}

bool tc_budget_rss(void)
{
	return !TC_SANITIZED;
}

double tc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

long tc_maxrss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void tc_cost_child(const struct gmem *mem, gpa_t desc_pa, uint64_t cr3, struct tc_cost *c)
{
	struct pts_op op = {
	    .kind = PTS_OP_EXTRACT, .pmap = 1, .va = 0x400000, .result = PTS_RES_NONE};
	long rss0 = tc_maxrss_kib();
	struct monitor *m = monitor_create(mem, desc_pa, NULL, c->err, sizeof c->err);
	c->ran = true;
	c->created = m != NULL;
	if (m == NULL)
		return;
	double t = tc_now_ms();
	monitor_begin(m, cr3);
	c->begin_ms = tc_now_ms() - t;
	for (uint64_t k = 0; k < 4; k++) {
		t = tc_now_ms();
		monitor_after_op(m, &op, k + 1, "budget", cr3);
		double dt = tc_now_ms() - t;
		if (k == 0)
			c->first_ms = dt;
		else if (dt > c->steady_ms)
			c->steady_ms = dt;
	}
	c->rss_kib = tc_maxrss_kib() - rss0;
	monitor_destroy(m);
}

struct tc_cost tc_cost(const struct gmem *mem, gpa_t desc_pa, uint64_t cr3, unsigned timeout_s)
{
	struct tc_cost c;
	int fd[2], status;
	memset(&c, 0, sizeof c);
	ck_assert_int_eq(pipe(fd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fd[0]);
		alarm(timeout_s);
		tc_cost_child(mem, desc_pa, cr3, &c);
		_exit(write(fd[1], &c, sizeof c) == (ssize_t)sizeof c ? 0 : 1);
	}
	close(fd[1]);
	ssize_t n = read(fd[0], &c, sizeof c);
	close(fd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (n != (ssize_t)sizeof c)
		memset(&c, 0, sizeof c);
	return c;
}

const char *tc_cost_over(const struct tc_cost *c, unsigned timeout_s, char *buf, size_t len)
{
	double k = tc_budget_scale();
	buf[0] = '\0';
	if (!c->ran)
		snprintf(buf, len, "the monitor crashed or took more than %u s", timeout_s);
	else if (c->created && c->steady_ms > TC_BUDGET_CHECK_MS * k)
		snprintf(buf, len, "a check took %.1f ms, budget %.1f ms", c->steady_ms,
		         TC_BUDGET_CHECK_MS * k);
	else if (c->created &&
	         (c->begin_ms > TC_BUDGET_FIRST_MS * k || c->first_ms > TC_BUDGET_FIRST_MS * k))
		snprintf(buf, len, "begin took %.1f ms and the first check %.1f ms, budget %.1f ms",
		         c->begin_ms, c->first_ms, TC_BUDGET_FIRST_MS * k);
	else if (c->created && tc_budget_rss() && c->rss_kib > TC_BUDGET_RSS_KIB)
		snprintf(buf, len, "the monitor grew the RSS by %ld KiB, budget %ld KiB",
		         c->rss_kib, TC_BUDGET_RSS_KIB);
	return buf;
}
