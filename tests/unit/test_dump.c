/* tests/unit/test_dump.c - `ptshadow dump`: a script's pmap printed one range
 * per line with its flags, the kernel pmap with its direct map, and a pmap
 * name the script does not leave alive refused with exit 2.
 */
#include "testutil.h"

Suite *suite_dump(void);

static struct tu_proc p;

static void dump(const char *script, const char *pmap)
{
	tu_write_file(tu_path("d.ops"), script, strlen(script));
	char *argv[] = {(char *)tu_bin(),
	                "dump",
	                "--mem",
	                "64",
	                "--ops",
	                (char *)tu_path("d.ops"),
	                "--pmap",
	                (char *)pmap,
	                (char *)tu_guest(),
	                NULL};
	tu_run(&p, 120, argv);
}

static const char script[] =
    "create a\n"
    "create b\n"
    "enter a 0x400000 pg1 rw\n"
    "enter a 0x401000 pg2 rw\n" /* pg1, pg2 are adjacent frames: one range */
    "enter a 0x403000 pg5 r wired\n"
    "touch a 0x403000 r\n"
    "enter b 0x400000 pg1 rx\n"
    "destroy b\n";

START_TEST(test_dump_user_pmap)
{
	if (!tu_need_backend("test_dump_user_pmap"))
		return;
	dump(script, "a");
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	ck_assert_uint_eq(tu_count_lines(p.out), 2);
	ck_assert_msg(tu_has_line_starting(p.out, "0000000000400000-0000000000402000 ") &&
	                  strstr(p.out, " P RW US NX PVLIST\n") != NULL,
	              "%s", p.out);
	ck_assert_msg(tu_has_line_starting(p.out, "0000000000403000-0000000000404000 ") &&
	                  strstr(p.out, " P US A NX W PVLIST\n") != NULL,
	              "%s", p.out);
	tu_proc_free(&p);
}
END_TEST

START_TEST(test_dump_kernel_pmap)
{
	if (!tu_need_backend("test_dump_kernel_pmap"))
		return;
	dump(script, "kernel");
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	ck_assert_msg(tu_has_line_starting(p.out, "ffff800000000000-") &&
	                  strstr(p.out, " PS G NX (2M)\n") != NULL,
	              "no direct map:\n%s", p.out);
	ck_assert_msg(strstr(p.out, " US ") == NULL, "a user mapping in the kernel pmap:\n%s",
	              p.out);
	/* the kernel image is W^X: text executable and read-only, the rest NX */
	unsigned text = 0, image = 0;
	for (const char *l = p.out; l != NULL && *l != '\0';
	     l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char line[256];
		size_t n = strcspn(l, "\n");
		snprintf(line, sizeof(line), "%.*s ", (int)(n < 250 ? n : 250), l);
		if (strncmp(line, "ffffffff8", 9) != 0)
			continue;
		image++;
		bool rw = strstr(line, " RW ") != NULL, nx = strstr(line, " NX ") != NULL;
		ck_assert_msg(!rw || nx, "writable and executable: %s", line);
		text += !nx;
	}
	ck_assert_msg(image > 0 && text > 0, "no kernel image or no text in:\n%s", p.out);
	tu_proc_free(&p);
}
END_TEST

/* no guest is booted for a name the script does not leave alive */
START_TEST(test_dump_unknown_pmap)
{
	static const char *const names[] = {"c", "b"}; /* never created; destroyed */
	for (unsigned i = 0; i < 2; i++) {
		dump(script, names[i]);
		ck_assert_msg(p.status == 2, "--pmap %s: exit %d", names[i], p.status);
		ck_assert_uint_eq(tu_count_lines(p.err), 1);
		ck_assert_msg(strstr(p.err, "--pmap ") != NULL && strstr(p.err, "alive") != NULL,
		              "%s", p.err);
		ck_assert_str_eq(p.out, "");
		tu_proc_free(&p);
	}
}
END_TEST

Suite *suite_dump(void)
{
	Suite *s = suite_create("dump");
	TCase *tc = tcase_create("dump");
	tu_tmpdir_fixture(tc);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_dump_user_pmap);
	tcase_add_test(tc, test_dump_kernel_pmap);
	tcase_add_test(tc, test_dump_unknown_pmap);
	suite_add_tcase(s, tc);
	return s;
}
