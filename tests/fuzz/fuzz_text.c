/* tests/fuzz/fuzz_text.c - libFuzzer harness for the text inputs ptshadow reads:
 * op scripts and op lines (src/ops), fuzz profiles (src/fuzz), report.json (src/report).
 *
 * Byte 0 picks the parser, the rest is the text.  Besides crashes, sanitizer
 * reports, hangs and leaks, a finding is: an error message that is not one
 * line naming the input; a script that does not read back the same after
 * script_write; an op line that does not format and parse back to itself; a
 * profile whose generator emits an op the script parser refuses.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "ops.h"
#include "report.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void finding(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_text: %s: %s\n", what, detail);
	abort();
}

/* one line, starting with the name of the input */
static void check_message(const char *err, const char *name)
{
	if (err[0] == '\0' || strchr(err, '\n') != NULL || strncmp(err, name, strlen(name)) != 0)
		finding("error message is not one line naming the input", err);
}

/* the same op (and, with results, the same expectation) */
static bool same_op(const struct script_op *a, const struct script_op *b, bool results)
{
	char x[OPS_TEXT_MAX], y[OPS_TEXT_MAX];
	script_op_format(a, x, sizeof x);
	script_op_format(b, y, sizeof y);
	return strcmp(x, y) == 0 && a->op.kind == b->op.kind && a->op.va == b->op.va &&
	       a->op.end == b->op.end && a->op.page == b->op.page && a->op.page2 == b->op.page2 &&
	       a->op.prot == b->op.prot && a->op.flags == b->op.flags &&
	       a->op.value == b->op.value &&
	       (!results || (a->has_expect == b->has_expect &&
	                     (!a->has_expect ||
	                      (a->expect == b->expect && a->expect_value == b->expect_value))));
}

/* a script parses, or fails with one line; what parses writes out and reads back the same */
static void fuzz_script(const char *text, size_t len)
{
	struct script *s = NULL, *back = NULL;
	char err[512] = "", *out = NULL;
	size_t outlen = 0;
	if (script_parse_string("fuzz.ops", text, len, NULL, &s, err, sizeof err) != 0) {
		check_message(err, "fuzz.ops");
		return;
	}
	FILE *f = open_memstream(&out, &outlen);
	if (f == NULL || script_write(f, s, s->n_ops, true) != 0)
		abort();
	fclose(f);
	if (script_parse_string("written.ops", out, outlen, NULL, &back, err, sizeof err) != 0)
		finding("script_write's output does not parse", err);
	if (back->n_ops != s->n_ops)
		finding("script_write's output has another number of ops", out);
	for (size_t i = 0; i < s->n_ops; i++)
		if (!same_op(&s->ops[i], &back->ops[i], true) ||
		    s->ops[i].op.pmap != back->ops[i].op.pmap)
			finding("script_write's output reads back as another op", out);
	if (script_assign_slots(s, err, sizeof err) != 0)
		finding("a parsed script's slots cannot be assigned again", err);
	script_free(s);
	script_free(back);
	free(out);
}

/* one op line: formats and parses back to itself; results likewise */
static void fuzz_line(const char *text, size_t len)
{
	char line[OPS_LINE_MAX + 1], msg[256] = "", again[OPS_TEXT_MAX];
	struct script_op op, back;
	uint32_t result;
	uint64_t value;
	size_t n = strnlen(text, len < OPS_LINE_MAX ? len : OPS_LINE_MAX);
	memcpy(line, text, n);
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	int rc = script_op_parse(line, NULL, &op, msg, sizeof msg);
	if (rc < 0 && (msg[0] == '\0' || strchr(msg, '\n') != NULL))
		finding("op line refused without a one-line message", line);
	if (rc == 1) {
		script_op_format(&op, again, sizeof again);
		if (script_op_parse(again, NULL, &back, msg, sizeof msg) != 1 ||
		    !same_op(&op, &back, false))
			finding("formatted op does not parse back to itself", again);
	}
	if (result_parse(line, &result, &value) == 0) {
		char text2[64];
		uint32_t r2;
		uint64_t v2;
		result_format(result, value, text2, sizeof text2);
		if (result_parse(text2, &r2, &v2) != 0 || r2 != result ||
		    (result == PTS_RES_PAGE && v2 != value))
			finding("formatted result does not parse back to itself", text2);
	}
}

/* the text as a file the loaders can open: /proc/self/fd/N of a memfd; -1 on failure */
static int as_file(const char *text, size_t len, char *path, size_t pathlen)
{
	int fd = memfd_create("fuzz_text", 0);
	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

/* a profile loads or fails with one line; a loaded one generates ops the parser takes */
static void fuzz_profile(const char *text, size_t len)
{
	struct fuzz_profile p;
	struct fuzz_gen g;
	struct ops_limits lim;
	char path[64], err[512] = "", line[OPS_TEXT_MAX], msg[256];
	int fd = as_file(text, len, path, sizeof path);
	if (fd < 0)
		return;
	if (fuzz_profile_load(path, &p, err, sizeof err) != 0) {
		check_message(err, path);
		close(fd);
		return;
	}
	close(fd);
	ops_limits_default(&lim);
	fuzz_gen_init(&g, &p, 1, lim.arena_pages);
	for (int i = 0; i < 64; i++) {
		struct script_op op, back;
		fuzz_gen_next(&g, &op);
		script_op_format(&op, line, sizeof line);
		if (script_op_parse(line, &lim, &back, msg, sizeof msg) != 1)
			finding("the generator emitted an op the parser refuses", line);
	}
}

/* report.json: loads or fails with one line naming the file */
static void fuzz_report(const char *text, size_t len)
{
	struct session_config cfg;
	char path[64], err[512] = "", *guest = NULL;
	uint64_t sig, op_index;
	int fd = as_file(text, len, path, sizeof path);
	if (fd < 0)
		return;
	memset(&cfg, 0, sizeof cfg);
	if (report_guest_load(path, &cfg, 0, &guest, &sig, &op_index, err, sizeof err) != 0)
		check_message(err, path);
	free(guest);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 4) {
	case 0:
		fuzz_script(text, len);
		break;
	case 1:
		fuzz_line(text, len);
		break;
	case 2:
		fuzz_profile(text, len);
		break;
	default:
		fuzz_report(text, len);
	}
	return 0;
}
