/* tests/unit/test_dump.c - `ptshadow dump`: a script's pmap printed one range
 * per line with its flags, the kernel pmap with its direct map, a pmap
 * name the script does not leave alive refused with exit 2, and --svg's
 * picture of the pmap well-formed, its empty entries folded, a bad --svg
 * refused before any guest boots; --cpu-state's CPUs, pm_active and ledger
 * after the mappings, on two CPUs and on one.
 */
#include "svgcheck.h"
#include "testutil.h"

Suite *suite_dump(void);

static struct tu_proc p;

/* dump pmap after script, with the options of extra (NULL-terminated) */
static void dump_with(const char *script, const char *pmap, const char *const *extra)
{
	const char *base[] = {tu_bin(), "dump",   "--mem", "64",      "--ops",
	                      NULL,     "--pmap", pmap,    tu_guest()};
	char *argv[24];
	size_t n = 0;

	tu_write_file(tu_path("d.ops"), script, strlen(script));
	base[5] = tu_path("d.ops");
	for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
		argv[n++] = (char *)base[i];
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 23; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	tu_run(&p, 120, argv);
}

/* dump pmap after script; with svg, --svg svg too */
static void dump_svg(const char *script, const char *pmap, const char *svg)
{
	const char *extra[] = {"--svg", svg, NULL};
	dump_with(script, pmap, svg != NULL ? extra : NULL);
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

/* ---- --cpu-state: the CPUs, pm_active and the ledger after the mappings */

/* the next line of text (at *at) into line, NUL-terminated; false at the end */
static bool next_line(const char **at, char *line, size_t len)
{
	size_t n;

	if (*at == NULL || **at == '\0')
		return false;
	n = strcspn(*at, "\n");
	snprintf(line, len, "%.*s", (int)(n < len ? n : len - 1), *at);
	*at += n + ((*at)[n] == '\n');
	return true;
}

/* lines of the dump that start with prefix and hold needle ("" for any) */
static unsigned count_lines(const char *prefix, const char *needle)
{
	const char *at = p.out;
	char line[512];
	unsigned n = 0;

	while (next_line(&at, line, sizeof line))
		n += strncmp(line, prefix, strlen(prefix)) == 0 && strstr(line, needle) != NULL;
	return n;
}

/* the word after " key " on the dump's first line that starts with prefix,
 * into word ("" when there is none) */
static const char *field(const char *prefix, const char *key, char *word, size_t len)
{
	const char *at = p.out, *k;
	char line[512], spaced[64];

	word[0] = '\0';
	snprintf(spaced, sizeof spaced, " %s ", key);
	while (next_line(&at, line, sizeof line)) {
		if (strncmp(line, prefix, strlen(prefix)) != 0 ||
		    (k = strstr(line, spaced)) == NULL)
			continue;
		k += strlen(spaced);
		snprintf(word, len, "%.*s", (int)strcspn(k, " "), k);
		break;
	}
	return word;
}

/* Two CPUs, pmap a activated on cpu1 last: cpu1's CR3 is a's root (as the
 * pmap line and the walk --svg draws have it), a's pm_active is {1}, and
 * the ledger shows cpu1's SWITCH to it; the mapping comes first, as without
 * --cpu-state. */
START_TEST(test_dump_cpu_state_two_cpus)
{
	static const char on_cpu1[] = "create a\n"
	                              "create b\n"
	                              "enter a 0x400000 pg1 rw\n"
	                              "cpu1: activate a\n";
	const char *svg = tu_path("a.svg");
	const char *extra[] = {"--cpus", "2", "--cpu-state", "--svg", svg, NULL};
	char root[64], cr3[64], kroot[64], cr3_0[64], word[64], err[256], needle[96];

	if (!tu_need_backend("test_dump_cpu_state_two_cpus"))
		return;
	dump_with(on_cpu1, "a", extra);
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	ck_assert_msg(strncmp(p.out, "0000000000400000-0000000000401000 ", 34) == 0, "%s", p.out);
	ck_assert_uint_eq(tu_count_lines(p.out) - count_lines("# ", ""), 1);
	ck_assert_uint_eq(count_lines("# cpus: 2 up", ""), 1);

	field("# pmap a ", "root", root, sizeof root);
	field("# cpu1 ", "cr3", cr3, sizeof cr3);
	ck_assert_msg(root[0] != '\0' && strcmp(cr3, root) == 0, "cpu1 cr3 %s, a's root %s:\n%s",
	              cr3, root, p.out);
	ck_assert_uint_eq(count_lines("# cpu1 cr3 ", " pmap a"), 1);
	struct svg_check *c = svg_check_load(svg, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s: %s", svg, err);
	const char *walked =
	    svg_check_attr(c, "//s:g[" S_CLASS("table") " and @data-level='4']", "data-pa");
	ck_assert_msg(walked != NULL && strtoull(walked, NULL, 0) == strtoull(root, NULL, 0),
	              "the walk's root %s, the dump's %s", walked ? walked : "(none)", root);
	svg_check_free(c);

	ck_assert_str_eq(field("# pmap a ", "pm_active", word, sizeof word), "{1}");
	ck_assert_str_eq(field("# pmap b ", "pm_active", word, sizeof word), "{}");
	field("# pmap kernel ", "root", kroot, sizeof kroot);
	field("# cpu0 ", "cr3", cr3_0, sizeof cr3_0);
	ck_assert_msg(kroot[0] != '\0' && strcmp(cr3_0, kroot) == 0, "%s", p.out);
	ck_assert_str_eq(field("# pmap kernel ", "pm_active", word, sizeof word), "{0,1}");

	snprintf(needle, sizeof needle, " SWITCH cpu1 cr3 %s va %s ", root, root);
	ck_assert_msg(count_lines("# seq ", needle) == 1 && count_lines("# seq ", " to a") == 1,
	              "no SWITCH by cpu1 to a:\n%s", p.out);
	tu_proc_free(&p);
}
END_TEST

/* One CPU: CPU 0 alone, on the pmap the script last ran in; --ledger N alone shows the
 * section and the last N records, the newest the ledger's last; --ledger 0
 * no record */
START_TEST(test_dump_cpu_state_one_cpu)
{
	const char *three[] = {"--ledger", "3", NULL},
	           *none[] = {"--cpu-state", "--ledger", "0", NULL};
	char root[64], cr3[64], word[64], last[64];
	unsigned long long written = 0;

	if (!tu_need_backend("test_dump_cpu_state_one_cpu"))
		return;
	dump_with(script, "a", three);
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	ck_assert_uint_eq(tu_count_lines(p.out) - count_lines("# ", ""), 2);
	ck_assert_msg(tu_has_line_starting(p.out, "0000000000400000-0000000000402000 "), "%s",
	              p.out);
	ck_assert_uint_eq(count_lines("# cpus: 1 up", ""), 1);
	ck_assert_uint_eq(count_lines("# cpu", " cr3 "), 1);
	/* touch ran in a's address space and left it loaded */
	field("# pmap a ", "root", root, sizeof root);
	field("# cpu0 ", "cr3", cr3, sizeof cr3);
	ck_assert_msg(root[0] != '\0' && strcmp(cr3, root) == 0 &&
	                  count_lines("# cpu0 ", " pmap a") == 1,
	              "%s", p.out);
	ck_assert_str_eq(field("# pmap a ", "pm_active", word, sizeof word), "{0}");
	ck_assert_uint_eq(count_lines("# pmap kernel ", ""), 1);
	ck_assert_uint_eq(count_lines("# pmap b ", ""), 0); /* destroyed */

	ck_assert_msg(sscanf(strstr(p.out, "# ledger: ") ? strstr(p.out, "# ledger: ") : "",
	                     "# ledger: %llu records written, the last 3:", &written) == 1 &&
	                  written >= 3,
	              "%s", p.out);
	ck_assert_uint_eq(count_lines("# seq ", ""), 3);
	snprintf(last, sizeof last, "# seq %llu ", written - 1);
	ck_assert_msg(tu_has_line_starting(p.out, last), "no %s:\n%s", last, p.out);
	tu_proc_free(&p);

	dump_with(script, "a", none);
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	ck_assert_uint_eq(count_lines("# cpu0 ", ""), 1);
	ck_assert_uint_eq(count_lines("# ledger", "") + count_lines("# seq ", ""), 0);
	tu_proc_free(&p);
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
	tcase_add_test(tc, test_dump_cpu_state_two_cpus);
	tcase_add_test(tc, test_dump_cpu_state_one_cpu);
	suite_add_tcase(s, tc);
	return s;
}
