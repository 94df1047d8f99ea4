/* src/cli/cli.c - option handling shared by the subcommands: the guest options
 * (memory, timeout, command line, console, arena) and one-line usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

void guest_opts_init(struct guest_opts *g)
{
	memset(g, 0, sizeof(*g));
	g->cfg.mem_mib = VM_MEM_DEFAULT_MIB;
	g->cfg.timeout_s = 30;
	g->cfg.arena_pages = PTS_DEFAULT_ARENA_PAGES;
	g->cfg.pv_per_page = 8; /* pool pages fill and empty after a few entries */
	g->cfg.console = stdout;
	g->cfg.console_prefix = "guest: ";
	g->backend_env = getenv("PTSHADOW_BACKEND"); /* the default of --backend */
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ptshadow %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'ptshadow %s --help')\n", cmd);
	return EXIT_USAGE;
}

int guest_opt_apply(struct guest_opts *g, const char *cmd, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case OPT_MEM:
		if (parse_u64(arg, &v) != 0 || v < VM_MEM_MIN_MIB || v > VM_MEM_MAX_MIB) {
			usage_error(cmd, "--mem %s: want MiB between %u and %u", arg, VM_MEM_MIN_MIB,
				    VM_MEM_MAX_MIB);
			return -1;
		}
		g->cfg.mem_mib = (unsigned)v;
		return 1;
	case OPT_TIMEOUT:
		if (parse_duration(arg, &v) != 0 || v > 86400) {
			usage_error(cmd, "--timeout %s: want seconds (0 to 86400)", arg);
			return -1;
		}
		g->cfg.timeout_s = (unsigned)v;
		return 1;
	case OPT_CMDLINE:
		g->cfg.extra_cmdline = arg;
		return 1;
	case OPT_CONSOLE:
		g->console_path = arg;
		return 1;
	case OPT_PV_PER_PAGE:
		if (parse_u64(arg, &v) != 0 || v > 4096) {
			usage_error(cmd, "--pv-per-page %s: want 0 (as many as fit) to 4096", arg);
			return -1;
		}
		g->cfg.pv_per_page = (unsigned)v;
		return 1;
	case OPT_DIRTY_LOG:
		if (vm_dirty_mode_parse(arg, &g->cfg.dirty_mode) != 0) {
			usage_error(cmd, "--dirty-log %s: want ring, clear, get, plugin, none or auto",
				    arg);
			return -1;
		}
		return 1;
	case OPT_BACKEND:
		if (vm_backend_parse(arg, &g->cfg.backend) != 0) {
			usage_error(cmd, "--backend %s: want kvm, qemu or auto", arg);
			return -1;
		}
		g->backend_given = true;
		return 1;
	case OPT_QEMU:
		if (access(arg, X_OK) != 0) {
			usage_error(cmd, "--qemu %s: %s", arg, strerror(errno));
			return -1;
		}
		g->cfg.qemu_path = arg;
		return 1;
	case OPT_QEMU_ACCEL:
		if (strcmp(arg, "tcg") != 0 && strcmp(arg, "kvm") != 0) {
			usage_error(cmd, "--qemu-accel %s: want tcg or kvm", arg);
			return -1;
		}
		g->cfg.qemu_kvm = strcmp(arg, "kvm") == 0;
		return 1;
	case OPT_ARENA:
		if (parse_u64(arg, &v) != 0 || v < 1 || v > (1u << 24)) {
			usage_error(cmd, "--arena %s: want a page count between 1 and 16777216", arg);
			return -1;
		}
		g->cfg.arena_pages = v;
		return 1;
	default:
		return 0;
	}
}

int guest_opts_finish(struct guest_opts *g, const char *cmd)
{
	uint64_t arena_mib = (g->cfg.arena_pages * PTS_PAGE_SIZE) >> 20;
	enum vm_dirty_mode d = g->cfg.dirty_mode;

	/* --backend, else a replayed report's, else $PTSHADOW_BACKEND, else auto */
	if (!g->backend_given && g->cfg.backend == VM_BACKEND_AUTO && g->backend_env != NULL &&
	    *g->backend_env != '\0' && vm_backend_parse(g->backend_env, &g->cfg.backend) != 0)
		return usage_error(cmd, "PTSHADOW_BACKEND=%s: want kvm, qemu or auto", g->backend_env);

	if (g->cfg.backend == VM_BACKEND_KVM && (g->cfg.qemu_path != NULL || g->cfg.qemu_kvm))
		return usage_error(cmd, "--qemu and --qemu-accel need --backend qemu (or auto)");
	if (g->cfg.backend == VM_BACKEND_AUTO && (g->cfg.qemu_path != NULL || g->cfg.qemu_kvm))
		g->cfg.backend = VM_BACKEND_QEMU; /* asking for QEMU's options is asking for QEMU */
	if (g->cfg.backend == VM_BACKEND_QEMU &&
	    (d == VM_DIRTY_RING || d == VM_DIRTY_CLEAR || d == VM_DIRTY_GET))
		return usage_error(cmd, "--dirty-log %s needs --backend kvm", vm_dirty_mode_name(d));
	if (g->cfg.backend == VM_BACKEND_KVM && (d == VM_DIRTY_PLUGIN || d == VM_DIRTY_NONE))
		return usage_error(cmd, "--dirty-log %s needs --backend qemu", vm_dirty_mode_name(d));
	if (g->cfg.backend == VM_BACKEND_AUTO && d != VM_DIRTY_AUTO)
		g->cfg.backend = d == VM_DIRTY_PLUGIN || d == VM_DIRTY_NONE ? VM_BACKEND_QEMU
									 : VM_BACKEND_KVM;
	if (!g->backend_given && g->cfg.backend == VM_BACKEND_KVM &&
	    vm_backend_resolve(VM_BACKEND_AUTO) != VM_BACKEND_KVM && d == VM_DIRTY_AUTO &&
	    (g->backend_env == NULL || strcmp(g->backend_env, "kvm") != 0)) {
		/* a report made on KVM, replayed where there is none */
		fprintf(stderr, "ptshadow %s: the report was made on the kvm backend; no /dev/kvm "
				"here, so on qemu\n", cmd);
		g->cfg.backend = VM_BACKEND_QEMU;
	}
	/* from here on every config names the backend it runs on */
	g->cfg.backend = vm_backend_resolve(g->cfg.backend);

	/* kernel, vm_page array, pool and page tables need room beside the arena */
	if (arena_mib + 12 + g->cfg.mem_mib / 32 > g->cfg.mem_mib)
		return usage_error(cmd, "--mem %u is too small for an arena of %llu pages", g->cfg.mem_mib,
				   (unsigned long long)g->cfg.arena_pages);
	if (g->console_path != NULL) {
		g->console_file = fopen(g->console_path, "w");
		if (g->console_file == NULL) {
			fprintf(stderr, "ptshadow %s: %s: %s\n", cmd, g->console_path, strerror(errno));
			return EXIT_USAGE;
		}
		g->cfg.console = g->console_file;
		g->cfg.console_prefix = "";
	}
	return 0;
}

void guest_opts_close(struct guest_opts *g)
{
	if (g->console_file != NULL)
		fclose(g->console_file);
	g->console_file = NULL;
}

void check_opt_apply(struct session_config *cfg, const char *arg)
{
	if (strcmp(arg, "full") == 0)
		cfg->incremental = false;
	else if (strcmp(arg, "incremental") == 0)
		cfg->incremental = true;
	else
		cfg->check_spec = arg;
}

int full_every_opt_apply(struct session_config *cfg, const char *cmd, const char *arg)
{
	uint64_t v;

	if (parse_u64(arg, &v) != 0 || v > UINT32_MAX)
		return usage_error(cmd, "--full-every %s: want a count of ops (0 = never)", arg);
	cfg->full_every = (unsigned)v;
	return 0;
}

int cli_parse(const char *cmd, const char *help, int argc, char **argv, const char *shortopts,
	      const struct option *longopts, struct guest_opts *g, cli_opt_fn fn, void *ctx)
{
	char optstring[32];
	int opt;

	/* the leading ':' makes a missing value ':' rather than an unknown option */
	snprintf(optstring, sizeof(optstring), ":%s", shortopts);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		int r = g != NULL ? guest_opt_apply(g, cmd, opt, optarg) : 0;
		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		if (opt == OPT_HELP) {
			fputs(help, stdout);
			exit(EXIT_CLEAN);
		}
		if (opt == ':')
			return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
		if (opt == '?')
			return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		if (fn(ctx, opt, optarg) != 0)
			return EXIT_USAGE;
	}
	return 0;
}

int cli_one_operand(const char *cmd, int argc, char **argv, const char *what)
{
	if (optind >= argc)
		return usage_error(cmd, "no %s given", what);
	if (optind != argc - 1)
		return usage_error(cmd, "too many arguments: '%s' after the %s", argv[optind + 1], what);
	return 0;
}

int cli_load_script(const char *cmd, const char *path, const struct guest_opts *g,
		    struct script **out)
{
	struct ops_limits lim;
	char err[512];

	ops_limits_default(&lim);
	lim.arena_pages = g->cfg.arena_pages;
	if (script_parse_file(path, &lim, out, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow %s: %s\n", cmd, err);
		return EXIT_USAGE;
	}
	return 0;
}
