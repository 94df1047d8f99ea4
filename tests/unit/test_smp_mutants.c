/* tests/unit/test_smp_mutants.c - issue 20 phase 2: ops on every CPU.  A
 * two-CPU scenario runs clean and a script naming a CPU the run lacks is
 * exit 2; `fuzz --cpus 2 --seed 1` finds nothing in the real guest; and each
 * mutant of configs/mutants-smp.list is reported by its scenario with the
 * invariant the list names, found by `fuzz --cpus 2 --seed 1`, minimised to
 * at most 30 ops, and replayed (on 2 CPUs, from the report) to it again.
 * The mutants run with the preemption points' scheduler on (`--cmdline
 * pct=1`, guest/preempt.h): the races need it, the others do not mind.  A
 * group's schedule decides a race as it says, and a bad one is exit 2; the
 * race mutants are found through the groups `fuzz --cpus 2` makes.
 * The suite runs in the qemu and the kvm passes (tests/run_tests.c).  The
 * kvm pass runs only the mutants' find, minimise and replay, on KVM from the
 * same seed (the schedule is the guest's and the host's PCT draws, so the
 * steps are QEMU's: docs/smp.md gives both backends' ops); its other tests
 * and the scenarios are QEMU's.  Without /dev/kvm those are not run.
 */
#include <glob.h>

#include "testutil.h"

Suite *suite_smp_mutants(void);

#define CHILD_TIMEOUT 300
/* a campaign on kvm_pvm's two vCPUs: ~50-250 checked ops/s, minimisation
 * booting afresh after each guest panic (pv-retry-no-gen-check: 261 s with
 * the machine's load at 8) */
#define KVM_FUZZ_TIMEOUT 900

struct smp_mutant {
	char name[64];
	char inv[32]; /* the invariant id the list names */
};
static struct smp_mutant mutants[32];
static unsigned nmutants;
static struct tu_proc p;

static void load_list(void)
{
	char line[512];
	FILE *f;

	if (nmutants > 0 || (f = fopen("configs/mutants-smp.list", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL && nmutants < 32) {
		struct smp_mutant *m = &mutants[nmutants];
		if (line[0] != '#' && sscanf(line, "%63s %31s", m->name, m->inv) == 2)
			nmutants++;
	}
	fclose(f);
}

static void setup(void)
{
	memset(&p, 0, sizeof(p));
}

static void teardown(void)
{
	tu_proc_free(&p);
}

/* ptshadow ARGS... */
#define PTS(...) TU_PTS(p, CHILD_TIMEOUT, __VA_ARGS__)

START_TEST(cpu_prefix_beyond_the_run_exits_2)
{
	PTS("run", "--backend", "qemu", "--ops", "tests/smp/two_cpus.ops", (char *)tu_guest());
	ck_assert_msg(p.status == 2, "exit %d\n%s", p.status, p.err);
	ck_assert_msg(strstr(p.err, "names a CPU the run does not have (1 CPU; --cpus 2 or more)"),
	              "stderr:\n%s", p.err);
}
END_TEST

START_TEST(two_cpu_scenario_runs_clean)
{
	if (!tu_need_qemu_cpus("two_cpu_scenario_runs_clean"))
		return;
	PTS("run", "--backend", "qemu", "--cpus", "2", "--ops", "tests/smp/two_cpus.ops", "--out",
	    (char *)tu_path("out"), (char *)tu_guest());
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
}
END_TEST

/* a group's schedule decides a race: the same touch and remove at once, with
 * the touch let go first its write goes through, with the remove first it
 * faults (each script's `=> RESULT`s say so; a mismatch is exit 1) */
START_TEST(group_schedule_decides_the_race)
{
	static const char *const scripts[] = {"tests/smp/group_touch_first.ops",
	                                      "tests/smp/group_remove_first.ops"};

	if (!tu_need_qemu_cpus("group_schedule_decides_the_race"))
		return;
	for (unsigned i = 0; i < 2; i++) {
		PTS("run", "--backend", "qemu", "--cpus", "2", "--ops", (char *)scripts[i], "--out",
		    (char *)tu_path("out"), (char *)tu_guest());
		ck_assert_msg(p.status == 0, "%s: exit %d\n%s", scripts[i], p.status, p.err);
		tu_proc_free(&p);
		memset(&p, 0, sizeof(p));
	}
}
END_TEST

/* races fuzz --cpus 2 found in the guest's own pmap, fixed: each script's
 * group, with the schedule that showed the race, runs clean, its `=> RESULT`s
 * and MODEL-3 included (the guest before the fix: exit 1); the modes suite
 * runs the same scripts in both check modes */
START_TEST(fixed_guest_races_run_clean)
{
	static const char *const races[] = {"tests/smp/race-enter-same-touch.ops",
	                                    "tests/smp/race-remove-clear-modify.ops"};

	if (!tu_need_qemu_cpus("fixed_guest_races_run_clean"))
		return;
	for (unsigned i = 0; i < sizeof(races) / sizeof(races[0]); i++) {
		PTS("run", "--backend", "qemu", "--cpus", "2", "--ops", (char *)races[i], "--out",
		    (char *)tu_path("out"), (char *)tu_guest());
		ck_assert_msg(p.status == 0, "%s: exit %d\n%s", races[i], p.status, p.err);
		tu_proc_free(&p);
		memset(&p, 0, sizeof(p));
	}
}
END_TEST

/* a schedule step naming a CPU outside its block is refused before any VM */
START_TEST(bad_schedule_exits_2)
{
	const char *ops = tu_path("bad.ops");
	FILE *f = fopen(ops, "w");

	ck_assert_ptr_nonnull(f);
	fputs("create a\npar {\n  touch a 0x1000 r\n  cpu1: touch a 0x1000 r\n} schedule 0 3\n", f);
	fclose(f);
	PTS("run", "--backend", "qemu", "--cpus", "4", "--ops", (char *)ops, (char *)tu_guest());
	ck_assert_msg(p.status == 2, "exit %d\n%s", p.status, p.err);
	ck_assert_msg(strstr(p.err, "bad.ops:5: schedule step 2 names cpu3, which runs no op of "
	                            "the block"),
	              "stderr:\n%s", p.err);
}
END_TEST

START_TEST(fuzz_with_preemption_points_finds_nothing)
{
	if (!tu_need_qemu_cpus("fuzz_with_preemption_points_finds_nothing"))
		return;
	PTS("fuzz", "--backend", "qemu", "--cpus", "2", "--cmdline", "pct=1", "--seed", "1",
	    "--ops", "5000", "--jobs", "1", "--quiet", "--out", (char *)tu_path("pct"),
	    (char *)tu_guest());
	ck_assert_msg(p.status == 0, "exit %d\n%.2000s%.2000s", p.status, p.out, p.err);
}
END_TEST

START_TEST(fuzz_on_two_cpus_finds_nothing)
{
	if (!tu_need_qemu_cpus("fuzz_on_two_cpus_finds_nothing"))
		return;
	PTS("fuzz", "--backend", "qemu", "--cpus", "2", "--seed", "1", "--ops", "3000", "--jobs",
	    "1", "--quiet", "--out", (char *)tu_path("out"), (char *)tu_guest());
	ck_assert_msg(p.status == 0, "exit %d\n%.2000s%.2000s", p.status, p.out, p.err);
	char *stats = tu_read_file(tu_path("out/stats.json"), NULL);
	ck_assert_ptr_nonnull(stats);
	ck_assert_msg(strstr(stats, "\"cpus\": 2") != NULL, "stats.json:\n%s", stats);
	free(stats);
}
END_TEST

/* configs/mutants-smp.list was read, and holds mutants: the loops below
 * run one test a mutant, so an empty list would pass nothing and say so */
START_TEST(mutant_list_is_read)
{
	ck_assert_msg(nmutants > 0, "configs/mutants-smp.list: no mutant read");
}
END_TEST

/* the invariant id as a finding names it: "SMP-3 cpu-invalidated", "GUEST-ERROR:" */
static bool names_invariant(const char *text, const char *id)
{
	size_t n = strlen(id);
	for (const char *s = strstr(text, id); s != NULL; s = strstr(s + 1, id))
		if ((s == text || s[-1] == ' ' || s[-1] == '\n') && (s[n] == ' ' || s[n] == ':'))
			return true;
	return false;
}

/* the backend the mutants are found on in this pass: kvm in the kvm pass,
 * else (the qemu pass, or a run of this suite alone) QEMU */
static bool kvm_pass(void)
{
	return strcmp(tu_backend(), "kvm") == 0;
}

/* This pass's backend can run the mutants on two CPUs: true, or the test is
 * logged as not run (no /dev/kvm, no QEMU) and the caller returns. */
static bool need_mutant_backend(const char *test)
{
	return kvm_pass() ? tu_need_backend(test) : tu_need_qemu_cpus(test);
}

/* A KVM without what two vCPUs need (ptshadow says which capability it
 * lacks, exit 2): the test is not run, with that line. */
static bool kvm_cpus_ran(const char *test)
{
	char name[128];

	if (!kvm_pass() || p.status != 2 || strstr(p.err, "this KVM lacks") == NULL)
		return true;
	snprintf(name, sizeof(name), "%s [kvm]", test);
	tu_skip(name, p.err);
	return false;
}

START_TEST(mutant_scenario_is_reported)
{
	const struct smp_mutant *m = &mutants[_i];
	char elf[128], ops[128];

	if (!tu_need_qemu_cpus("mutant_scenario_is_reported"))
		return;
	snprintf(elf, sizeof(elf), "build/mutants/%s.elf", m->name);
	snprintf(ops, sizeof(ops), "tests/mutants/%s.ops", m->name);
	ck_assert_msg(access(elf, R_OK) == 0, "%s missing: run make mutants", elf);
	PTS("run", "--backend", "qemu", "--cpus", "2", "--cmdline", "pct=1", "--ops", ops,
	    "--keep-going", "--out", (char *)tu_path("scenario"), elf);
	ck_assert_msg(p.status == 1, "%s: exit %d, want 1\n%s", m->name, p.status, p.err);
	ck_assert_msg(names_invariant(p.err, m->inv), "%s: no %s finding\n%s", m->name, m->inv,
	              p.err);
}
END_TEST

/* the one crash directory under out; its report and min.ops */
static void one_crash(const char *out, char *dir, size_t len)
{
	char pattern[700];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/crashes/*/report.json", out);
	ck_assert_msg(glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1,
	              "want one crash dir in %s", out);
	snprintf(dir, len, "%.*s", (int)(strrchr(g.gl_pathv[0], '/') - g.gl_pathv[0]),
	         g.gl_pathv[0]);
	globfree(&g);
}

static unsigned count_ops(const char *text)
{
	unsigned n = 0;
	for (const char *l = text; *l != '\0'; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
		n += *l != '#' && *l != '\n';
	return n;
}

START_TEST(fuzz_finds_minimises_replays_mutant)
{
	const struct smp_mutant *m = &mutants[_i];
	char elf[128], out[700], dir[700], path[800], want[64], backend[32];

	if (!need_mutant_backend("fuzz_finds_minimises_replays_mutant"))
		return;
	snprintf(elf, sizeof(elf), "build/mutants/%s.elf", m->name);
	snprintf(out, sizeof(out), "%s", tu_path(m->name)); /* the tmpdir is the test case's */
	ck_assert_msg(access(elf, R_OK) == 0, "%s missing: run make mutants", elf);
	/* the dirty log is the backend's default: on KVM with two vCPUs, clear */
	TU_PTS(p, kvm_pass() ? KVM_FUZZ_TIMEOUT : CHILD_TIMEOUT, "fuzz", "--backend",
	       kvm_pass() ? "kvm" : "qemu", "--cpus", "2", "--cmdline", "pct=1", "--seed", "1",
	       "--ops", "20000", "--jobs", "1", "--quiet", "--out", out, elf);
	if (!kvm_cpus_ran("fuzz_finds_minimises_replays_mutant"))
		return;
	ck_assert_msg(p.status == 1, "%s: fuzz exit %d\n%.1500s%.1500s", m->name, p.status, p.out,
	              p.err);
	one_crash(out, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/report.json", dir);
	char *report = tu_read_file(path, NULL);
	snprintf(want, sizeof(want), "\"invariant\": \"%s\"", m->inv);
	snprintf(backend, sizeof(backend), "\"backend\": \"%s\"", kvm_pass() ? "kvm" : "qemu");
	ck_assert_msg(report && strstr(report, want) && strstr(report, "\"cpus\": 2") &&
	                  strstr(report, "pct=1") && strstr(report, backend),
	              "%s: report.json lacks %s, %s, cpus 2 or pct=1", m->name, want, backend);
	free(report);
	snprintf(path, sizeof(path), "%s/min.ops", dir);
	char *min = tu_read_file(path, NULL);
	ck_assert_msg(min != NULL, "%s: no min.ops", m->name);
	ck_assert_msg(count_ops(min) >= 1 && count_ops(min) <= 30, "%s: min.ops has %u ops",
	              m->name, count_ops(min));
	free(min);
	tu_proc_free(&p);
	memset(&p, 0, sizeof(p));
	PTS("replay", path); /* no --cpus, no --backend: the report's */
	ck_assert_msg(
	    p.status == 1 && strstr(p.out, "reproduced") && names_invariant(p.out, m->inv),
	    "%s: replay of min.ops: exit %d\n%.1500s%.1500s", m->name, p.status, p.out, p.err);
	/* where it ran: KVM logs two vCPUs with clear (ring is one vCPU's) */
	ck_assert_msg(
	    strstr(p.out, kvm_pass() ? "backend: kvm, dirty log clear\n" : "backend: qemu"),
	    "%s: replay not on %s:\n%.1500s", m->name, kvm_pass() ? "kvm (clear)" : "qemu", p.out);
}
END_TEST

/* The kvm pass: each mutant found, minimised and replayed on KVM. */
static Suite *kvm_suite(Suite *s)
{
	TCase *mut = tcase_create("mutants_kvm");

	tcase_add_checked_fixture(mut, setup, teardown);
	tu_tmpdir_fixture(mut);
	tcase_set_timeout(mut, KVM_FUZZ_TIMEOUT + CHILD_TIMEOUT + 10);
	tcase_add_test(mut, mutant_list_is_read);
	tcase_add_loop_test(mut, fuzz_finds_minimises_replays_mutant, 0, (int)nmutants);
	suite_add_tcase(s, mut);
	return s;
}

Suite *suite_smp_mutants(void)
{
	Suite *s = suite_create("smp_mutants");
	TCase *run, *mut;

	load_list();
	if (kvm_pass())
		return kvm_suite(s);
	run = tcase_create("run");
	mut = tcase_create("mutants");
	tcase_add_checked_fixture(run, setup, teardown);
	tu_tmpdir_fixture(run);
	tcase_set_timeout(run, CHILD_TIMEOUT + 10);
	tcase_add_test(run, mutant_list_is_read);
	tcase_add_test(run, cpu_prefix_beyond_the_run_exits_2);
	tcase_add_test(run, two_cpu_scenario_runs_clean);
	tcase_add_test(run, fuzz_on_two_cpus_finds_nothing);
	tcase_add_test(run, fuzz_with_preemption_points_finds_nothing);
	tcase_add_test(run, group_schedule_decides_the_race);
	tcase_add_test(run, fixed_guest_races_run_clean);
	tcase_add_test(run, bad_schedule_exits_2);
	suite_add_tcase(s, run);

	tcase_add_checked_fixture(mut, setup, teardown);
	tu_tmpdir_fixture(mut);
	tcase_set_timeout(mut, 2 * CHILD_TIMEOUT + 10);
	tcase_add_loop_test(mut, mutant_scenario_is_reported, 0, (int)nmutants);
	tcase_add_loop_test(mut, fuzz_finds_minimises_replays_mutant, 0, (int)nmutants);
	suite_add_tcase(s, mut);
	return s;
}
