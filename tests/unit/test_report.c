/* tests/unit/test_report.c - crash directories (src/report/report.c), without
 * a VM: a directory is whole (report.json, report.txt, repro.ops, count) or
 * absent, on a full disk too; a recurrence bumps count; a console tail of any
 * bytes is escaped and report.json always parses; a killed writer's
 * temporary is removed, a live one's left alone.
 */
#include <jansson.h>

#include "report.h"
#include "testutil.h"

Suite *suite_report(void);

static const char script_text[] = "create a\nenter a 0x1000 pg1 rw\nprotect a 0x1000 0x2000 r\n";

static struct script *test_script(void)
{
	struct ops_limits lim;
	struct script *sc = NULL;
	char err[256];

	ops_limits_default(&lim);
	ck_assert_msg(script_parse_string("t.ops", script_text, strlen(script_text), &lim, &sc, err,
	                                  sizeof(err)) == 0,
	              "%s", err);
	return sc;
}

static void test_finding(struct finding *f, uint64_t signature)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->id, sizeof(f->id), "EXPECT");
	snprintf(f->name, sizeof(f->name), "result differs");
	snprintf(f->title, sizeof(f->title), "EXPECT: result differs during protect");
	snprintf(f->message, sizeof(f->message), "the test says so");
	snprintf(f->op_text, sizeof(f->op_text), "protect a 0x1000 0x2000 r");
	f->signature = signature;
	f->op_index = 2;
	f->details = strdup("");
}

/* names in dir (dot names too), sorted, joined by ' ' */
static void listing(const char *dir, char *buf, size_t len)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? " " : "",
			         names[i]->d_name);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

static char *read_in(const char *dir, const char *name, size_t *len)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return tu_read_file(path, len);
}

START_TEST(crash_dir_whole_and_count)
{
	const char *out = tu_path("whole");
	char dir[700], names[512], err[512];
	struct script *sc = test_script();
	struct finding f;
	bool is_new;
	char *text;

	test_finding(&f, 0x1234);
	ck_assert_msg(report_write(out, &f, sc, "boot\n", 5, NULL, &is_new, err, sizeof(err)) == 0,
	              "%s", err);
	ck_assert(is_new);
	snprintf(dir, sizeof(dir), "%s/crashes", out);
	listing(dir, names, sizeof(names));
	ck_assert_str_eq(names, "0000000000001234"); /* no temporary left */
	snprintf(dir, sizeof(dir), "%s/crashes/0000000000001234", out);
	listing(dir, names, sizeof(names));
	ck_assert_str_eq(names, "count report.json report.txt repro.ops walk.svg");
	text = read_in(dir, "count", NULL);
	ck_assert_str_eq(text, "1\n");
	free(text);
	text = read_in(dir, "repro.ops", NULL);
	ck_assert_msg(strstr(text, "protect a 0x1000 0x2000 r") != NULL, "repro.ops:\n%s", text);
	free(text);
	ck_assert_msg(report_write(out, &f, sc, "", 0, NULL, &is_new, err, sizeof(err)) == 0, "%s",
	              err);
	ck_assert(!is_new);
	text = read_in(dir, "count", NULL);
	ck_assert_str_eq(text, "2\n");
	free(text);
	finding_free(&f);
	script_free(sc);
}
END_TEST

/* A console tail of every byte value: report.json parses (jansson refused
 * it, as "out of memory", and the directory was left empty) and
 * report.txt holds nothing that drives a terminal. */
START_TEST(binary_tail_is_escaped)
{
	const char *out = tu_path("binary");
	char dir[700], err[512], tail[300];
	struct script *sc = test_script();
	struct finding f;
	json_error_t je;
	json_t *j;
	bool is_new;
	char *text;
	size_t len;

	for (int i = 0; i < 256; i++)
		tail[i] = (char)i;
	memcpy(tail + 256, "\x1b[2J end\n", 9);
	test_finding(&f, 0x99);
	ck_assert_msg(report_write(out, &f, sc, tail, 265, NULL, &is_new, err, sizeof(err)) == 0,
	              "%s", err);
	snprintf(dir, sizeof(dir), "%s/crashes/0000000000000099/report.json", out);
	j = json_load_file(dir, 0, &je);
	ck_assert_msg(j != NULL, "%s: %s", dir, je.text);
	const char *t = json_string_value(json_object_get(j, "console_tail"));
	ck_assert_msg(t != NULL && strncmp(t, "\\x00\\x01", 8) == 0 &&
	                  strstr(t, "\\x7f\\x80") != NULL && strstr(t, "\\x1b[2J end\n") != NULL,
	              "console_tail: %s", t);
	json_decref(j);
	snprintf(dir, sizeof(dir), "%s/crashes/0000000000000099", out);
	text = read_in(dir, "report.txt", &len);
	ck_assert_msg(tu_unsafe_byte(text, len) < 0, "report.txt holds raw bytes:\n%s", text);
	free(text);
	finding_free(&f);
	script_free(sc);
}
END_TEST

/* A full disk: report_write fails naming the file and leaves nothing, not
 * a directory without its files; with room again, the same finding is
 * written whole. */
START_TEST(full_disk_leaves_nothing)
{
	const char *mnt = tu_path("full");
	char out[600], crashes[700], names[512], err[512];
	struct script *sc;
	struct finding f;
	bool is_new = true;

	if (!tu_mount_tmpfs(mnt, "2m", "full_disk_leaves_nothing"))
		return;
	snprintf(out, sizeof(out), "%s/out", mnt);
	snprintf(crashes, sizeof(crashes), "%s/crashes", out);
	ck_assert_int_eq(mkdir(out, 0755), 0);
	ck_assert_int_eq(mkdir(crashes, 0755), 0);
	tu_fill_fs(mnt, 1); /* room for one file of the four */
	sc = test_script();
	test_finding(&f, 0xabc);
	ck_assert_int_eq(report_write(out, &f, sc, "", 0, NULL, &is_new, err, sizeof(err)), -1);
	ck_assert(!is_new);
	ck_assert_msg(strstr(err, "crashes/0000000000000abc/") != NULL &&
	                  strstr(err, "No space left on device") != NULL,
	              "the error does not name the file and the cause: %s", err);
	listing(crashes, names, sizeof(names));
	ck_assert_msg(names[0] == '\0', "left in crashes/ on a full disk: %s", names);
	snprintf(names, sizeof(names), "%s/filler", mnt);
	ck_assert_int_eq(unlink(names), 0);
	ck_assert_msg(report_write(out, &f, sc, "", 0, NULL, &is_new, err, sizeof(err)) == 0, "%s",
	              err);
	ck_assert(is_new);
	snprintf(crashes, sizeof(crashes), "%s/crashes/0000000000000abc", out);
	listing(crashes, names, sizeof(names));
	ck_assert_str_eq(names, "count report.json report.txt repro.ops walk.svg");
	finding_free(&f);
	script_free(sc);
	ck_assert_int_eq(umount2(mnt, MNT_DETACH), 0);
}
END_TEST

/* A writer killed mid-write leaves crashes/.tmp.<sig>.<pid>: the next
 * campaign removes it; a live writer's temporary is left alone. */
START_TEST(stale_temporary_is_removed)
{
	const char *out = tu_path("stale");
	char crashes[600], dead[700], live[700], names[512], file[800];
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	waitpid(pid, &st, 0); /* a pid nobody has now */
	snprintf(crashes, sizeof(crashes), "%s/crashes", out);
	snprintf(dead, sizeof(dead), "%s/.tmp.0000000000000001.%d", crashes, (int)pid);
	snprintf(live, sizeof(live), "%s/.tmp.0000000000000002.%d", crashes, (int)getpid());
	ck_assert_int_eq(mkdir(out, 0755), 0);
	ck_assert_int_eq(mkdir(crashes, 0755), 0);
	ck_assert_int_eq(mkdir(dead, 0755), 0);
	ck_assert_int_eq(mkdir(live, 0755), 0);
	snprintf(file, sizeof(file), "%s/report.txt", dead);
	tu_write_file(file, "half", 4);
	report_clean_stale(out);
	listing(crashes, names, sizeof(names));
	snprintf(file, sizeof(file), ".tmp.0000000000000002.%d", (int)getpid());
	ck_assert_str_eq(names, file);
	ck_assert_int_eq(rmdir(live), 0);
}
END_TEST

Suite *suite_report(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("crash-dir");

	tu_tmpdir_fixture(tc);
	tcase_add_test(tc, crash_dir_whole_and_count);
	tcase_add_test(tc, binary_tail_is_escaped);
	tcase_add_test(tc, full_disk_leaves_nothing);
	tcase_add_test(tc, stale_temporary_is_removed);
	suite_add_tcase(s, tc);
	return s;
}
