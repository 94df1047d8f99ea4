/* src/cli/cmd_run.c - `ptshadow run`: boot a guest, then run a script of pmap
 * ops through the command ring (or let the guest run its smoke test), with
 * the monitor checking after every op.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "cli.h"
#include "report.h"
#include "util.h"

static const char run_help[] =
    "usage: ptshadow run [OPTIONS] GUEST.elf\n"
    "\n"
    "Boot GUEST.elf (a PVH ELF64 image).  With --ops, send each op of FILE to the\n"
    "guest pmap and check the result and the pmap's invariants after every op;\n"
    "without, the guest runs its built-in smoke test.\n"
    "\n"
    "options:\n"
    "  --ops FILE        script of pmap ops (docs/op-language.md)\n"
    "  --trace           print every op with its result\n"
    "  --out DIR         where findings are written (default: out)\n"
    "  --keep-going      record every violation and go on (default: stop at the first)\n"
    "  --check MODE|SPEC full or incremental (default full), or invariants to switch\n"
    "                    off, e.g. -TLB,-POOL-3 (see ptshadow invariants); may repeat\n"
    "  --full-every N    with --check incremental: a full check every N ops (default 0: never)\n"
    "  --no-monitor      only run the ops and compare results (no invariant checks)\n"
    "  --stats           print the median guest time and check time of each op "
    "kind,\n"
    "                    and how many ops were checked while the guest ran the "
    "next\n" GUEST_OPTIONS_HELP;

struct run_opts {
	struct guest_opts g;
	const char *ops_path;
	const char *out;
	bool out_given;
	bool trace, keep_going, stats;
};

static int run_opt(void *ctx, int opt, const char *arg)
{
	struct run_opts *o = ctx;

	switch (opt) {
	case OPT_OPS:
		o->ops_path = arg;
		return 0;
	case OPT_TRACE:
		o->trace = true;
		return 0;
	case OPT_OUT:
		o->out = arg;
		o->out_given = true;
		return 0;
	case OPT_KEEP_GOING:
		o->keep_going = true;
		return 0;
	case OPT_CHECK:
		return check_opt_apply(&o->g, "run", arg);
	case OPT_FULL_EVERY:
		return full_every_opt_apply(&o->g, "run", arg);
	case OPT_NO_MONITOR:
		o->g.cfg.monitor = false;
		o->g.no_monitor = true;
		return 0;
	case OPT_STATS:
		o->stats = true;
		return 0;
	default:
		return usage_error("run", "unknown option %d", opt);
	}
}

static int run_parse(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
	    GUEST_LONG_OPTIONS,
	    {"ops", required_argument, NULL, OPT_OPS},
	    {"trace", no_argument, NULL, OPT_TRACE},
	    {"out", required_argument, NULL, OPT_OUT},
	    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
	    {"check", required_argument, NULL, OPT_CHECK},
	    {"full-every", required_argument, NULL, OPT_FULL_EVERY},
	    {"no-monitor", no_argument, NULL, OPT_NO_MONITOR},
	    {"stats", no_argument, NULL, OPT_STATS},
	    {NULL, 0, NULL, 0},
	};

	guest_opts_init(&o->g);
	o->g.cfg.monitor = true;
	o->out = "out";
	if (cli_parse("run", run_help, argc, argv, "", longopts, &o->g, run_opt, o) != 0 ||
	    cli_one_operand("run", argc, argv, "guest image") != 0)
		return EXIT_USAGE;
	o->g.cfg.guest = argv[optind];
	return 0;
}

/* The run's sink: the trace, --stats, and a crash directory a finding. */
struct run_sink_ctx {
	const struct run_opts *o;
	const struct script *sc;
	const struct session_config *cfg;
	int rc;
};

/* Print a finding and write its crash directory: EXIT_FINDING, or
 * EXIT_INTERNAL when the directory could not be written (the finding is on
 * stderr, but not saved). */
static int run_report(const struct run_sink_ctx *k, const struct outcome *out)
{
	const struct script *sc = k->sc;
	char err[512], sig[17];
	struct finding f;
	bool is_new;
	int rc = EXIT_FINDING;

	finding_from_outcome(&f, out);
	fprintf(stderr, "ptshadow run: %s:%u: %s\n", sc->file,
	        f.op_index < sc->n_ops ? sc->ops[f.op_index].line : 0, f.title);
	fprintf(stderr, "  %s\n", f.message);
	if (f.details != NULL && f.details[0] != '\0')
		fprintf(stderr, "%s", f.details);
	finding_sig_hex(&f, sig);
	if (report_write(k->o->out, &f, sc, out->console, out->console_len, k->cfg, &is_new, err,
	                 sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow run: cannot save the finding: %s\n", err);
		rc = EXIT_INTERNAL;
	} else {
		fprintf(stderr, "  report: %s/crashes/%s/report.txt\n", k->o->out, sig);
	}
	finding_free(&f);
	return rc;
}

static bool run_finding(void *ctx, const struct outcome *out)
{
	struct run_sink_ctx *k = ctx;

	k->rc = run_report(k, out);
	return k->rc == EXIT_INTERNAL;
}

/* --stats: guest cycles and monitor time of every op, by kind */
struct op_samples {
	uint64_t *cycles, *check_ns;
	size_t n, cap;
};
static struct op_samples op_samples[PTS_OP_COUNT];

static void op_stats_add(uint32_t kind, uint64_t cycles, uint64_t check_ns)
{
	struct op_samples *os;

	if (kind >= PTS_OP_COUNT)
		return;
	os = &op_samples[kind];
	size_t cap = os->cap;
	if (ARRAY_GROW(os->cycles, cap, os->n, 64) != 0 ||
	    ARRAY_GROW(os->check_ns, os->cap, os->n, 64) != 0)
		return;
	os->cycles[os->n] = cycles;
	os->check_ns[os->n++] = check_ns;
}

static void run_op(void *ctx, const struct op_step *step)
{
	const struct run_sink_ctx *k = ctx;
	char res[32];

	if (step->status != SESSION_OK && step->status != SESSION_VIOLATION)
		return;
	if (k->o->stats)
		op_stats_add(step->op->op.kind, step->op->op.cycles, step->check_ns);
	result_format(step->op->op.result, step->op->op.value, res, sizeof(res));
	if (k->o->trace)
		printf("%6zu  %-48s => %s\n", step->index, step->text, res);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n == 0 ? 0 : v[n / 2];
}

static void op_stats_print(const struct session_stats *st)
{
	const struct vm_stats *vm = &st->vm;
	uint64_t tsc_khz = vm->tsc_khz, ops = st->ops;

	printf("\n%-16s %8s %16s %16s\n", "op", "count", "guest us (med)", "check us (med)");
	for (uint32_t k = 0; k < PTS_OP_COUNT; k++) {
		struct op_samples *os = &op_samples[k];
		if (os->n == 0)
			continue;
		uint64_t cyc = median(os->cycles, os->n), chk = median(os->check_ns, os->n);
		printf("%-16s %8zu %16.1f %16.1f\n", op_kind_name(k), os->n,
		       tsc_khz ? cyc * 1000.0 / tsc_khz : 0.0, chk / 1000.0);
		free(os->cycles);
		free(os->check_ns);
		memset(os, 0, sizeof(*os));
	}
	if (!vm->dirty_logging || vm->dirty_syncs == 0)
		return;
	printf("dirty log: %s, harvest %.1f us per op", vm_dirty_mode_name(vm->dirty_mode),
	       ops ? vm->dirty_harvest_ns / 1e3 / ops : 0.0);
	if (vm->dirty_mode == VM_DIRTY_RING)
		printf(", %.0f ring entries per op, %llu overflows (ops checked in full)",
		       ops ? (double)vm->ring_entries_read / ops : 0.0,
		       (unsigned long long)vm->ring_overflows);
	printf("\n");
}

static void run_stats_print(const struct session *s)
{
	struct session_stats st;

	session_stats(s, &st);
	op_stats_print(&st);
	printf("checked behind the guest: %llu of %llu ops; the guest halted in %llu calls\n",
	       (unsigned long long)st.overlapped, (unsigned long long)st.ops,
	       (unsigned long long)st.vm.guest_wakes);
}

/* every op, a crash directory a finding; --keep-going goes on after one */
static int run_ops(struct session *s, struct script *sc, const struct run_opts *o)
{
	struct run_sink_ctx k = {.o = o, .sc = sc, .cfg = &o->g.cfg, .rc = EXIT_CLEAN};
	const struct run_policy policy = {
	    .lookahead = true,
	    .check_expect = true,
	    .every_violation = true,
	    .keep_going = o->keep_going,
	    .op_text = o->trace,
	};
	const struct run_sink sink = {.ctx = &k, .op = run_op, .finding = run_finding};
	struct outcome out = session_run(s, sc, 0, &policy, &sink);

	if (out.kind == OUTCOME_ERROR || out.kind == OUTCOME_INTERRUPTED) {
		fprintf(stderr, "ptshadow run: %s\n", out.death.error);
		return EXIT_INTERNAL;
	}
	return k.rc;
}

/* after the script: the guest must exit, and exit 0 */
static int run_end(struct session *s, int rc)
{
	struct outcome o;

	if (rc == EXIT_CLEAN && session_finish(s) != SESSION_EXITED) {
		fprintf(stderr, "ptshadow run: at exit: ");
		o = session_last(s);
		death_describe(&o.death, stderr);
		return EXIT_FINDING;
	}
	return rc;
}

/* Every input checked before the guest boots: options, script, where
 * findings go (they are written only with --ops: a finding is never lost to
 * an --out that cannot take it).  0, or an exit status. */
static int run_inputs(int argc, char **argv, struct run_opts *o, struct script **sc)
{
	int rc = run_parse(argc, argv, o);

	if (rc == 0)
		rc = check_opts_finish(&o->g, "run");
	if (rc == 0 && o->ops_path != NULL)
		rc = cli_load_script("run", o->ops_path, &o->g, sc);
	if (rc == 0 && (o->ops_path != NULL || o->out_given))
		rc = cli_check_output_dir("run", "--out", o->out);
	if (rc == 0)
		rc = guest_opts_finish(&o->g, "run");
	if (rc == 0)
		rc = cli_check_guest("run", &o->g);
	return rc;
}

/* A guest that ran clean exited, and with 0 (the smoke test's verdict). */
static int run_exit_status(struct session *s, int rc)
{
	struct outcome last;

	if (rc != EXIT_CLEAN)
		return rc;
	last = session_last(s);
	if (last.death.event != VM_EV_EXIT || last.death.exit_status == 0)
		return rc;
	fprintf(stderr, "ptshadow run: guest exited with status %u\n", last.death.exit_status);
	return EXIT_FINDING;
}

/* Boot, the script (or the built-in smoke test), the verdict. */
static int run_guest(struct run_opts *o, struct script *sc)
{
	struct session *s;
	int rc;

	o->g.cfg.ring = sc != NULL;
	o->g.cfg.stop_each = true;
	o->g.cfg.announce = stdout;
	s = session_open(&o->g.cfg, &rc);
	if (rc != 0) {
		cli_say_boot_failure("run", s, rc);
		session_close(s);
		return rc;
	}
	if (sc != NULL) {
		rc = run_ops(s, sc, o);
		if (o->stats)
			run_stats_print(s);
		rc = run_end(s, rc);
	}
	rc = run_exit_status(s, rc);
	session_close(s);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct script *sc = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = run_inputs(argc, argv, &o, &sc);
	if (rc == 0)
		rc = run_guest(&o, sc);
	rc = guest_opts_close_rc(&o.g, rc);
	script_free(sc);
	return rc;
}
