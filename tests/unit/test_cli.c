/* tests/unit/test_cli.c - the ptshadow command line: every bad input exits 2
 * with one line on stderr that names the input at fault; --help and
 * --version exit 0, and `run --help` documents every option the source has.
 */
#include "testutil.h"

Suite *suite_cli(void);

#define CHILD_TIMEOUT 60

static struct tu_proc p;

static void setup(void)
{
	memset(&p, 0, sizeof(p));
}

static void teardown(void)
{
	tu_proc_free(&p);
}

/* ptshadow ARGS... */
#define PTS(...)                                                                         \
	do {                                                                             \
		char *const argv_[] = { (char *)tu_bin(), __VA_ARGS__, NULL };          \
		tu_run(&p, CHILD_TIMEOUT, argv_);                                        \
		ck_assert_msg(!p.timed_out, "ptshadow still running after %d s", CHILD_TIMEOUT); \
	} while (0)

#define ASSERT_EXIT(code)                                                                 \
	ck_assert_msg(p.status == (code), "exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", \
		      p.status, (code), p.out, p.err)

/* Exit 2, nothing on stdout, one line on stderr that names each needle. */
static void assert_usage_error(const char *needle1, const char *needle2)
{
	ASSERT_EXIT(2);
	ck_assert_msg(p.out[0] == '\0', "bad input printed on stdout:\n%s", p.out);
	ck_assert_msg(tu_count_lines(p.err) == 1 && p.err[strlen(p.err) - 1] == '\n',
		      "want one line on stderr, got:\n%s", p.err);
	ck_assert_msg(strncmp(p.err, "ptshadow", 8) == 0, "message does not start with 'ptshadow': %s",
		      p.err);
	ck_assert_msg(strstr(p.err, needle1) != NULL, "message lacks '%s': %s", needle1, p.err);
	if (needle2 != NULL)
		ck_assert_msg(strstr(p.err, needle2) != NULL, "message lacks '%s': %s", needle2, p.err);
}

/* The guest image is checked before any backend starts: those tests run
 * everywhere; a test that boots needs the pass's backend. */
static bool need_backend(const char *test)
{
	return tu_need_backend(test);
}

/* ---- bad guest images ------------------------------------------------------ */

START_TEST(missing_guest_file)
{
	const char *g = tu_path("nope.elf");

	PTS("run", (char *)g);
	assert_usage_error(g, "No such file");
}
END_TEST

START_TEST(guest_not_elf)
{
	const char *g = tu_path("kernel.txt");

	tu_write_file(g, "#!/bin/sh\necho not a kernel\n", 29);
	PTS("run", (char *)g);
	assert_usage_error(g, "not an ELF file");
}
END_TEST

START_TEST(guest_elf32)
{
	const char *g = tu_path("kernel32.elf");

	tu_elf32_write(g);
	PTS("run", (char *)g);
	assert_usage_error(g, "ELF32");
}
END_TEST

START_TEST(guest_without_pvh_note)
{
	const char *g = tu_path("nonote.elf");
	struct tu_elf e;

	tu_elf_init(&e);
	e.nh.n_type = 1;
	tu_elf_write(&e, g);
	PTS("run", (char *)g);
	assert_usage_error(g, "no PVH entry note");
}
END_TEST

/* ---- bad option values ------------------------------------------------------- */

START_TEST(mem_too_small)
{
	PTS("run", "--mem", "1", (char *)tu_guest());
	assert_usage_error("--mem 1", "16");
}
END_TEST

START_TEST(mem_too_large)
{
	PTS("run", "--mem", "999999", (char *)tu_guest());
	assert_usage_error("--mem 999999", "16384");
}
END_TEST

START_TEST(mem_not_a_number)
{
	PTS("run", "--mem", "abc", (char *)tu_guest());
	assert_usage_error("--mem abc", NULL);
}
END_TEST

START_TEST(mem_too_small_for_arena)
{
	PTS("run", "--mem", "16", "--arena", "4096", (char *)tu_guest());
	assert_usage_error("--mem 16", "4096");
}
END_TEST

START_TEST(arena_zero)
{
	PTS("run", "--arena", "0", (char *)tu_guest());
	assert_usage_error("--arena 0", NULL);
}
END_TEST

START_TEST(dirty_log_unknown)
{
	PTS("fuzz", "--dirty-log", "bitmap", (char *)tu_guest());
	assert_usage_error("--dirty-log bitmap", "ring, clear, get, plugin, none or auto");
}
END_TEST

/* every subcommand parses options the same way: fuzz once called this unknown */
START_TEST(fuzz_option_without_value)
{
	PTS("fuzz", (char *)tu_guest(), "--seed");
	assert_usage_error("'--seed'", "needs a value");
}
END_TEST

START_TEST(timeout_not_a_number)
{
	PTS("run", "--timeout", "x", (char *)tu_guest());
	assert_usage_error("--timeout x", NULL);
}
END_TEST

START_TEST(option_without_value)
{
	PTS("run", "--mem");
	assert_usage_error("'--mem'", "needs a value");
}
END_TEST

/* A command line the VMM would have to cut is refused, not cut. */
START_TEST(cmdline_too_long)
{
	char *cl = malloc(5001);

	ck_assert_ptr_nonnull(cl);
	memset(cl, 'x', 5000);
	cl[5000] = '\0';
	PTS("run", "--cmdline", cl, (char *)tu_guest());
	assert_usage_error("--cmdline", "5000 bytes");
	free(cl);
}
END_TEST

START_TEST(cmdline_long_but_fits)
{
	char *cl = malloc(4001);

	if (!need_backend("cmdline_long_but_fits"))
		return;
	ck_assert_ptr_nonnull(cl);
	memset(cl, 'x', 4000);
	cl[4000] = '\0';
	PTS("run", "--mem", "16", "--arena", "16", "--cmdline", cl, (char *)tu_guest());
	ASSERT_EXIT(0);
	free(cl);
}
END_TEST

START_TEST(console_in_missing_directory)
{
	const char *c = tu_path("no-such-dir/console.txt");

	PTS("run", "--console", (char *)c, (char *)tu_guest());
	assert_usage_error(c, "No such file or directory");
}
END_TEST

/* ---- bad words ---------------------------------------------------------------- */

START_TEST(unknown_option)
{
	PTS("run", "--frobnicate", (char *)tu_guest());
	assert_usage_error("'--frobnicate'", "unknown option");
}
END_TEST

START_TEST(unknown_short_option)
{
	PTS("run", "-z", (char *)tu_guest());
	assert_usage_error("'-z'", "unknown option");
}
END_TEST

START_TEST(no_guest_argument)
{
	PTS("run");
	assert_usage_error("no guest image", NULL);
}
END_TEST

START_TEST(too_many_arguments)
{
	PTS("run", (char *)tu_guest(), "extra.elf");
	assert_usage_error("too many arguments", "'extra.elf'");
}
END_TEST

START_TEST(unknown_subcommand)
{
	PTS("frobnicate");
	assert_usage_error("'frobnicate'", "unknown command");
}
END_TEST

START_TEST(no_subcommand)
{
	char *const argv[] = { (char *)tu_bin(), NULL };

	tu_run(&p, CHILD_TIMEOUT, argv);
	ASSERT_EXIT(2);
	ck_assert_msg(strncmp(p.err, "usage: ptshadow", 15) == 0, "no usage on stderr:\n%s", p.err);
}
END_TEST

/* ---- help and version ------------------------------------------------------------ */

START_TEST(version)
{
	PTS("--version");
	ASSERT_EXIT(0);
	ck_assert_msg(strncmp(p.out, "ptshadow ", 9) == 0, "version line: %s", p.out);
	ck_assert_msg(strstr(p.out, "abi 1") != NULL, "version does not give the ABI: %s", p.out);
}
END_TEST

START_TEST(top_level_help)
{
	PTS("--help");
	ASSERT_EXIT(0);
	ck_assert_msg(strncmp(p.out, "usage: ptshadow", 15) == 0, "help:\n%s", p.out);
	ck_assert_msg(strstr(p.out, "  run ") != NULL, "help does not list 'run':\n%s", p.out);
	ck_assert_msg(strstr(p.out, "--help") != NULL, "help does not mention --help:\n%s", p.out);
	ck_assert_msg(strstr(p.out, "exit status") != NULL, "help does not give exit statuses:\n%s",
		      p.out);
	ck_assert_msg(p.err[0] == '\0', "stderr:\n%s", p.err);
}
END_TEST

/* Long options declared in a source file: every `{ "name", ..._argument`. */
static unsigned source_options(const char *path, char names[][32], unsigned max)
{
	char *src = tu_read_file(path, NULL);
	unsigned n = 0;

	for (char *c = strstr(src, "{ \""); c != NULL; c = strstr(c + 1, "{ \"")) {
		char *name = c + 3, *q = strchr(name, '"'), *close = strchr(name, '}');
		char *arg = strstr(name, "_argument");
		size_t len;

		if (q == NULL || arg == NULL || close == NULL || arg > close)
			continue;
		len = (size_t)(q - name);
		if (len == 0 || len >= 32 || strspn(name, "abcdefghijklmnopqrstuvwxyz-") != len)
			continue;
		ck_assert_uint_lt(n, max);
		memcpy(names[n], name, len);
		names[n][len] = '\0';
		n++;
	}
	free(src);
	return n;
}

START_TEST(run_help_lists_every_option)
{
	static const char *const files[] = { "src/cli/cli.h", "src/cli/cmd_run.c" };
	static const char *const must[] = { "mem", "timeout", "cmdline", "console",
					    "arena", "ops", "trace", "help" };
	char names[64][32], opt[40];
	unsigned n = 0;

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		ck_assert_msg(access(files[f], R_OK) == 0, "%s: %s (run the tests from the source tree)",
			      files[f], strerror(errno));
		n += source_options(files[f], names + n, 64 - n);
	}
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		bool found = false;
		for (unsigned j = 0; j < n && !found; j++)
			found = strcmp(names[j], must[i]) == 0;
		ck_assert_msg(found, "option --%s not found in the source (the scan is broken)", must[i]);
	}
	PTS("run", "--help");
	ASSERT_EXIT(0);
	ck_assert_msg(strncmp(p.out, "usage: ptshadow run", 19) == 0, "help:\n%s", p.out);
	for (unsigned j = 0; j < n; j++) {
		snprintf(opt, sizeof(opt), "--%s", names[j]);
		ck_assert_msg(strstr(p.out, opt) != NULL, "'ptshadow run --help' does not mention %s:\n%s",
			      opt, p.out);
	}
}
END_TEST

/* --help wins over everything else on the line, even a bad guest. */
START_TEST(run_help_with_other_arguments)
{
	PTS("run", "--mem", "64", "--help", "no-such.elf");
	ASSERT_EXIT(0);
	ck_assert_msg(strncmp(p.out, "usage: ptshadow run", 19) == 0, "help:\n%s", p.out);
}
END_TEST

Suite *suite_cli(void)
{
	Suite *s = suite_create("cli");
	TCase *image = tcase_create("guest-image");
	TCase *values = tcase_create("option-values");
	TCase *words = tcase_create("words");
	TCase *help = tcase_create("help");

	tcase_add_checked_fixture(image, setup, teardown);
	tu_tmpdir_fixture(image);
	tcase_set_timeout(image, CHILD_TIMEOUT + 10);
	tcase_add_test(image, missing_guest_file);
	tcase_add_test(image, guest_not_elf);
	tcase_add_test(image, guest_elf32);
	tcase_add_test(image, guest_without_pvh_note);
	suite_add_tcase(s, image);

	tcase_add_checked_fixture(values, setup, teardown);
	tu_tmpdir_fixture(values);
	tcase_set_timeout(values, CHILD_TIMEOUT + 10);
	tcase_add_test(values, mem_too_small);
	tcase_add_test(values, mem_too_large);
	tcase_add_test(values, mem_not_a_number);
	tcase_add_test(values, mem_too_small_for_arena);
	tcase_add_test(values, arena_zero);
	tcase_add_test(values, dirty_log_unknown);
	tcase_add_test(values, fuzz_option_without_value);
	tcase_add_test(values, timeout_not_a_number);
	tcase_add_test(values, option_without_value);
	tcase_add_test(values, cmdline_too_long);
	tcase_add_test(values, cmdline_long_but_fits);
	tcase_add_test(values, console_in_missing_directory);
	suite_add_tcase(s, values);

	tcase_add_checked_fixture(words, setup, teardown);
	tu_tmpdir_fixture(words);
	tcase_set_timeout(words, CHILD_TIMEOUT + 10);
	tcase_add_test(words, unknown_option);
	tcase_add_test(words, unknown_short_option);
	tcase_add_test(words, no_guest_argument);
	tcase_add_test(words, too_many_arguments);
	tcase_add_test(words, unknown_subcommand);
	tcase_add_test(words, no_subcommand);
	suite_add_tcase(s, words);

	tcase_add_checked_fixture(help, setup, teardown);
	tu_tmpdir_fixture(help);
	tcase_set_timeout(help, CHILD_TIMEOUT + 10);
	tcase_add_test(help, version);
	tcase_add_test(help, top_level_help);
	tcase_add_test(help, run_help_lists_every_option);
	tcase_add_test(help, run_help_with_other_arguments);
	suite_add_tcase(s, help);
	return s;
}
