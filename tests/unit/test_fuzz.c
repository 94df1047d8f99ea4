/* tests/unit/test_fuzz.c - the fuzz side: the generator is deterministic and
 * only emits valid ops, profiles load or fail with FILE:LINE, a campaign
 * finds a mutant, minimises it and replay reproduces it, the same seed gives
 * the same findings, SIGTERM leaves complete output, bad scripts exit 2.
 */
#include <glob.h>
#include <jansson.h>
#include <sys/mount.h>

#include "fuzz.h"
#include "testutil.h"

/* ---- generator (no VM) ---------------------------------------------------- */

static void load_profile(const char *name, struct fuzz_profile *p)
{
	char err[512];

	ck_assert_msg(fuzz_profile_load(name, p, err, sizeof(err)) == 0, "%s: %s", name, err);
}

START_TEST(generator_is_deterministic)
{
	struct fuzz_profile p;
	struct fuzz_gen a, b, c;
	struct script_op x, y, z;
	unsigned differ = 0;

	load_profile("default", &p);
	fuzz_gen_init(&a, &p, 42, 1024);
	fuzz_gen_init(&b, &p, 42, 1024);
	fuzz_gen_init(&c, &p, 43, 1024);
	for (int i = 0; i < 20000; i++) {
		fuzz_gen_next(&a, &x);
		fuzz_gen_next(&b, &y);
		fuzz_gen_next(&c, &z);
		ck_assert_msg(memcmp(&x.op, &y.op, sizeof(x.op)) == 0 &&
		                  strcmp(x.pmap_name, y.pmap_name) == 0,
		              "op %d differs for the same seed", i);
		differ += memcmp(&x.op, &z.op, sizeof(x.op)) != 0;
	}
	ck_assert_uint_gt(differ, 1000);
}
END_TEST

/* Every generated op parses back and names only live pmaps, in every profile. */
START_TEST(generator_emits_valid_scripts)
{
	static const char *const profiles[] = {"default", "aliasing", "churn", "boundaries"};
	struct fuzz_profile p;
	struct fuzz_gen g;
	struct script *sc;
	char err[512], text[OPS_TEXT_MAX], msg[256];
	unsigned kinds = 0;

	load_profile(profiles[_i], &p);
	fuzz_gen_init(&g, &p, 7, PTS_DEFAULT_ARENA_PAGES);
	sc = script_new("gen");
	for (int i = 0; i < 20000; i++) {
		struct script_op o, back;
		fuzz_gen_next(&g, &o);
		kinds |= 1u << o.op.kind;
		ck_assert_int_eq(script_append(sc, &o), 0);
		script_op_format(&o, text, sizeof(text));
		ck_assert_msg(script_op_parse(text, NULL, &back, msg, sizeof(msg)) == 1,
		              "%s: op %d '%s' does not parse: %s", profiles[_i], i, text, msg);
	}
	uint32_t slots[20000];
	for (size_t i = 0; i < sc->n_ops; i++)
		slots[i] = sc->ops[i].op.pmap;
	ck_assert_msg(script_assign_slots(sc, err, sizeof(err)) == 0, "%s: %s", profiles[_i], err);
	for (size_t i = 0; i < sc->n_ops; i++)
		if (op_names_pmap(sc->ops[i].op.kind))
			ck_assert_msg(slots[i] == sc->ops[i].op.pmap,
			              "op %zu: slot %u, parser says %u", i, slots[i],
			              sc->ops[i].op.pmap);
	/* every op kind with a weight shows up */
	for (uint32_t k = PTS_OP_CREATE; k < PTS_OP_COUNT; k++)
		if (p.weight[k] > 0)
			ck_assert_msg(kinds & (1u << k), "%s never generated %s", profiles[_i],
			              op_kind_name(k));
	script_free(sc);
}
END_TEST

struct bad_profile {
	const char *text;
	const char *want; /* substring of the message, after FILE: */
};

static const struct bad_profile bad_profiles[] = {
    {"[generator]\npages = 4\n[bogus]\n", ":3: unknown section [bogus]"},
    {"[generator]\npages = x\n", ":2: pages: 'x' is not a number"},
    {"[generator]\nfrobs = 3\n", ":2: unknown generator key 'frobs'"},
    {"[weights]\nflip = 3\n", ":2: unknown op kind 'flip'"},
    {"[weights]\nenter = 3\n", "no [regions]"},
    {"[regions]\n0x7ffffffff000 2\n[weights]\nenter = 1\n", ":2: region 0x7ffffffff000 + 2 pages"},
    {"[regions]\n0x1001 2\n", ":2: region start '0x1001'"},
    {"[regions]\n0x1000 2\n[weights]\nenter = 0\ncreate = 0\n",
     "needs a weight for enter or create"},
    {"pages = 3\n", ":1: 'pages = 3' outside any section"},
    {"[generator]\nwired = 101\n", ":2: wired: 101 is above the maximum 100"},
    /* a key set twice is refused, not the last one obeyed */
    {"[generator]\npages = 4\npages = 8\n", ":3: duplicate key 'pages' (first on line 2)"},
    {"[generator]\nwired = 4\n\nwired = 8\n", ":4: duplicate key 'wired' (first on line 2)"},
    {"[weights]\nenter = 1\n[regions]\n0x1000 2\n[weights]\nenter = 2\n",
     ":6: duplicate key 'enter' (first on line 2)"},
    {"[weights]\nfail = 1\nfail_alloc = 2\n", ":3: duplicate key 'fail_alloc' (first on line 2)"},
    {"[generator]\npages = 16777217\n", ":2: pages: 16777217 out of range (1..16777216)"},
    {"[guest]\nmem = 16\n", ":2: unknown guest key 'mem'"},
    {"[guest]\ncmdline = a\ncmdline = b\n", ":3: duplicate key 'cmdline' (first on line 2)"},
    {"[guest]\ncmdline = a\"b\n", ":2: cmdline: 'a\"b' has a character other than"},
};

START_TEST(bad_profile_is_refused)
{
	const struct bad_profile *b = &bad_profiles[_i];
	struct fuzz_profile p;
	char err[512], path[600];

	snprintf(path, sizeof(path), "%s/bad.ini", tu_dir);
	tu_write_file(path, b->text, strlen(b->text));
	ck_assert_int_eq(fuzz_profile_load(path, &p, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && strstr(err, b->want) != NULL,
	              "got \"%s\", want \"%s\"", err, b->want);
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

/* A profile that is not a small text file: refused at once, naming the file,
 * never "profile needs a weight" after reading nothing (a directory) or
 * reading for ever (a device, a pipe without end). */
START_TEST(profile_not_a_text_file)
{
	struct fuzz_profile p;
	char err[512], path[600], want[700];
	char *big = malloc(FUZZ_PROFILE_MAX + 2);
	int fds[2];
	pid_t writer;

	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(fuzz_profile_load(tu_dir, &p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: Is a directory", tu_dir);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got \"%s\", want \"%s\"", err, want);

	ck_assert_int_eq(fuzz_profile_load("/dev/zero", &p, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/dev/zero:1: NUL byte at column 1");

	snprintf(path, sizeof(path), "%s/nul.ini", tu_dir);
	tu_write_file(path, "[generator]\npa\0ges = 4\n", 24);
	ck_assert_int_eq(fuzz_profile_load(path, &p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: NUL byte at column 3", path);
	ck_assert_str_eq(err, want);

	/* a file over the limit is refused by its size */
	memset(big, '\n', FUZZ_PROFILE_MAX + 1);
	snprintf(path, sizeof(path), "%s/big.ini", tu_dir);
	tu_write_file(path, big, FUZZ_PROFILE_MAX + 1);
	ck_assert_int_eq(fuzz_profile_load(path, &p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: larger than the 64 KiB a profile may have", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got \"%s\", want \"%s\"", err, want);

	/* a pipe that never ends: refused at the first byte over the limit */
	ck_assert_int_eq(pipe(fds), 0);
	writer = fork();
	ck_assert_int_ge(writer, 0);
	if (writer == 0) {
		close(fds[0]);
		while (write(fds[1], big, FUZZ_PROFILE_MAX) > 0)
			;
		_exit(0);
	}
	close(fds[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
	ck_assert_int_eq(fuzz_profile_load(path, &p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: larger than the 64 KiB a profile may have", path);
	ck_assert_str_eq(err, want);
	close(fds[0]);
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
	free(big);
}
END_TEST

/* ---- through the command line --------------------------------------------- */

START_TEST(bad_profile_exits_2)
{
	struct tu_proc p;
	char path[600];

	snprintf(path, sizeof(path), "%s/bad.ini", tu_dir);
	tu_write_file(path, "[generator]\nfrobs = 1\n", 22);
	char *argv[] = {(char *)tu_bin(), "fuzz", "--profile",        path,
	                "--ops",          "10",   (char *)tu_guest(), NULL};
	tu_run(&p, 30, argv);
	ck_assert_int_eq(p.status, 2);
	ck_assert_msg(strstr(p.err, ":2: unknown generator key 'frobs'") != NULL, "%s", p.err);
	tu_proc_free(&p);
}
END_TEST

START_TEST(bad_script_exits_2)
{
	glob_t g;
	char first[512];

	ck_assert_int_eq(glob("tests/bad/*.ops", 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "r");
		struct tu_proc p;
		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_nonnull(fgets(first, sizeof(first), f));
		fclose(f);
		first[strcspn(first, "\n")] = '\0';
		char *argv[] = {(char *)tu_bin(),   "run", "--ops", g.gl_pathv[i],
		                (char *)tu_guest(), NULL};
		tu_run(&p, 30, argv);
		ck_assert_msg(p.status == 2, "%s: exit %d", g.gl_pathv[i], p.status);
		ck_assert_msg(strstr(p.err, first + 10) != NULL && tu_count_lines(p.err) == 1,
		              "%s: stderr \"%s\", want one line with \"%s\"", g.gl_pathv[i], p.err,
		              first + 10);
		tu_proc_free(&p);
	}
	globfree(&g);
}
END_TEST

static json_t *load_json(const char *path)
{
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);

	ck_assert_msg(j != NULL, "%s: %s", path, je.text);
	return j;
}

/* The first crash directory under out: its name, and min.ops's text. */
static void first_crash(const char *out, char *sig, size_t siglen, char **min)
{
	char pattern[700];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/crashes/*/report.json", out);
	ck_assert_msg(glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1,
	              "want one crash dir in %s", out);
	const char *dir = g.gl_pathv[0];
	const char *slash = strrchr(dir, '/');
	snprintf(sig, siglen, "%.*s", (int)(slash - dir), dir);
	globfree(&g);
	char path[800];
	snprintf(path, sizeof(path), "%s/min.ops", sig);
	*min = tu_read_file(path, NULL);
}

static const char mutant[] = "build/mutants/remove-forgets-modified.elf";

/* The one crash directory a run wrote under out, into dir. */
static void one_crash_dir(const char *out, char *dir, size_t len)
{
	char pattern[700];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/crashes/*", out);
	ck_assert_msg(glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1,
	              "want one crash dir in %s", out);
	snprintf(dir, len, "%s", g.gl_pathv[0]);
	globfree(&g);
}

/* A finding made with invariants switched off (--check) replays as it was
 * found: report.json records the spec and replay applies it (with every
 * invariant on, this mutant's first finding would be ATTR-1, not MODEL-3). */
START_TEST(replay_uses_recorded_check)
{
	char out[600], dir[700];
	struct tu_proc p;

	if (!tu_need_backend("replay_uses_recorded_check"))
		return;
	snprintf(out, sizeof(out), "%s/checked", tu_dir);
	char *argv[] = {
	    (char *)tu_bin(), "run", "--check", "-ATTR-1",
	    "--out",          out,   "--ops",   "tests/mutants/remove-forgets-modified.ops",
	    (char *)mutant,   NULL};
	tu_run(&p, 120, argv);
	ck_assert_msg(p.status == 1 && strstr(p.err, "MODEL-3") != NULL, "run: exit %d\n%s",
	              p.status, p.err);
	tu_proc_free(&p);
	one_crash_dir(out, dir, sizeof(dir));
	char *argv2[] = {(char *)tu_bin(), "replay", dir, NULL};
	tu_run(&p, 120, argv2);
	ck_assert_msg(p.status == 1 && strstr(p.out, "reproduced") != NULL,
	              "replay of a -ATTR-1 finding: exit %d\n%s%s", p.status, p.out, p.err);
	tu_proc_free(&p);
	/* the crash directory's report.json names it as well as the directory does */
	char report[800];
	snprintf(report, sizeof(report), "%s/report.json", dir);
	char *argv3[] = {(char *)tu_bin(), "replay", report, NULL};
	tu_run(&p, 120, argv3);
	ck_assert_msg(p.status == 1 && strstr(p.out, "reproduced") != NULL,
	              "replay of report.json: exit %d\n%s%s", p.status, p.out, p.err);
	tu_proc_free(&p);
}
END_TEST

/* report.json records the settings a replay needs (timeout, check mode,
 * dirty log) and replay uses them unless its command line gives its own.
 * The timeout shows: the report is edited to a guest that hangs at boot
 * (cmdline selftest=hang) with a timeout of 1 s, which replay must keep to,
 * not to its default of 30 s; --timeout 4 on replay's command line wins. */
START_TEST(replay_uses_recorded_settings)
{
	char out[600], dir[700], path[800];
	struct tu_proc p;
	json_t *j, *g;

	if (!tu_need_backend("replay_uses_recorded_settings"))
		return;
	snprintf(out, sizeof(out), "%s/settings", tu_dir);
	char *argv[] = {(char *)tu_bin(), "run",
	                "--timeout",      "45",
	                "--check",        "incremental",
	                "--check",        "-ATTR-1",
	                "--full-every",   "7",
	                "--out",          out,
	                "--ops",          "tests/mutants/remove-forgets-modified.ops",
	                (char *)mutant,   NULL};
	tu_run(&p, 120, argv);
	ck_assert_msg(p.status == 1, "run: exit %d\n%s", p.status, p.err);
	tu_proc_free(&p);
	one_crash_dir(out, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/report.json", dir);
	j = load_json(path);
	g = json_object_get(j, "guest");
	ck_assert_int_eq(json_integer_value(json_object_get(g, "timeout_s")), 45);
	ck_assert_str_eq(json_string_value(json_object_get(g, "check_mode")), "incremental");
	ck_assert_int_eq(json_integer_value(json_object_get(g, "full_every")), 7);
	ck_assert_str_eq(json_string_value(json_object_get(g, "dirty_log")), "auto");

	/* as recorded (incremental, a full check every 7 ops): the same finding */
	char *argv2[] = {(char *)tu_bin(), "replay", dir, NULL};
	tu_run(&p, 120, argv2);
	ck_assert_msg(p.status == 1 && strstr(p.out, "reproduced") != NULL,
	              "replay as recorded: exit %d\n%s%s", p.status, p.out, p.err);
	tu_proc_free(&p);

	json_object_set_new(g, "cmdline", json_string("selftest=hang"));
	json_object_set_new(g, "timeout_s", json_integer(1));
	ck_assert_int_eq(json_dump_file(j, path, JSON_INDENT(2)), 0);
	json_decref(j);
	tu_run(&p, 120, argv2);
	ck_assert_msg(p.status == 0 && strstr(p.out, "GUEST-HANG") != NULL,
	              "replay of a hanging guest: exit %d\n%s%s", p.status, p.out, p.err);
	ck_assert_msg(p.secs < 15, "replay took %.1f s: the recorded timeout of 1 s was not used",
	              p.secs);
	tu_proc_free(&p);

	char *argv3[] = {(char *)tu_bin(), "replay", "--timeout", "4", dir, NULL};
	tu_run(&p, 120, argv3);
	ck_assert_msg(p.status == 0 && strstr(p.out, "GUEST-HANG") != NULL,
	              "replay --timeout 4: exit %d\n%s%s", p.status, p.out, p.err);
	ck_assert_msg(p.secs >= 3.9, "replay --timeout 4 took %.1f s: the report's 1 s won",
	              p.secs);
	tu_proc_free(&p);
}
END_TEST

/* fuzz finds the mutant, minimises it to a few ops, replay reproduces it,
 * and a second campaign with the same seed finds the same thing. */
START_TEST(campaign_finds_minimises_replays)
{
	char out1[600], out2[600], sig1[700], sig2[700], path[800];
	char *min1 = NULL, *min2 = NULL;
	struct tu_proc p;

	if (!tu_need_backend("campaign_finds_minimises_replays"))
		return;
	ck_assert_msg(access(mutant, R_OK) == 0, "%s missing: make mutants", mutant);
	snprintf(out1, sizeof(out1), "%s/a", tu_dir);
	snprintf(out2, sizeof(out2), "%s/b", tu_dir);
	char *argv1[] = {(char *)tu_bin(),
	                 "fuzz",
	                 "--seed",
	                 "1",
	                 "--ops",
	                 "5000",
	                 "--jobs",
	                 "1",
	                 "--quiet",
	                 "--out",
	                 out1,
	                 (char *)mutant,
	                 NULL};
	tu_run(&p, 600, argv1);
	ck_assert_msg(p.status == 1, "exit %d\n%s%s", p.status, p.out, p.err);
	tu_proc_free(&p);
	first_crash(out1, sig1, sizeof(sig1), &min1);
	ck_assert_ptr_nonnull(min1);
	ck_assert_uint_le(tu_count_lines(min1), 31); /* header comment + at most 30 ops */

	snprintf(path, sizeof(path), "%s/min.ops", sig1);
	char *argv2[] = {(char *)tu_bin(), "replay", path, NULL};
	tu_run(&p, 120, argv2);
	ck_assert_msg(p.status == 1 && strstr(p.out, "reproduced") != NULL, "replay: exit %d\n%s%s",
	              p.status, p.out, p.err);
	tu_proc_free(&p);

	char *argv3[] = {(char *)tu_bin(),
	                 "fuzz",
	                 "--seed",
	                 "1",
	                 "--ops",
	                 "5000",
	                 "--jobs",
	                 "1",
	                 "--quiet",
	                 "--out",
	                 out2,
	                 (char *)mutant,
	                 NULL};
	tu_run(&p, 600, argv3);
	ck_assert_int_eq(p.status, 1);
	tu_proc_free(&p);
	first_crash(out2, sig2, sizeof(sig2), &min2);
	ck_assert_str_eq(strrchr(sig1, '/'), strrchr(sig2, '/'));
	/* the same ops; the header comment carries the (varying) time taken */
	ck_assert_str_eq(strchr(min1, '\n'), strchr(min2, '\n'));

	json_t *s1, *s2;
	snprintf(path, sizeof(path), "%s/stats.json", out1);
	s1 = load_json(path);
	snprintf(path, sizeof(path), "%s/stats.json", out2);
	s2 = load_json(path);
	ck_assert_int_eq(json_integer_value(json_object_get(s1, "ops")),
	                 json_integer_value(json_object_get(s2, "ops")));
	ck_assert_int_eq(json_integer_value(json_object_get(s1, "unique_findings")), 1);
	json_decref(s1);
	json_decref(s2);
	free(min1);
	free(min2);
}
END_TEST

/* the ops stats.json counts so far (-1: not readable yet) */
static json_int_t stats_ops(const char *path)
{
	json_t *j = json_load_file(path, 0, NULL);
	json_int_t n = j ? json_integer_value(json_object_get(j, "ops")) : -1;

	json_decref(j);
	return n;
}

/* SIGTERM: the campaign stops, stats.json is complete and says so. */
START_TEST(sigterm_leaves_complete_output)
{
	char out[600], path[700];
	pid_t pid;
	int st;

	if (!tu_need_backend("sigterm_leaves_complete_output"))
		return;
	snprintf(out, sizeof(out), "%s/sig", tu_dir);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(tu_bin(), tu_bin(), "fuzz", "--seed", "3", "--time", "120", "--jobs", "2",
		      "--out", out, tu_guest(), (char *)NULL);
		_exit(127);
	}
	snprintf(path, sizeof(path), "%s/stats.json", out);
	/* until the campaign has counted ops (stats.json is refreshed every
	 * second): a loaded machine's KVM may take more than a few seconds to
	 * boot two jobs; 180 s is a hang guard */
	for (int i = 0; i < 1800 && stats_ops(path) <= 0; i++)
		usleep(100000);
	kill(pid, SIGTERM);
	double t0 = tu_now();
	while (waitpid(pid, &st, WNOHANG) == 0) {
		ck_assert_msg(tu_now() - t0 < 60, "fuzz did not stop within 60 s of SIGTERM");
		usleep(50000);
	}
	ck_assert(WIFEXITED(st));
	json_t *j = load_json(path);
	ck_assert(json_is_true(json_object_get(j, "finished")));
	ck_assert(json_integer_value(json_object_get(j, "ops")) > 0);
	json_decref(j);
}
END_TEST

/* What the guest did is a finding (exit 1, a crash directory), whenever it
 * does it: fuzz --cmdline selftest=MODE --timeout 2 */
static void guest_fault_in_fuzz(const char *test, const char *mode, const char *want_id)
{
	char out[600], cmdline[64], report[700];
	struct tu_proc p;
	char *json;

	if (!tu_need_backend(test))
		return;
	snprintf(out, sizeof(out), "%s/%s", tu_dir, test);
	snprintf(cmdline, sizeof(cmdline), "selftest=%s", mode);
	char *argv[] = {(char *)tu_bin(),
	                "fuzz",
	                "--seed",
	                "1",
	                "--ops",
	                "1000",
	                "--jobs",
	                "1",
	                "--quiet",
	                "--no-minimize",
	                "--timeout",
	                "2",
	                "--cmdline",
	                cmdline,
	                "--out",
	                out,
	                (char *)tu_guest(),
	                NULL};
	tu_run(&p, 90, argv);
	ck_assert_msg(!p.timed_out, "fuzz still running after 90 s with --timeout 2");
	ck_assert_msg(p.status == 1, "exit %d, want 1\n%s", p.status, p.err);
	ck_assert_msg(tu_crash_dirs(out, report, sizeof(report)) == 1,
	              "want one crash directory\n%s", p.err);
	json = tu_read_file(report, NULL);
	ck_assert_msg(strstr(json, want_id) != NULL, "report.json lacks %s:\n%s", want_id, json);
	free(json);
	tu_proc_free(&p);
}

/* a guest that signals op-done without end (it hung the campaign) */
START_TEST(fuzz_guest_hang_is_a_finding)
{
	guest_fault_in_fuzz("fuzz_guest_hang_is_a_finding", "opdoneloop", "\"GUEST-HANG\"");
}
END_TEST

/* a guest that dies booting (it failed the job: exit 3, nothing written);
 * replay of its crash directory reproduces it */
START_TEST(fuzz_boot_death_is_a_finding)
{
	char report[700];
	struct tu_proc p;

	guest_fault_in_fuzz("fuzz_boot_death_is_a_finding", "panic", "\"GUEST-PANIC\"");
	if (!tu_need_backend("fuzz_boot_death_is_a_finding"))
		return;
	ck_assert_uint_eq(
	    tu_crash_dirs(tu_path("fuzz_boot_death_is_a_finding"), report, sizeof(report)), 1);
	char *argv[] = {(char *)tu_bin(), "replay", report, NULL};
	tu_run(&p, 60, argv);
	ck_assert_msg(p.status == 1 && strstr(p.out, "reproduced") != NULL, "replay: exit %d\n%s%s",
	              p.status, p.out, p.err);
	tu_proc_free(&p);
}
END_TEST

/* ---- what the campaign writes: full or read-only disks, two campaigns, time ---- */

/* ptshadow ARGV in the background, stderr into log (if not NULL), stdout nowhere */
static pid_t start_bg(char *const argv[], const char *log)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(log != NULL ? log : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* its exit status once it ends, failing the test after timeout_s */
static int wait_bg(pid_t pid, double timeout_s, const char *what)
{
	double t0 = tu_now();
	int st;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (tu_now() - t0 > timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			ck_abort_msg("%s: still running after %.0f s", what, timeout_s);
		}
		usleep(20000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void wait_for_file(const char *path, double timeout_s)
{
	double t0 = tu_now();

	while (access(path, R_OK) != 0) {
		ck_assert_msg(tu_now() - t0 < timeout_s, "%s not there after %.0f s", path,
		              timeout_s);
		usleep(50000);
	}
}

/* This pass runs on KVM (here: kvm_pvm, about 8x slower than QEMU TCG a checked op) */
static bool on_kvm(void)
{
	return strcmp(tu_backend(), "kvm") == 0 ||
	       (strcmp(tu_backend(), "auto") == 0 && tu_have_kvm());
}

/* Every crash directory in out is whole, and no temporary is left. */
static unsigned crash_dirs_whole(const char *out)
{
	static const char *const files[] = {"report.json", "report.txt", "repro.ops", "count",
	                                    "walk.svg"};
	char crashes[600], path[900];
	struct dirent *e;
	unsigned n = 0;
	DIR *d;

	snprintf(crashes, sizeof(crashes), "%s/crashes", out);
	d = opendir(crashes);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		ck_assert_msg(e->d_name[0] != '.', "temporary left in %s: %s", crashes, e->d_name);
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s/%s", crashes, e->d_name, files[i]);
			ck_assert_msg(access(path, R_OK) == 0, "%s is missing", path);
		}
		snprintf(path, sizeof(path), "%s/%s/report.json", crashes, e->d_name);
		json_decref(load_json(path));
		n++;
	}
	if (d != NULL)
		closedir(d);
	return n;
}

/* A disk with room for stats.json but not for a crash directory: the
 * campaign stops with exit 3 and one line naming the file, and what is on
 * disk is whole.  (It went on to the end, exit 0, "0 unique, 27 in all",
 * with directories holding only count and an ENOSPC line for each.) */
START_TEST(full_disk_stops_the_campaign)
{
	const char *mnt = tu_path("full");
	char out[600];
	struct tu_proc p;

	if (!tu_need_backend("full_disk_stops_the_campaign") ||
	    !tu_mount_tmpfs(mnt, "2m", "full_disk_stops_the_campaign"))
		return;
	snprintf(out, sizeof(out), "%s/out", mnt);
	/* .lock, stats.json and its next copy, plot_data.csv, a page to spare;
	 * not a crash directory (report.json, walk.svg, report.txt, repro.ops:
	 * 7 pages or more) */
	tu_fill_fs(mnt, 6);
	/* coverage off: coverage.bin, written with stats.json, would be the file
	 * that fails first where the guest is slow to find (KVM on kvm_pvm) */
	char *argv[] = {(char *)tu_bin(), "fuzz", "--seed",       "1",       "--ops",      "20000",
	                "--jobs",         "2",    "--keep-going", "--quiet", "--coverage", "off",
	                "--out",          out,    (char *)mutant, NULL};
	tu_run(&p, 300, argv);
	ck_assert_msg(p.status == 3, "exit %d, want 3\n%.1500s%.1500s", p.status, p.out, p.err);
	ck_assert_msg(tu_count_lines(p.err) == 1 &&
	                  strncmp(p.err, "ptshadow fuzz: cannot save: ", 28) == 0 &&
	                  strstr(p.err, "/crashes/") != NULL &&
	                  strstr(p.err, "No space left on device; the campaign stopped") != NULL,
	              "want one line naming the crash directory and ENOSPC, got:\n%s", p.err);
	ck_assert_msg(strstr(p.out, "NOT SAVED (the campaign stopped)") != NULL,
	              "summary:\n%.1500s", p.out);
	crash_dirs_whole(out);
	tu_proc_free(&p);
	ck_assert_int_eq(umount2(mnt, MNT_DETACH), 0);
}
END_TEST

/* The output directory made read-only mid-run: exit 3 within seconds and
 * one line (it ran to the end, exit 0, stats.json failing 4 times a second). */
START_TEST(read_only_out_stops_the_campaign)
{
	const char *mnt = tu_path("ro"), *log = tu_path("ro.log");
	char out[600], stats[700], *text;
	int rc = -1;

	if (!tu_need_backend("read_only_out_stops_the_campaign") ||
	    !tu_mount_tmpfs(mnt, "16m", "read_only_out_stops_the_campaign"))
		return;
	snprintf(out, sizeof(out), "%s/out", mnt);
	snprintf(stats, sizeof(stats), "%s/stats.json", out);
	char *argv[] = {(char *)tu_bin(),
	                "fuzz",
	                "--seed",
	                "2",
	                "--time",
	                "120",
	                "--jobs",
	                "2",
	                "--out",
	                out,
	                "--quiet",
	                (char *)tu_guest(),
	                NULL};
	pid_t pid = start_bg(argv, log);
	wait_for_file(stats, 60);
	for (int i = 0; i < 100 && rc != 0; i++) /* EBUSY while a file is open for writing */
		if ((rc = mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL)) != 0)
			usleep(10000);
	ck_assert_msg(rc == 0, "cannot remount %s read-only: %s", mnt, strerror(errno));
	rc = wait_bg(pid, 30, "fuzz on a read-only --out");
	text = tu_read_file(log, NULL);
	ck_assert_msg(rc == 3, "exit %d, want 3\n%.1500s", rc, text);
	ck_assert_msg(tu_count_lines(text) == 1 && strstr(text, "Read-only file system") != NULL,
	              "want one line saying the disk is read-only, got:\n%.1500s", text);
	free(text);
	crash_dirs_whole(out);
	ck_assert_int_eq(umount2(mnt, MNT_DETACH), 0);
}
END_TEST

/* Two campaigns on one --out: the second is refused at once, before any VM,
 * with one line naming the first one's pid (both ran, stats.json held one). */
START_TEST(second_campaign_on_one_out_is_refused)
{
	const char *out = tu_path("shared");
	char stats[700], want[128];
	struct tu_proc p;

	if (!tu_need_backend("second_campaign_on_one_out_is_refused"))
		return;
	snprintf(stats, sizeof(stats), "%s/stats.json", out);
	char *argv[] = {(char *)tu_bin(),
	                "fuzz",
	                "--seed",
	                "3",
	                "--time",
	                "120",
	                "--jobs",
	                "1",
	                "--quiet",
	                "--out",
	                (char *)out,
	                (char *)tu_guest(),
	                NULL};
	pid_t first = start_bg(argv, NULL);
	wait_for_file(stats, 60);
	tu_run(&p, 60, argv);
	kill(first, SIGTERM);
	wait_bg(first, 60, "the first campaign"); /* 3 if the signal came while a job booted */
	ck_assert_msg(p.status == 2, "second campaign: exit %d, want 2\n%.1500s%.1500s", p.status,
	              p.out, p.err);
	snprintf(want, sizeof(want), "another campaign (pid %d) is writing there", (int)first);
	ck_assert_msg(tu_count_lines(p.err) == 1 && strstr(p.err, want) != NULL &&
	                  strstr(p.err, out) != NULL && p.out[0] == '\0',
	              "want one line naming %s and '%s', got:\n%.1500s%.1500s", out, want, p.out,
	              p.err);
	ck_assert_msg(p.secs < 2, "refused after %.1f s", p.secs);
	tu_proc_free(&p);
	/* once the first has ended, the directory is free again */
	char *argv2[] = {(char *)tu_bin(),
	                 "fuzz",
	                 "--seed",
	                 "3",
	                 "--ops",
	                 "100",
	                 "--jobs",
	                 "1",
	                 "--quiet",
	                 "--out",
	                 (char *)out,
	                 (char *)tu_guest(),
	                 NULL};
	tu_run(&p, 120, argv2);
	ck_assert_msg(p.status == 0, "after the first: exit %d\n%.1500s", p.status, p.err);
	tu_proc_free(&p);
}
END_TEST

/* --time covers minimisation: a finding whose minimisation takes ~35 s on
 * QEMU (found at op 4700 without resets; several minutes on a slow KVM) in a
 * campaign given about twice the time this machine took to find it ends in
 * time, says what was cut short, and keeps repro.ops and a min.ops marked
 * partial that still reproduces (it was still minimising long after --time).
 * The time to find it is measured first, with the same seed and no
 * minimisation, so that a loaded machine moves both runs alike. */
START_TEST(time_limit_bounds_minimisation)
{
	const char *out = tu_path("timed"), *elf = "build/mutants/enter-same-page-drops-ad.elf";
	char pattern[700], path[900], secs[32];
	struct tu_proc p;
	double found;
	glob_t g;

	if (!tu_need_backend("time_limit_bounds_minimisation"))
		return;
	ck_assert_msg(access(elf, R_OK) == 0, "%s missing: make mutants", elf);
	char *argv0[] = {(char *)tu_bin(),
	                 "fuzz",
	                 "--seed",
	                 "1",
	                 "--sequence-length",
	                 "0",
	                 "--no-minimize",
	                 "--jobs",
	                 "1",
	                 "--quiet",
	                 "--out",
	                 (char *)tu_path("untimed"),
	                 (char *)elf,
	                 NULL};
	tu_run(&p, 600, argv0);
	ck_assert_msg(p.status == 1, "without --time: exit %d\n%.1500s%.1500s", p.status, p.out,
	              p.err);
	found = p.secs;
	tu_proc_free(&p);
	snprintf(secs, sizeof(secs), "%.0f", 2 * found + 3);
	char *argv[] = {(char *)tu_bin(), "fuzz",      "--seed", "1", "--sequence-length", "0",
	                "--time",         secs,        "--jobs", "1", "--quiet",           "--out",
	                (char *)out,      (char *)elf, NULL};
	tu_run(&p, 600, argv);
	ck_assert_msg(p.status == 1, "--time %s (found in %.1f s before): exit %d\n%.1500s%.1500s",
	              secs, found, p.status, p.out, p.err);
	ck_assert_msg(p.secs < 2 * found + 3 + 20, "a %s s campaign took %.1f s", secs, p.secs);
	ck_assert_msg(strstr(p.out, "minimisation cut short by --time") != NULL,
	              "the summary does not say minimisation was cut short:\n%.1500s", p.out);
	tu_proc_free(&p);
	ck_assert_uint_eq(crash_dirs_whole(out), 1);
	snprintf(pattern, sizeof(pattern), "%s/crashes/*/min.ops", out);
	if (glob(pattern, 0, NULL, &g) == 0) {
		char *min = tu_read_file(g.gl_pathv[0], NULL);
		ck_assert_msg(strncmp(min, "# PARTIAL: ", 11) == 0, "min.ops:\n%.300s", min);
		free(min);
		snprintf(path, sizeof(path), "%s", g.gl_pathv[0]);
		char *argv2[] = {(char *)tu_bin(), "replay", path, NULL};
		tu_run(&p, 300, argv2);
		ck_assert_msg(p.status == 1 && strstr(p.out, "reproduced") != NULL,
		              "replay of a partial min.ops: exit %d\n%.1500s%.1500s", p.status,
		              p.out, p.err);
		tu_proc_free(&p);
	}
	globfree(&g);
}
END_TEST

/* A guest that prints 256 KiB an op (about a second under TCG; 64 KiB on
 * KVM, two exits a byte): --time still ends the campaign within an op or so
 * (the deadline was looked at every 64 ops). */
START_TEST(time_limit_holds_for_slow_ops)
{
	const char *out = tu_path("flood");
	struct tu_proc p;

	if (!tu_need_backend("time_limit_holds_for_slow_ops"))
		return;
	char *argv[] = {(char *)tu_bin(),
	                "fuzz",
	                "--seed",
	                "1",
	                "--time",
	                "3",
	                "--jobs",
	                "1",
	                "--quiet",
	                "--out",
	                (char *)out,
	                "--cmdline",
	                on_kvm() ? "flood=65536" : "flood=262144",
	                (char *)tu_guest(),
	                NULL};
	tu_run(&p, 600, argv);
	ck_assert_msg(p.status == 0, "exit %d\n%.1500s%.1500s", p.status, p.out, p.err);
	ck_assert_msg(p.secs < 25, "a 3 s campaign of a flooding guest took %.1f s", p.secs);
	tu_proc_free(&p);
}
END_TEST

/* A guest whose console holds every byte value: its findings have whole
 * crash directories (they had only count: "out of memory", exit 0). */
START_TEST(binary_console_findings_are_saved)
{
	const char *out = tu_path("binconsole");
	struct tu_proc p;

	if (!tu_need_backend("binary_console_findings_are_saved"))
		return;
	char *argv[] = {(char *)tu_bin(),
	                "fuzz",
	                "--seed",
	                "1",
	                "--ops",
	                "3000",
	                "--jobs",
	                "2",
	                "--keep-going",
	                "--quiet",
	                "--no-minimize",
	                "--out",
	                (char *)out,
	                "--cmdline",
	                "selftest=binconsole",
	                (char *)mutant,
	                NULL};
	tu_run(&p, 300, argv);
	ck_assert_msg(p.status == 1, "exit %d\n%.1500s%.1500s", p.status, p.out, p.err);
	ck_assert_msg(p.err[0] == '\0', "stderr:\n%.1500s", p.err);
	ck_assert_uint_ge(crash_dirs_whole(out), 1);
	tu_proc_free(&p);
}
END_TEST

static char mutant_names[64][64];
static unsigned nmutant_names;

static void load_mutants(void)
{
	char line[512], name[64];
	FILE *f = fopen("configs/mutants.list", "r");

	if (f == NULL || nmutant_names > 0) {
		if (f != NULL)
			fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL && nmutant_names < 64)
		if (line[0] != '#' && sscanf(line, "%63s", name) == 1)
			snprintf(mutant_names[nmutant_names++], 64, "%s", name);
	fclose(f);
}

/* Every mutant: the default profile and a fixed seed find it within 200,000
 * ops, min.ops has at most 30 ops, and replay of min.ops reproduces it (on
 * the kvm pass the even-numbered ones of the list; the others are counted
 * not run there, with the reason). */
START_TEST(fuzz_finds_every_mutant)
{
	const char *name = mutant_names[_i];
	char elf[256], out[600], sig[700], path[800];
	char *min = NULL;
	struct tu_proc p;
	unsigned ops = 0;

	if (!tu_need_backend("fuzz_finds_every_mutant"))
		return;
	if (strcmp(tu_backend(), "kvm") == 0 && _i % 2 != 0) {
		/* the kvm pass is the longest where /dev/kvm is kvm_pvm (~8x TCG) */
		tu_skip(
		    "fuzz_finds_every_mutant [kvm]",
		    "on the kvm pass every second mutant of configs/mutants.list; the qemu pass "
		    "runs them all, and smp_mutants every SMP mutant on both");
		return;
	}
	snprintf(elf, sizeof(elf), "build/mutants/%s.elf", name);
	snprintf(out, sizeof(out), "%s/%s", tu_dir, name);
	ck_assert_msg(access(elf, R_OK) == 0, "%s missing: make mutants", elf);
	char *argv[] = {(char *)tu_bin(), "fuzz",  "--seed", "1", "--ops", "200000", "--jobs", "1",
	                "--quiet",        "--out", out,      elf, NULL};
	tu_run(&p, 1200, argv);
	ck_assert_msg(p.status == 1, "%s: fuzz exit %d\n%.1500s%.1500s", name, p.status, p.out,
	              p.err);
	tu_proc_free(&p);
	first_crash(out, sig, sizeof(sig), &min);
	ck_assert_msg(min != NULL, "%s: no min.ops", name);
	for (const char *l = min; *l != '\0'; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
		ops += *l != '#' && *l != '\n';
	ck_assert_msg(ops >= 1 && ops <= 30, "%s: min.ops has %u ops", name, ops);
	free(min);
	snprintf(path, sizeof(path), "%s/min.ops", sig);
	char *argv2[] = {(char *)tu_bin(), "replay", path, NULL};
	tu_run(&p, 300, argv2);
	ck_assert_msg(p.status == 1 && strstr(p.out, "reproduced") != NULL,
	              "%s: replay of min.ops: exit %d\n%.1500s%.1500s", name, p.status, p.out,
	              p.err);
	tu_proc_free(&p);
}
END_TEST

/* The real guest: a 100,000-op campaign with the default profile finds
 * nothing.  On KVM 20,000: the same ops from the same seed, with the dirty
 * ring overflowing and resets every 1,000 ops as at 100,000, in 30 s rather
 * than 150 s where /dev/kvm is kvm_pvm (guest ring 0 emulated, ~8x TCG). */
START_TEST(real_guest_100k_clean)
{
	const char *ops = strcmp(tu_backend(), "kvm") == 0 ? "20000" : "100000";
	char out[600], path[700];
	struct tu_proc p;

	if (!tu_need_backend("real_guest_100k_clean"))
		return;
	snprintf(out, sizeof(out), "%s/clean", tu_dir);
	char *argv[] = {
	    (char *)tu_bin(), "fuzz", "--seed",           "2", "--ops", (char *)ops, "--quiet",
	    "--out",          out,    (char *)tu_guest(), NULL};
	tu_run(&p, 1500, argv);
	ck_assert_msg(p.status == 0, "exit %d\n%.1500s%.1500s", p.status, p.out, p.err);
	tu_proc_free(&p);
	snprintf(path, sizeof(path), "%s/stats.json", out);
	json_t *j = load_json(path);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "ops")), atoi(ops));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "unique_findings")), 0);
	json_decref(j);
}
END_TEST

Suite *suite_fuzz(void);

Suite *suite_fuzz(void)
{
	Suite *s = suite_create("fuzz");
	TCase *gen = tcase_create("generator");
	TCase *prof = tcase_create("profiles");
	TCase *cli = tcase_create("campaign");

	tcase_set_timeout(gen, 60);
	tcase_add_test(gen, generator_is_deterministic);
	tcase_add_loop_test(gen, generator_emits_valid_scripts, 0, 4);
	suite_add_tcase(s, gen);
	tu_tmpdir_fixture(prof);
	tcase_add_loop_test(prof, bad_profile_is_refused, 0,
	                    (int)(sizeof(bad_profiles) / sizeof(bad_profiles[0])));
	tcase_add_test(prof, profile_not_a_text_file);
	suite_add_tcase(s, prof);
	tu_tmpdir_fixture(cli);
	tcase_set_timeout(cli, 1500);
	tcase_add_test(cli, bad_profile_exits_2);
	tcase_add_test(cli, bad_script_exits_2);
	tcase_add_test(cli, campaign_finds_minimises_replays);
	tcase_add_test(cli, replay_uses_recorded_check);
	tcase_add_test(cli, replay_uses_recorded_settings);
	tcase_add_test(cli, sigterm_leaves_complete_output);
	tcase_add_test(cli, fuzz_guest_hang_is_a_finding);
	tcase_add_test(cli, fuzz_boot_death_is_a_finding);
	suite_add_tcase(s, cli);

	TCase *outputs = tcase_create("outputs");
	tu_tmpdir_fixture(outputs);
	tcase_set_timeout(outputs, 900);
	tcase_add_test(outputs, full_disk_stops_the_campaign);
	tcase_add_test(outputs, read_only_out_stops_the_campaign);
	tcase_add_test(outputs, second_campaign_on_one_out_is_refused);
	tcase_add_test(outputs, time_limit_bounds_minimisation);
	tcase_add_test(outputs, time_limit_holds_for_slow_ops);
	tcase_add_test(outputs, binary_console_findings_are_saved);
	suite_add_tcase(s, outputs);

	TCase *mut = tcase_create("mutants");
	load_mutants();
	tu_tmpdir_fixture(mut);
	tcase_set_timeout(mut, 1500);
	tcase_add_loop_test(mut, fuzz_finds_every_mutant, 0, (int)nmutant_names);
	suite_add_tcase(s, mut);

	TCase *soak = tcase_create("real-guest");
	tu_tmpdir_fixture(soak);
	tcase_set_timeout(soak, 1800);
	tcase_add_test(soak, real_guest_100k_clean);
	suite_add_tcase(s, soak);
	return s;
}
