/* src/cli/cmd_invariants.c - `ptshadow invariants`: the monitor's invariant
 * table, as text or as the markdown of docs/invariants.md. */
#include <stdio.h>

#include "cli.h"
#include "invariant.h"

static const char invariants_help[] =
    "usage: ptshadow invariants [--markdown]\n\n"
    "Print every invariant the monitor checks: id, name, meaning.\n"
    "Ids and families are what --check switches off (e.g. --check -TLB,-POOL-3).\n";

int cmd_invariants(int argc, char **argv)
{
	return cli_print_table("invariants", invariants_help, argc, argv, invariants_print_text,
	                       invariants_print_markdown);
}
