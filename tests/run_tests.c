/* tests/run_tests.c - runs every Check suite (tests/unit/test_*.c, listed in
 * build/tests/suites.h by the Makefile) and ends with a summary that counts
 * the tests run, failed and not run (with the reasons).  A test that cannot
 * run here calls tu_skip(), which logs it to PTSHADOW_NOTRUN_LOG; Check
 * would count it as passed, this summary does not.
 * `run_tests NAME...` runs only the named suites.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUITE(name) Suite *suite_##name(void);
#include "suites.h"
#undef SUITE

struct suite_entry {
	const char *name;
	Suite *(*make)(void);
};

static const struct suite_entry suites[] = {
#define SUITE(name) { #name, suite_##name },
#include "suites.h"
#undef SUITE
};

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

/* One line per test not run, then the reasons with their counts. */
static unsigned report_not_run(FILE *log)
{
	char line[512], reasons[32][256];
	unsigned counts[32] = { 0 }, nreasons = 0, total = 0;

	while (log != NULL && fgets(line, sizeof(line), log) != NULL) {
		char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
		unsigned i;
		if (nl != NULL)
			*nl = '\0';
		if (tab == NULL)
			continue;
		*tab++ = '\0';
		printf("NOT RUN %s: %s\n", line, tab);
		total++;
		for (i = 0; i < nreasons && strcmp(reasons[i], tab) != 0; i++)
			;
		if (i == nreasons && nreasons < 32)
			snprintf(reasons[nreasons++], sizeof(reasons[0]), "%s", tab);
		if (i < nreasons)
			counts[i]++;
	}
	for (unsigned i = 0; i < nreasons; i++)
		printf("  not run, %u: %s\n", counts[i], reasons[i]);
	return total;
}

int main(int argc, char **argv)
{
	SRunner *sr = NULL;
	int failed, total, matched = 0;
	char logpath[] = "/tmp/ptshadow-notrun-XXXXXX";
	int logfd = mkstemp(logpath);
	unsigned not_run;
	FILE *log;

	if (logfd < 0) {
		perror("run_tests: mkstemp");
		return 2;
	}
	setenv("PTSHADOW_NOTRUN_LOG", logpath, 1);

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (!wanted(suites[i].name, argc, argv))
			continue;
		matched++;
		if (sr == NULL)
			sr = srunner_create(suites[i].make());
		else
			srunner_add_suite(sr, suites[i].make());
	}
	if (sr == NULL) {
		fprintf(stderr, "run_tests: no suite named");
		for (int i = 1; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n");
		return 2;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	total = srunner_ntests_run(sr);
	srunner_free(sr);
	log = fdopen(logfd, "r");
	not_run = report_not_run(log);
	if (log != NULL)
		fclose(log);
	unlink(logpath);
	printf("ptshadow tests: %d run, %d failed, %u not run\n", total - (int)not_run, failed,
	       not_run);
	return failed == 0 ? 0 : 1;
}
