/* tests/lib/testutil.h - helpers shared by the VMM tests: temp directories,
 * hand-built ELF images, running the ptshadow binary (bodies in testutil.c,
 * built into the test library with the rest of tests/lib/).
 *
 * Paths default to build/ptshadow and build/guest.elf (the tests run from
 * the repository root); PTSHADOW_BIN and PTSHADOW_GUEST override them.
 */
#ifndef PTSHADOW_TESTUTIL_H
#define PTSHADOW_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ptshadow/abi.h>

/* ---- paths and environment --------------------------------------------- */

const char *tu_bin(void);
const char *tu_guest(void);
/* /dev/kvm opens read-write */
bool tu_have_kvm(void);
/* qemu-system-x86_64 on PATH */
bool tu_have_qemu(void);

/* The backend this pass of run_tests runs end-to-end tests on: "kvm" or
 * "qemu" (PTSHADOW_BACKEND, which ptshadow itself also takes as the default
 * of --backend), or "auto" when run_tests was not asked for one. */
const char *tu_backend(void);

/* A test that cannot run here says so and returns.  Check has no "skipped",
 * so the line also goes to the file run_tests names in PTSHADOW_NOTRUN_LOG:
 * run_tests counts those tests as not run, never as passed. */
void tu_skip(const char *test, const char *why);

/* The backend of this pass can run here: true, or the test is logged as not
 * run (with the backend in its name) and the caller returns.  A backend
 * named in PTSHADOW_REQUIRE_BACKENDS (CI sets it) must be there: its absence
 * fails the test instead. */
bool tu_need_backend(const char *test);
/* A test of several CPUs (--cpus > 1) on ptshadow's QEMU: true, or the test
 * is not run in a pass on another backend (the kvm backend's CPUs have tests
 * of their own: test_smp.c), nor without qemu-system-x86_64. */
bool tu_need_qemu_cpus(const char *test);

/* ---- temp directories --------------------------------------------------- */

/* the temp directory of the running test case ("" outside one) */
extern char tu_dir[64];

void tu_tmpdir_setup(void);
/* Remove the temp directory and what the test put in it (one level deep). */
void tu_tmpdir_teardown(void);

/* One temp directory per test case, made and removed (with everything in
 * it, a tmpfs a test left mounted included) in Check's parent process (a
 * failed check _exits the test's child, skipping checked teardowns); the
 * tests of a case run one after another and share it. */
void tu_tmpdir_fixture(TCase *tc);

/* A small tmpfs (size "2m") on dir (made if missing), for a full or
 * read-only disk: true, or the test is logged as not run (not root, or no
 * mount here) and the caller returns.  umount2(dir, MNT_DETACH) undoes it. */
bool tu_mount_tmpfs(const char *dir, const char *size, const char *test);
/* Fill dir's file system (dir/filler) until pages_left 4 KiB pages are free. */
void tu_fill_fs(const char *dir, unsigned pages_left);
/* The offset of the first byte of text that could drive a terminal (not
 * printable ASCII, newline or tab), or -1. */
long tu_unsafe_byte(const char *text, size_t len);

/* A path inside the test's temp directory (one static buffer per slot). */
const char *tu_path(const char *name);
void tu_write_file(const char *path, const void *data, size_t len);

/* The whole file, NUL-terminated; *len (if asked) without the NUL. */
char *tu_read_file(const char *path, size_t *len);

/* ---- hand-built ELF images ----------------------------------------------- */

/*
 * A minimal PVH image that the loader accepts: one PT_NOTE with the Xen
 * PHYS32_ENTRY note, one PT_LOAD of TU_SEG_FILESZ bytes of pattern at
 * TU_SEG_PADDR with TU_SEG_MEMSZ bytes in memory (the rest is bss).  Each
 * bad-image test changes one field of this and writes it out.
 */
#define TU_NOTE_OFF   0x200u
#define TU_SEG_OFF    0x1000u
#define TU_SEG_PADDR  0x100000ull
#define TU_SEG_FILESZ 0x300u
#define TU_SEG_MEMSZ  0x2000u
#define TU_ELF_MAX_PH 4u
#define TU_FILE_SIZE  (TU_SEG_OFF + TU_SEG_FILESZ)

struct tu_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[TU_ELF_MAX_PH];
	/* the note: header, "Xen\0", an 8-byte desc slot (desc_size says how much counts) */
	Elf64_Nhdr nh;
	char name[4];
	uint8_t desc[8];
	uint64_t file_size; /* bytes written (a shorter file truncates) */
};

/* the segment's byte i */
uint8_t tu_pattern(size_t i);
/* the image as described above */
void tu_elf_init(struct tu_elf *e);

/* Add a PT_LOAD of TU_SEG_FILESZ file bytes (the same pattern) at paddr. */
void tu_elf_add_load(struct tu_elf *e, uint64_t paddr, uint64_t memsz);
void tu_elf_write(const struct tu_elf *e, const char *path);

/* A well-formed ELF32 i386 executable (what a 32-bit kernel build gives). */
void tu_elf32_write(const char *path);

/* ---- running ptshadow (or qemu) ------------------------------------------ */

struct tu_proc {
	int status; /* exit status, or 128 + signal */
	bool timed_out;
	double secs;             /* wall time */
	char *out;               /* captured stdout, NUL-terminated */
	char *err;               /* captured stderr */
	size_t out_len, err_len; /* without the NUL (the output may hold NUL bytes) */
};

/* seconds on the monotonic clock */
double tu_now(void);

/*
 * Run argv (argv[0] a path) with stdin from /dev/null and stdout/stderr into
 * files, and kill it after timeout_s seconds: a broken build must not hang
 * the suite.  With sig != 0, send it sig once signal_at seconds have passed.
 * (An alarm() in the child would not do: ptshadow re-arms ITIMER_REAL for its
 * own watchdog.)
 */
void tu_run_signal(struct tu_proc *p, unsigned timeout_s, double signal_at, int sig,
                   char *const argv[]);
void tu_run(struct tu_proc *p, unsigned timeout_s, char *const argv[]);
void tu_proc_free(struct tu_proc *p);

/* ptshadow ARGV... into proc P, which must end within SECS (a hang guard) */
#define TU_PTS(P, SECS, ...)                                                                       \
	do {                                                                                       \
		char *const argv_[] = {(char *)tu_bin(), __VA_ARGS__, NULL};                       \
		tu_run(&(P), (SECS), argv_);                                                       \
		ck_assert_msg(!(P).timed_out, "ptshadow still running after %d s", (int)(SECS));   \
	} while (0)

/* P exited with CODE; else its status, stdout and stderr */
#define TU_ASSERT_EXIT(P, CODE)                                                                    \
	ck_assert_msg((P).status == (CODE), "exit status %d, want %d\nstdout:\n%s\nstderr:\n%s",   \
	              (P).status, (CODE), (P).out, (P).err)

/* The findings in `ptshadow run`'s stderr ("ptshadow run: FILE.ops:LINE: ID
 * ...") as sorted, distinct "LINE ID" lines (malloc'd). */
char *tu_run_findings(const char *err);
/* Does text have a line that starts with prefix? */
bool tu_has_line_starting(const char *text, const char *prefix);
/* newlines in text */
unsigned tu_count_lines(const char *text);

/* Crash directories under out/crashes (0: none, or no such directory); the
 * path of the first one's report.json into report (if given). */
unsigned tu_crash_dirs(const char *out, char *report, size_t len);

#endif /* PTSHADOW_TESTUTIL_H */
