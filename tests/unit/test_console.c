/* tests/unit/test_console.c - a hostile guest console: bytes that would drive a
 * terminal reach none (console lines, panic records, reports: escaped as
 * \xNN), and one op shows at most CONSOLE_OP_MAX bytes, the rest counted.
 * The console itself without a VM, then guests that misbehave on purpose
 * (guest/selftest.c: selftest=escpanic, selftest=binconsole, flood=BYTES)
 * under `ptshadow run` on the pass's backend.
 */
#include <jansson.h>

#include "util.h"
#include "vm_impl.h"
#include "testutil.h"

Suite *suite_console(void);

#define CHILD_TIMEOUT 120

/* what a terminal would obey: clear screen, set title, 8-bit CSI (guest/selftest.c) */
static const char hostile[] = "\x1b[2J\x1b]0;owned\x07\x9b"
                              "31m";

/* ---- the console, without a VM ---------------------------------------------- */

struct captured {
	struct console c;
	char *buf;
	size_t len;
	FILE *f;
};

static void capture_open(struct captured *k)
{
	memset(k, 0, sizeof(*k));
	k->f = open_memstream(&k->buf, &k->len);
	ck_assert_ptr_nonnull(k->f);
	k->c.out = k->f;
	k->c.prefix = "guest: ";
}

static void capture_puts(struct captured *k, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		console_putc(&k->c, s[i]);
}

static void capture_close(struct captured *k)
{
	fclose(k->f);
	free(k->buf);
}

START_TEST(console_escapes_what_drives_a_terminal)
{
	struct captured k;
	char all[256];
	long bad;

	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	capture_open(&k);
	capture_puts(&k, "banner ", 7);
	capture_puts(&k, hostile, strlen(hostile));
	capture_puts(&k, "\n", 1);
	capture_puts(&k, all, sizeof(all));
	capture_puts(&k, "\n", 1);
	console_end_op(&k.c);
	fflush(k.f);
	bad = tu_unsafe_byte(k.buf, k.len);
	ck_assert_msg(bad < 0, "byte %#x at %ld reached the terminal:\n%.1500s",
	              bad < 0 ? 0 : (unsigned char)k.buf[bad], bad, k.buf);
	ck_assert_msg(strstr(k.buf, "guest: banner \\x1b[2J\\x1b]0;owned\\x07\\x9b31m\n") != NULL,
	              "escape sequence not shown escaped:\n%.1500s", k.buf);
	ck_assert_msg(strstr(k.buf, "\\x7f\\x80") != NULL && strstr(k.buf, "\\xff") != NULL,
	              "bytes above 0x7e not escaped:\n%.1500s", k.buf);
	ck_assert_msg(strstr(k.buf, "[\\\\]") != NULL, "a backslash is not shown as \\\\:\n%.1500s",
	              k.buf);
	/* the tail keeps the bytes as they were, for reports (which escape them) */
	ck_assert_uint_eq(k.c.tail_len, 7 + strlen(hostile) + 1 + 256 + 1);
	ck_assert(memcmp(k.c.tail + 7 + strlen(hostile) + 1, all, 256) == 0);
	capture_close(&k);
}
END_TEST

/* 1 MiB in one op: CONSOLE_OP_MAX bytes shown, the rest counted in one line
 * when the op ends; the next op may show as much again. */
START_TEST(console_caps_one_op)
{
	struct captured k;
	char line[64], want[128];
	size_t total = 1u << 20;

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	capture_open(&k);
	for (size_t i = 0; i < total / sizeof(line); i++)
		capture_puts(&k, line, sizeof(line));
	fflush(k.f);
	ck_assert_msg(k.len <= CONSOLE_OP_MAX + CONSOLE_OP_MAX / 8,
	              "%zu bytes reached the terminal during one op (cap %u)", k.len,
	              CONSOLE_OP_MAX);
	console_end_op(&k.c);
	fflush(k.f);
	snprintf(want, sizeof(want), "guest: [console: %zu more bytes of this op not shown]\n",
	         total - CONSOLE_OP_MAX);
	ck_assert_msg(strstr(k.buf, want) != NULL, "no '%s' at the op's end:\n%.200s", want,
	              k.buf + (k.len > 200 ? k.len - 200 : 0));
	size_t after_first = k.len;
	capture_puts(&k, "next op\n", 8);
	console_end_op(&k.c);
	fflush(k.f);
	ck_assert_str_eq(k.buf + after_first, "guest: next op\n");
	capture_close(&k);
}
END_TEST

/* A failed write (a full disk) stops the writer and leaves the FILE's error
 * flag, for the command to report; the console goes on (tail for reports). */
START_TEST(console_stops_on_failed_write)
{
	struct console c;
	FILE *full = fopen("/dev/full", "w");

	if (full == NULL) {
		tu_skip("console_stops_on_failed_write", "no /dev/full");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.out = full;
	for (int i = 0; i < 3; i++)
		for (const char *s = "line\n"; *s != '\0'; s++)
			console_putc(&c, *s);
	ck_assert_msg(ferror(full), "the failed write left no error for the command to see");
	ck_assert_uint_eq(c.tail_len, 15);
	fclose(full);
}
END_TEST

/* fuzz keeps the console for reports only (out NULL): the tail is what the
 * guest printed, line after line (the line buffer was never emptied without
 * an output, and ran on into the tail and beyond: a garbled console_tail,
 * and a job that printed a lot died of SIGSEGV). */
START_TEST(console_without_output_keeps_its_tail)
{
	struct console c;
	char line[32], want[sizeof(c.tail) + 1];
	size_t n = 0;

	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 20000; i++) {
		snprintf(line, sizeof(line), "line %05d of the guest\n", i);
		for (const char *s = line; *s != '\0'; s++)
			console_putc(&c, *s);
	}
	/* the last tail_len bytes printed, rebuilt */
	for (int i = 19999; i >= 0 && n < c.tail_len; i--) {
		size_t k = (size_t)snprintf(line, sizeof(line), "line %05d of the guest\n", i);
		size_t take = k < c.tail_len - n ? k : c.tail_len - n;
		memcpy(want + c.tail_len - n - take, line + k - take, take);
		n += take;
	}
	ck_assert_uint_ge(c.tail_len, sizeof(c.tail) / 2);
	ck_assert_msg(memcmp(c.tail, want, c.tail_len) == 0, "console tail garbled:\n%.*s",
	              (int)c.tail_len, c.tail);
	ck_assert_uint_le(c.len, sizeof(c.line));
}
END_TEST

START_TEST(text_escape_whole_escapes)
{
	char out[8];

	/* "ab" and a 4-byte escape need 7 bytes: in 6, the escape is left out whole */
	ck_assert_uint_eq(text_escape(out, 6, "ab\x1b", 3, false), 2);
	ck_assert_str_eq(out, "ab");
	ck_assert_uint_eq(text_escape(out, 7, "ab\x1b", 3, false), 6);
	ck_assert_str_eq(out, "ab\\x1b");
	ck_assert_uint_eq(text_escape(out, sizeof(out), "a\\\n\t", 4, true), 5);
	ck_assert_str_eq(out, "a\\\\\n\t");
	ck_assert_uint_eq(text_escape(out, sizeof(out), "\n\t", 2, false),
	                  4); /* \x09 does not fit */
	ck_assert_str_eq(out, "\\x0a");
}
END_TEST

/* ---- hostile guests under ptshadow run ------------------------------------ */

static struct tu_proc p;

static void setup(void)
{
	memset(&p, 0, sizeof(p));
}

static void teardown(void)
{
	tu_proc_free(&p);
}

static void assert_safe(const char *what, const char *text, size_t len)
{
	long bad = tu_unsafe_byte(text, len);

	ck_assert_msg(bad < 0, "%s: byte %#x at offset %ld would reach the terminal:\n%.1500s",
	              what, bad < 0 ? 0 : (unsigned char)text[bad], bad, text);
}

static json_t *load_json(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);

	ck_assert_msg(j != NULL, "%s: %s (line %d)", path, e.text, e.line);
	return j;
}

/* Every crash directory under out is complete (and there is one at least):
 * the path of the first, by name. */
static void crash_dirs_whole(const char *out, char *dir, size_t len)
{
	static const char *const files[] = {"report.json", "report.txt", "repro.ops", "count",
	                                    "walk.svg"};
	char crashes[600], path[900];
	struct dirent **names;
	int n, whole = 0;

	snprintf(crashes, sizeof(crashes), "%s/crashes", out);
	n = scandir(crashes, &names, NULL, alphasort);
	ck_assert_msg(n >= 0, "%s: %s", crashes, strerror(errno));
	for (int k = 0; k < n; k++) {
		if (names[k]->d_name[0] != '.') {
			for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
				snprintf(path, sizeof(path), "%s/%s/%s", crashes, names[k]->d_name,
				         files[i]);
				ck_assert_msg(access(path, R_OK) == 0, "%s is missing", path);
			}
			if (whole++ == 0)
				snprintf(dir, len, "%s/%s", crashes, names[k]->d_name);
		}
		free(names[k]);
	}
	free(names);
	ck_assert_msg(whole > 0, "no crash directory in %s", crashes);
}

/* A panic record whose file name and message hold escape sequences and
 * bytes that are not UTF-8: stderr shows them escaped, the crash directory
 * is complete and its report.json parses. */
START_TEST(hostile_panic_is_escaped)
{
	const char *out = tu_path("escpanic");
	char dir[700], path[800];
	json_t *j;
	char *txt;
	size_t len;

	if (!tu_need_backend("hostile_panic_is_escaped"))
		return;
	char *const argv[] = {(char *)tu_bin(),
	                      "run",
	                      "--ops",
	                      "tests/scenarios/basic.ops",
	                      "--out",
	                      (char *)out,
	                      "--cmdline",
	                      "selftest=escpanic",
	                      (char *)tu_guest(),
	                      NULL};
	tu_run(&p, CHILD_TIMEOUT, argv);
	ck_assert_msg(p.status == 1, "exit %d\n%.1500s%.1500s", p.status, p.out, p.err);
	assert_safe("stderr", p.err, p.err_len);
	assert_safe("stdout", p.out, p.out_len);
	ck_assert_msg(strstr(p.err, "panic at \\x1b[2J\\x1b]0;owned\\x07\\x9b31mevil.c:7: message "
	                            "\\x1b[2J") != NULL &&
	                  strstr(p.err, "bytes \\xff\\xfe\\x80\\x01 end") != NULL,
	              "the panic is not shown escaped:\n%.1500s", p.err);
	crash_dirs_whole(out, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/report.json", dir);
	j = load_json(path);
	ck_assert_str_eq(json_string_value(json_object_get(j, "invariant")), "GUEST-PANIC");
	ck_assert_msg(strstr(json_string_value(json_object_get(j, "message")),
	                     "\\xff\\xfe\\x80\\x01") != NULL,
	              "report.json message: %s", json_string_value(json_object_get(j, "message")));
	json_decref(j);
	snprintf(path, sizeof(path), "%s/report.txt", dir);
	txt = tu_read_file(path, &len);
	assert_safe("report.txt", txt, len);
	free(txt);
}
END_TEST

/* A console of every byte value and escape sequences: stdout shows it
 * escaped, and a finding made after it has a whole crash directory whose
 * report.json parses and keeps the console tail (escaped). */
START_TEST(binary_console_keeps_reports_whole)
{
	const char *out = tu_path("binconsole"), *mutant = "build/mutants/protect-grants-write.elf";
	char dir[700], path[800];
	const char *tail;
	json_t *j;
	char *txt;
	size_t len;

	if (!tu_need_backend("binary_console_keeps_reports_whole"))
		return;
	ck_assert_msg(access(mutant, R_OK) == 0, "%s missing: make mutants", mutant);
	char *const argv[] = {
	    (char *)tu_bin(), "run",       "--ops",     "tests/mutants/protect-grants-write.ops",
	    "--out",          (char *)out, "--cmdline", "selftest=binconsole",
	    (char *)mutant,   NULL};
	tu_run(&p, CHILD_TIMEOUT, argv);
	ck_assert_msg(p.status == 1, "exit %d\n%.1500s%.1500s", p.status, p.out, p.err);
	assert_safe("stdout", p.out, p.out_len);
	assert_safe("stderr", p.err, p.err_len);
	ck_assert_msg(strstr(p.out, "guest: binconsole: \\x1b[2J") != NULL,
	              "the console line is not shown escaped:\n%.1500s", p.out);
	crash_dirs_whole(out, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/report.json", dir);
	j = load_json(path);
	tail = json_string_value(json_object_get(j, "console_tail"));
	ck_assert_msg(tail != NULL && strstr(tail, "\\x1b[2J\\x1b]0;owned") != NULL &&
	                  strstr(tail, "\\xfe\\xff") != NULL,
	              "console_tail: %.1500s", tail);
	json_decref(j);
	snprintf(path, sizeof(path), "%s/report.txt", dir);
	txt = tu_read_file(path, &len);
	assert_safe("report.txt", txt, len);
	free(txt);
}
END_TEST

/* 16 KiB of console an op over the 23 ops of wired.ops: each op shows at most
 * CONSOLE_OP_MAX bytes and says how many more it printed. */
START_TEST(console_flood_is_capped)
{
	unsigned ops = 23, notes = 0; /* the ops of wired.ops */

	if (!tu_need_backend("console_flood_is_capped"))
		return;
	char *const argv[] = {(char *)tu_bin(),
	                      "run",
	                      "--ops",
	                      "tests/scenarios/wired.ops",
	                      "--cmdline",
	                      "flood=16384",
	                      (char *)tu_guest(),
	                      NULL};
	tu_run(&p, 600, argv);
	ck_assert_msg(!p.timed_out, "still running after 600 s");
	ck_assert_msg(p.status == 0, "exit %d\n%.2000s", p.status, p.err);
	for (const char *s = p.out; (s = strstr(s, "more bytes of this op not shown]")) != NULL;
	     s++)
		notes++;
	/* QEMU's console and doorbell are two sockets: a few bytes of an op may
	 * be read with the next one, so an op's count is 8192 give or take */
	ck_assert_msg(notes + 2 >= ops, "%u ops said what they held back, want %u", notes, ops);
	ck_assert_msg(p.out_len < (ops + 1) * (CONSOLE_OP_MAX + 2048),
	              "%zu bytes on stdout for %u ops of 16 KiB (cap %u an op)", p.out_len, ops,
	              CONSOLE_OP_MAX);
	ck_assert_msg(strstr(p.out, "guest: [console: 8") != NULL,
	              "no count of the bytes held back:\n%.3000s", p.out);
}
END_TEST

/* --console on a file that cannot take it (/dev/full): the command says so
 * and exits 3, not 0 with the console lost. */
START_TEST(console_write_failure_is_an_error)
{
	if (!tu_need_backend("console_write_failure_is_an_error"))
		return;
	if (access("/dev/full", W_OK) != 0) {
		tu_skip("console_write_failure_is_an_error", "no /dev/full");
		return;
	}
	char *const argv[] = {(char *)tu_bin(),   "run", "--console", "/dev/full",
	                      (char *)tu_guest(), NULL};
	tu_run(&p, CHILD_TIMEOUT, argv);
	ck_assert_msg(p.status == 3, "exit %d, want 3\n%.1500s%.1500s", p.status, p.out, p.err);
	ck_assert_msg(strstr(p.err, "--console /dev/full: a write failed") != NULL,
	              "stderr: %.1500s", p.err);
}
END_TEST

Suite *suite_console(void)
{
	Suite *s = suite_create("console");
	TCase *unit = tcase_create("console");
	TCase *guest = tcase_create("hostile-guest");

	tcase_add_test(unit, console_escapes_what_drives_a_terminal);
	tcase_add_test(unit, console_caps_one_op);
	tcase_add_test(unit, console_stops_on_failed_write);
	tcase_add_test(unit, console_without_output_keeps_its_tail);
	tcase_add_test(unit, text_escape_whole_escapes);
	suite_add_tcase(s, unit);
	tcase_add_checked_fixture(guest, setup, teardown);
	tu_tmpdir_fixture(guest);
	tcase_set_timeout(guest, 660);
	tcase_add_test(guest, hostile_panic_is_escaped);
	tcase_add_test(guest, binary_console_keeps_reports_whole);
	tcase_add_test(guest, console_flood_is_capped);
	tcase_add_test(guest, console_write_failure_is_an_error);
	suite_add_tcase(s, guest);
	return s;
}
