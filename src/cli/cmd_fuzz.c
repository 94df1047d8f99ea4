/* src/cli/cmd_fuzz.c - `ptshadow fuzz`: options of a fuzz campaign. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "campaign.h"
#include "clock.h"
#include "cli.h"
#include "util.h"

static const char fuzz_help[] =
    "usage: ptshadow fuzz [OPTIONS] GUEST.elf\n"
    "\n"
    "Generate random pmap op sequences, run them with the monitor checking after\n"
    "every op, and write one crash directory per distinct finding into --out.\n"
    "--out also gets stats.json, plot_data.csv (a row every 5 s) and index.html, the\n"
    "campaign's page (every minute and at the end; ptshadow report makes it again).\n"
    "\n"
    "options:\n"
    "  --seed S          random seed (default: picked and printed)\n"
    "  --ops N           stop after N ops in all (default 100000 unless --time)\n"
    "  --time DURATION   stop after DURATION (90, 90s, 5m, 1h), minimisation included\n"
    "  --profile P       fuzz profile: a name in configs/fuzz/ or a path (default: default)\n"
    "  --out DIR         output directory (default: out; one campaign at a time)\n"
    "  --jobs J          VMs side by side (default: one per core)\n"
    "  --keep-going      go on after the first finding\n"
    "  --no-minimize     do not minimise new findings\n"
    "  --sequence-length L  restart the guest every L ops (default 1000; 0 = never)\n"
    "  --check MODE|SPEC full or incremental (default incremental), or invariants to switch\n"
    "                    off, e.g. -TLB,-POOL-3 (see ptshadow invariants); may repeat\n"
    "  --full-every N    with --check incremental: a full check every N ops (default 1000;\n"
    "                    0 = never)\n"
    "  --quiet           no status line\n"
    "  --coverage MODE   the guest pmap's edge coverage: report (default: read the\n"
    "                    guest's map after every sequence, into stats.json and\n"
    "                    OUT/coverage.bin, see ptshadow coverage), guide (also keep the\n"
    "                    sequences that reached new edges in OUT/corpus/ and mutate\n"
    "                    them) or off\n"
    "  --metrics         write OUT/metrics.prom every 5 s (Prometheus text format, for\n"
    "                    node_exporter's textfile collector)\n" GUEST_OPTIONS_HELP;

enum { OPT_FUZZ_COVERAGE = 0x300 };

struct fuzz_args {
	struct campaign_config *c;
	struct guest_opts *g;
	const char **profile;
	bool *seeded;
};

/* the numbers: --seed, --ops, --time, --jobs, --sequence-length (1: not one of them) */
static int fuzz_opt_count(struct campaign_config *c, bool *seeded, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case OPT_SEED:
		if (parse_u64(arg, &c->seed) != 0)
			return usage_error("fuzz", "--seed %s: not a number", arg);
		*seeded = true;
		return 0;
	case OPT_OPS:
		if (parse_u64(arg, &c->max_ops) != 0 || c->max_ops == 0)
			return usage_error("fuzz", "--ops %s: want a positive count", arg);
		return 0;
	case OPT_TIME:
		if (parse_duration(arg, &c->max_seconds) != 0 || c->max_seconds == 0)
			return usage_error("fuzz", "--time %s: want a duration like 90s, 5m, 1h",
			                   arg);
		return 0;
	case OPT_JOBS:
		if (parse_u64(arg, &v) != 0 || v == 0 || v > CAMPAIGN_MAX_JOBS)
			return usage_error("fuzz", "--jobs %s: want 1..%d", arg, CAMPAIGN_MAX_JOBS);
		c->jobs = (unsigned)v;
		return 0;
	case OPT_SEQLEN:
		if (parse_u64(arg, &c->seq_len) != 0)
			return usage_error("fuzz", "--sequence-length %s: not a number", arg);
		return 0;
	default:
		return 1;
	}
}

static int fuzz_opt(void *ctx, int opt, const char *arg)
{
	struct fuzz_args *a = ctx;
	struct campaign_config *c = a->c;
	int r;

	switch (opt) {
	case OPT_PROFILE:
		*a->profile = arg;
		return 0;
	case OPT_OUT:
		c->out = arg;
		return 0;
	case OPT_KEEP_GOING:
		c->keep_going = true;
		return 0;
	case OPT_NO_MINIMIZE:
		c->minimize = false;
		return 0;
	case OPT_CHECK:
		return check_opt_apply(a->g, "fuzz", arg);
	case OPT_FULL_EVERY:
		return full_every_opt_apply(a->g, "fuzz", arg);
	case OPT_QUIET:
		c->quiet = true;
		return 0;
	case OPT_FUZZ_COVERAGE:
		if (cov_mode_parse(arg, &c->coverage) != 0)
			return usage_error("fuzz", "--coverage %s: want off, report or guide", arg);
		return 0;
	case OPT_METRICS:
		c->metrics = true;
		return 0;
	default:
		r = fuzz_opt_count(c, a->seeded, opt, arg);
		return r != 1 ? r : usage_error("fuzz", "unknown option %d", opt);
	}
}

static int fuzz_parse(int argc, char **argv, struct campaign_config *c, struct guest_opts *g,
                      const char **profile, bool *seeded)
{
	static const struct option longopts[] = {
	    GUEST_LONG_OPTIONS,
	    {"seed", required_argument, NULL, OPT_SEED},
	    {"ops", required_argument, NULL, OPT_OPS},
	    {"time", required_argument, NULL, OPT_TIME},
	    {"profile", required_argument, NULL, OPT_PROFILE},
	    {"out", required_argument, NULL, OPT_OUT},
	    {"jobs", required_argument, NULL, OPT_JOBS},
	    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
	    {"no-minimize", no_argument, NULL, OPT_NO_MINIMIZE},
	    {"sequence-length", required_argument, NULL, OPT_SEQLEN},
	    {"check", required_argument, NULL, OPT_CHECK},
	    {"full-every", required_argument, NULL, OPT_FULL_EVERY},
	    {"quiet", no_argument, NULL, OPT_QUIET},
	    {"coverage", required_argument, NULL, OPT_FUZZ_COVERAGE},
	    {"metrics", no_argument, NULL, OPT_METRICS},
	    {NULL, 0, NULL, 0},
	};
	struct fuzz_args a = {c, g, profile, seeded};

	if (cli_parse("fuzz", fuzz_help, argc, argv, "", longopts, g, fuzz_opt, &a) != 0 ||
	    cli_one_operand("fuzz", argc, argv, "guest image") != 0)
		return EXIT_USAGE;
	g->cfg.guest = argv[optind];
	return 0;
}

/* The profile against the guest: a profile that names pages the arena does
 * not have would be clamped without a word, so it is refused. */
static int profile_fits(const struct campaign_config *c, const struct guest_opts *g)
{
	if (c->profile.pages <= g->cfg.arena_pages)
		return 0;
	fprintf(stderr,
	        "ptshadow fuzz: %s: pages = %llu is more than the arena's %llu pages "
	        "(--arena)\n",
	        c->profile.path, (unsigned long long)c->profile.pages,
	        (unsigned long long)g->cfg.arena_pages);
	return EXIT_USAGE;
}

/* The guest image's edges for --coverage: 0, or EXIT_USAGE after one line.
 * An image without coverage turns report off (said once); guide needs it. */
static int fuzz_coverage(struct campaign_config *c, const struct guest_opts *g,
                         struct cov_image *img)
{
	char err[1024];

	if (c->coverage == COV_OFF)
		return 0;
	if (c->coverage == COV_GUIDE && c->seq_len == 0)
		return usage_error("fuzz", "--coverage guide needs sequences: --sequence-length 0 "
		                           "never ends one");
	if (cov_image_load(g->cfg.guest, img, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow fuzz: %s\n", err);
		return EXIT_USAGE;
	}
	if (img->nedges > 0) {
		c->cov = img;
		return 0;
	}
	if (c->coverage == COV_GUIDE) {
		fprintf(stderr,
		        "ptshadow fuzz: --coverage guide: %s has no coverage (built with "
		        "COVERAGE=0?)\n",
		        g->cfg.guest);
		return EXIT_USAGE;
	}
	printf("coverage: %s has no coverage sections: --coverage off\n", g->cfg.guest);
	c->coverage = COV_OFF;
	return 0;
}

/* The guest boots with --cmdline's options, then the profile's [guest]
 * cmdline (the guest takes the first of a key: --cmdline's wins) */
static int profile_cmdline(const struct campaign_config *c, struct guest_opts *g)
{
	const char *user = g->cfg.extra_cmdline;

	if (c->profile.cmdline[0] == '\0')
		return 0;
	if (asprintf(&g->cmdline, "%s%s%s", user ? user : "", user ? " " : "", c->profile.cmdline) <
	    0) {
		g->cmdline = NULL;
		fprintf(stderr, "ptshadow fuzz: out of memory\n");
		return EXIT_INTERNAL;
	}
	g->cfg.extra_cmdline = g->cmdline;
	return 0;
}

/* Every input before any VM: options, profile, guest image, --out (and its lock). */
static int fuzz_inputs(struct campaign_config *c, struct guest_opts *g, const char *profile,
                       struct cov_image *img)
{
	char err[512];
	int rc;

	rc = check_opts_finish(g, "fuzz");
	if (rc != 0)
		return rc;
	if (fuzz_profile_load(profile, &c->profile, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow fuzz: %s\n", err);
		return EXIT_USAGE;
	}
	if (profile_fits(c, g) != 0)
		return EXIT_USAGE;
	rc = profile_cmdline(c, g);
	if (rc != 0)
		return rc;
	if (cli_check_guest("fuzz", g) != 0 || fuzz_coverage(c, g, img) != 0)
		return EXIT_USAGE;
	if (cli_check_output_dir("fuzz", "--out", c->out) != 0)
		return EXIT_USAGE;
	rc = guest_opts_finish(g, "fuzz");
	if (rc != 0)
		return rc;
	if (mkdir_p(c->out, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow fuzz: --out %s\n", err);
		return EXIT_USAGE;
	}
	/* one campaign a directory: a second is refused before any VM starts */
	return campaign_lock_out(c->out);
}

/* The campaign as it will run (a budget, a seed, a guest checked after
 * every op with a snapshot), said in its first lines. */
static void fuzz_settle(struct campaign_config *c, struct guest_opts *g, bool seeded)
{
	if (c->max_ops == 0 && c->max_seconds == 0)
		c->max_ops = 100000;
	if (!seeded && getrandom(&c->seed, sizeof(c->seed), 0) != sizeof(c->seed))
		c->seed = now_ns();
	if (!seeded)
		c->seed %= 1000000000ull; /* short enough to retype */
	g->cfg.ring = true;
	g->cfg.stop_each = true;
	g->cfg.monitor = true;
	g->cfg.snapshot = true;
	c->sess = g->cfg;
	c->sess.sched_seed = c->seed + 1; /* the groups' PCT schedules (docs/smp.md) */
	c->sess.sched_depth = 3;
	if (c->sess.backend_why != NULL) /* the first line says why this backend */
		printf("backend: %s%s, %s\n", vm_backend_name(c->sess.backend),
		       vm_backend_accel_note(c->sess.backend, false), c->sess.backend_why);
	printf("ptshadow fuzz: seed %llu, profile %s, %u job%s, %s backend%s%s, output in %s/\n",
	       (unsigned long long)c->seed, c->profile.name, c->jobs, c->jobs == 1 ? "" : "s",
	       vm_backend_name(c->sess.backend),
	       vm_backend_accel_note(c->sess.backend, c->sess.qemu_kvm),
	       c->sess.sched_free && c->sess.cpus > 1 ? ", groups free-running" : "", c->out);
	fflush(stdout);
}

int cmd_fuzz(int argc, char **argv)
{
	struct campaign_config c;
	struct cov_image img = {.nedges = 0};
	struct guest_opts g;
	const char *profile = "default";
	bool seeded = false;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	memset(&c, 0, sizeof(c));
	guest_opts_init(&g);
	g.cfg.console = NULL; /* kept for reports only */
	c.out = "out";
	c.jobs = cores > 0 && cores <= CAMPAIGN_MAX_JOBS ? (unsigned)cores : 1;
	c.minimize = true;
	c.seq_len = 1000;
	c.coverage = COV_REPORT;
	g.cfg.full_every =
	    1000; /* with --check incremental: the log is checked against a full read */
	g.cfg.incremental =
	    true; /* same findings as full (tests/unit/test_modes.c), ~40x cheaper */
	rc = fuzz_parse(argc, argv, &c, &g, &profile, &seeded);
	if (rc == 0)
		rc = fuzz_inputs(&c, &g, profile, &img);
	if (rc != 0)
		goto out;
	fuzz_settle(&c, &g, seeded);
	rc = campaign_run(&c);
out:
	cov_image_free(&img);
	return guest_opts_close_rc(&g, rc);
}
