/* src/ops/ops.c - scripts of the op language: the container, reading a file line
 * by line, and turning pmap names into slots.
 *
 * A line is checked whole before it becomes an op: its bytes here (no NUL, at
 * most OPS_LINE_MAX), its tokens, arguments and result by script_op_parse()
 * (src/ops/ops_format.c), and last its pmap name against the names alive at that
 * point of the script.
 */
#include "array.h"
#include "errf.h"
#include "ops.h"
#include "ops_group.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ops_limits_default(struct ops_limits *lim)
{
	lim->arena_pages = PTS_DEFAULT_ARENA_PAGES;
	lim->kenter_pages = PTS_KENTER_PAGES;
	lim->cpus = PTS_MAX_CPUS;
}

/* ---- the script container ----------------------------------------------- */

struct script *script_new(const char *file)
{
	struct script *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->file = strdup(file ? file : "<script>");
	if (!s->file) {
		free(s);
		return NULL;
	}
	return s;
}

void script_free(struct script *s)
{
	if (!s)
		return;
	free(s->ops);
	free(s->file);
	free(s);
}

int script_append(struct script *s, const struct script_op *sop)
{
	if (ARRAY_GROW(s->ops, s->cap, s->n_ops, 64) != 0)
		return -1;
	s->ops[s->n_ops] = *sop;
	s->ops[s->n_ops].op.seq = s->n_ops;
	s->n_ops++;
	return 0;
}

/* ---- pmap names -> slots ------------------------------------------------ */

struct slot_table {
	char name[PTS_MAX_PMAPS][OPS_NAME_MAX + 1];
	bool alive[PTS_MAX_PMAPS];
	unsigned n_alive;
};

static int slot_find(const struct slot_table *t, const char *name)
{
	for (unsigned i = 0; i < PTS_MAX_PMAPS; i++)
		if (t->alive[i] && strcmp(t->name[i], name) == 0)
			return (int)i;
	return -1;
}

/* Only on the error path: tells "destroyed" from "never created". */
static bool destroyed_before(const struct script *s, size_t upto, const char *name)
{
	for (size_t i = 0; i < upto; i++)
		if (s->ops[i].op.kind == PTS_OP_DESTROY && strcmp(s->ops[i].pmap_name, name) == 0)
			return true;
	return false;
}

static int slot_create(struct slot_table *t, struct script_op *sop, const char *file, unsigned line,
                       char *err, size_t errlen)
{
	unsigned i;

	if (slot_find(t, sop->pmap_name) >= 0)
		return errf(err, errlen, file, line, "pmap %s already exists", sop->pmap_name);
	for (i = 0; i < PTS_MAX_PMAPS && t->alive[i]; i++)
		;
	if (i == PTS_MAX_PMAPS)
		return errf(err, errlen, file, line,
		            "too many pmaps: create %s would make %u alive (max %u)",
		            sop->pmap_name, PTS_MAX_PMAPS + 1, PTS_MAX_PMAPS);
	memcpy(t->name[i], sop->pmap_name, sizeof(t->name[i]));
	t->alive[i] = true;
	t->n_alive++;
	sop->op.pmap = i;
	return 0;
}

/* Give sop its slot; ops[0..upto) of s are the ops before it. */
static int slot_resolve(struct slot_table *t, const struct script *s, size_t upto,
                        struct script_op *sop, unsigned line, char *err, size_t errlen)
{
	int slot;

	if (sop->op.kind == PTS_OP_CREATE)
		return slot_create(t, sop, s->file, line, err, errlen);
	slot = slot_find(t, sop->pmap_name);
	if (slot < 0 && destroyed_before(s, upto, sop->pmap_name))
		return errf(err, errlen, s->file, line, "op on destroyed pmap %s", sop->pmap_name);
	if (slot < 0)
		return errf(err, errlen, s->file, line, "unknown pmap %s (never created)",
		            sop->pmap_name);
	if (sop->op.kind == PTS_OP_DESTROY) {
		t->alive[slot] = false;
		t->n_alive--;
	}
	sop->op.pmap = (uint32_t)slot;
	return 0;
}

int script_assign_slots(struct script *s, char *err, size_t errlen)
{
	struct slot_table *t = calloc(1, sizeof(*t));
	int rc = 0;

	if (!t)
		return errf(err, errlen, s->file, 0, "out of memory");
	for (size_t i = 0; i < s->n_ops && rc == 0; i++) {
		struct script_op *sop = &s->ops[i];
		unsigned line = sop->line ? sop->line : (unsigned)(i + 1);

		if (!op_syntax_by_kind(sop->op.kind))
			rc = errf(err, errlen, s->file, line, "unknown op kind %u",
			          (unsigned)sop->op.kind);
		else if (op_names_pmap(sop->op.kind))
			rc = slot_resolve(t, s, i, sop, line, err, errlen);
	}
	free(t);
	return rc;
}

/* ---- reading a script ------------------------------------------------- */

struct parser {
	struct script *s;
	struct ops_limits lim;
	struct slot_table slots;
	struct group_parse group;
	unsigned line;
	char *err;
	size_t errlen;
};

#define parse_error(p, ...) errf((p)->err, (p)->errlen, (p)->s->file, (p)->line, __VA_ARGS__)

static int parse_line(struct parser *p, const char *line)
{
	struct script_op sop;
	char msg[256];
	struct group_error ge = {p->err, p->errlen, p->line};
	int rc = group_line(&p->group, p->s, line, &p->lim, &ge);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = script_op_parse(line, &p->lim, &sop, msg, sizeof(msg));
	if (rc <= 0)
		return rc < 0 ? parse_error(p, "%s", msg) : 0;
	sop.line = p->line;
	if (group_add(&p->group, p->s, &sop, &ge) < 0)
		return -1;
	if (op_names_pmap(sop.op.kind) &&
	    slot_resolve(&p->slots, p->s, p->s->n_ops, &sop, p->line, p->err, p->errlen) < 0)
		return -1;
	if (script_append(p->s, &sop) < 0)
		return parse_error(p, "out of memory");
	return 0;
}

static int parse_text(struct parser *p, const char *text, size_t len)
{
	char line[OPS_LINE_MAX + 1];
	const char *end = text + len;

	for (const char *c = text; c < end;) {
		const char *nl = memchr(c, '\n', (size_t)(end - c));
		size_t n = (size_t)((nl ? nl : end) - c);
		const char *nul = memchr(c, '\0', n);

		p->line++;
		if (n > OPS_LINE_MAX)
			return parse_error(p, "line longer than %u bytes", OPS_LINE_MAX);
		if (nul)
			return parse_error(p, "NUL byte at column %u", (unsigned)(nul - c + 1));
		memcpy(line, c, n);
		line[n] = '\0';
		if (parse_line(p, line) < 0)
			return -1;
		c = nl ? nl + 1 : end;
	}
	return group_end(&p->group, p->s, p->err, p->errlen);
}

int script_parse_string(const char *name, const char *text, size_t len,
                        const struct ops_limits *lim, struct script **out, char *err, size_t errlen)
{
	struct parser *p = calloc(1, sizeof(*p));
	int rc;

	*out = NULL;
	if (!name)
		name = "<script>";
	if (!p || !(p->s = script_new(name))) {
		free(p);
		return errf(err, errlen, name, 0, "out of memory");
	}
	if (lim)
		p->lim = *lim;
	else
		ops_limits_default(&p->lim);
	p->err = err;
	p->errlen = errlen;
	rc = parse_text(p, text, len);
	if (rc == 0)
		*out = p->s;
	else
		script_free(p->s);
	free(p);
	return rc;
}

/*
 * The whole file in memory, at most OPS_FILE_MAX bytes; *len its size.  A
 * regular file is refused by its size before a byte is read (a sparse 1 GiB
 * file costs nothing); of anything else (a pipe, /dev/zero) at most one byte
 * more than the limit is read, so that an endless input ends too.  NULL with
 * errno (EFBIG: over the limit).
 */
/* not a directory, nor a regular file too big to be a script (errno) */
static bool file_may_be_read(FILE *f)
{
	struct stat st;

	if (fstat(fileno(f), &st) != 0)
		return false;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return false;
	}
	if (S_ISREG(st.st_mode) && st.st_size > (off_t)OPS_FILE_MAX) {
		errno = EFBIG;
		return false;
	}
	return true;
}

static char *read_file(FILE *f, size_t *len)
{
	size_t cap = 0, n;
	char *buf = NULL;

	*len = 0;
	if (!file_may_be_read(f))
		return NULL;
	do {
		if (*len == cap) {
			char *b;

			cap = cap ? 2 * cap : 65536;
			if (cap > OPS_FILE_MAX + 1)
				cap = OPS_FILE_MAX + 1;
			b = realloc(buf, cap);
			if (!b) {
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = b;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0 && *len <= OPS_FILE_MAX);
	if (ferror(f) || *len > OPS_FILE_MAX) {
		int e = *len > OPS_FILE_MAX ? EFBIG : errno;

		free(buf);
		errno = e ? e : EIO;
		return NULL;
	}
	return buf;
}

int script_parse_file(const char *path, const struct ops_limits *lim, struct script **out,
                      char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	size_t len;
	char *text;
	int rc;

	*out = NULL;
	if (!f)
		return errf(err, errlen, path, 0, "%s", strerror(errno));
	text = read_file(f, &len);
	if (!text) {
		int e = errno;

		fclose(f);
		if (e == EFBIG)
			return errf(err, errlen, path, 0,
			            "larger than the %u MiB a script may have", OPS_FILE_MAX >> 20);
		return errf(err, errlen, path, 0, "%s", strerror(e));
	}
	fclose(f);
	rc = script_parse_string(path, text, len, lim, out, err, errlen);
	free(text);
	return rc;
}

/* ---- writing a script ------------------------------------------------- */

int script_write(FILE *f, const struct script *s, size_t n_ops, bool with_results)
{
	char text[OPS_TEXT_MAX], res[32];

	if (n_ops > s->n_ops)
		n_ops = s->n_ops;
	for (size_t i = 0; i < n_ops;) {
		size_t k = script_group_len(s, i);
		if (k > n_ops - i)
			k = n_ops - i;
		if (k > 1)
			fprintf(f, "par {\n");
		for (size_t j = i; j < i + k; j++) {
			script_op_format(&s->ops[j], text, sizeof(text));
			if (with_results && s->ops[j].has_expect) {
				result_format(s->ops[j].expect, s->ops[j].expect_value, res,
				              sizeof(res));
				fprintf(f, "%s%s => %s\n", k > 1 ? "  " : "", text, res);
			} else {
				fprintf(f, "%s%s\n", k > 1 ? "  " : "", text);
			}
		}
		if (k > 1 && script_group_close_format(s, i, text, sizeof(text)) >= 0)
			fprintf(f, "%s\n", text);
		i += k;
	}
	return ferror(f) ? -1 : 0;
}

bool script_op_expect_met(const struct script_op *sop)
{
	if (!sop->has_expect)
		return true;
	if (sop->op.result != sop->expect)
		return false;
	return sop->expect != PTS_RES_PAGE || sop->op.value == sop->expect_value;
}
