/* src/cli/cmd_run.c - `ptshadow run`: boot a guest, then run a script of pmap
 * ops through the command ring (or let the guest run its smoke test), with
 * the monitor checking after every op.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Print a finding and write its crash directory: EXIT_FINDING, or
 * EXIT_INTERNAL when the directory could not be written (the finding is on
 * stderr, but not saved). */
static int run_report(struct session *s, struct script *sc, const struct run_opts *o,
                      struct finding *f)
{
	char err[512], sig[17];
	bool is_new;

	fprintf(stderr, "ptshadow run: %s:%u: %s\n", sc->file,
	        f->op_index < sc->n_ops ? sc->ops[f->op_index].line : 0, f->title);
	fprintf(stderr, "  %s\n", f->message);
	if (f->details != NULL && f->details[0] != '\0')
		fprintf(stderr, "%s", f->details);
	finding_sig_hex(f, sig);
	if (report_write(o->out, f, sc, s->vm.cons.tail, s->vm.cons.tail_len, &s->cfg, &is_new, err,
	                 sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow run: cannot save the finding: %s\n", err);
		return EXIT_INTERNAL;
	}
	fprintf(stderr, "  report: %s/crashes/%s/report.txt\n", o->out, sig);
	return EXIT_FINDING;
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
	if (os->n == os->cap) {
		size_t cap = os->cap ? os->cap * 2 : 64;
		uint64_t *c = realloc(os->cycles, cap * sizeof(*c));
		uint64_t *k = c ? realloc(os->check_ns, cap * sizeof(*k)) : NULL;
		if (c != NULL)
			os->cycles = c;
		if (k == NULL)
			return;
		os->check_ns = k;
		os->cap = cap;
	}
	os->cycles[os->n] = cycles;
	os->check_ns[os->n++] = check_ns;
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

static void op_stats_print(const struct vm *vm, uint64_t ops)
{
	uint64_t tsc_khz = vm->tsc_khz;

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

static int run_ops(struct session *s, struct script *sc, const struct run_opts *o)
{
	char text[OPS_TEXT_MAX], res[32];
	int rc = EXIT_CLEAN;

	for (size_t i = 0; i < sc->n_ops; i++) {
		struct script_op *sop = &sc->ops[i];
		enum session_status st;
		struct finding f;

		session_set_next(s, i + 1 < sc->n_ops ? &sc->ops[i + 1] : NULL);
		st = session_op(s, sop);
		script_op_format(sop, text, sizeof(text));
		if (st == SESSION_ERROR || st == SESSION_INTERRUPTED) {
			fprintf(stderr, "ptshadow run: %s\n", s->err);
			return EXIT_INTERNAL;
		}
		if (st == SESSION_GUEST_DIED || st == SESSION_EXITED) {
			finding_from_death(&f, s, i, sop);
			rc = run_report(s, sc, o, &f);
			finding_free(&f);
			return rc;
		}
		if (o->stats)
			op_stats_add(sop->op.kind, sop->op.cycles, s->last_check_ns);
		result_format(sop->op.result, sop->op.value, res, sizeof(res));
		if (o->trace)
			printf("%6zu  %-48s => %s\n", i, text, res);
		if (st == SESSION_VIOLATION) {
			size_t n = session_nviolations(s);
			for (size_t k = 0; k < n && rc != EXIT_INTERNAL; k++) {
				finding_from_violation(&f, session_violation(s, k));
				rc = run_report(s, sc, o, &f);
				finding_free(&f);
			}
			if (!o->keep_going || rc == EXIT_INTERNAL)
				return rc;
		}
		if (!script_op_expect_met(sop)) {
			finding_from_mismatch(&f, i, sop);
			rc = run_report(s, sc, o, &f);
			finding_free(&f);
			if (!o->keep_going || rc == EXIT_INTERNAL)
				return rc;
		}
	}
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct script *sc = NULL;
	struct session s;
	int rc;

	memset(&o, 0, sizeof(o));
	/* every input is checked before the guest boots: options, script, where
	 * findings go (they are written only with --ops: a finding is never
	 * lost to an --out that cannot take it) */
	rc = run_parse(argc, argv, &o);
	if (rc == 0)
		rc = check_opts_finish(&o.g, "run");
	if (rc == 0 && o.ops_path != NULL)
		rc = cli_load_script("run", o.ops_path, &o.g, &sc);
	if (rc == 0 && (o.ops_path != NULL || o.out_given))
		rc = cli_check_output_dir("run", "--out", o.out);
	if (rc == 0)
		rc = guest_opts_finish(&o.g, "run");
	if (rc == 0)
		rc = cli_check_guest("run", &o.g);
	if (rc != 0)
		goto out;
	o.g.cfg.ring = sc != NULL;
	o.g.cfg.stop_each = true;
	o.g.cfg.announce = stdout;
	rc = session_boot(&s, &o.g.cfg);
	if (rc != 0) {
		fprintf(stderr, "ptshadow run: ");
		if (rc == EXIT_FINDING)
			session_describe_death(&s, stderr);
		else
			fprintf(stderr, "%s\n", s.err);
		session_destroy(&s);
		goto out;
	}
	if (sc != NULL) {
		rc = run_ops(&s, sc, &o);
		if (o.stats) {
			op_stats_print(&s.vm, s.ops_done);
			printf(
			    "checked behind the guest: %llu of %llu ops; the guest halted in %llu "
			    "calls\n",
			    (unsigned long long)s.overlapped, (unsigned long long)s.ops_done,
			    (unsigned long long)s.vm.guest_wakes);
		}
		if (rc == EXIT_CLEAN && session_finish(&s) != SESSION_EXITED) {
			fprintf(stderr, "ptshadow run: at exit: ");
			session_describe_death(&s, stderr);
			rc = EXIT_FINDING;
		}
	}
	if (rc == EXIT_CLEAN && s.vm.event == VM_EV_EXIT && s.vm.exit_status != 0) {
		fprintf(stderr, "ptshadow run: guest exited with status %u\n", s.vm.exit_status);
		rc = EXIT_FINDING;
	}
	session_destroy(&s);
out:
	rc = guest_opts_close_rc(&o.g, rc);
	script_free(sc);
	return rc;
}
