/* src/cli/cmd_invariants.c - `ptshadow invariants`: the monitor's invariant
 * table, as text or as the markdown of docs/invariants.md. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "invariant.h"

int cmd_invariants(int argc, char **argv)
{
	bool markdown = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--markdown") == 0) {
			markdown = true;
		} else if (strcmp(argv[i], "--help") == 0) {
			printf("usage: ptshadow invariants [--markdown]\n\n"
			       "Print every invariant the monitor checks: id, name, meaning.\n"
			       "Ids and families are what --check switches off (e.g. --check -TLB,-POOL-3).\n");
			return EXIT_CLEAN;
		} else {
			return usage_error("invariants", "unknown option '%s'", argv[i]);
		}
	}
	if (markdown)
		invariants_print_markdown(stdout);
	else
		invariants_print_text(stdout);
	return EXIT_CLEAN;
}
