/* src/cli/cmd_report.c - `ptshadow report OUT`: the campaign's page,
 * OUT/index.html, made again from what OUT holds (src/report/page.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "page.h"

static const char report_help[] =
    "usage: ptshadow report OUT\n"
    "\n"
    "Write OUT/index.html, the page of the fuzz campaign(s) whose output directory\n"
    "is OUT: ops/s and unique findings over time (OUT/plot_data.csv), the jobs and\n"
    "coverage (OUT/stats.json), and one row a finding (OUT/crashes/), with links\n"
    "to each report.  One self-contained HTML file (inline CSS and SVG, no script,\n"
    "nothing fetched): open it in a browser.  `ptshadow fuzz` writes it too, every\n"
    "minute and at its end; this makes it again at any time, a campaign running\n"
    "or not.  What is missing or malformed in OUT is said on the page.\n"
    "\n"
    "options:\n"
    "  --help            this text\n"
    "\n"
    "exit status: 0 written, 2 OUT is not a campaign's output directory,\n"
    "             3 index.html could not be written\n";

static int report_opt(void *ctx, int opt, const char *arg)
{
	return usage_error("report", "unknown option %d", opt);
}

/* OUT is a directory a campaign wrote into: 0, or EXIT_USAGE after one line */
static int check_out(const char *out)
{
	static const char *const marks[] = {"stats.json", "plot_data.csv", "crashes"};
	char path[PATH_MAX];
	struct stat st;

	if (stat(out, &st) != 0) {
		fprintf(stderr, "ptshadow report: %s: %s\n", out, strerror(errno));
		return EXIT_USAGE;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr,
		        "ptshadow report: %s: not a directory (give a fuzz campaign's --out)\n",
		        out);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", out, marks[i]);
		if (lstat(path, &st) == 0)
			return 0;
	}
	fprintf(stderr,
	        "ptshadow report: %s: not a campaign's output directory (no stats.json, "
	        "plot_data.csv or crashes/ in it)\n",
	        out);
	return EXIT_USAGE;
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	char err[512];

	if (cli_parse("report", report_help, argc, argv, "", longopts, NULL, report_opt, NULL) !=
	        0 ||
	    cli_one_operand("report", argc, argv, "output directory") != 0)
		return EXIT_USAGE;
	if (check_out(argv[optind]) != 0)
		return EXIT_USAGE;
	if (page_write(argv[optind], err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow report: cannot write: %s\n", err);
		return EXIT_INTERNAL;
	}
	printf("ptshadow report: wrote %s/%s\n", argv[optind], PAGE_FILE);
	return EXIT_CLEAN;
}
