/* tests/unit/test_dump.c - `ptshadow dump`: a script's pmap printed one range
 * per line with its flags, the kernel pmap with its direct map, a pmap
 * name the script does not leave alive refused with exit 2, and --svg's
 * picture of the pmap well-formed, its empty entries folded, a bad --svg
 * refused before any guest boots.
 */
#include "svgcheck.h"
#include "testutil.h"

Suite *suite_dump(void);

static struct tu_proc p;

/* dump pmap after script; with svg, --svg svg too */
static void dump_svg(const char *script, const char *pmap, const char *svg)
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
	                svg ? "--svg" : NULL,
	                (char *)svg,
	                NULL};
	tu_run(&p, 120, argv);
}

static void dump(const char *script, const char *pmap)
{
	dump_svg(script, pmap, NULL);
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

#define TABLE(level) "//s:g[" S_CLASS("table") " and @data-level='" level "']"

/* --svg: pmap a's four tables; its PT holds the three mappings, each entry
 * by its VA, with the empty entries between and after them folded */
START_TEST(test_dump_svg)
{
	char err[256];
	const char *svg = tu_path("a.svg");

	if (!tu_need_backend("test_dump_svg"))
		return;
	dump_svg(script, "a", svg);
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	struct svg_check *c = svg_check_load(svg, err, sizeof(err));
	ck_assert_msg(c != NULL && svg_check_is_svg(c), "%s: %s", svg, err);
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("table") "]"), 4);
	ck_assert_int_eq(svg_check_count(c, TABLE("1") "/s:g[" S_CLASS("entry") "]"), 3);
	ck_assert_int_eq(
	    svg_check_count(c, TABLE("1") "/s:g[" S_CLASS("entry") " and @data-va='0x403000']"), 1);
	ck_assert_int_eq(svg_check_count(c, TABLE("1") "/s:g[" S_CLASS(
	                                        "fold") " and @data-first='2' and @data-last='2']"),
	                 1);
	ck_assert_int_eq(
	    svg_check_count(
	        c, TABLE("1") "/s:g[" S_CLASS("fold") " and @data-first='4' and @data-last='511']"),
	    1);
	ck_assert(svg_check_has_text(c, "entries 4–511 empty"));
	ck_assert(svg_check_has_text(c, "pmap a"));
	svg_check_free(c);
	tu_proc_free(&p);
}
END_TEST

/* a --svg that cannot be written is refused, naming it, before a guest boots */
START_TEST(test_dump_svg_bad_path)
{
	static const char *const bad[] = {"/nonexistent-dir/a.svg", "/proc/x/a.svg", "/tmp"};
	for (unsigned i = 0; i < 3; i++) {
		dump_svg(script, "a", bad[i]);
		ck_assert_msg(p.status == 2, "--svg %s: exit %d\n%s", bad[i], p.status, p.err);
		ck_assert_uint_eq(tu_count_lines(p.err), 1);
		ck_assert_msg(strstr(p.err, "--svg ") != NULL && strstr(p.err, bad[i]) != NULL,
		              "%s", p.err);
		ck_assert_str_eq(p.out, "");
		ck_assert_msg(p.secs < 2.0, "refused after %.2f s", p.secs);
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
	tcase_add_test(tc, test_dump_svg);
	tcase_add_test(tc, test_dump_svg_bad_path);
	suite_add_tcase(s, tc);
	return s;
}
