/* src/cli/cli.h - the ptshadow subcommands (one table in main.c) and the option
 * helpers they share. */
#ifndef PTSHADOW_CLI_H
#define PTSHADOW_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "session.h"

struct subcommand {
	const char *name;
	const char *summary;
	int (*main)(int argc, char **argv);
};

int cmd_run(int argc, char **argv);
int cmd_fuzz(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_minimize(int argc, char **argv);
int cmd_invariants(int argc, char **argv);
int cmd_ops(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_coverage(int argc, char **argv);
/* `bench --coverage NOCOV.elf` (bench_cov.c): coverage's cost, and guided
 * against random fuzzing on the mutants; 0 or EXIT_INTERNAL */
int bench_coverage(const struct session_config *sess, const char *nocov, const char *json_path);
/* bench_cpus.c: fuzz on 2 CPUs against 1 on backend be, a line and out[backend] */
void bench_cpus(const struct session_config *sess, enum vm_backend_kind be, uint64_t seed,
                json_t *out);
int cmd_report(int argc, char **argv);
/* dump_cpus.c: `dump --cpu-state`, after the mappings: each CPU's CR3 and
 * its pmap, each pmap's pm_active, the TLB ledger's last `ledger` records
 * (at most DUMP_LEDGER_MAX), every line starting with "# "; pmaps by the
 * names sc gives them at its end.  0, or -1 when s has no monitor. */
#define DUMP_LEDGER_DEFAULT 8u
#define DUMP_LEDGER_MAX     PTS_TLB_RECORDS
int dump_cpus(const struct session *s, const struct script *sc, unsigned ledger, FILE *out);

/* Common guest options (--mem, --timeout, --cmdline, --console, --arena):
 * returns 1 if opt was one of them and was applied, -1 on a bad value
 * (message printed), 0 if it is not a guest option. */
enum {
	OPT_MEM = 0x100,
	OPT_TIMEOUT,
	OPT_CMDLINE,
	OPT_CONSOLE,
	OPT_ARENA,
	OPT_OPS,
	OPT_TRACE,
	OPT_OUT,
	OPT_KEEP_GOING,
	OPT_CHECK,
	OPT_NO_MONITOR,
	OPT_SEED,
	OPT_TIME,
	OPT_PROFILE,
	OPT_JOBS,
	OPT_NO_MINIMIZE,
	OPT_PMAP,
	OPT_MARKDOWN,
	OPT_JSON,
	OPT_HELP,
	OPT_OUTPUT,
	OPT_FULL_EVERY,
	OPT_SEQLEN,
	OPT_QUIET,
	OPT_STATS,
	OPT_PV_PER_PAGE,
	OPT_DIRTY_LOG,
	OPT_BACKEND,
	OPT_QEMU,
	OPT_QEMU_ACCEL,
	OPT_CONNECT,
	OPT_DOMAIN_XML,
	OPT_CPUS,
	OPT_SCHEDULE,
	OPT_SVG,
	OPT_METRICS,
	OPT_CPU_STATE,
	OPT_LEDGER,
};
#define GUEST_LONG_OPTIONS                                                                         \
	{"mem", required_argument, NULL, OPT_MEM},                                                 \
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},                                     \
	    {"cmdline", required_argument, NULL, OPT_CMDLINE},                                     \
	    {"console", required_argument, NULL, OPT_CONSOLE},                                     \
	    {"arena", required_argument, NULL, OPT_ARENA},                                         \
	    {"pv-per-page", required_argument, NULL, OPT_PV_PER_PAGE},                             \
	    {"dirty-log", required_argument, NULL, OPT_DIRTY_LOG},                                 \
	    {"backend", required_argument, NULL, OPT_BACKEND},                                     \
	    {"qemu", required_argument, NULL, OPT_QEMU},                                           \
	    {"qemu-accel", required_argument, NULL, OPT_QEMU_ACCEL},                               \
	    {"connect", required_argument, NULL, OPT_CONNECT},                                     \
	    {"domain-xml", required_argument, NULL, OPT_DOMAIN_XML},                               \
	    {"cpus", required_argument, NULL, OPT_CPUS},                                           \
	    {"schedule", required_argument, NULL, OPT_SCHEDULE},                                   \
	{                                                                                          \
		"help", no_argument, NULL, OPT_HELP                                                \
	}

#define GUEST_OPTIONS_HELP                                                                         \
	"  --mem MiB         guest RAM (default 128, 16..16384)\n"                                 \
	"  --cpus N          guest CPUs (default 1, 1..8); an op runs on CPU 0 unless\n"           \
	"                    written cpuN: OP, par { } runs ops at once (docs/smp.md)\n"           \
	"  --schedule HOW    how par { } groups without a schedule of their own run: host\n"       \
	"                    (default: one CPU at a time, the host choosing at each point)\n"      \
	"                    or free (all at once, in parallel; replays only by chance)\n"         \
	"  --arena N         managed arena pages pg0..pg<N-1> (default 1024)\n"                    \
	"  --pv-per-page N   guest pv pool items per pool page (default 8; 0 = as many as fit)\n"  \
	"  --timeout SEC     end the guest if it completes no op for SEC s, however often it\n"    \
	"                    calls (default 30; 0 = never); QEMU gets as long to answer on QMP\n"  \
	"  --cmdline STR     extra guest kernel command line\n"                                    \
	"  --console FILE    write the guest console to FILE (default: stdout, prefixed)\n"        \
	"  --backend B       what runs the guest: kvm (ptshadow's own vCPU loop on /dev/kvm),\n"   \
	"                    qemu (qemu-system-x86_64 sharing guest RAM), libvirt (the same\n"     \
	"                    QEMU as a transient libvirt domain) or auto (default: the faster\n"   \
	"                    of kvm and qemu here, measured once and cached; qemu without\n"       \
	"                    /dev/kvm)\n"                                                          \
	"  --qemu PATH       the QEMU binary (default: qemu-system-x86_64 on PATH)\n"              \
	"  --qemu-accel A    QEMU's accelerator: tcg (default) or kvm\n"                           \
	"  --connect URI     libvirt: the connection (default qemu:///system)\n"                   \
	"  --domain-xml FILE libvirt: the domain template (default: the built-in copy of\n"        \
	"                    configs/libvirt/domain.xml)\n"                                        \
	"  --dirty-log HOW   how the backend reports the pages the guest wrote: KVM ring,\n"       \
	"                    clear or get; QEMU plugin (the ptsdirty TCG plugin) or none;\n"       \
	"                    auto (default: ring, else clear; plugin, else none)\n"                \
	"  --help            this text\n"

struct guest_opts {
	struct session_config cfg;
	bool backend_given;      /* --backend on the command line (replay: else the report's) */
	unsigned given;          /* the other guest options it gave (GUEST_SET_*, report.h) */
	const char *backend_env; /* $PTSHADOW_BACKEND, the default of --backend */
	const char *console_path;
	FILE *console_file;
	/* --check (may repeat), --full-every and --no-monitor are kept as given
	 * until check_opts_finish(), which refuses the ones that contradict each
	 * other whatever their order on the line */
	char *check_spec; /* every --check SPEC, joined by ',' (owned; cfg.check_spec) */
	char *cmdline;    /* --cmdline and a fuzz profile's, joined (owned; cfg.extra_cmdline) */
	const char *check_mode; /* the --check full|incremental given, or NULL */
	const char *full_every; /* --full-every's value as given, or NULL */
	bool no_monitor;        /* --no-monitor */
	bool every_backend;     /* bench: auto means each backend here, not the faster one */
	char backend_why[256];  /* why auto picked the backend it did (cfg.backend_why) */
	const char *cmd;        /* the subcommand, for guest_opts_close's message */
};

void guest_opts_init(struct guest_opts *g);
int guest_opt_apply(struct guest_opts *g, const char *cmd, int opt, const char *arg);
/* Opens --console, and resolves --backend auto (backend_pick.h: the faster
 * backend here, measured once per machine); 0 or EXIT_USAGE. */
int guest_opts_finish(struct guest_opts *g, const char *cmd);
/* The guest image (cfg.guest) as every backend would take it, before any VM:
 * 0, or EXIT_USAGE after one line naming it. */
int cli_check_guest(const char *cmd, const struct guest_opts *g);
/* Closes --console and frees what the options own; after every parse, even a
 * failed one.  0, or EXIT_INTERNAL after one line when a write to --console
 * failed (its output is incomplete). */
int guest_opts_close(struct guest_opts *g);
/* rc, or EXIT_INTERNAL when rc is clean and guest_opts_close failed */
int guest_opts_close_rc(struct guest_opts *g, int rc);
/* --check full|incremental|SPEC: the check mode, or invariants switched off
 * (the SPECs of repeated --check are applied left to right); 0 or EXIT_USAGE */
int check_opt_apply(struct guest_opts *g, const char *cmd, const char *arg);
/* --full-every N: 0 or EXIT_USAGE */
int full_every_opt_apply(struct guest_opts *g, const char *cmd, const char *arg);
/* The check options together: every invariant the SPECs name exists,
 * --full-every only with the incremental check, neither --check nor
 * --full-every with --no-monitor.  0 or EXIT_USAGE. */
int check_opts_finish(struct guest_opts *g, const char *cmd);
/* An output the run writes at its end, checked before the run starts (a
 * finding or a figure is never lost to a destination that cannot take it):
 * a file written atomically beside its name (--json, -o), or a directory
 * that exists or can be made (--out).  opt names the option in the message.
 * 0 or EXIT_USAGE after a one-line error naming the path. */
int cli_check_output_file(const char *cmd, const char *opt, const char *path);
int cli_check_output_dir(const char *cmd, const char *opt, const char *path);
/*
 * The option loop every subcommand shares.  Guest options go to g (NULL: the
 * subcommand has none), --help prints help and exits 0, a missing value or an
 * unknown option is a one-line usage error; every other option goes to
 * fn(ctx, opt, arg), which returns 0 or EXIT_USAGE (after usage_error).  An
 * option whose value is the next word and that word is one of the
 * subcommand's options (`--ops --trace`) is a missing value, not a file.
 * shortopts: extra short options ("o:"), or "".  On return optind is the
 * first operand.  0 or EXIT_USAGE.
 */
typedef int (*cli_opt_fn)(void *ctx, int opt, const char *arg);
int cli_parse(const char *cmd, const char *help, int argc, char **argv, const char *shortopts,
              const struct option *longopts, struct guest_opts *g, cli_opt_fn fn, void *ctx);
/* exactly one operand left after the options (what: "guest image"): 0 or
 * EXIT_USAGE */
int cli_one_operand(const char *cmd, int argc, char **argv, const char *what);
/* parse the script at path for a guest of g's arena into *out (a free group
 * sets g->cfg.parallel_vcpus): 0, or
 * EXIT_USAGE after a one-line error naming FILE:LINE */
int cli_load_script(const char *cmd, const char *path, struct guest_opts *g, struct script **out);

/* `ptshadow CMD [--markdown]`: a table (invariants, ops) as text or, with
 * --markdown, as the markdown a doc is made of; --help prints help. */
int cli_print_table(const char *cmd, const char *help, int argc, char **argv,
                    void (*text)(FILE *out), void (*markdown)(FILE *out));

/* getopt's complaint, in one line, with the subcommand's name. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* the guest died booting (how), or could not boot (why): one message */
void cli_say_boot_failure(const char *cmd, struct session *s, int rc);

#endif /* PTSHADOW_CLI_H */
