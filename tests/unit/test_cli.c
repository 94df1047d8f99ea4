/* tests/unit/test_cli.c - the ptshadow command line: every bad input exits 2
 * with one line on stderr that names the input at fault, before any VM
 * exists; --help and --version exit 0, and `run --help` documents every
 * option the source has.
 */
#include "cli.h"
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
#define PTS(...) TU_PTS(p, CHILD_TIMEOUT, __VA_ARGS__)

#define ASSERT_EXIT(code) TU_ASSERT_EXIT(p, code)

/* Exit 2, nothing on stdout, one line on stderr that names each needle. */
static void assert_usage_error(const char *needle1, const char *needle2)
{
	ASSERT_EXIT(2);
	ck_assert_msg(p.out[0] == '\0', "bad input printed on stdout:\n%s", p.out);
	ck_assert_msg(tu_count_lines(p.err) == 1 && p.err[strlen(p.err) - 1] == '\n',
	              "want one line on stderr, got:\n%s", p.err);
	ck_assert_msg(strncmp(p.err, "ptshadow", 8) == 0,
	              "message does not start with 'ptshadow': %s", p.err);
	ck_assert_msg(strstr(p.err, needle1) != NULL, "message lacks '%s': %s", needle1, p.err);
	if (needle2 != NULL)
		ck_assert_msg(strstr(p.err, needle2) != NULL, "message lacks '%s': %s", needle2,
		              p.err);
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
	char *const argv[] = {(char *)tu_bin(), NULL};

	tu_run(&p, CHILD_TIMEOUT, argv);
	ASSERT_EXIT(2);
	ck_assert_msg(strncmp(p.err, "usage: ptshadow", 15) == 0, "no usage on stderr:\n%s", p.err);
}
END_TEST

/* ---- the table of bad inputs ---------------------------------------------------
 *
 * Each row is a command line that must be refused before any VM is made:
 * exit 2 within 2 s, nothing on stdout, exactly one line on stderr, and that
 * line names the input (the row's needle).  In argv and needle, "@NAME" is
 * NAME in the test's directory (bad_input_files() makes them) and "%G" the
 * guest image.  A row with a report writes it as @report.json beside
 * @repro.ops first; the others remove it.
 */

#define BAD_ARGS 10
#define BAD_SECS 2.0

struct bad_input {
	const char *argv[BAD_ARGS];
	const char *needle;
	const char *report; /* report.json beside @repro.ops, or NULL */
};

#define SIG "\"signature\": \"0123456789abcdef\", "

static const struct bad_input bad_inputs[] = {
    /* scripts: bounded reads, directories */
    {{"run", "--ops", "/dev/zero", "%G"}, "/dev/zero: larger than the 16 MiB", NULL},
    {{"replay", "/dev/zero"}, "/dev/zero: larger than the 16 MiB", NULL},
    {{"minimize", "/dev/zero"}, "/dev/zero: larger than the 16 MiB", NULL},
    {{"dump", "--ops", "/dev/zero", "%G"}, "/dev/zero: larger than the 16 MiB", NULL},
    {{"run", "--ops", "@big.ops", "%G"}, "@big.ops: larger than the 16 MiB", NULL},
    {{"run", "--ops", "@adir", "%G"}, "@adir: Is a directory", NULL},
    /* an option where a value belongs is a forgotten value, not a file */
    {{"run", "--ops", "--trace", "g"}, "'--ops' needs a value, not the option '--trace'", NULL},
    {{"fuzz", "--profile", "--quiet", "%G"},
     "'--profile' needs a value, not the option '--quiet'",
     NULL},
    {{"minimize", "-o", "--guest", "@repro.ops"},
     "'-o' needs a value, not the option '--guest'",
     NULL},
    {{"run", "--console", "--ops", "%G"},
     "'--console' needs a value, not the option '--ops'",
     NULL},
    /* --check specs, repeated --check, and what contradicts them */
    {{"run", "--check", "NOPE-9", "%G"}, "'NOPE-9'", NULL},
    {{"fuzz", "--check", "NOPE-9", "%G"}, "'NOPE-9'", NULL},
    {{"run", "--check", "-TLB", "--check", "-NOPE-9", "%G"}, "'NOPE-9'", NULL},
    {{"run", "--check", "", "%G"}, "--check ''", NULL},
    {{"run", "--check", "full", "--check", "incremental", "%G"},
     "--check incremental: contradicts --check full",
     NULL},
    {{"run", "--check", "full", "--full-every", "10", "%G"},
     "--full-every 10: only with --check incremental",
     NULL},
    {{"run", "--full-every", "10", "--check", "full", "%G"},
     "--full-every 10: only with --check incremental",
     NULL},
    {{"fuzz", "--check", "full", "--full-every", "5", "%G"},
     "--full-every 5: only with --check incremental",
     NULL},
    {{"run", "--check", "-TLB", "--no-monitor", "%G"},
     "--check -TLB: nothing is checked with --no-monitor",
     NULL},
    {{"run", "--no-monitor", "--check", "incremental", "%G"},
     "--check incremental: nothing is checked",
     NULL},
    {{"run", "--full-every", "5", "--no-monitor", "%G"},
     "--full-every 5: nothing is checked",
     NULL},
    {{"run", "--full-every", "x", "%G"}, "--full-every x", NULL},
    /* outputs are checked before the run, not after it */
    {{"run", "--out", "@file", "--ops", "@ok.ops", "%G"}, "--out @file: Not a directory", NULL},
    {{"run", "--out", "@file/sub", "%G"}, "--out @file/sub: Not a directory", NULL},
    {{"run", "--out", "/proc/x", "--ops", "@ok.ops", "%G"},
     "--out /proc/x: cannot make a directory in /proc",
     NULL},
    {{"fuzz", "--out", "@file", "%G"}, "--out @file: Not a directory", NULL},
    {{"fuzz", "--out", "/proc/x", "%G"}, "--out /proc/x", NULL},
    {{"bench", "--json", "/proc/x", "%G"}, "--json /proc/x: cannot create a file in /proc", NULL},
    {{"bench", "--json", "@adir", "%G"}, "--json @adir: Is a directory", NULL},
    {{"bench", "--json", "/dev/null", "%G"}, "--json /dev/null: not a regular file", NULL},
    {{"bench", "--json", "", "%G"}, "--json ''", NULL},
    {{"minimize", "-o", "/proc/x/min.ops", "@repro.ops"},
     "-o /proc/x/min.ops: cannot create a file in /proc/x",
     NULL},
    {{"minimize", "-o", "@adir", "@repro.ops"}, "-o @adir: Is a directory", NULL},
    {{"dump", "--svg", "/proc/x/p.svg", "%G"},
     "--svg /proc/x/p.svg: cannot create a file in /proc/x",
     NULL},
    {{"dump", "--svg", "@adir", "%G"}, "--svg @adir: Is a directory", NULL},
    {{"dump", "--svg", "/dev/null", "%G"}, "--svg /dev/null: not a regular file", NULL},
    /* profiles */
    {{"fuzz", "--profile", "@adir", "%G"}, "@adir: Is a directory", NULL},
    {{"fuzz", "--profile", "/dev/zero", "%G"}, "/dev/zero:1: NUL byte", NULL},
    {{"fuzz", "--profile", "@dup.ini", "%G"},
     "@dup.ini:6: duplicate key 'enter' (first on line 4)",
     NULL},
    {{"fuzz", "--arena", "16", "%G"}, "pages = 48 is more than the arena's 16 pages", NULL},
    {{"fuzz", "--profile", "nosuch", "%G"}, "(profile 'nosuch')", NULL},
    /* report.json, read back by replay and minimize */
    {{"replay", "@repro.ops"},
     "@report.json: op_index: 99999999999 is out of range",
     "{" SIG "\"op_index\": 99999999999}"},
    {{"replay", "@repro.ops"},
     "@report.json: op_index 3 is not an op of @repro.ops (3 ops)",
     "{" SIG "\"op_index\": 3}"},
    {{"replay", "@repro.ops"},
     "@report.json: guest.mem_mib: 99999999999 is out of range",
     "{" SIG "\"op_index\": 1, \"guest\": {\"mem_mib\": 99999999999}}"},
    {{"replay", "@repro.ops"},
     "@report.json: guest.arena_pages: 4503599627370496 is out of range",
     "{" SIG "\"op_index\": 1, \"guest\": {\"arena_pages\": 4503599627370496}}"},
    {{"replay", "@repro.ops"},
     "@report.json: guest.image: want a string",
     "{" SIG "\"op_index\": 1, \"guest\": {\"image\": 42}}"},
    {{"replay", "@repro.ops"},
     "@report.json: guest: want an object",
     "{" SIG "\"op_index\": 1, \"guest\": [1]}"},
    {{"replay", "@repro.ops"},
     "@report.json: guest.backend: 'vax'",
     "{" SIG "\"op_index\": 1, \"guest\": {\"backend\": \"vax\"}}"},
    {{"replay", "@repro.ops"},
     "@report.json: guest.pv_per_page: -1 is out of range",
     "{" SIG "\"op_index\": 1, \"guest\": {\"pv_per_page\": -1}}"},
    {{"replay", "@repro.ops"},
     "@report.json: guest.mem_mib: want an integer",
     "{" SIG "\"op_index\": 1, \"guest\": {\"mem_mib\": \"64\"}}"},
    {{"replay", "@repro.ops"},
     "@report.json: guest.cmdline: want a string",
     "{" SIG "\"op_index\": 1, \"guest\": {\"cmdline\": 5}}"},
    {{"replay", "@repro.ops"},
     "@report.json: guest.image: want a path",
     "{" SIG "\"op_index\": 1, \"guest\": {\"image\": \"\"}}"},
    {{"replay", "@repro.ops"},
     "@report.json: signature: want 16 hex digits",
     "{\"signature\": \"xyz\", \"op_index\": 1}"},
    {{"replay", "@repro.ops"}, "@report.json: op_index: missing", "{" SIG "\"x\": 1}"},
    {{"replay", "@repro.ops"}, "@report.json:1:", "garbage"},
    {{"minimize", "@repro.ops"},
     "@report.json: guest.mem_mib: 1 is out of range",
     "{" SIG "\"op_index\": 1, \"guest\": {\"mem_mib\": 1}}"},
    /* option values and words not tested above */
    {{"fuzz", "--jobs", "0", "%G"}, "--jobs 0", NULL},
    {{"fuzz", "--ops", "0", "%G"}, "--ops 0", NULL},
    {{"fuzz", "--time", "soon", "%G"}, "--time soon", NULL},
    {{"fuzz", "--seed", "x", "%G"}, "--seed x", NULL},
    {{"fuzz", "--sequence-length", "x", "%G"}, "--sequence-length x", NULL},
    {{"bench", "--sizes", "7Q", "%G"}, "--sizes 7Q", NULL},
    {{"bench", "--ops", "0", "%G"}, "--ops 0", NULL},
    {{"bench", "--ops", "99999999999", "%G"}, "--ops 99999999999: want 1..1000000", NULL},
    {{"dump", "--pmap", "nope", "%G"}, "--pmap nope", NULL},
    {{"dump", "--ledger", "-1", "%G"}, "--ledger -1", NULL},
    {{"dump", "--ledger", "x", "%G"}, "--ledger x", NULL},
    {{"dump", "--ledger", "4097", "%G"}, "--ledger 4097: want a record count from 0 to 4096", NULL},
    {{"run", "--backend", "vax", "%G"}, "--backend vax", NULL},
    {{"run", "--qemu", "/nonexistent/qemu", "%G"}, "--qemu /nonexistent/qemu", NULL},
    {{"run", "--qemu-accel", "hvf", "%G"}, "--qemu-accel hvf", NULL},
    {{"run", "--pv-per-page", "5000", "%G"}, "--pv-per-page 5000", NULL},
    {{"run", "--arena", "16777217", "%G"}, "--arena 16777217", NULL},
    {{"run", "--backend", "qemu", "--dirty-log", "ring", "%G"},
     "--dirty-log ring needs --backend kvm",
     NULL},
    {{"run", "--backend", "kvm", "--qemu-accel", "kvm", "%G"},
     "--qemu-accel need --backend qemu",
     NULL},
    {{"replay", "-o", "x", "@repro.ops"}, "unknown option '-o'", NULL},
    {{"minimize", "--trace", "@repro.ops"}, "unknown option '--trace'", NULL},
    {{"invariants", "--frob"}, "unknown option '--frob'", NULL},
    {{"ops", "--frob"}, "unknown option '--frob'", NULL},
    {{"replay", "@nosuch.ops"}, "@nosuch.ops: No such file", NULL},
    {{"replay"}, "no reproducer given", NULL},
    /* every command checks the guest image before any VM, as run does (fuzz
     * started its jobs and bench booted, then both exited 3) */
    {{"fuzz", "--ops", "10", "--out", "@fuzzout", "@notelf"}, "@notelf: not an ELF file", NULL},
    {{"bench", "--json", "@bench.json", "@notelf"}, "@notelf: not an ELF file", NULL},
    {{"dump", "@notelf"}, "@notelf: not an ELF file", NULL},
    {{"replay", "--guest", "@notelf", "@repro.ops"}, "@notelf: not an ELF file", NULL},
    {{"minimize", "--guest", "@notelf", "-o", "@min.ops", "@repro.ops"},
     "@notelf: not an ELF file",
     NULL},
    {{"fuzz", "--ops", "10", "--out", "@fuzzout", "@nosuch.elf"},
     "@nosuch.elf: No such file",
     NULL},
    /* --console is an output too */
    {{"run", "--console", "@adir", "%G"}, "--console @adir: Is a directory", NULL},
    {{"fuzz", "--console", "@adir", "--out", "@fuzzout", "%G"},
     "--console @adir: Is a directory",
     NULL},
    {{"dump", "--console", "@adir", "%G"}, "--console @adir: Is a directory", NULL},
};

/* "@NAME" -> NAME in the test's directory, "%G" -> the guest image */
static void bad_input_expand(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in != '\0' && n + 1 < len; in++) {
		const char *with = NULL;
		if (*in == '@')
			with = tu_dir;
		else if (in[0] == '%' && in[1] == 'G')
			with = tu_guest(), in++;
		if (with == NULL) {
			out[n++] = *in;
			continue;
		}
		n += (size_t)snprintf(out + n, len - n, "%s%s", with, *in == '@' ? "/" : "");
		if (n >= len)
			n = len - 1;
	}
	out[n] = '\0';
}

/* The files the rows name; made again by every row (each runs in its own
 * process), all one level deep so that the case's teardown removes them. */
static void bad_input_files(const char *report)
{
	static const char ops[] = "create a\nenter a 0x1000 pg1 rw\ndestroy a\n";
	static const char dup[] = "[regions]\n0x400000 16\n[weights]\nenter = 3\ncreate = 1\n"
	                          "enter = 4\n";
	int fd;

	tu_write_file(tu_path("ok.ops"), ops, strlen(ops));
	tu_write_file(tu_path("repro.ops"), ops, strlen(ops));
	tu_write_file(tu_path("file"), "x\n", 2);
	tu_write_file(tu_path("dup.ini"), dup, strlen(dup));
	tu_write_file(tu_path("notelf"), "#!/bin/sh\n", 10);
	ck_assert(mkdir(tu_path("adir"), 0755) == 0 || errno == EEXIST);
	/* a sparse 1 GiB script: refused by its size, not read */
	fd = open(tu_path("big.ops"), O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1ll << 30), 0);
	close(fd);
	if (report != NULL)
		tu_write_file(tu_path("report.json"), report, strlen(report));
	else
		unlink(tu_path("report.json"));
}

START_TEST(bad_inputs_exit_2)
{
	const struct bad_input *b = &bad_inputs[_i];
	char args[BAD_ARGS][600], needle[600], line[2048] = "ptshadow";
	char *argv[BAD_ARGS + 2] = {(char *)tu_bin()};
	unsigned n = 0;

	bad_input_files(b->report);
	for (; n < BAD_ARGS && b->argv[n] != NULL; n++) {
		bad_input_expand(b->argv[n], args[n], sizeof(args[n]));
		argv[n + 1] = args[n];
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " '%s'", args[n]);
	}
	argv[n + 1] = NULL;
	bad_input_expand(b->needle, needle, sizeof(needle));
	tu_run(&p, CHILD_TIMEOUT, argv);
	ck_assert_msg(!p.timed_out, "%s: still running after %d s", line, CHILD_TIMEOUT);
	ck_assert_msg(p.status == 2, "%s: exit %d, want 2\nstdout:\n%s\nstderr:\n%s", line,
	              p.status, p.out, p.err);
	ck_assert_msg(p.out[0] == '\0', "%s: printed on stdout:\n%s", line, p.out);
	ck_assert_msg(tu_count_lines(p.err) == 1 && p.err[strlen(p.err) - 1] == '\n' &&
	                  strncmp(p.err, "ptshadow", 8) == 0,
	              "%s: want one line on stderr starting 'ptshadow', got:\n%s", line, p.err);
	ck_assert_msg(strstr(p.err, needle) != NULL, "%s: the message does not name '%s': %s", line,
	              needle, p.err);
	ck_assert_msg(p.secs < BAD_SECS, "%s: refused after %.2f s, want under %.0f s", line,
	              p.secs, BAD_SECS);
}
END_TEST

/* A bad image leaves nothing behind: no bench.json (bench wrote one after
 * failing to boot), no fuzz output directory. */
START_TEST(bad_image_writes_nothing)
{
	const char *json = tu_path("bench.json"), *out = tu_path("fuzzout"), *g = tu_path("notelf");

	tu_write_file(g, "#!/bin/sh\n", 10);
	unlink(json);
	PTS("bench", "--json", (char *)json, (char *)g);
	assert_usage_error(g, "not an ELF file");
	ck_assert_msg(access(json, F_OK) != 0, "bench wrote %s for a bad image", json);
	tu_proc_free(&p);
	PTS("fuzz", "--ops", "10", "--out", (char *)out, (char *)g);
	assert_usage_error(g, "not an ELF file");
	ck_assert_msg(access(out, F_OK) != 0, "fuzz made %s for a bad image", out);
}
END_TEST

/* Repeated --check SPECs are all applied, left to right, not the last one only. */
START_TEST(check_given_twice_combines)
{
	struct guest_opts g;

	guest_opts_init(&g);
	ck_assert_int_eq(check_opt_apply(&g, "run", "-TLB"), 0);
	ck_assert_int_eq(check_opt_apply(&g, "run", "incremental"), 0);
	ck_assert_int_eq(check_opt_apply(&g, "run", "-POOL-3"), 0);
	ck_assert_msg(g.cfg.check_spec != NULL && strcmp(g.cfg.check_spec, "-TLB,-POOL-3") == 0,
	              "--check -TLB --check -POOL-3 gave the spec '%s'", g.cfg.check_spec);
	ck_assert_msg(g.cfg.incremental, "--check incremental between two SPECs was lost");
	ck_assert_int_eq(check_opts_finish(&g, "run"), 0);
	guest_opts_close(&g);
	ck_assert_ptr_null(g.cfg.check_spec);
}
END_TEST

/* The output checks leave nothing behind and accept what can be written. */
START_TEST(output_checks_accept_and_leave_nothing)
{
	const char *dir = tu_path("outputs");
	char path[600];
	DIR *d;
	struct dirent *e;
	unsigned entries = 0;

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/bench.json", dir);
	ck_assert_int_eq(cli_check_output_file("bench", "--json", path), 0);
	tu_write_file(path, "{}", 2);
	ck_assert_int_eq(cli_check_output_file("bench", "--json", path), 0); /* replaced later */
	ck_assert_int_eq(cli_check_output_dir("run", "--out", dir), 0);
	snprintf(path, sizeof(path), "%s/not/yet/made", dir);
	ck_assert_int_eq(cli_check_output_dir("run", "--out", path), 0);
	snprintf(path, sizeof(path), "%s/not/", dir);
	ck_assert_int_eq(cli_check_output_dir("run", "--out", path), 0);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' ||
		    (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)) {
			ck_assert_msg(strcmp(e->d_name, "bench.json") == 0, "left behind in %s: %s",
			              dir, e->d_name);
			entries++;
		}
	closedir(d);
	ck_assert_uint_eq(entries, 1);
	ck_assert_int_eq(unlink(tu_path("outputs/bench.json")), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* ---- help and version ------------------------------------------------------------ */

START_TEST(version)
{
	PTS("--version");
	ASSERT_EXIT(0);
	ck_assert_msg(strncmp(p.out, "ptshadow ", 9) == 0, "version line: %s", p.out);
	char abi[16];
	snprintf(abi, sizeof(abi), "abi %u", PTS_ABI_VERSION);
	ck_assert_msg(strstr(p.out, abi) != NULL, "version does not give the ABI: %s", p.out);
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

/* Long options declared in a source file: every `{"name", ..._argument` (with or
 * without a space after the brace). */
static unsigned source_options(const char *path, char names[][32], unsigned max)
{
	char *src = tu_read_file(path, NULL);
	unsigned n = 0;

	for (char *c = strchr(src, '{'); c != NULL; c = strchr(c + 1, '{')) {
		char *name = c + 1 + strspn(c + 1, " \t\n\\"), *q, *close, *arg;
		size_t len;

		if (*name++ != '"')
			continue;
		q = strchr(name, '"');
		close = strchr(name, '}');
		arg = strstr(name, "_argument");
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
	static const char *const files[] = {"src/cli/cli.h", "src/cli/cmd_run.c"};
	static const char *const must[] = {"mem",   "timeout", "cmdline", "console",
	                                   "arena", "ops",     "trace",   "help"};
	char names[64][32], opt[40];
	unsigned n = 0;

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		ck_assert_msg(access(files[f], R_OK) == 0,
		              "%s: %s (run the tests from the source tree)", files[f],
		              strerror(errno));
		n += source_options(files[f], names + n, 64 - n);
	}
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		bool found = false;
		for (unsigned j = 0; j < n && !found; j++)
			found = strcmp(names[j], must[i]) == 0;
		ck_assert_msg(found, "option --%s not found in the source (the scan is broken)",
		              must[i]);
	}
	PTS("run", "--help");
	ASSERT_EXIT(0);
	ck_assert_msg(strncmp(p.out, "usage: ptshadow run", 19) == 0, "help:\n%s", p.out);
	for (unsigned j = 0; j < n; j++) {
		snprintf(opt, sizeof(opt), "--%s", names[j]);
		ck_assert_msg(strstr(p.out, opt) != NULL,
		              "'ptshadow run --help' does not mention %s:\n%s", opt, p.out);
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

	TCase *bad = tcase_create("bad-inputs");
	tcase_add_checked_fixture(bad, setup, teardown);
	tu_tmpdir_fixture(bad);
	tcase_set_timeout(bad, CHILD_TIMEOUT + 10);
	tcase_add_loop_test(bad, bad_inputs_exit_2, 0,
	                    (int)(sizeof(bad_inputs) / sizeof(bad_inputs[0])));
	tcase_add_test(bad, check_given_twice_combines);
	tcase_add_test(bad, bad_image_writes_nothing);
	tcase_add_test(bad, output_checks_accept_and_leave_nothing);
	suite_add_tcase(s, bad);

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
