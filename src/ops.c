/* src/ops.c - parser of the op language (docs/op-language.md) and the script
 * container: text lines -> struct script_op, pmap names -> slots.
 *
 * A line is checked whole before it becomes an op: bytes (no NUL, no control
 * characters, at most OPS_LINE_MAX), tokens, arity against the op table's
 * argument codes (src/ops_format.c), each argument, the expected result, and
 * last the pmap name against the names alive at that point of the script.
 */
#include "ops.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 16   /* more than any op takes: enter ... canfail => ok */
#define TOK "%.40s"     /* how much of a token a message shows */

void ops_limits_default(struct ops_limits *lim)
{
	lim->arena_pages = PTS_DEFAULT_ARENA_PAGES;
	lim->kenter_pages = PTS_KENTER_PAGES;
}

static int errorf(char *err, size_t errlen, const char *file, unsigned line,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int errorf(char *err, size_t errlen, const char *file, unsigned line,
		  const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!errlen)
		return -1;
	n = line ? snprintf(err, errlen, "%s:%u: ", file, line)
		 : snprintf(err, errlen, "%s: ", file);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
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
	if (s->n_ops == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct script_op *ops = realloc(s->ops, cap * sizeof(*ops));

		if (!ops)
			return -1;
		s->ops = ops;
		s->cap = cap;
	}
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
static bool destroyed_before(const struct script *s, size_t upto,
			     const char *name)
{
	for (size_t i = 0; i < upto; i++)
		if (s->ops[i].op.kind == PTS_OP_DESTROY &&
		    strcmp(s->ops[i].pmap_name, name) == 0)
			return true;
	return false;
}

static int slot_create(struct slot_table *t, struct script_op *sop,
		       const char *file, unsigned line, char *err,
		       size_t errlen)
{
	unsigned i;

	if (slot_find(t, sop->pmap_name) >= 0)
		return errorf(err, errlen, file, line,
			      "pmap %s already exists", sop->pmap_name);
	for (i = 0; i < PTS_MAX_PMAPS && t->alive[i]; i++)
		;
	if (i == PTS_MAX_PMAPS)
		return errorf(err, errlen, file, line,
			      "too many pmaps: create %s would make %u alive (max %u)",
			      sop->pmap_name, PTS_MAX_PMAPS + 1, PTS_MAX_PMAPS);
	memcpy(t->name[i], sop->pmap_name, sizeof(t->name[i]));
	t->alive[i] = true;
	t->n_alive++;
	sop->op.pmap = i;
	return 0;
}

/* Give sop its slot; ops[0..upto) of s are the ops before it. */
static int slot_resolve(struct slot_table *t, const struct script *s,
			size_t upto, struct script_op *sop, unsigned line,
			char *err, size_t errlen)
{
	int slot;

	if (sop->op.kind == PTS_OP_CREATE)
		return slot_create(t, sop, s->file, line, err, errlen);
	slot = slot_find(t, sop->pmap_name);
	if (slot < 0 && destroyed_before(s, upto, sop->pmap_name))
		return errorf(err, errlen, s->file, line,
			      "op on destroyed pmap %s", sop->pmap_name);
	if (slot < 0)
		return errorf(err, errlen, s->file, line,
			      "unknown pmap %s (never created)", sop->pmap_name);
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
		return errorf(err, errlen, s->file, 0, "out of memory");
	for (size_t i = 0; i < s->n_ops && rc == 0; i++) {
		struct script_op *sop = &s->ops[i];
		unsigned line = sop->line ? sop->line : (unsigned)(i + 1);

		if (!op_syntax_by_kind(sop->op.kind))
			rc = errorf(err, errlen, s->file, line,
				    "unknown op kind %u", (unsigned)sop->op.kind);
		else if (op_names_pmap(sop->op.kind))
			rc = slot_resolve(t, s, i, sop, line, err, errlen);
	}
	free(t);
	return rc;
}

/* ---- tokens ------------------------------------------------------------- */

struct parser {
	struct script *s;
	struct ops_limits lim;
	struct slot_table slots;
	unsigned line;
	char *err;
	size_t errlen;
};

#define fail(p, ...) errorf((p)->err, (p)->errlen, (p)->s->file, (p)->line, __VA_ARGS__)

static int parse_decimal(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 = not hex, 2 = more than 64 bits. */
static int parse_hex(const char *s, bool need_prefix, uint64_t *out)
{
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	else if (need_prefix)
		return 1;
	if (*s == '\0')
		return 1;
	for (; *s; s++) {
		int d = hex_digit(*s);

		if (d < 0)
			return 1;
		if (v >> 60)
			return 2;
		v = (v << 4) | (uint64_t)d;
	}
	*out = v;
	return 0;
}

int result_parse(const char *text, uint32_t *result, uint64_t *value)
{
	char name[16];

	*value = 0;
	if (strncmp(text, "pg", 2) == 0) {
		*result = PTS_RES_PAGE;
		return parse_decimal(text + 2, value);
	}
	for (uint32_t r = 0; r < PTS_RES_COUNT; r++) {
		result_format(r, 0, name, sizeof(name));
		if (r != PTS_RES_PAGE && strcmp(text, name) == 0) {
			*result = r;
			return 0;
		}
	}
	return -1;
}

/* ---- arguments ---------------------------------------------------------- */

/* VA and END of user ranges: what names the value ("VA", "END"). */
static int parse_user_addr(struct parser *p, const char *what,
			   const char *tok, uint64_t *v)
{
	int rc = parse_hex(tok, true, v);

	if (rc == 1)
		return fail(p, "bad %s " TOK ": expected a hex address like 0x400000",
			    what, tok);
	if (rc == 2 || *v > PTS_USER_MAX ||
	    (*v == PTS_USER_MAX && strcmp(what, "VA") == 0))
		return fail(p, "bad %s " TOK ": not a canonical user address "
			    "(%s 0x%llx)", what, tok,
			    strcmp(what, "VA") == 0 ? "below" : "at most",
			    (unsigned long long)PTS_USER_MAX);
	if (*v & (PTS_PAGE_SIZE - 1))
		return fail(p, "bad %s " TOK ": not page-aligned", what, tok);
	return 0;
}

/* k+OFF offsets into the kenter window; is_end allows the window's end. */
static int parse_window(struct parser *p, const char *tok, bool is_end,
			uint64_t *v)
{
	uint64_t size = p->lim.kenter_pages * PTS_PAGE_SIZE;
	const char *what = is_end ? "kernel END" : "kernel offset";

	if (strncmp(tok, "k+", 2) != 0 || parse_hex(tok + 2, false, v) == 1)
		return fail(p, "bad %s " TOK ": expected k+OFF with hex OFF "
			    "like k+0x1000", what, tok);
	if (parse_hex(tok + 2, false, v) == 2 || *v > size ||
	    (*v == size && !is_end))
		return fail(p, "bad %s " TOK ": beyond the kenter window "
			    "(%llu pages)", what, tok,
			    (unsigned long long)p->lim.kenter_pages);
	if (*v & (PTS_PAGE_SIZE - 1))
		return fail(p, "bad %s " TOK ": not page-aligned", what, tok);
	return 0;
}

static int parse_page(struct parser *p, const char *tok, uint64_t *v)
{
	if (strncmp(tok, "pg", 2) != 0 || parse_decimal(tok + 2, v) < 0)
		return fail(p, "bad page " TOK ": expected pg<N>", tok);
	if (*v >= p->lim.arena_pages)
		return fail(p, "bad page " TOK ": beyond the arena (%llu pages)",
			    tok, (unsigned long long)p->lim.arena_pages);
	return 0;
}

static int parse_prot(struct parser *p, const char *tok, bool for_page,
		      uint32_t *prot)
{
	static const struct { const char *name; uint32_t prot; bool page; } t[] = {
		{ "r", PTS_PROT_READ, true },
		{ "rw", PTS_PROT_READ | PTS_PROT_WRITE, false },
		{ "rx", PTS_PROT_READ | PTS_PROT_EXEC, true },
		{ "rwx", PTS_PROT_READ | PTS_PROT_WRITE | PTS_PROT_EXEC, false },
		{ "none", 0, true },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(tok, t[i].name) == 0 &&
		    (for_page ? t[i].page : t[i].prot != 0)) {
			*prot = t[i].prot;
			return 0;
		}
	}
	return fail(p, "bad protection " TOK ": expected %s", tok,
		    for_page ? "r, rx or none" : "r, rw, rx or rwx");
}

static int parse_pmap_name(struct parser *p, const char *tok, char *name)
{
	size_t n = strlen(tok);
	bool ok = n >= 1 && n <= OPS_NAME_MAX && tok[0] >= 'a' && tok[0] <= 'z';

	for (size_t i = 1; ok && i < n; i++)
		ok = (tok[i] >= 'a' && tok[i] <= 'z') ||
		     (tok[i] >= '0' && tok[i] <= '9') || tok[i] == '_';
	if (!ok)
		return fail(p, "bad pmap name " TOK ": expected [a-z][a-z0-9_]{0,15}",
			    tok);
	memcpy(name, tok, n + 1);
	return 0;
}

static int parse_flag(struct parser *p, const char *tok, uint32_t *flags)
{
	uint32_t f;

	if (strcmp(tok, "wired") == 0)
		f = PTS_OPF_WIRED;
	else if (strcmp(tok, "canfail") == 0)
		f = PTS_OPF_CANFAIL;
	else
		return fail(p, "bad flag " TOK ": expected wired or canfail", tok);
	if (*flags & f)
		return fail(p, "duplicate flag %s", tok);
	*flags |= f;
	return 0;
}

static int parse_arg(struct parser *p, char code, const char *tok,
		     struct script_op *sop)
{
	struct pts_op *op = &sop->op;

	switch (code) {
	case 'P': return parse_pmap_name(p, tok, sop->pmap_name);
	case 'V': return parse_user_addr(p, "VA", tok, &op->va);
	case 'G': return parse_page(p, tok, &op->page);
	case 'H': return parse_page(p, tok, &op->page2);
	case 'R': return parse_prot(p, tok, false, &op->prot);
	case 'Q': return parse_prot(p, tok, true, &op->prot);
	case 'K': return parse_window(p, tok, false, &op->va);
	case 'F': return parse_flag(p, tok, &op->flags);
	case 'E':
		if (parse_user_addr(p, "END", tok, &op->end) < 0)
			return -1;
		if (op->end <= op->va)
			return fail(p, "bad END " TOK ": not above VA 0x%llx", tok,
				    (unsigned long long)op->va);
		return 0;
	case 'L':
		if (parse_window(p, tok, true, &op->end) < 0)
			return -1;
		if (op->end <= op->va)
			return fail(p, "bad kernel END " TOK ": not above k+0x%llx",
				    tok, (unsigned long long)op->va);
		return 0;
	case 'A':
		if (strcmp(tok, "w") == 0)
			op->flags |= PTS_OPF_WRITE;
		else if (strcmp(tok, "r") != 0)
			return fail(p, "bad access " TOK ": expected r or w", tok);
		return 0;
	case 'a':
		if (strcmp(tok, "alloc") != 0)
			return fail(p, "bad word " TOK ": expected fail alloc N", tok);
		return 0;
	case 'N':
		if (parse_decimal(tok, &op->value) < 0 || op->value == 0)
			return fail(p, "bad count " TOK ": expected a decimal number >= 1",
				    tok);
		return 0;
	default:
		return fail(p, "internal error: argument code %c", code);
	}
}

/* ---- lines -------------------------------------------------------------- */

static int parse_args(struct parser *p, const struct op_syntax *syn,
		      char **tok, unsigned ntok, struct script_op *sop)
{
	const char *code = syn->args;
	unsigned i, min = (unsigned)(strcspn(code, "[")), max;

	max = strchr(code, 'F') ? MAX_TOKENS : (unsigned)strlen(code) - (code[min] == '[');
	if (ntok - 1 < min)
		return fail(p, "too few arguments to %s (usage: %s)", syn->name,
			    syn->usage);
	if (ntok - 1 > max)
		return fail(p, "trailing garbage " TOK " (usage: %s)", tok[max + 1],
			    syn->usage);
	for (i = 1; i < ntok; i++) {
		if (*code == '[')
			code++;
		if (parse_arg(p, *code, tok[i], sop) < 0)
			return -1;
		if (*code != 'F') /* F takes all the remaining tokens */
			code++;
	}
	return 0;
}

static void describe_results(uint32_t mask, char *buf, size_t len)
{
	char name[16];
	size_t used = 0;

	buf[0] = '\0';
	for (uint32_t r = 0; r < PTS_RES_COUNT && used < len; r++) {
		if (!(mask & (1u << r)))
			continue;
		result_format(r, 0, name, sizeof(name));
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 used ? " or " : "",
					 r == PTS_RES_PAGE ? "pg<N>" : name);
	}
}

static int parse_expect(struct parser *p, const struct op_syntax *syn,
			const char *tok, struct script_op *sop)
{
	char allowed[64];

	if (result_parse(tok, &sop->expect, &sop->expect_value) < 0)
		return fail(p, "bad result " TOK ": expected ok, enomem, true, "
			    "false, fault, none or pg<N>", tok);
	if (sop->expect == PTS_RES_PAGE && sop->expect_value >= p->lim.arena_pages)
		return fail(p, "bad result " TOK ": beyond the arena (%llu pages)",
			    tok, (unsigned long long)p->lim.arena_pages);
	if (!op_result_possible(&sop->op, sop->expect)) {
		if (sop->expect == PTS_RES_ENOMEM && syn->kind == PTS_OP_ENTER)
			return fail(p, "result enomem impossible for enter "
				    "without canfail");
		describe_results(syn->results, allowed, sizeof(allowed));
		return fail(p, "result " TOK " impossible for %s (expected %s)",
			    tok, syn->name, allowed);
	}
	sop->has_expect = true;
	return 0;
}

/* Split off `=> RESULT`: *result is NULL when the line has none. */
static int split_result(struct parser *p, char **tok, unsigned *ntok,
			const char **result)
{
	*result = NULL;
	for (unsigned i = 0; i < *ntok; i++) {
		if (strncmp(tok[i], "=>", 2) != 0)
			continue;
		if (tok[i][2] != '\0')
			return fail(p, "bad token " TOK ": write => RESULT, with "
				    "a blank after =>", tok[i]);
		if (i == 0)
			return fail(p, "missing op before =>");
		if (i + 1 == *ntok)
			return fail(p, "missing result after =>");
		if (i + 2 < *ntok)
			return fail(p, "trailing garbage " TOK " after the result",
				    tok[i + 2]);
		*result = tok[i + 1];
		*ntok = i;
		return 0;
	}
	return 0;
}

/* Cut the comment off and split at blanks, in place. */
static int tokenize(struct parser *p, char *line, char **tok, unsigned *ntok)
{
	char *c = line;

	*ntok = 0;
	line[strcspn(line, "#")] = '\0';
	for (;;) {
		while (*c == ' ' || *c == '\t' || *c == '\r')
			c++;
		if (*c == '\0')
			return 0;
		if (*ntok == MAX_TOKENS)
			return fail(p, "trailing garbage " TOK, c);
		tok[(*ntok)++] = c;
		for (; *c && *c != ' ' && *c != '\t' && *c != '\r'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return fail(p, "bad character 0x%02x at column %u",
					    (unsigned)(unsigned char)*c,
					    (unsigned)(c - line + 1));
		if (*c)
			*c++ = '\0';
	}
}

static int parse_line(struct parser *p, char *line)
{
	char *tok[MAX_TOKENS];
	const char *result;
	const struct op_syntax *syn;
	struct script_op sop = { .line = p->line };
	unsigned ntok;

	if (tokenize(p, line, tok, &ntok) < 0)
		return -1;
	if (ntok == 0)
		return 0;
	if (split_result(p, tok, &ntok, &result) < 0)
		return -1;
	syn = op_syntax_by_name(tok[0]);
	if (!syn)
		return fail(p, "unknown op " TOK, tok[0]);
	sop.op.kind = syn->kind;
	if (parse_args(p, syn, tok, ntok, &sop) < 0)
		return -1;
	if (result && parse_expect(p, syn, result, &sop) < 0)
		return -1;
	if (op_names_pmap(syn->kind) &&
	    slot_resolve(&p->slots, p->s, p->s->n_ops, &sop, p->line, p->err,
			 p->errlen) < 0)
		return -1;
	if (script_append(p->s, &sop) < 0)
		return fail(p, "out of memory");
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
			return fail(p, "line longer than %u bytes", OPS_LINE_MAX);
		if (nul)
			return fail(p, "NUL byte at column %u",
				    (unsigned)(nul - c + 1));
		memcpy(line, c, n);
		line[n] = '\0';
		if (parse_line(p, line) < 0)
			return -1;
		c = nl ? nl + 1 : end;
	}
	return 0;
}

int script_parse_string(const char *name, const char *text, size_t len,
			const struct ops_limits *lim, struct script **out,
			char *err, size_t errlen)
{
	struct parser *p = calloc(1, sizeof(*p));
	int rc;

	*out = NULL;
	if (!name)
		name = "<script>";
	if (!p || !(p->s = script_new(name))) {
		free(p);
		return errorf(err, errlen, name, 0, "out of memory");
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

/* The whole file in memory; *len its size.  NULL and errno on failure. */
static char *read_file(FILE *f, size_t *len)
{
	size_t cap = 0, n;
	char *buf = NULL;

	*len = 0;
	do {
		if (*len == cap) {
			char *b = realloc(buf, cap = cap ? 2 * cap : 65536);

			if (!b) {
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = b;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	if (ferror(f)) {
		int e = errno;

		free(buf);
		errno = e ? e : EIO;
		return NULL;
	}
	return buf;
}

int script_parse_file(const char *path, const struct ops_limits *lim,
		      struct script **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	size_t len;
	char *text;
	int rc;

	*out = NULL;
	if (!f)
		return errorf(err, errlen, path, 0, "%s", strerror(errno));
	text = read_file(f, &len);
	if (!text) {
		int e = errno;

		fclose(f);
		return errorf(err, errlen, path, 0, "%s", strerror(e));
	}
	fclose(f);
	rc = script_parse_string(path, text, len, lim, out, err, errlen);
	free(text);
	return rc;
}
