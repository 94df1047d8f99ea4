/* src/cli/cmd_coverage.c - `ptshadow coverage OUT`: which edges of the guest
 * pmap a campaign reached, per function, and annotated source listings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cov.h"
#include "util.h"

static const char coverage_help[] =
    "usage: ptshadow coverage [OPTIONS] OUT\n"
    "\n"
    "Print the guest pmap's edge coverage that the fuzz campaign in OUT reached\n"
    "(OUT/coverage.bin, written by `ptshadow fuzz --coverage report|guide`): one\n"
    "line a function of the instrumented files (guest/pmap*.c, guest/pool.c,\n"
    "guest/tlb.c, guest/vm_page.c) with its edges and how many were reached, in\n"
    "source order, a subtotal a file and the total.  It also writes an annotated\n"
    "listing of each source file, OUT/coverage/<file>.txt: every line with a mark\n"
    "for each edge that starts on it, + reached, - never reached.\n"
    "\n"
    "The guest image must be the one the campaign ran (its path and hash are in\n"
    "coverage.bin); the sources are read where the image's debug information\n"
    "says they were compiled.\n"
    "\n"
    "options:\n"
    "  --guest FILE      the guest image, if it moved (it must be the same build)\n"
    "  --no-listings     the table only\n"
    "  --help            this text\n"
    "\n"
    "exit status: 0, 2 bad input (one line naming it), 3 a listing that could not\n"
    "be written\n";

enum { OPT_COV_GUEST = 0x200, OPT_COV_NO_LISTINGS };

struct coverage_args {
	const char *guest;
	bool listings;
};

static int coverage_opt(void *ctx, int opt, const char *arg)
{
	struct coverage_args *a = ctx;

	switch (opt) {
	case OPT_COV_GUEST:
		a->guest = arg;
		return 0;
	case OPT_COV_NO_LISTINGS:
		a->listings = false;
		return 0;
	default:
		return usage_error("coverage", "unknown option %d", opt);
	}
}

/* the image the map belongs to: 0, or EXIT_USAGE after one line */
static int coverage_image(const struct cov_saved *s, const char *guest, struct cov_image *img)
{
	char err[1024];

	if (cov_image_load(guest, img, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow coverage: %s\n", err);
		return EXIT_USAGE;
	}
	if (img->hash != s->hash || img->nedges != s->nedges) {
		fprintf(
		    stderr,
		    "ptshadow coverage: %s: not the guest image the campaign ran (hash %016llx, "
		    "%u edges; the campaign's %016llx, %u edges): rebuilt since?\n",
		    guest, (unsigned long long)img->hash, img->nedges, (unsigned long long)s->hash,
		    s->nedges);
		cov_image_free(img);
		return EXIT_USAGE;
	}
	return 0;
}

static int coverage_listings(const char *out, const struct cov_image *img, const uint8_t *map)
{
	char dir[4096 + 16], err[1024];

	snprintf(dir, sizeof(dir), "%s/coverage", out);
	if (mkdir_p(dir, err, sizeof(err)) != 0 ||
	    cov_write_listings(dir, img, map, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow coverage: %s\n", err);
		return EXIT_INTERNAL;
	}
	printf("\nannotated sources in %s/ (+ reached, - never reached)\n", dir);
	return 0;
}

int cmd_coverage(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"guest", required_argument, NULL, OPT_COV_GUEST},
	    {"no-listings", no_argument, NULL, OPT_COV_NO_LISTINGS},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	struct coverage_args a = {.listings = true};
	struct cov_saved s;
	struct cov_image img;
	char err[1024];
	const char *out;
	int rc;

	if (cli_parse("coverage", coverage_help, argc, argv, "", longopts, NULL, coverage_opt,
	              &a) != 0 ||
	    cli_one_operand("coverage", argc, argv, "campaign directory") != 0)
		return EXIT_USAGE;
	out = argv[optind];
	if (cov_load_saved(out, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow coverage: %s\n", err);
		return EXIT_USAGE;
	}
	rc = coverage_image(&s, a.guest != NULL ? a.guest : s.guest, &img);
	if (rc == 0) {
		uint32_t hit = cov_count(s.map, s.nedges);
		printf("coverage of %s in %s: %u of %u edges reached (%.1f%%)\n\n", img.path, out,
		       hit, s.nedges, 100.0 * hit / s.nedges);
		cov_print_table(stdout, &img, s.map);
		if (a.listings)
			rc = coverage_listings(out, &img, s.map);
		cov_image_free(&img);
	}
	free(s.map);
	return rc;
}
