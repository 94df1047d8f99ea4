/* src/cli/main.c - the ptshadow command: a table of subcommands. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct subcommand subcommands[] = {
    {"run", "boot a guest, run a script of pmap ops (or its smoke test), check every op", cmd_run},
    {"fuzz", "random op sequences under the monitor; one crash directory per finding", cmd_fuzz},
    {"replay", "rerun a reproducer and say whether the same finding recurs", cmd_replay},
    {"minimize", "shrink a failing script to the smallest that still fails", cmd_minimize},
    {"invariants", "list the invariants the monitor checks", cmd_invariants},
    {"ops", "list the ops of the op language and the results they may give", cmd_ops},
    {"dump", "run a script, then print a pmap's mappings like QEMU's `info tlb`", cmd_dump},
    {"bench", "time the monitor's modes, reset and parallel jobs (make bench)", cmd_bench},
    {"coverage", "a campaign's guest pmap coverage: functions, edges, annotated sources",
     cmd_coverage},
    {"report", "make a campaign's page, OUT/index.html, from its output directory", cmd_report},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: ptshadow COMMAND [OPTIONS] ...\n\n"
	       "ptshadow boots a guest kernel (on KVM, or under QEMU) and checks its pmap's\n"
	       "invariants after every pmap operation, from guest-physical memory.\n\ncommands:\n");
	for (const struct subcommand *c = subcommands; c->name != NULL; c++)
		fprintf(f, "  %-11s %s\n", c->name, c->summary);
	fprintf(f,
	        "\n'ptshadow COMMAND --help' describes a command's options.\n"
	        "exit status: 0 clean, 1 a finding (violation, guest panic, triple fault, hang),\n"
	        "             2 bad usage or bad input, 3 an internal or backend (KVM, QEMU) "
	        "failure\n");
}

static void on_signal(int sig)
{
	vm_interrupted = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_CLEAN;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("ptshadow 0.1 (abi %u)\n", PTS_ABI_VERSION);
		return EXIT_CLEAN;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a peer that went away (QEMU, libvirtd, a closed pipe) is an error
	 * where we write to it, never the end of ptshadow */
	signal(SIGPIPE, SIG_IGN);
	for (const struct subcommand *c = subcommands; c->name != NULL; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->main(argc - 1, argv + 1);
	fprintf(stderr, "ptshadow: unknown command '%s' (see 'ptshadow --help')\n", argv[1]);
	return EXIT_USAGE;
}
