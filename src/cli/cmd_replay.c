/* src/cli/cmd_replay.c - `ptshadow replay` and `ptshadow minimize`: rerun a
 * reproducer (a script, or a crash directory) and say whether the finding
 * recurs; shrink a failing script to the smallest one that still fails.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "minimize.h"
#include "runner.h"
#include "util.h"

struct target {
	char ops_path[PATH_MAX];
	char report_path[PATH_MAX];
	bool have_report;
	uint64_t signature;
	uint64_t op_index; /* the finding's op in ops_path */
	char *guest_owned;
	struct script *script;
};

#define REPLAY_FREE_TRIES   10u
#define REPLAY_FREE_TRIES_S "10"
#define REPLAY_TRIES_MAX    1000u

static const char replay_help[] =
    "usage: ptshadow replay [OPTIONS] FILE.ops|CRASH_DIR\n"
    "\n"
    "Rerun a reproducer on a fresh guest.  For a crash directory (or a script\n"
    "or the report.json inside one) the finding recorded in its report.json must recur with the\n"
    "same signature at the same op: exit 1 if it does, 0 (with a message) if\n"
    "not.  For another script, exit 1 on any finding.\n"
    "\n"
    "options:\n"
    "  --guest FILE      guest image (default: the one in report.json, else build/guest.elf)\n"
    "  --trace           print every op with its result\n"
    "  --tries N         run it up to N times until the finding recurs (default 1, or\n"
    "                    " REPLAY_FREE_TRIES_S
    " when a group ran `schedule free`: those replay by chance)\n" GUEST_OPTIONS_HELP;

static const char minimize_help[] =
    "usage: ptshadow minimize [OPTIONS] FILE.ops|CRASH_DIR\n"
    "\n"
    "Shrink a failing script to the fewest, simplest ops that give the same\n"
    "finding signature (delta debugging, then argument simplification).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE write the result to FILE (default: min.ops beside the input)\n"
    "  --guest FILE      guest image (default: the one in report.json, else "
    "build/guest.elf)\n" GUEST_OPTIONS_HELP;

enum { OPT_GUEST = 0x200, OPT_TRIES };

/* The script and the directory of its report.json: a crash directory, its
 * report.json (which stands for the directory), or a script. */
static void target_paths(const char *arg, bool is_dir, struct target *t, char *dir, size_t len)
{
	const char *slash = strrchr(arg, '/');

	if (is_dir) {
		snprintf(dir, len, "%s", arg);
		snprintf(t->ops_path, sizeof(t->ops_path), "%s/repro.ops", arg);
		return;
	}
	snprintf(dir, len, "%.*s", slash ? (int)(slash - arg) : 1, slash ? arg : ".");
	if (strcmp(slash ? slash + 1 : arg, "report.json") == 0)
		snprintf(t->ops_path, sizeof(t->ops_path), "%s/repro.ops", dir);
	else
		snprintf(t->ops_path, sizeof(t->ops_path), "%s", arg);
}

/* An op the script does not have can never recur: that is a bad report,
 * not a finding that "did not reproduce" (a guest that died booting has no
 * op: its finding is op 0 of an empty script).  false after one line. */
static bool target_op_known(const char *cmd, const struct target *t)
{
	if (!t->have_report || t->op_index < t->script->n_ops ||
	    (t->op_index == 0 && t->script->n_ops == 0))
		return true;
	fprintf(stderr, "ptshadow %s: %s: op_index %llu is not an op of %s (%zu ops)\n", cmd,
	        t->report_path, (unsigned long long)t->op_index, t->ops_path, t->script->n_ops);
	return false;
}

static int target_load(const char *cmd, const char *arg, struct guest_opts *g, struct target *t)
{
	struct stat st;
	char err[768], dir[PATH_MAX];

	if (stat(arg, &st) != 0) {
		fprintf(stderr, "ptshadow %s: %s: %m\n", cmd, arg);
		return EXIT_USAGE;
	}
	target_paths(arg, S_ISDIR(st.st_mode), t, dir, sizeof(dir));
	snprintf(t->report_path, sizeof(t->report_path), "%s/report.json", dir);
	t->have_report = access(t->report_path, R_OK) == 0;
	if (t->have_report &&
	    report_guest_load(t->report_path, &g->cfg, g->given, &t->guest_owned, &t->signature,
	                      &t->op_index, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow %s: %s\n", cmd, err);
		return EXIT_USAGE;
	}
	if (cli_load_script(cmd, t->ops_path, g, &t->script) != 0)
		return EXIT_USAGE;
	/* a minimised script ends with the failing op; repro.ops keeps report's index */
	if (t->have_report && strstr(t->ops_path, "repro.ops") == NULL)
		t->op_index = t->script->n_ops > 0 ? t->script->n_ops - 1 : 0;
	if (!target_op_known(cmd, t))
		return EXIT_USAGE;
	if (g->cfg.guest == NULL)
		g->cfg.guest = t->guest_owned != NULL ? t->guest_owned : "build/guest.elf";
	return 0;
}

static void target_free(struct target *t)
{
	script_free(t->script);
	free(t->guest_owned);
}

struct common_args {
	const char *cmd;
	struct guest_opts *g;
	bool *trace;
	const char **output;
	unsigned *tries; /* replay's --tries (0: not given) */
};

static int tries_opt(struct common_args *a, const char *arg)
{
	uint64_t v;

	if (parse_u64(arg, &v) != 0 || v < 1 || v > REPLAY_TRIES_MAX)
		return usage_error(a->cmd, "--tries %s: want a count between 1 and %u", arg,
		                   REPLAY_TRIES_MAX);
	*a->tries = (unsigned)v;
	return 0;
}

static int common_opt(void *ctx, int opt, const char *arg)
{
	struct common_args *a = ctx;

	if (opt == OPT_GUEST)
		a->g->cfg.guest = arg;
	else if (opt == OPT_TRACE && a->trace != NULL)
		*a->trace = true;
	else if (opt == 'o' && a->output != NULL)
		*a->output = arg;
	else if (opt == OPT_TRIES && a->tries != NULL)
		return tries_opt(a, arg);
	else /* --trace and --tries for minimize, -o for replay */
		return usage_error(a->cmd, "unknown option '%s'",
		                   opt == 'o'         ? "-o"
		                   : opt == OPT_TRIES ? "--tries"
		                                      : "--trace");
	return 0;
}

static int parse_common(const char *cmd, const char *help, int argc, char **argv,
                        struct guest_opts *g, bool *trace, const char **output, unsigned *tries)
{
	static const struct option longopts[] = {
	    GUEST_LONG_OPTIONS,
	    {"guest", required_argument, NULL, OPT_GUEST},
	    {"trace", no_argument, NULL, OPT_TRACE},
	    {"tries", required_argument, NULL, OPT_TRIES},
	    {"output", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0},
	};
	struct common_args a = {cmd, g, trace, output, tries};

	if (cli_parse(cmd, help, argc, argv, output ? "o:" : "", longopts, g, common_opt, &a) !=
	        0 ||
	    cli_one_operand(cmd, argc, argv, "reproducer") != 0)
		return EXIT_USAGE;
	return 0;
}

static void trace_script(const struct script *sc, size_t upto)
{
	char text[OPS_TEXT_MAX], res[32];

	for (size_t i = 0; i < upto && i < sc->n_ops; i++) {
		script_op_format(&sc->ops[i], text, sizeof(text));
		result_format(sc->ops[i].op.result, sc->ops[i].op.value, res, sizeof(res));
		printf("%6zu  %-48s => %s\n", i, text, res);
	}
}

/* What the replay came to, said: the exit status. */
static int replay_verdict(const struct target *t, enum run_outcome o, struct finding *f,
                          const char *err)
{
	int rc = EXIT_FINDING;

	if (o < 0) {
		fprintf(stderr, "ptshadow replay: %s\n", err);
		return o == RUN_BAD_IMAGE ? EXIT_USAGE : EXIT_INTERNAL;
	}
	if (o == RUN_CLEAN) {
		printf("replay: did not reproduce: %s ran clean (%zu ops)\n", t->ops_path,
		       t->script->n_ops);
		return EXIT_CLEAN;
	}
	if (t->have_report && (f->signature != t->signature || f->op_index != t->op_index)) {
		printf("replay: did not reproduce: expected signature %016llx at op %llu, got %s "
		       "(%016llx) at op %llu\n",
		       (unsigned long long)t->signature, (unsigned long long)t->op_index, f->title,
		       (unsigned long long)f->signature, (unsigned long long)f->op_index);
		rc = EXIT_CLEAN;
	} else {
		printf("replay: reproduced %s at op %llu (%s)\n  %s\n  signature %016llx\n",
		       f->title, (unsigned long long)f->op_index, f->op_text, f->message,
		       (unsigned long long)f->signature);
	}
	finding_free(f);
	return rc;
}

static bool replay_hit(const struct target *t, enum run_outcome o, const struct finding *f)
{
	return o == RUN_FINDING &&
	       (!t->have_report || (f->signature == t->signature && f->op_index == t->op_index));
}

/* Up to tries runs, until the finding recurs (groups that ran free replay
 * only by chance): the last run's outcome, *ran the runs made */
static enum run_outcome replay_runs(struct guest_opts *g, struct target *t, unsigned tries,
                                    struct finding *f, char *err, size_t errlen, unsigned *ran)
{
	for (*ran = 1;; (*ran)++) {
		enum run_outcome o =
		    run_script(&g->cfg, t->script, !t->have_report, f, NULL, NULL, err, errlen);
		if (o < 0 || replay_hit(t, o, f) || *ran >= tries)
			return o;
		if (o == RUN_FINDING)
			finding_free(f);
	}
}

int cmd_replay(int argc, char **argv)
{
	struct guest_opts g;
	struct target t = {0};
	struct finding f;
	char err[768];
	bool trace = false;
	enum run_outcome o;
	unsigned tries = 0, ran = 0;
	int rc;

	guest_opts_init(&g);
	g.cfg.guest = NULL;
	g.cfg.console = NULL;
	rc = parse_common("replay", replay_help, argc, argv, &g, &trace, NULL, &tries);
	if (rc == 0)
		rc = target_load("replay", argv[optind], &g, &t);
	if (rc == 0)
		rc = guest_opts_finish(&g, "replay");
	if (rc == 0)
		rc = cli_check_guest("replay", &g);
	if (rc == 0) {
		g.cfg.ring = g.cfg.stop_each = g.cfg.monitor = true;
		g.cfg.announce = stdout; /* "backend: ...": where the replay ran */
		if (tries == 0)
			tries = script_has_free_group(t.script) ? REPLAY_FREE_TRIES : 1;
		o = replay_runs(&g, &t, tries, &f, err, sizeof(err), &ran);
		if (trace)
			trace_script(t.script, o == RUN_FINDING ? f.op_index + 1 : t.script->n_ops);
		rc = replay_verdict(&t, o, &f, err);
		if (tries > 1 && o >= 0)
			printf("replay: %u run%s (--tries %u)\n", ran, ran == 1 ? "" : "s", tries);
	}
	target_free(&t);
	return guest_opts_close_rc(&g, rc);
}

/* minimize's inputs checked and its output's place: 0, or an exit status */
static int minimize_prepare(int argc, char **argv, struct guest_opts *g, struct target *t,
                            const char **output, char *outpath, size_t len)
{
	int rc = parse_common("minimize", minimize_help, argc, argv, g, NULL, output, NULL);

	if (rc == 0)
		rc = target_load("minimize", argv[optind], g, t);
	if (rc == 0 && *output == NULL) {
		const char *slash = strrchr(t->ops_path, '/');
		snprintf(outpath, len, "%.*smin.ops", slash ? (int)(slash - t->ops_path + 1) : 0,
		         t->ops_path);
		*output = outpath;
	}
	/* the result is written after minutes of runs: its place is checked first */
	if (rc == 0)
		rc = cli_check_output_file("minimize", *output == outpath ? "output" : "-o",
		                           *output);
	if (rc == 0)
		rc = guest_opts_finish(g, "minimize");
	if (rc == 0)
		rc = cli_check_guest("minimize", g);
	return rc;
}

/* no report: the target is whatever the script's first finding is.  0, or
 * an exit status */
static int minimize_target(const struct guest_opts *g, struct target *t)
{
	char err[768];
	struct finding f;
	enum run_outcome o;

	if (t->have_report)
		return 0;
	o = run_script(&g->cfg, t->script, true, &f, NULL, NULL, err, sizeof(err));
	if (o != RUN_FINDING) {
		fprintf(stderr, "ptshadow minimize: %s: %s\n", t->ops_path,
		        o == RUN_CLEAN ? "runs clean; nothing to minimise" : err);
		return o == RUN_CLEAN ? EXIT_USAGE : EXIT_INTERNAL;
	}
	t->signature = f.signature;
	finding_free(&f);
	return 0;
}

/* the minimised script into output, with how it was made: 0, or an exit status */
static int minimize_write(const struct target *t, const struct minimize_stats *st,
                          const char *output)
{
	char err[768], *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc = EXIT_CLEAN;

	if (mem != NULL) {
		fprintf(mem, "# minimised from %zu to %zu ops in %u runs (%.1f s)\n",
		        st->ops_before, st->ops_after, st->candidates, st->elapsed_ns / 1e9);
		script_write(mem, t->script, t->script->n_ops, false);
		fclose(mem);
	}
	if (text == NULL || write_file_atomic(output, text, len, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow minimize: %s\n", text == NULL ? "out of memory" : err);
		rc = EXIT_INTERNAL;
	} else {
		printf("minimize: %zu -> %zu ops (%u runs, %u memo hits, %.1f s), written to %s\n",
		       st->ops_before, st->ops_after, st->candidates, st->memo_hits,
		       st->elapsed_ns / 1e9, output);
	}
	free(text);
	return rc;
}

int cmd_minimize(int argc, char **argv)
{
	struct guest_opts g;
	struct target t = {0};
	struct minimize_stats st;
	const char *output = NULL;
	char err[768], outpath[PATH_MAX];
	int rc;

	guest_opts_init(&g);
	g.cfg.guest = NULL;
	g.cfg.console = NULL;
	rc = minimize_prepare(argc, argv, &g, &t, &output, outpath, sizeof(outpath));
	g.cfg.ring = g.cfg.stop_each = g.cfg.monitor = true;
	if (rc == 0)
		rc = minimize_target(&g, &t);
	if (rc == 0 && minimize_script(&g.cfg, t.script, t.signature, stderr, NULL, &st, err,
	                               sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow minimize: %s\n", err);
		rc = EXIT_FINDING;
	} else if (rc == 0) {
		rc = minimize_write(&t, &st, output);
	}
	target_free(&t);
	return guest_opts_close_rc(&g, rc);
}
