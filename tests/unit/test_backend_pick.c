/* tests/unit/test_backend_pick.c - `--backend auto` where this machine has
 * both /dev/kvm and QEMU: the first run measures both backends, says on its
 * first line which it took and why, and caches the figures; later runs take
 * the cached figures' winner (shown by editing the cache so the other one
 * wins); a cache that is garbage is measured again, never trusted; a
 * campaign's first line says why, and its stats.json names the backend.
 * Where only one backend exists, auto has no choice: those tests do not run.
 */
#include <jansson.h>

#include "testutil.h"

Suite *suite_backend_pick(void);

static char cache_file[700];

/* run under a cache of our own; false (not run) when auto has no choice */
static bool both_backends(const char *test)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		tu_skip(test, "no /dev/kvm that opens: auto has no choice to make here");
		return false;
	}
	close(fd);
	if (!tu_have_qemu()) {
		tu_skip(test, "qemu-system-x86_64 is not installed: auto has no choice here");
		return false;
	}
	setenv("XDG_CACHE_HOME", tu_dir, 1);
	unsetenv("PTSHADOW_BACKEND"); /* auto, whatever pass this is */
	snprintf(cache_file, sizeof(cache_file), "%s/ptshadow/backend-speed", tu_dir);
	return true;
}

/* `run` on auto: its "backend: " line */
static char *auto_run(struct tu_proc *p)
{
	char *argv[] = {(char *)tu_bin(), "run", (char *)tu_guest(), NULL};
	char *line;

	tu_run(p, 120, argv);
	ck_assert_msg(p->status == 0, "exit %d\n%s", p->status, p->err);
	ck_assert_msg(strncmp(p->out, "backend: ", 9) == 0, "first line:\n%s", p->out);
	line = strndup(p->out, strcspn(p->out, "\n"));
	ck_assert_ptr_nonnull(line);
	return line;
}

/* the cached figures (ops/s) of the one machine line */
static void cached(double *kvm, double *qemu)
{
	char *text = tu_read_file(cache_file, NULL), *l;

	ck_assert_msg(text != NULL, "no cache file %s", cache_file);
	l = strstr(text, " kvm=");
	ck_assert_msg(l != NULL && sscanf(l, " kvm=%lf qemu=%lf", kvm, qemu) == 2,
	              "no figures in %s:\n%s", cache_file, text);
	free(text);
}

/* The first run measures, names its pick and the ratio; the pick is the
 * faster of the two cached figures. */
START_TEST(first_run_measures_and_says_why)
{
	struct tu_proc p;
	double kvm, qemu;
	char *line;

	if (!both_backends("first_run_measures_and_says_why"))
		return;
	line = auto_run(&p);
	cached(&kvm, &qemu);
	ck_assert_msg(strstr(line, "(measured now); --backend ") != NULL &&
	                  strstr(line, "faster than") != NULL,
	              "%s", line);
	if (qemu > kvm)
		ck_assert_msg(strncmp(line, "backend: qemu (tcg)", 19) == 0 &&
		                  strstr(line, "--backend kvm to override") != NULL,
		              "qemu %.0f ops/s, kvm %.0f, but: %s", qemu, kvm, line);
	else
		ck_assert_msg(strncmp(line, "backend: kvm", 12) == 0 &&
		                  strstr(line, "--backend qemu to override") != NULL,
		              "kvm %.0f ops/s, qemu %.0f, but: %s", kvm, qemu, line);
	free(line);
	tu_proc_free(&p);
	line = auto_run(&p); /* the second run measures nothing */
	ck_assert_msg(strstr(line, "(measured before)") != NULL, "%s", line);
	free(line);
	tu_proc_free(&p);
}
END_TEST

/* Edit the cached figures so the other backend wins: auto follows them. */
START_TEST(later_runs_follow_the_cache)
{
	struct tu_proc p;
	char *line, *text, *at, edited[4096];
	double kvm, qemu;
	bool was_qemu;

	if (!both_backends("later_runs_follow_the_cache"))
		return;
	line = auto_run(&p);
	was_qemu = strncmp(line, "backend: qemu", 13) == 0;
	free(line);
	tu_proc_free(&p);
	text = tu_read_file(cache_file, NULL);
	ck_assert_ptr_nonnull(text);
	at = strstr(text, "kvm=");
	ck_assert_ptr_nonnull(at);
	snprintf(edited, sizeof(edited), "%.*skvm=%s qemu=%s%s", (int)(at - text), text,
	         was_qemu ? "90000" : "100", was_qemu ? "100" : "90000", strstr(at, " measured="));
	tu_write_file(cache_file, edited, strlen(edited));
	free(text);
	line = auto_run(&p);
	ck_assert_msg(
	    strncmp(line, was_qemu ? "backend: kvm" : "backend: qemu", was_qemu ? 12 : 13) == 0 &&
	        strstr(line, "900.0\u00d7 faster") != NULL &&
	        strstr(line, "(measured before)") != NULL,
	    "after the cache was edited: %s", line);
	cached(&kvm, &qemu);
	ck_assert(was_qemu ? kvm > qemu : qemu > kvm);
	free(line);
	tu_proc_free(&p);
}
END_TEST

/* Garbage in the cache (binary, a key without figures, absurd figures) is
 * not trusted: measured again, and the file holds a good line after. */
START_TEST(garbage_cache_is_measured_again)
{
	static const char junk[] = "\x01\x02\xff garbage\n0123456789abcdef kvm=x qemu=\n"
	                           "0123456789abcdef kvm=-5 qemu=1e300\n";
	struct tu_proc p;
	char dir[700], *line;
	double kvm, qemu;

	if (!both_backends("garbage_cache_is_measured_again"))
		return;
	snprintf(dir, sizeof(dir), "%s/ptshadow", tu_dir);
	mkdir(dir, 0755);
	tu_write_file(cache_file, junk, sizeof(junk) - 1);
	line = auto_run(&p);
	ck_assert_msg(strstr(line, "(measured now)") != NULL, "%s", line);
	cached(&kvm, &qemu);
	ck_assert(kvm > 0 && qemu > 0);
	free(line);
	tu_proc_free(&p);
}
END_TEST

/* A campaign's first line says which backend and why; stats.json names it. */
START_TEST(campaign_first_line_says_why)
{
	const char *out = tu_path("camp");
	struct tu_proc p;
	char stats[700], *text, backend[32];
	json_t *j;

	if (!both_backends("campaign_first_line_says_why"))
		return;
	char *argv[] = {(char *)tu_bin(), "fuzz",      "--seed",           "1",
	                "--ops",          "300",       "--jobs",           "1",
	                "--out",          (char *)out, (char *)tu_guest(), NULL};
	tu_run(&p, 120, argv);
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	char *first = strndup(p.out, strcspn(p.out, "\n"));
	ck_assert_ptr_nonnull(first);
	ck_assert_msg(sscanf(first, "backend: %31[a-z]", backend) == 1 &&
	                  strstr(first, "faster than") != NULL &&
	                  strstr(first, " to override") != NULL,
	              "first line:\n%s", p.out);
	free(first);
	snprintf(stats, sizeof(stats), "%s/stats.json", out);
	text = tu_read_file(stats, NULL);
	ck_assert_ptr_nonnull(text);
	j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "backend")), backend);
	json_decref(j);
	free(text);
	tu_proc_free(&p);
}
END_TEST

Suite *suite_backend_pick(void)
{
	Suite *s = suite_create("backend_pick");
	TCase *tc = tcase_create("auto");

	tu_tmpdir_fixture(tc);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, first_run_measures_and_says_why);
	tcase_add_test(tc, later_runs_follow_the_cache);
	tcase_add_test(tc, garbage_cache_is_measured_again);
	tcase_add_test(tc, campaign_first_line_says_why);
	suite_add_tcase(s, tc);
	return s;
}
