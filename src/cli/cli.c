/* src/cli/cli.c - option handling shared by the subcommands: the guest options
 * (memory, timeout, command line, console, arena), the check options, the
 * outputs checked before a run, and one-line usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend_pick.h"
#include "cli.h"
#include "invariant.h"
#include "report.h"
#include "util.h"

void guest_opts_init(struct guest_opts *g)
{
	memset(g, 0, sizeof(*g));
	g->cfg.mem_mib = VM_MEM_DEFAULT_MIB;
	g->cfg.cpus = 1;
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

/* --mem, --pv-per-page, --arena: as guest_opt_apply */
/* --cpus, --timeout: as guest_opt_apply */
static int guest_opt_run(struct guest_opts *g, const char *cmd, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case OPT_CPUS:
		if (parse_u64(arg, &v) != 0 || v < 1 || v > VM_CPUS_MAX) {
			usage_error(cmd, "--cpus %s: want a CPU count between 1 and %u", arg,
			            VM_CPUS_MAX);
			return -1;
		}
		g->cfg.cpus = (unsigned)v;
		g->given |= GUEST_SET_CPUS;
		return 1;
	case OPT_SCHEDULE:
		if (strcmp(arg, "host") != 0 && strcmp(arg, "free") != 0) {
			usage_error(cmd, "--schedule %s: want host or free", arg);
			return -1;
		}
		g->cfg.sched_free = strcmp(arg, "free") == 0;
		return 1;
	case OPT_TIMEOUT:
		if (parse_duration(arg, &v) != 0 || v > GUEST_TIMEOUT_MAX) {
			usage_error(cmd, "--timeout %s: want seconds (0 to %u)", arg,
			            GUEST_TIMEOUT_MAX);
			return -1;
		}
		g->cfg.timeout_s = (unsigned)v;
		g->given |= GUEST_SET_TIMEOUT;
		return 1;
	default:
		return 0;
	}
}

static int guest_opt_size(struct guest_opts *g, const char *cmd, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case OPT_MEM:
		if (parse_u64(arg, &v) != 0 || v < VM_MEM_MIN_MIB || v > VM_MEM_MAX_MIB) {
			usage_error(cmd, "--mem %s: want MiB between %u and %u", arg,
			            VM_MEM_MIN_MIB, VM_MEM_MAX_MIB);
			return -1;
		}
		g->cfg.mem_mib = (unsigned)v;
		g->given |= GUEST_SET_MEM;
		return 1;
	case OPT_PV_PER_PAGE:
		if (parse_u64(arg, &v) != 0 || v > GUEST_PV_PER_PAGE_MAX) {
			usage_error(cmd, "--pv-per-page %s: want 0 (as many as fit) to %u", arg,
			            GUEST_PV_PER_PAGE_MAX);
			return -1;
		}
		g->cfg.pv_per_page = (unsigned)v;
		g->given |= GUEST_SET_PV_PER_PAGE;
		return 1;
	case OPT_ARENA:
		if (parse_u64(arg, &v) != 0 || v < 1 || v > OPS_ARENA_MAX) {
			usage_error(cmd, "--arena %s: want a page count between 1 and %u", arg,
			            OPS_ARENA_MAX);
			return -1;
		}
		g->cfg.arena_pages = v;
		g->given |= GUEST_SET_ARENA;
		return 1;
	default:
		return 0;
	}
}

/* --dirty-log and --backend: as guest_opt_apply */
/* the backends' own options (--qemu, --connect, --domain-xml, --qemu-accel):
 * as guest_opt_apply; which backend takes them, its table says */
static int guest_opt_own(struct guest_opts *g, const char *cmd, int opt, const char *arg)
{
	switch (opt) {
	case OPT_QEMU:
		if (access(arg, X_OK) != 0) {
			usage_error(cmd, "--qemu %s: %s", arg, strerror(errno));
			return -1;
		}
		g->cfg.qemu_path = arg;
		return 1;
	case OPT_CONNECT:
		if (*arg == '\0') {
			usage_error(cmd, "--connect: want a libvirt URI such as qemu:///system");
			return -1;
		}
		g->cfg.libvirt_uri = arg;
		return 1;
	case OPT_DOMAIN_XML:
		if (access(arg, R_OK) != 0) {
			usage_error(cmd, "--domain-xml %s: %s", arg, strerror(errno));
			return -1;
		}
		g->cfg.libvirt_xml = arg;
		return 1;
	case OPT_QEMU_ACCEL:
		if (strcmp(arg, "tcg") != 0 && strcmp(arg, "kvm") != 0) {
			usage_error(cmd, "--qemu-accel %s: want tcg or kvm", arg);
			return -1;
		}
		g->cfg.qemu_kvm = strcmp(arg, "kvm") == 0;
		g->given |= GUEST_SET_QEMU_ACCEL;
		return 1;
	default:
		return 0;
	}
}

static int guest_opt_backend(struct guest_opts *g, const char *cmd, int opt, const char *arg)
{
	switch (opt) {
	case OPT_DIRTY_LOG:
		if (vm_dirty_mode_parse(arg, &g->cfg.dirty_mode) != 0) {
			usage_error(cmd,
			            "--dirty-log %s: want ring, clear, get, plugin, none or auto",
			            arg);
			return -1;
		}
		g->given |= GUEST_SET_DIRTY_LOG;
		return 1;
	case OPT_BACKEND:
		if (vm_backend_parse(arg, &g->cfg.backend) != 0) {
			usage_error(cmd, "--backend %s: want kvm, qemu, libvirt or auto", arg);
			return -1;
		}
		g->backend_given = true;
		return 1;
	default:
		return 0;
	}
}

int guest_opt_apply(struct guest_opts *g, const char *cmd, int opt, const char *arg)
{
	int r;

	switch (opt) {
	case OPT_CMDLINE:
		g->cfg.extra_cmdline = arg;
		return 1;
	case OPT_CONSOLE:
		g->console_path = arg;
		return 1;
	default:
		break;
	}
	r = guest_opt_size(g, cmd, opt, arg);
	if (r == 0)
		r = guest_opt_run(g, cmd, opt, arg);
	if (r == 0)
		r = guest_opt_backend(g, cmd, opt, arg);
	return r != 0 ? r : guest_opt_own(g, cmd, opt, arg);
}

/* --console FILE: a file (made or replaced), a terminal, a pipe or
 * /dev/null; not a directory.  0 or EXIT_USAGE. */
static int console_open(struct guest_opts *g, const char *cmd)
{
	struct stat st;

	if (stat(g->console_path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) &&
	    !S_ISFIFO(st.st_mode)) {
		fprintf(stderr, "ptshadow %s: --console %s: %s\n", cmd, g->console_path,
		        S_ISDIR(st.st_mode) ? strerror(EISDIR)
		                            : "not a file, a terminal or a pipe");
		return EXIT_USAGE;
	}
	g->console_file = fopen(g->console_path, "w");
	if (g->console_file == NULL) {
		fprintf(stderr, "ptshadow %s: --console %s: %s\n", cmd, g->console_path,
		        strerror(errno));
		return EXIT_USAGE;
	}
	g->cfg.console = g->console_file;
	g->cfg.console_prefix = "";
	return 0;
}

/* --cpus N > 1: the backend must run N vCPUs (its table says how many it
 * does).  auto stays auto: every engine runs up to VM_CPUS_MAX, and auto's
 * pick (the faster here, docs/performance.md) holds for N CPUs too; a KVM
 * that cannot start APs says so as it opens.  0 or EXIT_USAGE. */
static int cpus_fit(struct guest_opts *g, const char *cmd)
{
	if (g->cfg.cpus <= 1 || g->cfg.backend == VM_BACKEND_AUTO ||
	    vm_backend_cpus_max(g->cfg.backend) >= g->cfg.cpus)
		return 0;
	return usage_error(cmd, "--cpus %u: the %s backend runs at most %u (use --backend %s)",
	                   g->cfg.cpus, vm_backend_name(g->cfg.backend),
	                   vm_backend_cpus_max(g->cfg.backend),
	                   vm_backend_name(vm_backend_running(g->cfg.cpus)));
}

/* A report made on a backend this machine lacks (KVM without /dev/kvm),
 * replayed: on the one it has, its dirty log too, and say so. */
static void backend_fall_back(struct guest_opts *g, const char *cmd)
{
	struct session_config *c = &g->cfg;
	const char *why = vm_backend_missing(c->backend);

	if (g->backend_given || why == NULL ||
	    (c->dirty_mode != VM_DIRTY_AUTO && (g->given & GUEST_SET_DIRTY_LOG)) ||
	    (g->backend_env != NULL && strcmp(g->backend_env, vm_backend_name(c->backend)) == 0))
		return;
	fprintf(stderr, "ptshadow %s: the report was made on the %s backend; %s, so on %s\n", cmd,
	        vm_backend_name(c->backend), why,
	        vm_backend_name(vm_backend_resolve(VM_BACKEND_AUTO)));
	c->backend = vm_backend_resolve(VM_BACKEND_AUTO);
	c->dirty_mode = VM_DIRTY_AUTO;
}

/* The backend asked for: --backend, else a replayed report's, else
 * $PTSHADOW_BACKEND, else the one whose own options were given (its table
 * says which takes them), else auto.  0, or EXIT_USAGE. */
static int backend_asked(struct guest_opts *g, const char *cmd)
{
	struct session_config *c = &g->cfg;
	bool template = c->libvirt_uri != NULL || c->libvirt_xml != NULL;
	bool qemu_opts = c->qemu_path != NULL || c->qemu_kvm;

	if (!g->backend_given && c->backend == VM_BACKEND_AUTO && g->backend_env != NULL &&
	    *g->backend_env != '\0' && vm_backend_parse(g->backend_env, &c->backend) != 0)
		return usage_error(cmd, "PTSHADOW_BACKEND=%s: want kvm, qemu, libvirt or auto",
		                   g->backend_env);
	if (c->backend == VM_BACKEND_AUTO && template)
		c->backend = vm_backend_with_template(); /* --connect, --domain-xml: its options */
	if (template && !vm_backend_takes_template(c->backend))
		return usage_error(cmd, "--connect and --domain-xml need --backend %s",
		                   vm_backend_name(vm_backend_with_template()));
	if (qemu_opts && !vm_backend_runs_qemu(c->backend))
		return usage_error(cmd, "--qemu and --qemu-accel need --backend %s (or auto)",
		                   vm_backend_name(vm_backend_with_accel()));
	if (c->backend == VM_BACKEND_AUTO && qemu_opts)
		c->backend =
		    vm_backend_with_accel(); /* asking for QEMU's options is asking for QEMU */
	return 0;
}

/* The backend the options ask for, and what it refuses.  0, or EXIT_USAGE. */
static int backend_settle(struct guest_opts *g, const char *cmd)
{
	struct session_config *c = &g->cfg;
	char msg[256], err[512];
	int rc = backend_asked(g, cmd);

	if (rc == 0)
		rc = cpus_fit(g, cmd);
	if (rc != 0)
		return rc;
	/* a dirty log a replayed report recorded yields to the backend given here */
	if (!(g->given & GUEST_SET_DIRTY_LOG) && !vm_backend_keeps(c->backend, c->dirty_mode))
		c->dirty_mode = VM_DIRTY_AUTO;
	if (c->qemu_kvm && vm_backend_accel_refusal(c->backend) != NULL)
		return usage_error(cmd, "--qemu-accel kvm: %s",
		                   vm_backend_accel_refusal(c->backend));
	if (vm_backend_dirty_refusal(c->backend, c->dirty_mode, msg, sizeof(msg)) != NULL)
		return usage_error(cmd, "%s", msg);
	if (vm_backend_template_check(c->backend, c->libvirt_xml, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow %s: %s\n", cmd, err);
		return EXIT_USAGE;
	}
	if (c->backend == VM_BACKEND_AUTO && c->dirty_mode != VM_DIRTY_AUTO)
		c->backend = vm_backend_keeping(c->dirty_mode);
	/* after the line above: --dirty-log ring alone picks kvm */
	if (vm_backend_dirty_cpus_refusal(c->backend, c->dirty_mode, c->cpus, msg, sizeof(msg)))
		return usage_error(cmd, "%s", msg);
	backend_fall_back(g, cmd);
	return 0;
}

int guest_opts_finish(struct guest_opts *g, const char *cmd)
{
	/* pages of 4 KiB, 256 a MiB: no product to overflow, whatever a report said */
	uint64_t arena_mib = g->cfg.arena_pages >> 8;
	int rc = backend_settle(g, cmd);

	if (rc != 0)
		return rc;
	/* kernel, vm_page array, pool and page tables need room beside the arena */
	if (arena_mib + 12 + g->cfg.mem_mib / 32 > g->cfg.mem_mib)
		return usage_error(cmd, "--mem %u is too small for an arena of %llu pages",
		                   g->cfg.mem_mib, (unsigned long long)g->cfg.arena_pages);
	g->cmd = cmd;
	if (g->console_path != NULL && (rc = console_open(g, cmd)) != 0)
		return rc;
	if (g->every_backend && g->cfg.backend == VM_BACKEND_AUTO)
		return 0;
	/* from here on every config names the backend it runs on (last: the
	 * first time on a machine, auto boots the guest on each backend) */
	if (backend_pick(&g->cfg, g->backend_why, sizeof(g->backend_why)) != 0) {
		fprintf(stderr, "ptshadow %s: %s\n", cmd, g->backend_why);
		return EXIT_USAGE;
	}
	g->cfg.backend_why = g->backend_why[0] != '\0' ? g->backend_why : NULL;
	return 0;
}

int cli_check_guest(const char *cmd, const struct guest_opts *g)
{
	char err[512];

	if (g->cfg.guest == NULL ||
	    vm_check_image(g->cfg.guest, g->cfg.mem_mib, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "ptshadow %s: %s\n", cmd, err);
	return EXIT_USAGE;
}

int guest_opts_close(struct guest_opts *g)
{
	int rc = 0;

	/* the console writer stops at its first failed write and leaves the error flag */
	if (g->console_file != NULL) {
		bool failed = ferror(g->console_file) != 0;
		failed |= fclose(g->console_file) != 0;
		if (failed) {
			fprintf(stderr,
			        "ptshadow %s: --console %s: a write failed; the guest console "
			        "there is incomplete\n",
			        g->cmd != NULL ? g->cmd : "run", g->console_path);
			rc = EXIT_INTERNAL;
		}
	}
	g->console_file = NULL;
	free(g->check_spec);
	g->check_spec = NULL;
	g->cfg.check_spec = NULL;
	free(g->cmdline);
	g->cmdline = NULL;
	return rc;
}

int guest_opts_close_rc(struct guest_opts *g, int rc)
{
	int crc = guest_opts_close(g);

	return rc == EXIT_CLEAN && crc != 0 ? crc : rc;
}

/* a SPEC is checked where it is given, so the message names that --check */
static int check_spec_add(struct guest_opts *g, const char *cmd, const char *arg)
{
	struct inv_set scratch;
	char err[256], *joined;

	if (arg[strspn(arg, ", \t")] == '\0')
		return usage_error(
		    cmd, "--check '%s': want full, incremental or invariants to switch off", arg);
	inv_set_all(&scratch, true);
	if (inv_set_parse(&scratch, arg, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow %s: %s\n", cmd, err);
		return EXIT_USAGE;
	}
	if (g->check_spec == NULL)
		joined = strdup(arg);
	else if (asprintf(&joined, "%s,%s", g->check_spec, arg) < 0)
		joined = NULL;
	if (joined == NULL) {
		fprintf(stderr, "ptshadow %s: out of memory\n", cmd);
		return EXIT_INTERNAL;
	}
	free(g->check_spec);
	g->check_spec = joined;
	g->cfg.check_spec = joined;
	return 0;
}

int check_opt_apply(struct guest_opts *g, const char *cmd, const char *arg)
{
	if (strcmp(arg, "full") != 0 && strcmp(arg, "incremental") != 0)
		return check_spec_add(g, cmd, arg);
	if (g->check_mode != NULL && strcmp(g->check_mode, arg) != 0)
		return usage_error(cmd, "--check %s: contradicts --check %s", arg, g->check_mode);
	g->check_mode = arg;
	g->cfg.incremental = strcmp(arg, "incremental") == 0;
	return 0;
}

int full_every_opt_apply(struct guest_opts *g, const char *cmd, const char *arg)
{
	uint64_t v;

	if (parse_u64(arg, &v) != 0 || v > UINT32_MAX)
		return usage_error(cmd, "--full-every %s: want a count of ops (0 = never)", arg);
	g->cfg.full_every = (unsigned)v;
	g->full_every = arg;
	return 0;
}

int check_opts_finish(struct guest_opts *g, const char *cmd)
{
	const char *check = g->check_mode != NULL ? g->check_mode : g->check_spec;

	if (g->no_monitor && check != NULL)
		return usage_error(cmd, "--check %s: nothing is checked with --no-monitor", check);
	if (g->no_monitor && g->full_every != NULL)
		return usage_error(cmd, "--full-every %s: nothing is checked with --no-monitor",
		                   g->full_every);
	if (g->full_every != NULL && !g->cfg.incremental)
		return usage_error(cmd,
		                   "--full-every %s: only with --check incremental (a full check "
		                   "is full every op)",
		                   g->full_every);
	return 0;
}

static int output_error(const char *cmd, const char *opt, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int output_error(const char *cmd, const char *opt, const char *path, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ptshadow %s: %s %s: ", cmd, opt, path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/* The file's directory ("." for a bare name), into dir. */
static void dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dir, len, ".");
	else
		snprintf(dir, len, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

int cli_check_output_file(const char *cmd, const char *opt, const char *path)
{
	char probe[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	int fd;

	if (path[0] == '\0')
		return output_error(cmd, opt, "''", "want a file name");
	/* rename() would replace a device node such as /dev/null, or fail on a directory */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return output_error(cmd, opt, path, "%s",
		                    S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
	/* the temporary name write_file_atomic() writes before its rename:
	 * made and removed here, it shows the directory takes the file */
	if (snprintf(probe, sizeof(probe), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(probe))
		return output_error(cmd, opt, path, "%s", strerror(ENAMETOOLONG));
	fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		dir_of(path, dir, sizeof(dir));
		return output_error(cmd, opt, path, "cannot create a file in %s: %s", dir,
		                    strerror(e));
	}
	close(fd);
	unlink(probe);
	return 0;
}

/* dir (PATH_MAX bytes) becomes its parent: "a/b/" -> "a", "x" -> ".", "/x" -> "/" */
static void parent_of(char *dir)
{
	char *slash = strrchr(dir, '/');

	while (slash != NULL && slash > dir && slash[1] == '\0') { /* "a/b/" */
		*slash = '\0';
		slash = strrchr(dir, '/');
	}
	if (slash == NULL)
		snprintf(dir, PATH_MAX, ".");
	else if (slash == dir)
		dir[1] = '\0'; /* "/x": the root */
	else
		*slash = '\0';
}

int cli_check_output_dir(const char *cmd, const char *opt, const char *path)
{
	char dir[PATH_MAX], probe[PATH_MAX + 32];
	struct stat st;

	if (path[0] == '\0')
		return output_error(cmd, opt, "''", "want a directory name");
	if (strlen(path) >= sizeof(dir))
		return output_error(cmd, opt, path, "%s", strerror(ENAMETOOLONG));
	snprintf(dir, sizeof(dir), "%s", path);
	/* the directory, else the nearest ancestor that exists (mkdir -p makes
	 * the rest when there is something to write; a clean run makes nothing) */
	while (stat(dir, &st) != 0) {
		if (errno != ENOENT || strcmp(dir, ".") == 0 || strcmp(dir, "/") == 0)
			return output_error(cmd, opt, path, "%s", strerror(errno));
		parent_of(dir);
	}
	/* an ancestor that is a file gives ENOTDIR above: this is path itself */
	if (!S_ISDIR(st.st_mode))
		return output_error(cmd, opt, path, "%s", strerror(ENOTDIR));
	snprintf(probe, sizeof(probe), "%s/.ptshadow-probe-XXXXXX", dir);
	if (mkdtemp(probe) == NULL)
		return output_error(cmd, opt, path, "cannot make a directory in %s: %s", dir,
		                    strerror(errno));
	rmdir(probe);
	return 0;
}

/* Is word one of the subcommand's options ("--trace", "-o")?  As the value
 * of the option before it, it is a forgotten value, not a file name. */
static bool is_option_word(const char *word, const char *shortopts, const struct option *longopts)
{
	size_t n;

	if (word[0] != '-' || word[1] == '\0')
		return false;
	if (word[1] != '-')
		return word[2] == '\0' && word[1] != ':' && strchr(shortopts, word[1]) != NULL;
	n = strcspn(word + 2, "=");
	for (const struct option *o = longopts; o->name != NULL; o++)
		if (strlen(o->name) == n && strncmp(o->name, word + 2, n) == 0)
			return true;
	return false;
}

/* an option whose value is another option: say which */
static int value_is_option(const char *cmd, int opt, const struct option *longopts, int longindex)
{
	char name[64];

	if (longindex >= 0)
		snprintf(name, sizeof(name), "--%s", longopts[longindex].name);
	else
		snprintf(name, sizeof(name), "-%c", opt);
	return usage_error(cmd, "option '%s' needs a value, not the option '%s'", name, optarg);
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
	for (;;) {
		int longindex = -1, r;

		opt = getopt_long(argc, argv, optstring, longopts, &longindex);
		if (opt == -1)
			break;
		if (optarg != NULL && optind >= 2 && optarg == argv[optind - 1] &&
		    is_option_word(optarg, shortopts, longopts))
			return value_is_option(cmd, opt, longopts, longindex);
		r = g != NULL ? guest_opt_apply(g, cmd, opt, optarg) : 0;
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
		return usage_error(cmd, "too many arguments: '%s' after the %s", argv[optind + 1],
		                   what);
	return 0;
}

int cli_load_script(const char *cmd, const char *path, struct guest_opts *g, struct script **out)
{
	struct ops_limits lim;
	char err[512];

	ops_limits_default(&lim);
	lim.arena_pages = g->cfg.arena_pages;
	lim.cpus = g->cfg.cpus ? g->cfg.cpus : 1;
	if (script_parse_file(path, &lim, out, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow %s: %s\n", cmd, err);
		return EXIT_USAGE;
	}
	if (script_has_free_group(*out)) /* QEMU: its vCPUs on threads of their own */
		g->cfg.parallel_vcpus = true;
	return 0;
}

int cli_print_table(const char *cmd, const char *help, int argc, char **argv,
                    void (*text)(FILE *out), void (*markdown)(FILE *out))
{
	bool as_markdown = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--markdown") == 0)
			as_markdown = true;
		else if (strcmp(argv[i], "--help") == 0)
			return fputs(help, stdout), EXIT_CLEAN;
		else
			return usage_error(cmd, "unknown option '%s'", argv[i]);
	}
	if (as_markdown)
		markdown(stdout);
	else
		text(stdout);
	return EXIT_CLEAN;
}

/* the guest died booting, or could not boot */
void cli_say_boot_failure(const char *cmd, struct session *s, int rc)
{
	fprintf(stderr, "ptshadow %s: ", cmd);
	if (rc == EXIT_FINDING) {
		struct outcome o = session_last(s);
		death_describe(&o.death, stderr);
	} else {
		fprintf(stderr, "%s\n", session_error(s));
	}
}
