/* src/cli/cmd_dump.c - `ptshadow dump`: run a script of pmap ops under the
 * monitor, then print one pmap's mappings, one range per line, like QEMU's
 * `info tlb`; with --cpu-state the CPUs and the TLB ledger after them
 * (dump_cpus.c), and with --svg draw its page tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"
#include "svg.h"
#include "util.h"

static const char dump_help[] =
    "usage: ptshadow dump [OPTIONS] GUEST.elf\n"
    "\n"
    "Boot GUEST.elf, run the ops of --ops FILE with the monitor checking every op,\n"
    "then print the mappings of pmap --pmap as the monitor's walk sees them: one\n"
    "line per run of pages with contiguous addresses and equal flags,\n"
    "  VA-END PA FLAGS\n"
    "(P RW US PWT PCD A D PS G NX, W wired, PVLIST managed, (2M)/(1G) large pages).\n"
    "\n"
    "options:\n"
    "  --ops FILE        script of pmap ops (docs/op-language.md); none: just boot\n"
    "  --pmap P          the pmap to print: a name the script creates (alive at its\n"
    "                    end), or `kernel` (default)\n"
    "  --svg FILE        also draw the pmap's page tables into FILE (SVG): every table\n"
    "                    from the root down, its non-empty entries, runs of empty\n"
    "                    entries folded into one line\n"
    "  --cpu-state       after the mappings, every line starting with \"# \": each CPU's\n"
    "                    CR3 and the pmap whose root it is, each live pmap's\n"
    "                    pm_active (a CPU set) and the TLB ledger's last records\n"
    "                    (seq, kind, cpu, cr3, va, end), as the monitor read them\n"
    "                    after the last op\n"
    "  --ledger N        the ledger records --cpu-state shows: the last N (default 8,\n"
    "                    0 = none, at most 4096); implies --cpu-state\n" GUEST_OPTIONS_HELP;

struct dump_opts {
	struct guest_opts g;
	const char *ops_path;
	const char *pmap;
	const char *svg_path;
	bool cpu_state;
	unsigned ledger; /* records --cpu-state shows */
};

static int dump_ledger_opt(struct dump_opts *o, const char *arg)
{
	uint64_t v;

	if (parse_u64(arg, &v) != 0 || v > DUMP_LEDGER_MAX)
		return usage_error("dump", "--ledger %s: want a record count from 0 to %u", arg,
		                   DUMP_LEDGER_MAX);
	o->ledger = (unsigned)v;
	o->cpu_state = true;
	return 0;
}

static int dump_opt(void *ctx, int opt, const char *arg)
{
	struct dump_opts *o = ctx;

	if (opt == OPT_OPS)
		o->ops_path = arg;
	else if (opt == OPT_PMAP)
		o->pmap = arg;
	else if (opt == OPT_SVG)
		o->svg_path = arg;
	else if (opt == OPT_CPU_STATE)
		o->cpu_state = true;
	else if (opt == OPT_LEDGER)
		return dump_ledger_opt(o, arg);
	else
		return usage_error("dump", "unknown option %d", opt);
	return 0;
}

static int dump_parse(int argc, char **argv, struct dump_opts *o)
{
	static const struct option longopts[] = {
	    GUEST_LONG_OPTIONS,
	    {"ops", required_argument, NULL, OPT_OPS},
	    {"pmap", required_argument, NULL, OPT_PMAP},
	    {"svg", required_argument, NULL, OPT_SVG},
	    {"cpu-state", no_argument, NULL, OPT_CPU_STATE},
	    {"ledger", required_argument, NULL, OPT_LEDGER},
	    {NULL, 0, NULL, 0},
	};

	guest_opts_init(&o->g);
	o->g.cfg.monitor = true;
	o->g.cfg.console = NULL; /* the dump is the output */
	o->pmap = "kernel";
	o->ledger = DUMP_LEDGER_DEFAULT;
	if (cli_parse("dump", dump_help, argc, argv, "", longopts, &o->g, dump_opt, o) != 0 ||
	    cli_one_operand("dump", argc, argv, "guest image") != 0)
		return EXIT_USAGE;
	o->g.cfg.guest = argv[optind];
	return 0;
}

/* the slot of the pmap named `name` at the end of the script, -1 for the
 * kernel pmap; -2 when no pmap of that name is alive then */
static int32_t slot_at_end(const struct script *sc, const char *name)
{
	int32_t slot = -2;
	if (strcmp(name, "kernel") == 0)
		return -1;
	for (size_t i = 0; sc != NULL && i < sc->n_ops; i++) {
		const struct script_op *sop = &sc->ops[i];
		if (strcmp(sop->pmap_name, name) != 0)
			continue;
		if (sop->op.kind == PTS_OP_CREATE)
			slot = (int32_t)sop->op.pmap;
		else if (sop->op.kind == PTS_OP_DESTROY)
			slot = -2;
	}
	return slot;
}

/* The dump's sink: violations are told, not fatal; a death ends the run. */
struct dump_sink_ctx {
	const struct script *sc;
	int rc;
};

static bool dump_finding(void *ctx, const struct outcome *o)
{
	struct dump_sink_ctx *k = ctx;
	const char *file = k->sc->file;

	if (o->kind == OUTCOME_DEATH) {
		fprintf(stderr, "ptshadow dump: %s:%u: ", file, o->op.line);
		death_describe(&o->death, stderr);
	} else {
		fprintf(stderr, "ptshadow dump: %s:%u: %s\n", file, o->op.line, o->violation.title);
	}
	k->rc = EXIT_FINDING;
	return false;
}

/* run every op; violations are told, not fatal */
static int dump_run(struct session *s, struct script *sc)
{
	struct dump_sink_ctx k = {.sc = sc, .rc = EXIT_CLEAN};
	const struct run_policy policy = {.every_violation = true, .keep_going = true};
	const struct run_sink sink = {.ctx = &k, .finding = dump_finding};
	struct outcome o;

	if (sc == NULL)
		return EXIT_CLEAN;
	o = session_run(s, sc, 0, &policy, &sink);
	if (o.kind == OUTCOME_ERROR || o.kind == OUTCOME_INTERRUPTED) {
		fprintf(stderr, "ptshadow dump: %s\n", o.death.error);
		return EXIT_INTERNAL;
	}
	return k.rc;
}

/* the picture of pmap slot (svg.h) into path, written whole: 0, or EXIT_INTERNAL
 * after one line naming the file */
static int dump_svg(const struct session *s, int32_t slot, const char *name, const char *path)
{
	json_t *j = session_pmap_json(s, slot, SVG_MAX_TABLES, SVG_MAX_ROWS);
	char *buf = NULL, err[512] = "out of memory";
	size_t len = 0;
	FILE *out = j != NULL ? open_memstream(&buf, &len) : NULL;
	int rc = EXIT_INTERNAL;

	if (out != NULL) {
		json_object_set_new(j, "name", json_string(name));
		int drawn = svg_pmap(j, out);
		if (fclose(out) == 0 && drawn == 0 &&
		    write_file_atomic(path, buf, len, err, sizeof(err)) == 0)
			rc = EXIT_CLEAN;
	}
	if (rc != EXIT_CLEAN)
		fprintf(stderr, "ptshadow dump: --svg %s: %s\n", path, err);
	json_decref(j);
	free(buf);
	return rc;
}

/* After the run (its status rc): the pmap, the CPUs with --cpu-state, the
 * picture with --svg; the exit status. */
static int dump_show(const struct dump_opts *o, const struct session *s, const struct script *sc,
                     int32_t slot, int rc)
{
	if (session_dump_pmap(s, slot, stdout) != 0) {
		fprintf(stderr, "ptshadow dump: --pmap %s: the guest has no such pmap\n", o->pmap);
		return EXIT_FINDING;
	}
	if (o->cpu_state && dump_cpus(s, sc, o->ledger, stdout) != 0) {
		fprintf(stderr, "ptshadow dump: --cpu-state: the run has no monitor\n");
		return EXIT_INTERNAL;
	}
	if (o->svg_path != NULL) {
		int svg_rc = dump_svg(s, slot, o->pmap, o->svg_path);
		rc = svg_rc != EXIT_CLEAN ? svg_rc : rc;
	}
	return rc;
}

/* Boot, run the script, print the pmap: the exit status. */
static int dump_guest(struct dump_opts *o, struct script *sc, int32_t slot)
{
	struct session *s;
	int rc;

	o->g.cfg.ring = true;
	o->g.cfg.stop_each = true;
	s = session_open(&o->g.cfg, &rc);
	if (rc != 0) {
		cli_say_boot_failure("dump", s, rc);
	} else {
		rc = dump_run(s, sc);
		if (rc == EXIT_CLEAN || rc == EXIT_FINDING)
			rc = dump_show(o, s, sc, slot, rc);
	}
	session_close(s);
	return rc;
}

int cmd_dump(int argc, char **argv)
{
	struct dump_opts o;
	struct script *sc = NULL;
	int32_t slot;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = dump_parse(argc, argv, &o);
	if (rc != 0)
		return rc;
	if (o.ops_path != NULL && cli_load_script("dump", o.ops_path, &o.g, &sc) != 0)
		return EXIT_USAGE;
	slot = slot_at_end(sc, o.pmap);
	if (slot == -2) {
		fprintf(
		    stderr,
		    "ptshadow dump: --pmap %s: no pmap of that name is alive at the end of %s\n",
		    o.pmap, o.ops_path ? o.ops_path : "the (empty) script");
		script_free(sc);
		return EXIT_USAGE;
	}
	rc = o.svg_path != NULL ? cli_check_output_file("dump", "--svg", o.svg_path) : 0;
	if (rc == 0)
		rc = guest_opts_finish(&o.g, "dump");
	if (rc == 0)
		rc = cli_check_guest("dump", &o.g);
	if (rc != 0)
		goto out;
	rc = dump_guest(&o, sc, slot);
out:
	rc = guest_opts_close_rc(&o.g, rc);
	script_free(sc);
	return rc;
}
