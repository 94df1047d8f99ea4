/* src/cli/cmd_dump.c - `ptshadow dump`: run a script of pmap ops under the
 * monitor, then print one pmap's mappings, one range per line, like QEMU's
 * `info tlb`, and with --svg draw its page tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "monitor.h"
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
    "                    entries folded into one line\n" GUEST_OPTIONS_HELP;

struct dump_opts {
	struct guest_opts g;
	const char *ops_path;
	const char *pmap;
	const char *svg_path;
};

static int dump_opt(void *ctx, int opt, const char *arg)
{
	struct dump_opts *o = ctx;

	if (opt == OPT_OPS)
		o->ops_path = arg;
	else if (opt == OPT_PMAP)
		o->pmap = arg;
	else if (opt == OPT_SVG)
		o->svg_path = arg;
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
	    {NULL, 0, NULL, 0},
	};

	guest_opts_init(&o->g);
	o->g.cfg.monitor = true;
	o->g.cfg.console = NULL; /* the dump is the output */
	o->pmap = "kernel";
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

/* run every op; violations and result mismatches are told, not fatal */
static int dump_run(struct session *s, struct script *sc)
{
	int rc = EXIT_CLEAN;
	for (size_t i = 0; sc != NULL && i < sc->n_ops; i++) {
		struct script_op *sop = &sc->ops[i];
		enum session_status st = session_op(s, sop);
		if (st == SESSION_ERROR || st == SESSION_INTERRUPTED) {
			fprintf(stderr, "ptshadow dump: %s\n", s->err);
			return EXIT_INTERNAL;
		}
		if (st == SESSION_GUEST_DIED || st == SESSION_EXITED) {
			fprintf(stderr, "ptshadow dump: %s:%u: ", sc->file, sop->line);
			session_describe_death(s, stderr);
			return EXIT_FINDING;
		}
		for (size_t k = 0; st == SESSION_VIOLATION && k < session_nviolations(s); k++)
			fprintf(stderr, "ptshadow dump: %s:%u: %s\n", sc->file, sop->line,
			        session_violation(s, k)->title);
		if (st == SESSION_VIOLATION)
			rc = EXIT_FINDING;
	}
	return rc;
}

/* the picture of pmap slot (svg.h) into path, written whole: 0, or EXIT_INTERNAL
 * after one line naming the file */
static int dump_svg(const struct monitor *mon, int32_t slot, const char *name, const char *path)
{
	json_t *j = monitor_pmap_json(mon, slot, SVG_MAX_TABLES, SVG_MAX_ROWS);
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

int cmd_dump(int argc, char **argv)
{
	struct dump_opts o;
	struct script *sc = NULL;
	struct session s;
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
	o.g.cfg.ring = true;
	o.g.cfg.stop_each = true;
	rc = session_boot(&s, &o.g.cfg);
	if (rc != 0) {
		fprintf(stderr, "ptshadow dump: ");
		if (rc == EXIT_FINDING)
			session_describe_death(&s, stderr);
		else
			fprintf(stderr, "%s\n", s.err);
	} else {
		rc = dump_run(&s, sc);
		if ((rc == EXIT_CLEAN || rc == EXIT_FINDING) &&
		    monitor_dump_pmap(s.mon, slot, stdout) != 0) {
			fprintf(stderr, "ptshadow dump: --pmap %s: the guest has no such pmap\n",
			        o.pmap);
			rc = EXIT_FINDING;
		} else if ((rc == EXIT_CLEAN || rc == EXIT_FINDING) && o.svg_path != NULL) {
			int svg_rc = dump_svg(s.mon, slot, o.pmap, o.svg_path);
			rc = svg_rc != EXIT_CLEAN ? svg_rc : rc;
		}
	}
	session_destroy(&s);
out:
	rc = guest_opts_close_rc(&o.g, rc);
	script_free(sc);
	return rc;
}
