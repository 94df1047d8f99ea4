/* tests/unit/test_boot.c - integration: `ptshadow run` boots build/guest.elf
 * on the backend of the pass (KVM or QEMU), and reports each way a guest can
 * die (the guest's selftest= hooks) with exit status 1 and a message; QEMU
 * TCG boots the same image.
 *
 * A backend this machine lacks makes its pass's tests "not run" (CI has no
 * /dev/kvm: the KVM pass is not run there, the QEMU pass must run).  Every
 * child is killed after CHILD_TIMEOUT seconds.
 */
#include "testutil.h"

Suite *suite_boot(void);

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

static bool need_backend(const char *test)
{
	return tu_need_backend(test);
}

/* ptshadow run [extra args...] GUEST */
#define RUN(...) TU_PTS(p, CHILD_TIMEOUT, "run", __VA_ARGS__, (char *)tu_guest())

#define ASSERT_EXIT(code) TU_ASSERT_EXIT(p, code)

#define ASSERT_CONTAINS(text, needle)                                                              \
	ck_assert_msg(strstr((text), (needle)) != NULL, "%s lacks '%s':\n%s", #text, (needle),     \
	              (text))

START_TEST(boots_clean)
{
	if (!need_backend("boots_clean"))
		return;
	RUN("--timeout", "30");
	ASSERT_EXIT(0);
	ck_assert_msg(tu_has_line_starting(p.out, "guest: ptshadow guest"),
	              "no banner line on stdout:\n%s\nstderr:\n%s", p.out, p.err);
	/* the guest found the ptshadow CPUID signature */
	ASSERT_CONTAINS(p.out, "on ptshadow:");
}
END_TEST

/* --mem reaches the guest through the PVH memory map, --cmdline through start_info. */
START_TEST(mem_and_cmdline_reach_guest)
{
	if (!need_backend("mem_and_cmdline_reach_guest"))
		return;
	RUN("--mem", "32", "--arena", "64", "--cmdline", "hello=world");
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(p.out, "31 MiB RAM"); /* the low MiB is reserved */
	ASSERT_CONTAINS(p.out, "hello=world");
	ASSERT_CONTAINS(p.out, "arena=64");
}
END_TEST

START_TEST(console_file)
{
	const char *cons = tu_path("console.txt");
	char *text;

	if (!need_backend("console_file"))
		return;
	RUN("--mem", "16", "--arena", "16", "--console", (char *)cons); /* small: boots faster */
	ASSERT_EXIT(0);
	text = tu_read_file(cons, NULL);
	ck_assert_msg(tu_has_line_starting(text, "ptshadow guest"),
	              "console file has no banner line:\n%s", text);
	ck_assert_msg(strstr(p.out, "ptshadow guest") == NULL, "banner also on stdout:\n%s", p.out);
	free(text);
}
END_TEST

START_TEST(guest_panic)
{
	if (!need_backend("guest_panic"))
		return;
	RUN("--cmdline", "selftest=panic");
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(p.err, "selftest: deliberate panic");
	ASSERT_CONTAINS(p.err, "guest registers");
	ASSERT_CONTAINS(p.err, "rip ");
}
END_TEST

START_TEST(guest_page_fault)
{
	if (!need_backend("guest_page_fault"))
		return;
	RUN("--cmdline", "selftest=fault");
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(p.err, "page fault");
	ASSERT_CONTAINS(p.err, "cr2 0x700000000000");
}
END_TEST

START_TEST(guest_hang)
{
	if (!need_backend("guest_hang"))
		return;
	RUN("--timeout", "1", "--cmdline", "selftest=hang");
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(p.err, "--timeout");
	ASSERT_CONTAINS(p.err, "guest registers");
	ck_assert_msg(p.secs >= 0.9 && p.secs < 15, "took %.2f s with --timeout 1", p.secs);
}
END_TEST

/* A guest that hangs while exiting to the host all the time (here: an endless
 * run of hypercalls) must be stopped too, not only one spinning inside KVM_RUN. */
START_TEST(guest_hang_with_exits)
{
	if (!need_backend("guest_hang_with_exits"))
		return;
	RUN("--timeout", "1", "--cmdline", "hcbench=100000000000");
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(p.err, "--timeout");
	ck_assert_msg(p.secs < 15, "took %.2f s with --timeout 1", p.secs);
}
END_TEST

/* Ctrl-C ends a guest that would otherwise run forever, with a message. */
START_TEST(interrupted_by_sigint)
{
	char *const argv[] = {(char *)tu_bin(), "run",           "--timeout",        "0",
	                      "--cmdline",      "selftest=hang", (char *)tu_guest(), NULL};

	if (!need_backend("interrupted_by_sigint"))
		return;
	tu_run_signal(&p, CHILD_TIMEOUT, 0.5, SIGINT, argv);
	ck_assert_msg(!p.timed_out, "SIGINT did not stop ptshadow");
	ck_assert_msg(p.status != 0 && p.status < 128, "exit status %d after SIGINT\nstderr:\n%s",
	              p.status, p.err);
	ASSERT_CONTAINS(p.err, "interrupted");
	ck_assert_msg(p.secs < 10, "took %.2f s to stop after SIGINT", p.secs);
}
END_TEST

START_TEST(guest_halt)
{
	if (!need_backend("guest_halt"))
		return;
	RUN("--cmdline", "selftest=halt");
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(p.err, "halted");
	ASSERT_CONTAINS(p.err, "guest registers");
}
END_TEST

START_TEST(guest_triple_fault)
{
	if (!need_backend("guest_triple_fault"))
		return;
	RUN("--cmdline", "selftest=triple");
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(p.err, "triple fault");
	ASSERT_CONTAINS(p.err, "guest registers");
}
END_TEST

START_TEST(guest_bad_hypercall)
{
	if (!need_backend("guest_bad_hypercall"))
		return;
	RUN("--cmdline", "selftest=badhc");
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(p.err, "hypercall exit");
	ASSERT_CONTAINS(p.err, "0xfffffff8");
}
END_TEST

START_TEST(guest_exit_status)
{
	if (!need_backend("guest_exit_status"))
		return;
	RUN("--cmdline", "selftest=exit3");
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(p.err, "status 3");
}
END_TEST

/* ---- a guest that misbehaves at its command ring ------------------------------ */

/* run --ops basic.ops with selftest=MODE and --timeout 5: exit 1 within a
 * hang guard, the message, and a crash directory whose report names want_id.
 * (2 s was too short for a boot on kvm_pvm under a load of 10: "no progress".) */
static void hostile_ring(const char *test, const char *mode, const char *want_id,
                         const char *want_msg)
{
	char cmdline[64], out[600], report[700];
	char *json;

	if (!need_backend(test))
		return;
	snprintf(cmdline, sizeof(cmdline), "selftest=%s", mode);
	snprintf(out, sizeof(out), "%s/%s", tu_dir, test);
	RUN("--timeout", "5", "--ops", "tests/scenarios/basic.ops", "--out", out, "--cmdline",
	    cmdline);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(p.err, want_msg);
	ck_assert_msg(p.secs < 60, "took %.1f s with --timeout 5", p.secs);
	ck_assert_msg(tu_crash_dirs(out, report, sizeof(report)) == 1,
	              "want one crash directory\n%s", p.err);
	json = tu_read_file(report, NULL);
	ASSERT_CONTAINS(json, want_id);
	free(json);
}

/* The guest signals op-done again and again and never takes the next op: the
 * watchdog counts from the last op it completed, not from its last signal. */
START_TEST(guest_opdone_loop)
{
	hostile_ring("guest_opdone_loop", "opdoneloop", "\"GUEST-HANG\"", "signalled op-done");
}
END_TEST

/* The guest moves its ring tail back after each op (and does the op again). */
START_TEST(guest_ring_tail_back)
{
	hostile_ring("guest_ring_tail_back", "ringback", "\"GUEST-HANG\"", "never completed op 0");
}
END_TEST

/* A second registration, of a descriptor outside guest RAM, during ops. */
START_TEST(guest_reregister)
{
	hostile_ring("guest_reregister", "reregister", "\"GUEST-ERROR\"",
	             "hypercall register: record at guest-physical 0xfffff000");
}
END_TEST

/* ---- the same image under QEMU ---------------------------------------------- */

static bool have_program(const char *name, char *path, size_t len)
{
	const char *env = getenv("PATH");
	char *dirs, *save = NULL;
	bool found = false;

	dirs = strdup(env != NULL ? env : "/usr/bin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d != NULL && !found;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(path, len, "%s/%s", d, name);
		found = access(path, X_OK) == 0;
	}
	free(dirs);
	return found;
}

START_TEST(qemu_tcg_boots)
{
	char qemu[512];

	if (!have_program("qemu-system-x86_64", qemu, sizeof(qemu))) {
		tu_skip("qemu_tcg_boots", "qemu-system-x86_64 is not installed");
		return;
	}
	char *const argv[] = {qemu,
	                      "-accel",
	                      "tcg",
	                      "-m",
	                      "128",
	                      "-display",
	                      "none",
	                      "-nodefaults",
	                      "-serial",
	                      "stdio",
	                      "-no-reboot",
	                      "-device",
	                      "isa-debug-exit,iobase=0xf4,iosize=0x04",
	                      "-kernel",
	                      (char *)tu_guest(),
	                      NULL};
	tu_run(&p, CHILD_TIMEOUT, argv);
	ck_assert_msg(!p.timed_out, "qemu still running after %d s", CHILD_TIMEOUT);
	ck_assert_msg(p.status == 33,
	              "qemu exit status %d, want 33 (guest success)\nstdout:\n%s\nstderr:\n%s",
	              p.status, p.out, p.err);
	ck_assert_msg(tu_has_line_starting(p.out, "ptshadow guest"), "no banner line:\n%s", p.out);
	ASSERT_CONTAINS(p.out, "a foreign hypervisor");
}
END_TEST

Suite *suite_boot(void)
{
	Suite *s = suite_create("boot");
	TCase *kvm = tcase_create("kvm");
	TCase *death = tcase_create("guest-death");
	TCase *qemu = tcase_create("qemu");

	tcase_add_checked_fixture(kvm, setup, teardown);
	tu_tmpdir_fixture(kvm);
	tcase_set_timeout(kvm, CHILD_TIMEOUT + 10);
	tcase_add_test(kvm, boots_clean);
	tcase_add_test(kvm, mem_and_cmdline_reach_guest);
	tcase_add_test(kvm, console_file);
	suite_add_tcase(s, kvm);

	tcase_add_checked_fixture(death, setup, teardown);
	tu_tmpdir_fixture(death);
	tcase_set_timeout(death, CHILD_TIMEOUT + 10);
	tcase_add_test(death, guest_panic);
	tcase_add_test(death, guest_page_fault);
	tcase_add_test(death, guest_hang);
	tcase_add_test(death, guest_hang_with_exits);
	tcase_add_test(death, interrupted_by_sigint);
	tcase_add_test(death, guest_halt);
	tcase_add_test(death, guest_triple_fault);
	tcase_add_test(death, guest_bad_hypercall);
	tcase_add_test(death, guest_exit_status);
	tcase_add_test(death, guest_opdone_loop);
	tcase_add_test(death, guest_ring_tail_back);
	tcase_add_test(death, guest_reregister);
	suite_add_tcase(s, death);

	tcase_add_checked_fixture(qemu, setup, teardown);
	tu_tmpdir_fixture(qemu);
	tcase_set_timeout(qemu, CHILD_TIMEOUT + 10);
	tcase_add_test(qemu, qemu_tcg_boots);
	suite_add_tcase(s, qemu);
	return s;
}
