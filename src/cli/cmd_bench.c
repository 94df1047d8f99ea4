/* src/cli/cmd_bench.c - `ptshadow bench`: the same op stream, in one process
 * run, with no per-op stop, per-op stop without the monitor, the full check
 * and the incremental check, at three guest sizes with their state built
 * before timing starts; plus reset against a fresh boot and one job against
 * two.  Prints a table and writes bench.json (ratios matter, not absolutes).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "campaign.h"
#include "clock.h"
#include "cli.h"
#include "util.h"

struct bench_size {
	const char *name;
	unsigned mem_mib;
	uint64_t arena;
	uint64_t mappings; /* live mappings built before timing */
};

static const struct bench_size sizes[] = {
    {"64M", 64, 1024, 0},
    {"128M", 128, 1024, 0},
    {"1G", 1024, 65536, 50000},
    {"4G", 4096, 524288, 400000},
};

enum { MODE_NOSTOP, MODE_STOP, MODE_FULL, MODE_INCR, MODE_COUNT };
static const char *const mode_names[MODE_COUNT] = {"nostop", "stop", "full", "incremental"};

#define BENCH_MAX_OPS 1000000u            /* --ops: the stream is 128 bytes an op, in memory */
#define BULK_SLOT     (PTS_MAX_PMAPS - 1) /* the prefilled pmap; the generator never uses it */
#define BULK_VA       0x100000000ull

struct bench_opts {
	struct guest_opts g;
	const char *json;
	const char *only; /* comma list of size names */
	uint64_t ops;
	uint64_t seed;
	bool no_jobs;
	const char *nocov; /* --coverage: the coverage figures alone (bench_cov.c) */
	bool only_cpus;    /* --only cpus: two guest CPUs against one alone (bench_cpus.c) */
};

enum { OPT_BENCH_COVERAGE = 0x300, OPT_BENCH_ONLY };

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median_u64(uint64_t *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static struct script *bench_stream(const struct bench_opts *o, uint64_t arena)
{
	struct fuzz_profile prof;
	struct fuzz_gen gen;
	struct script *sc = script_new("<bench>");
	char err[256];

	if (sc == NULL || fuzz_profile_load("default", &prof, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow bench: %s\n", err);
		script_free(sc);
		return NULL;
	}
	fuzz_gen_init(&gen, &prof, o->seed, arena);
	for (uint64_t i = 0; i < o->ops; i++) {
		struct script_op op;
		fuzz_gen_next(&gen, &op);
		if (script_append(sc, &op) != 0) {
			script_free(sc);
			return NULL;
		}
	}
	return sc;
}

/* The bulk pmap: create, then `mappings` read-only enters, many per exit. */
static int prefill(struct session *s, const struct bench_size *z)
{
	struct script_op batch[PTS_RING_SLOTS];
	uint64_t done = 0, t0 = now_ns();
	size_t n = 0;

	memset(batch, 0, sizeof(batch));
	batch[n].op.kind = PTS_OP_CREATE;
	batch[n++].op.pmap = BULK_SLOT;
	session_set_stop_each(s, false);
	while (done < z->mappings || n > 0) {
		while (n < PTS_RING_SLOTS && done < z->mappings) {
			struct pts_op *op = &batch[n++].op;
			memset(op, 0, sizeof(*op));
			op->kind = PTS_OP_ENTER;
			op->pmap = BULK_SLOT;
			op->va = BULK_VA + done * PTS_PAGE_SIZE;
			op->page = done % z->arena;
			op->prot = PTS_PROT_READ;
			done++;
		}
		if (session_run_batch(s, batch, n) != SESSION_OK)
			return -1;
		n = 0;
		if (isatty(STDERR_FILENO))
			fprintf(stderr, "\r  %s: %llu/%llu mappings built (%.0f s)", z->name,
			        (unsigned long long)done, (unsigned long long)z->mappings,
			        (now_ns() - t0) / 1e9);
	}
	if (isatty(STDERR_FILENO) && z->mappings > 0)
		fputc('\n', stderr);
	session_set_stop_each(s, true);
	return 0;
}

struct cell {
	double ops_per_s;
	double check_us_median;
	double harvest_us_per_op; /* the dirty-log harvest's share of the check */
	uint64_t ops;
	uint64_t findings;
	uint64_t guest_halts; /* calls the guest halted in (QEMU's doorbell) */
};

/* The bench's sink: each op's check time; findings counted, not fatal. */
struct bench_sink_ctx {
	uint64_t *check;
	uint64_t findings;
};

static void bench_op(void *ctx, const struct op_step *step)
{
	struct bench_sink_ctx *k = ctx;

	k->check[step->index] = step->check_ns;
}

static bool bench_finding(void *ctx, const struct outcome *o)
{
	((struct bench_sink_ctx *)ctx)->findings++;
	return false;
}

/* n ops of the stream, timed, under the mode's checks; 0, or -1 */
static int time_ops(struct session *s, int mode, struct script_op *ops, size_t n, uint64_t *check,
                    struct cell *c)
{
	struct bench_sink_ctx k = {.check = check};
	const struct run_policy policy = {.lookahead = true, .keep_going = true};
	const struct run_sink sink = {.ctx = &k, .op = bench_op, .finding = bench_finding};
	struct script view = {.file = "<bench>", .ops = ops, .n_ops = n, .cap = n};
	uint64_t t0 = now_ns();
	int rc = 0;

	if (mode == MODE_NOSTOP)
		rc = session_run_batch(s, ops, n) == SESSION_OK ? 0 : -1;
	else
		rc = session_run(s, &view, 0, &policy, &sink).kind == OUTCOME_CLEAN ? 0 : -1;
	c->ops_per_s = n / ((now_ns() - t0) / 1e9);
	c->findings = k.findings;
	return rc;
}

/* A mode's figures from its n ops' check times and the session's counts
 * before and after them */
static void cell_figures(struct cell *c, int mode, uint64_t *check, size_t n,
                         const struct session_stats *before, const struct session_stats *after)
{
	bool checked = mode == MODE_FULL || mode == MODE_INCR;

	c->ops = n;
	c->check_us_median = checked ? median_u64(check, n) / 1e3 : 0;
	c->harvest_us_per_op =
	    mode == MODE_INCR ? (after->vm.dirty_harvest_ns - before->vm.dirty_harvest_ns) / 1e3 / n
	                      : 0;
	c->guest_halts = after->vm.guest_wakes - before->vm.guest_wakes;
}

static int run_mode(struct session *s, int mode, const struct script *stream, uint64_t max_ops,
                    struct cell *c)
{
	size_t n = stream->n_ops < max_ops ? stream->n_ops : max_ops;
	struct script_op *ops = malloc(n * sizeof(*ops));
	uint64_t *check = calloc(n, sizeof(uint64_t));
	struct session_stats before, after;
	int rc = 0;

	if (ops == NULL || check == NULL || session_reset(s) != 0) {
		free(ops);
		free(check);
		return -1;
	}
	memcpy(ops, stream->ops, n * sizeof(*ops));
	memset(c, 0, sizeof(*c));
	session_stats(s, &before);
	if ((mode == MODE_FULL || mode == MODE_INCR) &&
	    session_monitor_start(s, mode == MODE_INCR) != 0)
		rc = -1;
	if (mode == MODE_NOSTOP)
		session_set_stop_each(s, false);
	if (rc == 0)
		rc = time_ops(s, mode, ops, n, check, c);
	session_stats(s, &after);
	cell_figures(c, mode, check, n, &before, &after);
	session_monitor_stop(s);
	session_set_stop_each(s, true);
	free(ops);
	free(check);
	return rc;
}

/* A reset after a sequence of ops against a boot of the same guest. */
static double reset_vs_boot(struct session *s, const struct session_config *cfg,
                            const struct script *stream)
{
	uint64_t boots[3], resets[9];
	struct script_op ops[64];
	size_t n = stream->n_ops < 64 ? stream->n_ops : 64;

	for (int i = 0; i < 3; i++) {
		uint64_t t0 = now_ns();
		int rc;
		struct session *fresh = session_open(cfg, &rc);
		boots[i] = now_ns() - t0;
		session_close(fresh);
		if (rc != 0)
			return 0;
	}
	for (int i = 0; i < 9; i++) {
		uint64_t t0;
		memcpy(ops, stream->ops, n * sizeof(ops[0]));
		if (session_reset(s) != 0)
			return 0;
		session_set_stop_each(s, false);
		if (session_run_batch(s, ops, n) != SESSION_OK)
			return 0;
		t0 = now_ns();
		if (session_reset(s) != 0)
			return 0;
		resets[i] = now_ns() - t0;
	}
	return (double)median_u64(boots, 3) / (double)median_u64(resets, 9);
}

/* A campaign of j jobs, 2000 ops each, into dir: 0, or -1 */
static int jobs_campaign(const struct bench_opts *o, enum vm_backend_kind be, const char *dir,
                         unsigned j, struct campaign_config *c)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	c->sess = o->g.cfg;
	c->sess.backend = be;
	c->sess.mem_mib = 64;
	c->sess.arena_pages = 1024;
	c->sess.ring = c->sess.stop_each = c->sess.monitor = c->sess.snapshot = true;
	c->sess.incremental = true;
	c->sess.console = NULL;
	c->out = dir;
	c->seed = o->seed;
	c->max_ops = 2000 * j;
	c->jobs = j;
	c->seq_len = 1000;
	c->quiet = true;
	c->keep_going = true;
	return fuzz_profile_load("default", &c->profile, err, sizeof(err)) != 0 ? -1 : 0;
}

static double jobs_ratio(const struct bench_opts *o, enum vm_backend_kind be, double rate[2])
{
	struct campaign_config c;
	char dir[] = "/tmp/ptshadow-bench-XXXXXX";

	if (mkdtemp(dir) == NULL)
		return 0;
	for (unsigned j = 1; j <= 2; j++) {
		uint64_t t0;
		int crc;
		if (jobs_campaign(o, be, dir, j, &c) != 0)
			return 0;
		t0 = now_ns();
		crc = campaign_run_quiet(&c);
		/* a job failed, or SIGINT cut the campaign short of max_ops: no figure */
		if ((crc != EXIT_CLEAN && crc != EXIT_FINDING) || vm_interrupted)
			return 0;
		rate[j - 1] = c.max_ops / ((now_ns() - t0) / 1e9);
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "ptshadow bench: could not remove %s\n", dir);
	return rate[1] / rate[0];
}

static bool size_wanted(const struct bench_opts *o, const char *name)
{
	char buf[128], *tok, *save = NULL;

	if (o->only == NULL)
		return true;
	snprintf(buf, sizeof(buf), "%s", o->only);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, name) == 0)
			return true;
	return false;
}

/* A guest for the bench: z's size on backend be, driven through the ring,
 * no monitor (run_mode switches it on), a snapshot, no console. */
static struct session_config bench_cfg(const struct bench_opts *o, enum vm_backend_kind be,
                                       const struct bench_size *z)
{
	struct session_config cfg = o->g.cfg;

	cfg.backend = be;
	cfg.mem_mib = z->mem_mib;
	cfg.arena_pages = z->arena;
	cfg.ring = cfg.stop_each = cfg.snapshot = true;
	cfg.monitor = false;
	cfg.console = NULL;
	return cfg;
}

/* one mode's figures: a line and a cell of bench.json */
static void say_cell(enum vm_backend_kind be, const struct bench_size *z, int m,
                     const struct cell *c, json_t *cells)
{
	json_t *cell;

	printf("  %-4s  %-4s  %-12s %10.0f ops/s   check median %10.1f us   (%llu ops, %llu "
	       "halted%s)\n",
	       vm_backend_name(be), z->name, mode_names[m], c->ops_per_s, c->check_us_median,
	       (unsigned long long)c->ops, (unsigned long long)c->guest_halts,
	       c->findings ? ", FINDINGS" : "");
	fflush(stdout);
	cell = json_pack("{s:s, s:s, s:s, s:f, s:f, s:I}", "backend", vm_backend_name(be), "size",
	                 z->name, "mode", mode_names[m], "ops_per_s", c->ops_per_s,
	                 "check_us_median", c->check_us_median, "ops", (json_int_t)c->ops);
	if (m == MODE_INCR)
		json_object_set_new(cell, "harvest_us_per_op", json_real(c->harvest_us_per_op));
	json_object_set_new(cell, "guest_halts", json_integer((json_int_t)c->guest_halts));
	json_array_append_new(cells, cell);
}

/* A guest of size z, its bulk mappings built and captured: NULL when it
 * could not be had (said). */
static struct session *bench_guest(const struct session_config *cfg, const struct bench_size *z)
{
	int rc;
	struct session *s = session_open(cfg, &rc);

	if (rc == 0 && prefill(s, z) == 0 && session_capture_now(s) == 0)
		return s;
	fprintf(stderr, "ptshadow bench: %s: %s\n", z->name, session_error(s));
	session_close(s);
	return NULL;
}

/* Every mode on the guest s of size z: 0, or EXIT_INTERNAL (said) */
static int bench_modes(const struct bench_opts *o, struct session *s, enum vm_backend_kind be,
                       const struct bench_size *z, const struct script *stream, json_t *cells)
{
	for (int m = 0; m < MODE_COUNT; m++) {
		struct cell c;
		/* a full check of a big guest is slow by design: fewer ops suffice */
		uint64_t max = m == MODE_FULL && z->mappings > 0 ? o->ops / 10 + 1 : o->ops;
		if (run_mode(s, m, stream, max, &c) != 0) {
			fprintf(stderr, "ptshadow bench: %s %s: %s\n", z->name, mode_names[m],
			        session_error(s));
			return EXIT_INTERNAL;
		}
		say_cell(be, z, m, &c, cells);
	}
	return 0;
}

static int bench_size(const struct bench_opts *o, enum vm_backend_kind be,
                      const struct bench_size *z, json_t *cells, double *rvb)
{
	struct session_config cfg = bench_cfg(o, be, z);
	struct script *stream;
	struct session *s;
	int rc = 0;

	cfg.pv_per_page = 0; /* full pool pages: hundreds of thousands of entries */
	cfg.snapshot = false;
	cfg.timeout_s = 0; /* large guests boot slowly here; no watchdog */
	fprintf(stderr, "bench %s %s: booting (%u MiB, %llu arena pages)\n", vm_backend_name(be),
	        z->name, z->mem_mib, (unsigned long long)z->arena);
	s = bench_guest(&cfg, z);
	if (s == NULL)
		return EXIT_INTERNAL;
	if (rvb != NULL) {
		char what[96];
		printf("  %s backend: %s\n", vm_backend_name(be),
		       session_describe(s, what, sizeof(what)));
	}
	stream = bench_stream(o, z->arena);
	if (stream != NULL)
		rc = bench_modes(o, s, be, z, stream, cells);
	if (rvb != NULL && rc == 0 && stream != NULL) {
		cfg.snapshot = true;
		*rvb = reset_vs_boot(s, &cfg, stream);
	}
	script_free(stream);
	session_close(s);
	return rc;
}

/* One dirty log at size z: the incremental check's median and the
 * harvest's share, or why it was not measured. */
static void bench_dirty_log(const struct bench_opts *o, enum vm_backend_kind be,
                            const struct bench_size *z, enum vm_dirty_mode log,
                            const struct script *stream, json_t *out)
{
	struct session_config cfg = bench_cfg(o, be, z);
	/* no log: every check is a full one, slow by design: fewer ops suffice */
	uint64_t ops = o->ops < 300 ? o->ops : 300, n = log == VM_DIRTY_NONE ? ops / 10 + 1 : ops;
	struct session *s;
	struct cell c;
	int rc;

	cfg.timeout_s = 0;
	cfg.dirty_mode = log;
	fprintf(stderr, "bench %s %s: dirty log %s: booting\n", vm_backend_name(be), z->name,
	        vm_dirty_mode_name(log));
	s = session_open(&cfg, &rc);
	if (rc != 0 || run_mode(s, MODE_INCR, stream, n, &c) != 0) {
		/* a KVM without this backend: say so and go on */
		printf("  %-4s  %-4s  dirty log %-6s  not measured: %s\n", vm_backend_name(be),
		       z->name, vm_dirty_mode_name(log), session_error(s));
		session_close(s);
		return;
	}
	printf("  %-4s  %-4s  dirty log %-6s  check median %7.1f us   harvest %7.1f us/op   "
	       "(%llu ops)\n",
	       vm_backend_name(be), z->name, vm_dirty_mode_name(log), c.check_us_median,
	       c.harvest_us_per_op, (unsigned long long)c.ops);
	fflush(stdout);
	json_array_append_new(
	    out, json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:I}", "backend", vm_backend_name(be),
	                   "size", z->name, "dirty_log", vm_dirty_mode_name(log), "ops_per_s",
	                   c.ops_per_s, "check_us_median", c.check_us_median, "harvest_us_per_op",
	                   c.harvest_us_per_op, "ops", (json_int_t)c.ops));
	session_close(s);
}

/*
 * The ways of asking the backend for the dirty pages (its table lists them),
 * each in its own VM (the log is fixed when the VM is made): the same ops
 * with the incremental check, at the smallest and the largest size asked
 * for, without prefill.
 */
static int bench_dirty_logs(const struct bench_opts *o, enum vm_backend_kind be, json_t *out)
{
	const struct bench_size *pick[2] = {NULL, NULL};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (size_wanted(o, sizes[i].name))
			pick[pick[0] == NULL ? 0 : 1] = &sizes[i];
	for (int k = 0; k < 2 && pick[k] != NULL; k++) {
		struct script *stream = bench_stream(o, pick[k]->arena);
		for (int d = VM_DIRTY_AUTO + 1; d <= VM_DIRTY_NONE && stream != NULL; d++)
			if (vm_backend_keeps(be, (enum vm_dirty_mode)d))
				bench_dirty_log(o, be, pick[k], (enum vm_dirty_mode)d, stream, out);
		script_free(stream);
	}
	return 0;
}

/* a QEMU launcher the bench compares */
struct launcher {
	char name[32];
	enum vm_backend_kind kind;
	enum vm_dirty_mode dirty;
};
#define MAX_LAUNCHERS 6
#define MAX_ENGINES   4 /* backends that run the guest themselves: kvm, qemu */

/* Every backend that runs QEMU, in its own default dirty log, and one that
 * starts it from a template (a manager's domain) also with the plugin. */
static int launchers_of(struct launcher *runs)
{
	enum vm_backend_kind q[MAX_LAUNCHERS];
	size_t nq = vm_backend_qemu_runners(q, MAX_LAUNCHERS);
	int n = 0;

	for (size_t i = 0; i < nq && n < MAX_LAUNCHERS; i++) {
		runs[n] = (struct launcher){.kind = q[i], .dirty = VM_DIRTY_AUTO};
		snprintf(runs[n++].name, sizeof(runs->name), "%s", vm_backend_name(q[i]));
		if (!vm_backend_takes_template(q[i]) || n == MAX_LAUNCHERS ||
		    !vm_backend_keeps(q[i], VM_DIRTY_PLUGIN))
			continue;
		runs[n] = (struct launcher){.kind = q[i], .dirty = VM_DIRTY_PLUGIN};
		snprintf(runs[n++].name, sizeof(runs->name), "%s-plugin", vm_backend_name(q[i]));
	}
	return n;
}

/* Three boots (their median time in *start_ms): the third guest, or NULL
 * (*s then the one that failed, to say why; close it). */
static struct session *boot_three(const struct session_config *cfg, double *start_ms,
                                  struct session **s)
{
	uint64_t boots[3];

	for (int i = 0; i < 3; i++) {
		uint64_t t0 = now_ns();
		int rc;
		*s = session_open(cfg, &rc);
		if (rc != 0)
			return NULL;
		boots[i] = now_ns() - t0;
		if (i < 2)
			session_close(*s);
	}
	*start_ms = median_u64(boots, 3) / 1e6;
	return *s;
}

/* a launcher's figures: a line and bench.json's "launchers" member */
static void say_launcher(const struct launcher *l, double start_ms, const struct cell *c,
                         const char *what, json_t *out)
{
	printf("  %-14s start %7.0f ms (median of 3)   checked %7.0f ops/s, 1 job, %s (%llu "
	       "ops)\n",
	       l->name, start_ms, c->ops_per_s, what, (unsigned long long)c->ops);
	fflush(stdout);
	json_object_set_new(out, l->name,
	                    json_pack("{s:f, s:f, s:s, s:I}", "start_ms", start_ms,
	                              "checked_ops_per_s", c->ops_per_s, "vm", what, "ops",
	                              (json_int_t)c->ops));
}

/* One launcher: its start time and its checked ops/s (0: not measured). */
static void bench_launcher(const struct bench_opts *o, const struct launcher *l,
                           const struct script *stream, json_t *out, double *start_ms,
                           double *ops_s)
{
	const struct bench_size *z = &sizes[1]; /* 128M */
	struct session_config cfg = bench_cfg(o, l->kind, z);
	uint64_t n = o->ops < 300 ? o->ops : 300;
	struct session *s = NULL;
	struct vm_config vc;
	char why[512], what[96];
	struct cell c;

	cfg.dirty_mode = l->dirty;
	if (vm_backend_accel_refusal(l->kind) != NULL)
		cfg.qemu_kvm = false;
	session_vm_config(&cfg, &vc);
	if (!vm_backend_available(l->kind, &vc, why, sizeof(why))) {
		printf("  %-14s start and checked ops/s not measured: %s\n", l->name, why);
		return;
	}
	fprintf(stderr, "bench %s: three boots, then %llu checked ops\n", l->name,
	        (unsigned long long)n);
	if (boot_three(&cfg, start_ms, &s) == NULL || run_mode(s, MODE_INCR, stream, n, &c) != 0) {
		printf("  %-14s not measured: %s\n", l->name, session_error(s));
		session_close(s);
		*start_ms = 0;
		return;
	}
	*ops_s = c.ops_per_s;
	say_launcher(l, *start_ms, &c, session_describe(s, what, sizeof(what)), out);
	session_close(s);
}

/*
 * The same QEMU started two ways: by ptshadow (the qemu backend) and by
 * libvirt as a transient domain.  For each: the start time (median of three
 * boots, from nothing to the guest serving its ring) and the checked ops/s of
 * one job at 128 MiB (monitor on after every op, incremental where the
 * backend has a dirty log, full where it has none).  A backend this machine
 * cannot run is named with the reason, and no figure is printed for it.
 */
static int bench_launchers(const struct bench_opts *o, json_t *out)
{
	struct launcher runs[MAX_LAUNCHERS];
	double start_ms[MAX_LAUNCHERS] = {0}, ops_s[MAX_LAUNCHERS] = {0};
	struct script *stream = bench_stream(o, sizes[1].arena);
	int n = launchers_of(runs);

	for (int k = 0; k < n && stream != NULL; k++)
		bench_launcher(o, &runs[k], stream, out, &start_ms[k], &ops_s[k]);
	for (int k = 1; k < n; k++)
		if (start_ms[0] > 0 && start_ms[k] > 0)
			printf("  %s/%s: start %.2fx the time, %.2fx the checked ops/s\n",
			       runs[k].name, runs[0].name, start_ms[k] / start_ms[0],
			       ops_s[k] / ops_s[0]);
	script_free(stream);
	return 0;
}

/* --sizes LIST: every size one of the table's; 0, or EXIT_USAGE (said) */
static int sizes_check(const char *arg)
{
	char buf[128], *tok, *save = NULL;

	if (strlen(arg) >= sizeof(buf))
		return usage_error("bench", "--sizes %s: too long", arg);
	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < sizeof(sizes) / sizeof(sizes[0]) && strcmp(sizes[i].name, tok) != 0)
			i++;
		if (i == sizeof(sizes) / sizeof(sizes[0]))
			return usage_error(
			    "bench", "--sizes %s: no size '%s' (want 64M, 128M, 1G, 4G)", arg, tok);
	}
	return 0;
}

static int bench_opt(void *ctx, int opt, const char *arg)
{
	struct bench_opts *o = ctx;

	if (opt == OPT_OPS) {
		/* the stream is built in memory before timing: bounded */
		if (parse_u64(arg, &o->ops) != 0 || o->ops == 0 || o->ops > BENCH_MAX_OPS)
			return usage_error("bench", "--ops %s: want 1..%u", arg, BENCH_MAX_OPS);
	} else if (opt == OPT_SEED) {
		if (parse_u64(arg, &o->seed) != 0)
			return usage_error("bench", "--seed %s: not a number", arg);
	} else if (opt == OPT_PMAP) {
		if (sizes_check(arg) != 0)
			return EXIT_USAGE;
		o->only = arg;
	} else if (opt == OPT_JSON) {
		o->json = arg;
	} else if (opt == OPT_BENCH_COVERAGE) {
		o->nocov = arg;
	} else if (opt == OPT_BENCH_ONLY) {
		if (strcmp(arg, "cpus") != 0)
			return usage_error("bench", "--only %s: want cpus", arg);
		o->only_cpus = true;
	} else {
		return usage_error("bench", "unknown option %d", opt);
	}
	return 0;
}

/* bench --coverage: one backend (auto's pick), both images checked first */
static int bench_coverage_only(struct bench_opts *o)
{
	struct guest_opts nocov = o->g;

	nocov.cfg.guest = o->nocov;
	if (cli_check_guest("bench", &nocov) != 0 || guest_opts_finish(&o->g, "bench") != 0)
		return guest_opts_close_rc(&o->g, EXIT_USAGE);
	return guest_opts_close_rc(&o->g, bench_coverage(&o->g.cfg, o->nocov, o->json));
}

static const char bench_help[] =
    "usage: ptshadow bench [OPTIONS] GUEST.elf\n"
    "\n"
    "Time one generated op stream with no per-op stop, per-op stop without the\n"
    "monitor, the full check and the incremental check, at 64 MiB, 128 MiB, 1 GiB\n"
    "and 4 GiB (state built first), plus reset against boot, one job against two,\n"
    "a fuzz campaign on two guest CPUs against one, and each dirty log (KVM: ring,\n"
    "clear, get; QEMU: plugin, none) at the smallest and largest size: on every\n"
    "backend this machine has (KVM and QEMU side by side in one run), or on\n"
    "--backend alone.\n"
    "\n"
    "options:\n"
    "  --ops N           ops in the stream (default 1000)\n"
    "  --sizes LIST      sizes to run, e.g. 64M,1G (default 64M,128M,1G,4G)\n"
    "  --seed S          generator seed (default 1)\n"
    "  --json FILE       write the results as JSON (default bench.json)\n"
    "  --only cpus       only the line of two guest CPUs against one: a fuzz campaign\n"
    "                    (20000 ops, --seed, 1 job) with --cpus 2 and with --cpus 1\n"
    "  --coverage NOCOV.elf  only coverage's figures: checked ops/s of GUEST.elf against\n"
    "                    NOCOV.elf (the same guest built with make COVERAGE=0), by wall\n"
    "                    clock and by CPU time, 7 interleaved rounds, medians; and ops to\n"
    "                    find each mutant (configs/mutants.list, beside GUEST.elf in\n"
    "                    mutants/) with --coverage guide against random, a few "
    "minutes\n" GUEST_OPTIONS_HELP;

/* The figures of a whole run, as bench.json holds them. */
struct bench_json {
	json_t *root, *cells, *dirty_logs, *reset_vs_boot, *jobs_ratio, *jobs_rates, *cpus;
};

static void bench_json_init(struct bench_json *j)
{
	j->root = json_object();
	j->cells = json_array();
	j->dirty_logs = json_array();
	j->reset_vs_boot = json_object();
	j->jobs_ratio = json_object();
	j->jobs_rates = json_object();
	j->cpus = json_object();
}

/* bench.json, whole; the exit status */
static int bench_json_write(struct bench_json *j, const struct bench_opts *o, int rc)
{
	char err[256], *text;

	json_object_set_new(j->root, "cells", j->cells);
	json_object_set_new(j->root, "dirty_logs", j->dirty_logs);
	json_object_set_new(j->root, "reset_vs_boot", j->reset_vs_boot);
	json_object_set_new(j->root, "jobs2_vs_jobs1", j->jobs_ratio);
	json_object_set_new(j->root, "jobs_ops_per_s", j->jobs_rates);
	json_object_set_new(j->root, "cpus2_vs_cpus1", j->cpus);
	json_object_set_new(j->root, "ops", json_integer((json_int_t)o->ops));
	json_object_set_new(j->root, "seed", json_integer((json_int_t)o->seed));
	text = json_dumps(j->root, JSON_INDENT(2));
	if (text == NULL || write_file_atomic(o->json, text, strlen(text), err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow bench: %s\n", text ? err : "out of memory");
		rc = EXIT_INTERNAL;
	} else {
		printf("  results in %s\n", o->json);
	}
	free(text);
	json_decref(j->root);
	return rc;
}

static void say_reset_vs_boot(enum vm_backend_kind be, double rvb, struct bench_json *j)
{
	if (rvb <= 0) {
		printf("  %s: reset vs boot not measured\n", vm_backend_name(be));
		return;
	}
	printf("  %s: a reset is %.0fx faster than a fresh boot\n", vm_backend_name(be), rvb);
	json_object_set_new(j->reset_vs_boot, vm_backend_name(be), json_real(rvb));
}

static void say_jobs_ratio(enum vm_backend_kind be, double jr, const double rate[2],
                           struct bench_json *j)
{
	if (jr <= 0) {
		printf("  %s: 2 jobs vs 1 not measured (a campaign failed)\n", vm_backend_name(be));
		return;
	}
	printf("  %s: 2 jobs give %.2fx the ops/s of 1 job (%.0f against %.0f ops/s, "
	       "boots included)\n",
	       vm_backend_name(be), jr, rate[1], rate[0]);
	json_object_set_new(j->jobs_ratio, vm_backend_name(be), json_real(jr));
	json_object_set_new(
	    j->jobs_rates, vm_backend_name(be),
	    json_pack("{s:f, s:f}", "jobs1_ops_per_s", rate[0], "jobs2_ops_per_s", rate[1]));
}

/* Everything on one backend: the sizes, the dirty logs, reset against
 * boot, two jobs against one, two CPUs against one (--only cpus: that
 * alone).  0, or EXIT_INTERNAL. */
static int bench_backend(const struct bench_opts *o, enum vm_backend_kind be, struct bench_json *j)
{
	double rvb = 0, jr, rate[2] = {0, 0};
	bool first = true;
	int rc = 0;

	if (o->only_cpus) {
		bench_cpus(&o->g.cfg, be, o->seed, j->cpus);
		return 0;
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && rc == 0; i++)
		if (size_wanted(o, sizes[i].name)) {
			rc = bench_size(o, be, &sizes[i], j->cells, first ? &rvb : NULL);
			first = false;
		}
	if (rc == 0)
		rc = bench_dirty_logs(o, be, j->dirty_logs);
	if (rc != 0)
		return rc;
	jr = jobs_ratio(o, be, rate);
	say_reset_vs_boot(be, rvb, j);
	say_jobs_ratio(be, jr, rate, j);
	bench_cpus(&o->g.cfg, be, o->seed, j->cpus);
	return 0;
}

/* --backend (or $PTSHADOW_BACKEND): that one; else every backend this
 * machine has, side by side in one run.  0, or an exit status. */
static int bench_backends(struct bench_opts *o, enum vm_backend_kind *backends, size_t *n)
{
	enum vm_backend_kind each[MAX_ENGINES];
	size_t ne = vm_backend_engines(each, MAX_ENGINES);
	char why[MAX_ENGINES][256], all[MAX_ENGINES * 258] = "";
	struct vm_config vc;

	*n = 0;
	if (o->g.backend_given || (o->g.backend_env != NULL && *o->g.backend_env != '\0')) {
		if (guest_opts_finish(&o->g, "bench") != 0)
			return EXIT_USAGE;
		backends[(*n)++] = o->g.cfg.backend;
		return 0;
	}
	o->g.every_backend = true;
	if (guest_opts_finish(&o->g, "bench") != 0)
		return EXIT_USAGE;
	session_vm_config(&o->g.cfg, &vc);
	for (size_t k = 0; k < ne; k++)
		if (vm_backend_available(each[k], &vc, why[k], sizeof(why[k])))
			backends[(*n)++] = each[k];
	if (*n > 0)
		return 0;
	for (size_t k = 0; k < ne; k++)
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", k ? "; " : "",
		         why[k]);
	fprintf(stderr, "ptshadow bench: no backend here: %s\n", all);
	return EXIT_INTERNAL;
}

static int bench_parse(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
	    GUEST_LONG_OPTIONS,
	    {"ops", required_argument, NULL, OPT_OPS},
	    {"sizes", required_argument, NULL, OPT_PMAP},
	    {"seed", required_argument, NULL, OPT_SEED},
	    {"json", required_argument, NULL, OPT_JSON},
	    {"coverage", required_argument, NULL, OPT_BENCH_COVERAGE},
	    {"only", required_argument, NULL, OPT_BENCH_ONLY},
	    {NULL, 0, NULL, 0},
	};

	guest_opts_init(&o->g);
	if (cli_parse("bench", bench_help, argc, argv, "", longopts, &o->g, bench_opt, o) != 0 ||
	    cli_one_operand("bench", argc, argv, "guest image") != 0)
		return EXIT_USAGE;
	o->g.cfg.guest = argv[optind];
	if (cli_check_guest("bench", &o->g) != 0)
		return EXIT_USAGE;
	/* the figures are written after minutes of runs: their place is checked first */
	return cli_check_output_file("bench", "--json", o->json) != 0 ? EXIT_USAGE : 0;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_opts o = {.json = "bench.json", .ops = 1000, .seed = 1};
	enum vm_backend_kind backends[MAX_ENGINES];
	struct bench_json j;
	size_t nbackends;
	int rc = bench_parse(argc, argv, &o);

	if (rc == 0 && o.nocov != NULL)
		return bench_coverage_only(&o);
	if (rc == 0)
		rc = bench_backends(&o, backends, &nbackends);
	if (rc != 0)
		return rc;
	bench_json_init(&j);
	printf("ptshadow bench: %llu ops, seed %llu, guest %s\n", (unsigned long long)o.ops,
	       (unsigned long long)o.seed, o.g.cfg.guest);
	for (size_t b = 0; b < nbackends && rc == 0; b++)
		rc = bench_backend(&o, backends[b], &j);
	if (rc == 0 && !o.g.backend_given && !o.only_cpus) {
		json_t *launch = json_object();
		printf("  QEMU as each backend that runs it starts it:\n");
		bench_launchers(&o, launch);
		json_object_set_new(j.root, "launchers", launch);
	}
	return guest_opts_close_rc(&o.g, bench_json_write(&j, &o, rc));
}
