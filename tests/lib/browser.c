/* tests/lib/browser.c - headless Chromium for the page tests (browser.h). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "browser.h"
#include "testutil.h"

static const char *chromium_path(void)
{
	static char found[4096];
	const char *env = getenv("PTSHADOW_CHROMIUM"), *path = getenv("PATH");

	if (env != NULL && *env != '\0')
		return access(env, X_OK) == 0 ? env : NULL;
	for (const char *p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0';) {
		size_t n = strcspn(p, ":");
		snprintf(found, sizeof(found), "%.*s/chromium", (int)n, p);
		if (n > 0 && access(found, X_OK) == 0)
			return found;
		p += n + (p[n] == ':');
	}
	return NULL;
}

bool tu_need_chromium(const char *test)
{
	const char *req = getenv("PTSHADOW_REQUIRE_CHROMIUM");

	if (chromium_path() != NULL)
		return true;
	ck_assert_msg(req == NULL || *req == '\0',
	              "%s: should have run (PTSHADOW_REQUIRE_CHROMIUM=%s), but chromium is not "
	              "installed",
	              test, req);
	tu_skip(test, "chromium not installed");
	return false;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT;
}

/* One Chromium run, its output appended to log (a file); the exit status,
 * or -1 when it outlived timeout_s: then its whole process group is killed,
 * for Chromium's helpers must not outlive the test. */
static int run_chromium(char *const argv[], const char *home, const char *out, const char *log,
                        unsigned timeout_s)
{
	double deadline = tu_now() + timeout_s;
	pid_t pid;
	int st = 0;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		setpgid(0, 0);
		setenv("HOME", home, 1); /* what Chromium keeps, it keeps in the test's directory */
		execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid); /* (either side may win the race) */
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		ck_assert_int_eq(r, 0);
		if (tu_now() > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(10000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void tu_browse(const char *html, const char *png, unsigned width, unsigned height,
               unsigned timeout_s, struct tu_browse *b)
{
	char home[] = "/tmp/ptshadow-chromium-XXXXXX", profile[600], url[4200], size[64],
	     shot[4200], out[600], log[600], abs[4096];
	const char *chromium = chromium_path();
	int rc;

	memset(b, 0, sizeof(*b));
	ck_assert_ptr_nonnull(chromium);
	ck_assert_ptr_nonnull(realpath(html, abs));
	ck_assert_ptr_nonnull(mkdtemp(home));
	snprintf(profile, sizeof(profile), "--user-data-dir=%s/profile", home);
	snprintf(url, sizeof(url), "file://%s", abs);
	snprintf(size, sizeof(size), "--window-size=%u,%u", width, height);
	snprintf(shot, sizeof(shot), "--screenshot=%s", png);
	snprintf(out, sizeof(out), "%s/stdout", home);
	snprintf(log, sizeof(log), "%s/stderr", home);
	/* the same Chromium for both runs; the last three words differ */
	char *dom_argv[] = {(char *)chromium,
	                    "--headless",
	                    "--no-sandbox",
	                    "--disable-gpu",
	                    "--no-first-run",
	                    "--disable-extensions",
	                    "--enable-logging=stderr",
	                    "--v=0",
	                    "--hide-scrollbars",
	                    profile,
	                    "--dump-dom",
	                    url,
	                    NULL,
	                    NULL};
	char *png_argv[sizeof(dom_argv) / sizeof(dom_argv[0])];
	memcpy(png_argv, dom_argv, sizeof(dom_argv));
	png_argv[10] = size;
	png_argv[11] = shot;
	png_argv[12] = url;
	rc = run_chromium(dom_argv, home, out, log, timeout_s);
	b->dom = tu_read_file(out, NULL);
	if (rc == 0 && png != NULL) {
		unlink(png);
		rc = run_chromium(png_argv, home, out, log, timeout_s);
		if (rc == 0 && !tu_png_size(png, &b->png_w, &b->png_h))
			b->png_w = b->png_h = 0;
	}
	b->timed_out = rc == -1;
	b->status = rc;
	b->log = tu_read_file(log, NULL);
	nftw(home, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_browse_free(struct tu_browse *b)
{
	free(b->dom);
	free(b->log);
	memset(b, 0, sizeof(*b));
}

const char *tu_console_line(const char *log, char *line, unsigned len)
{
	for (const char *l = log; l != NULL && *l != '\0';) {
		const char *nl = strchr(l, '\n');
		size_t n = nl != NULL ? (size_t)(nl - l) : strlen(l);
		if ((memmem(l, n, ":CONSOLE", 8) != NULL || memmem(l, n, "Uncaught", 8) != NULL)) {
			snprintf(line, len, "%.*s", (int)n, l);
			return line;
		}
		l = nl != NULL ? nl + 1 : NULL;
	}
	return NULL;
}

bool tu_png_size(const char *path, unsigned *w, unsigned *h)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	unsigned char head[24];
	FILE *f = fopen(path, "rb");
	bool ok;

	if (f == NULL)
		return false;
	ok = fread(head, 1, sizeof(head), f) == sizeof(head) && memcmp(head, sig, 8) == 0 &&
	     memcmp(head + 12, "IHDR", 4) == 0;
	fclose(f);
	if (!ok)
		return false;
	*w = (unsigned)head[16] << 24 | (unsigned)head[17] << 16 | (unsigned)head[18] << 8 |
	     head[19];
	*h = (unsigned)head[20] << 24 | (unsigned)head[21] << 16 | (unsigned)head[22] << 8 |
	     head[23];
	return true;
}
