/* src/fuzz/fuzz_profile.c - fuzz profiles: small INI files (configs/fuzz/NAME.ini)
 * with a [generator] section of knobs, a [regions] section of VA windows and
 * a [weights] section of op-kind weights.  Errors are "FILE:LINE: message".
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"
#include "fuzz.h"
#include "util.h"

void fuzz_profile_default(struct fuzz_profile *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "builtin");
	p->pages = 64;
	p->max_pmaps = 8;
	p->max_range = 16;
	p->wired_pct = 10;
	p->canfail_pct = 20;
	p->fail_pct = 30;
	p->remap_pct = 50;
	p->kenter_pages = 16;
	p->nregions = 1;
	p->region[0] = (struct fuzz_region){0x400000, 64};
	for (unsigned k = PTS_OP_CREATE; k < PTS_OP_COUNT; k++)
		p->weight[k] = 2;
	p->weight[PTS_OP_ENTER] = 30;
	p->weight[PTS_OP_TOUCH] = 12;
}

struct knob {
	const char *key;
	size_t offset; /* of an unsigned in struct fuzz_profile */
	unsigned max;
};

static const struct knob knobs[] = {
    {"max_pmaps", offsetof(struct fuzz_profile, max_pmaps), FUZZ_MAX_NAMES},
    {"max_range", offsetof(struct fuzz_profile, max_range), 1u << 20},
    {"wired", offsetof(struct fuzz_profile, wired_pct), 100},
    {"canfail", offsetof(struct fuzz_profile, canfail_pct), 100},
    {"fail", offsetof(struct fuzz_profile, fail_pct), 100},
    {"remap", offsetof(struct fuzz_profile, remap_pct), 100},
    {"kenter_pages", offsetof(struct fuzz_profile, kenter_pages), PTS_KENTER_PAGES},
    {"burst", offsetof(struct fuzz_profile, burst_permille), 1000},
    {"burst_len", offsetof(struct fuzz_profile, burst_len), 100000},
};

#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

struct ini_ctx {
	const char *path;
	unsigned line; /* 0: the message is about the whole file */
	char *err;
	size_t errlen;
	size_t bytes; /* read so far */
	/* where each key was set, so a second setting is refused, not obeyed */
	unsigned knob_line[NKNOBS + 1]; /* knobs[], then pages */
	unsigned weight_line[PTS_OP_COUNT];
	unsigned cmdline_line;
};

static int ini_fail(struct ini_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ini_fail(struct ini_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verrf(c->err, c->errlen, c->path, c->line, fmt, ap);
	va_end(ap);
	return -1;
}

/* A key may be set once: *first is the line that set it, 0 if none has. */
static int once(struct ini_ctx *c, unsigned *first, const char *key)
{
	if (*first != 0)
		return ini_fail(c, "duplicate key '%s' (first on line %u)", key, *first);
	*first = c->line;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int set_generator(struct ini_ctx *c, struct fuzz_profile *p, const char *key,
                         const char *val)
{
	uint64_t v;

	if (parse_u64(val, &v) != 0)
		return ini_fail(c, "%s: '%s' is not a number", key, val);
	if (strcmp(key, "name") == 0)
		return ini_fail(c, "name: set by the file name");
	if (strcmp(key, "pages") == 0) {
		if (v == 0 || v > OPS_ARENA_MAX)
			return ini_fail(c, "pages: %s out of range (1..%u)", val, OPS_ARENA_MAX);
		if (once(c, &c->knob_line[NKNOBS], key) != 0)
			return -1;
		p->pages = v;
		return 0;
	}
	for (size_t i = 0; i < NKNOBS; i++) {
		if (strcmp(key, knobs[i].key) != 0)
			continue;
		if (once(c, &c->knob_line[i], key) != 0)
			return -1;
		if (v > knobs[i].max)
			return ini_fail(c, "%s: %s is above the maximum %u", key, val,
			                knobs[i].max);
		*(unsigned *)((char *)p + knobs[i].offset) = (unsigned)v;
		return 0;
	}
	return ini_fail(c, "unknown generator key '%s'", key);
}

static int set_weight(struct ini_ctx *c, struct fuzz_profile *p, const char *key, const char *val)
{
	uint64_t v;
	const struct op_syntax *syn = strcmp(key, "fail_alloc") == 0
	                                  ? op_syntax_by_kind(PTS_OP_FAIL_ALLOC)
	                                  : op_syntax_by_name(key);

	if (syn == NULL)
		return ini_fail(c, "unknown op kind '%s'", key);
	if (parse_u64(val, &v) != 0 || v > 1000000)
		return ini_fail(c, "%s: weight '%s' is not a number in 0..1000000", key, val);
	if (once(c, &c->weight_line[syn->kind], key) != 0) /* fail and fail_alloc too */
		return -1;
	p->weight[syn->kind] = (uint32_t)v;
	return 0;
}

static int add_region(struct ini_ctx *c, struct fuzz_profile *p, char *line)
{
	char *start_s = strtok(line, " \t"), *pages_s = strtok(NULL, " \t"),
	     *extra = strtok(NULL, " \t");
	uint64_t start, pages, end;

	if (start_s == NULL || pages_s == NULL || extra != NULL)
		return ini_fail(c, "region: want 'START PAGES'");
	if (parse_u64(start_s, &start) != 0 || (start & (PTS_PAGE_SIZE - 1)) != 0)
		return ini_fail(c, "region start '%s' is not a page-aligned address", start_s);
	if (parse_u64(pages_s, &pages) != 0 || pages == 0 ||
	    __builtin_mul_overflow(pages, PTS_PAGE_SIZE, &end) ||
	    __builtin_add_overflow(start, end, &end) || end > PTS_USER_MAX)
		return ini_fail(c, "region %s + %s pages leaves user space", start_s, pages_s);
	if (p->nregions == FUZZ_MAX_REGIONS)
		return ini_fail(c, "more than %d regions", FUZZ_MAX_REGIONS);
	p->region[p->nregions++] = (struct fuzz_region){start, pages};
	return 0;
}

/* [guest] cmdline = WORDS: guest boot options (docs/user-guide.md), letters,
 * digits and _ = . , : - only, so they pass to every backend as they are */
static int set_guest(struct ini_ctx *c, struct fuzz_profile *p, const char *key, const char *val)
{
	if (strcmp(key, "cmdline") != 0)
		return ini_fail(c, "unknown guest key '%s' (want cmdline)", key);
	if (once(c, &c->cmdline_line, key) != 0)
		return -1;
	if (strlen(val) >= sizeof(p->cmdline))
		return ini_fail(c, "cmdline: longer than %zu bytes", sizeof(p->cmdline) - 1);
	if (val[strspn(val,
	               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_=.,:- ")])
		return ini_fail(c,
		                "cmdline: '%s' has a character other than letters, digits, "
		                "blanks and _ = . , : -",
		                val);
	snprintf(p->cmdline, sizeof(p->cmdline), "%s", val);
	return 0;
}

static int parse_line(struct ini_ctx *c, struct fuzz_profile *p, char *line, char *section)
{
	char *eq, *key, *val;

	line = trim(line);
	if (*line == '\0')
		return 0;
	if (*line == '[') {
		char *close = strchr(line, ']');
		if (close == NULL || close[1] != '\0')
			return ini_fail(c, "bad section header '%s'", line);
		*close = '\0';
		if (strcmp(line + 1, "generator") != 0 && strcmp(line + 1, "regions") != 0 &&
		    strcmp(line + 1, "weights") != 0 && strcmp(line + 1, "guest") != 0)
			return ini_fail(
			    c, "unknown section [%s] (want generator, regions, weights, guest)",
			    line + 1);
		snprintf(section, 16, "%s", line + 1);
		return 0;
	}
	if (strcmp(section, "regions") == 0)
		return add_region(c, p, line);
	eq = strchr(line, '=');
	if (section[0] == '\0')
		return ini_fail(c, "'%s' outside any section", line);
	if (eq == NULL)
		return ini_fail(c, "want 'key = value', got '%s'", line);
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	if (strcmp(section, "generator") == 0)
		return set_generator(c, p, key, val);
	if (strcmp(section, "guest") == 0)
		return set_guest(c, p, key, val);
	return set_weight(c, p, key, val);
}

/*
 * The next line into buf (at most len - 1 bytes, no newline): 1, 0 at the
 * end of the file, -1 with err.  Byte by byte, so that a NUL, a line without
 * end or a file without end (a pipe, /dev/zero) is refused at the first byte
 * too many.
 */
static int read_line(struct ini_ctx *c, FILE *f, char *buf, size_t len)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(f)) != EOF) {
		if (++c->bytes > FUZZ_PROFILE_MAX) {
			c->line = 0;
			return ini_fail(c, "larger than the %u KiB a profile may have",
			                FUZZ_PROFILE_MAX >> 10);
		}
		if (ch == '\n')
			break;
		if (ch == '\0')
			return ini_fail(c, "NUL byte at column %zu", n + 1);
		if (n == len - 1)
			return ini_fail(c, "line longer than %zu bytes", len - 1);
		buf[n++] = (char)ch;
	}
	if (ch == EOF && ferror(f)) {
		int e = errno;
		c->line = 0;
		return ini_fail(c, "%s", strerror(e ? e : EIO));
	}
	buf[n] = '\0';
	return ch == EOF && n == 0 ? 0 : 1;
}

static int parse_profile(FILE *f, struct ini_ctx *c, struct fuzz_profile *p)
{
	char buf[1024], section[16] = "";
	uint64_t total = 0;
	int r;

	p->nregions = 0;
	memset(p->weight, 0, sizeof(p->weight));
	for (;;) {
		char *hash;
		c->line++;
		r = read_line(c, f, buf, sizeof(buf));
		if (r <= 0)
			break;
		hash = strchr(buf, '#');
		if (hash != NULL)
			*hash = '\0';
		if (parse_line(c, p, buf, section) != 0)
			return -1;
	}
	if (r < 0)
		return -1;
	c->line = 0;
	for (unsigned k = 0; k < PTS_OP_COUNT; k++)
		total += p->weight[k];
	if (p->weight[PTS_OP_ENTER] == 0 && p->weight[PTS_OP_CREATE] == 0)
		return ini_fail(c, "profile needs a weight for enter or create");
	if (total == 0)
		return ini_fail(c, "every weight is zero");
	if (p->nregions == 0)
		return ini_fail(c, "no [regions]: the generator needs at least one VA window");
	return 0;
}

static int find_profile(const char *name, char *path, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (strchr(name, '/') != NULL || strstr(name, ".ini") != NULL) {
		snprintf(path, len, "%s", name);
		return 0;
	}
	snprintf(path, len, "configs/fuzz/%s.ini", name);
	if (access(path, R_OK) == 0)
		return 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash != NULL && strlen(exe) + strlen(name) + 32 < len) {
			*slash = '\0';
			snprintf(path, len, "%.*s/../configs/fuzz/%s.ini",
			         (int)(len - 32 - strlen(name)), exe, name);
			if (access(path, R_OK) == 0)
				return 0;
		}
	}
	snprintf(path, len, "configs/fuzz/%s.ini", name);
	return -1;
}

/* The file, unless it is a directory (fgets would fail on it at once and the
 * profile seem empty) or a regular file over the limit (refused by its size,
 * unread).  Anything else is bounded by read_line().  NULL with errno. */
static FILE *profile_open(const char *path)
{
	FILE *f = fopen(path, "r");
	struct stat st;

	if (f == NULL || fstat(fileno(f), &st) != 0)
		return f;
	if (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size > (off_t)FUZZ_PROFILE_MAX)) {
		fclose(f);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EFBIG;
		return NULL;
	}
	return f;
}

int fuzz_profile_load(const char *name_or_path, struct fuzz_profile *p, char *err, size_t errlen)
{
	struct ini_ctx c = {.err = err, .errlen = errlen};
	const char *base;
	FILE *f;
	int rc;

	fuzz_profile_default(p);
	find_profile(name_or_path, p->path, sizeof(p->path));
	c.path = p->path;
	f = profile_open(p->path);
	if (f == NULL) {
		if (errno == EFBIG)
			snprintf(err, errlen,
			         "%s: larger than the %u KiB a profile may have (profile '%s')",
			         p->path, FUZZ_PROFILE_MAX >> 10, name_or_path);
		else
			snprintf(err, errlen, "%s: %s (profile '%s')", p->path, strerror(errno),
			         name_or_path);
		return -1;
	}
	base = strrchr(p->path, '/');
	snprintf(p->name, sizeof(p->name), "%.63s", base ? base + 1 : p->path);
	if (strstr(p->name, ".ini") != NULL)
		*strstr(p->name, ".ini") = '\0';
	rc = parse_profile(f, &c, p);
	fclose(f);
	return rc;
}
