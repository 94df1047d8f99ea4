/* src/ops/ops_format.c - the text form of one op of the op language, both ways:
 * the op table, results, and a line parsed into / formatted from a script_op.
 *
 * Each op's arguments are a string of codes (optable.h) read by one parser
 * and one formatter, so adding an op kind adds nothing here.  Messages
 * name the token at fault; ops.c prefixes them with FILE:LINE.
 */
#include "ops.h"

#include <stdarg.h>
#include <string.h>

#define MAX_TOKENS    16                    /* more than any op takes: enter ... canfail => ok */
#define TOK           "%.40s"               /* how much of a token a message shows */
#define KERNEL_VA_MIN 0xffff800000000000ull /* first canonical kernel VA */

/* One entry per op kind, in enum pts_op_kind order: PTS_OP_TABLE (optable.h). */
#define OP_SYNTAX(kind, name, args, synopsis, results, note)                                       \
	{name, PTS_OP_##kind, args, name " " synopsis, results, note},
static const struct op_syntax op_table[] = {PTS_OP_TABLE(OP_SYNTAX)};
#undef OP_SYNTAX

#define OP_TABLE_LEN (sizeof(op_table) / sizeof(op_table[0]))
_Static_assert(OP_TABLE_LEN == PTS_OP_COUNT - 1, "one op_table entry per op kind");

const struct op_syntax *op_syntax_by_name(const char *name)
{
	for (size_t i = 0; i < OP_TABLE_LEN; i++)
		if (strcmp(op_table[i].name, name) == 0)
			return &op_table[i];
	return NULL;
}

const struct op_syntax *op_syntax_by_kind(uint32_t kind)
{
	if (kind == PTS_OP_NONE || kind >= PTS_OP_COUNT)
		return NULL;
	return &op_table[kind - 1];
}

const char *op_kind_name(uint32_t kind)
{
	const struct op_syntax *syn = op_syntax_by_kind(kind);

	return syn ? syn->name : "?";
}

bool op_names_pmap(uint32_t kind)
{
	const struct op_syntax *syn = op_syntax_by_kind(kind);

	return syn && strpbrk(syn->args, "CP") != NULL;
}

bool op_result_possible(const struct pts_op *op, uint32_t result)
{
	const struct op_syntax *syn = op_syntax_by_kind(op->kind);

	if (!syn || result >= PTS_RES_COUNT || !(syn->results & (1u << result)))
		return false;
	if (result == PTS_RES_ENOMEM)
		return (op->flags & PTS_OPF_CANFAIL) != 0;
	return true;
}

/* ---- results ------------------------------------------------------------ */

int result_format(uint32_t result, uint64_t value, char *buf, size_t len)
{
	const char *name = pts_result_name(result);

	if (result == PTS_RES_PAGE)
		return snprintf(buf, len, "%s%llu", name, (unsigned long long)value);
	if (name)
		return snprintf(buf, len, "%s", name);
	return snprintf(buf, len, "result%u", (unsigned)result);
}

/* ---- parsing one op --------------------------------------------------- */

struct op_parser {
	struct ops_limits lim;
	char *msg;
	size_t msglen;
};

static int parse_error(struct op_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int parse_error(struct op_parser *p, const char *fmt, ...)
{
	if (p->msglen) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(p->msg, p->msglen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

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
	const char *page = pts_result_name(PTS_RES_PAGE);

	*value = 0;
	if (strncmp(text, page, strlen(page)) == 0) {
		*result = PTS_RES_PAGE;
		return parse_decimal(text + strlen(page), value);
	}
	for (uint32_t r = 0; r < PTS_RES_COUNT; r++) {
		if (r != PTS_RES_PAGE && strcmp(text, pts_result_name(r)) == 0) {
			*result = r;
			return 0;
		}
	}
	return -1;
}

/* ---- arguments ---------------------------------------------------------- */

/* VA and END of user ranges; an END may be the user limit itself. */
static int parse_user_addr(struct op_parser *p, const char *tok, bool is_end, uint64_t *v)
{
	const char *what = is_end ? "END" : "VA";
	int rc = parse_hex(tok, true, v);

	if (rc == 1)
		return parse_error(p, "bad %s " TOK ": expected a hex address like 0x400000", what,
		                   tok);
	if (rc == 2)
		return parse_error(p, "bad %s " TOK ": out of range (more than 64 bits)", what,
		                   tok);
	if (*v > PTS_USER_MAX || (*v == PTS_USER_MAX && !is_end))
		return parse_error(p,
		                   "bad %s " TOK ": %s, not a user address (below "
		                   "0x%llx)",
		                   what, tok,
		                   *v >= KERNEL_VA_MIN ? "a kernel address" : "not canonical",
		                   (unsigned long long)PTS_USER_MAX);
	if (*v & (PTS_PAGE_SIZE - 1))
		return parse_error(p, "bad %s " TOK ": not page-aligned", what, tok);
	return 0;
}

/* k+OFF offsets into the kenter window; an END may be the window's end. */
static int parse_window(struct op_parser *p, const char *tok, bool is_end, uint64_t *v)
{
	uint64_t size = p->lim.kenter_pages * PTS_PAGE_SIZE;
	const char *what = is_end ? "kernel END" : "kernel offset";
	int rc = strncmp(tok, "k+", 2) == 0 ? parse_hex(tok + 2, false, v) : 1;

	if (rc == 1)
		return parse_error(p,
		                   "bad %s " TOK ": expected k+OFF with hex OFF "
		                   "like k+0x1000",
		                   what, tok);
	if (rc == 2 || *v > size || (*v == size && !is_end))
		return parse_error(p,
		                   "bad %s " TOK ": beyond the kenter window "
		                   "(%llu pages)",
		                   what, tok, (unsigned long long)p->lim.kenter_pages);
	if (*v & (PTS_PAGE_SIZE - 1))
		return parse_error(p, "bad %s " TOK ": not page-aligned", what, tok);
	return 0;
}

static int parse_page(struct op_parser *p, const char *tok, uint64_t *v)
{
	if (strncmp(tok, "pg", 2) != 0 || parse_decimal(tok + 2, v) < 0)
		return parse_error(p, "bad page " TOK ": expected pg<N>", tok);
	if (*v >= p->lim.arena_pages)
		return parse_error(p, "bad page " TOK ": beyond the arena (%llu pages)", tok,
		                   (unsigned long long)p->lim.arena_pages);
	return 0;
}

static int parse_prot(struct op_parser *p, const char *tok, bool for_page, uint32_t *prot)
{
	static const struct {
		const char *name;
		uint32_t prot;
		bool page;
	} t[] = {
	    {"r", PTS_PROT_READ, true},
	    {"rw", PTS_PROT_READ | PTS_PROT_WRITE, false},
	    {"rx", PTS_PROT_READ | PTS_PROT_EXEC, true},
	    {"rwx", PTS_PROT_READ | PTS_PROT_WRITE | PTS_PROT_EXEC, false},
	    {"none", 0, true},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(tok, t[i].name) == 0 && (for_page ? t[i].page : t[i].prot != 0)) {
			*prot = t[i].prot;
			return 0;
		}
	}
	return parse_error(p, "bad protection " TOK ": expected %s", tok,
	                   for_page ? "r, rx or none" : "r, rw, rx or rwx");
}

static int parse_pmap_name(struct op_parser *p, const char *tok, char *name)
{
	size_t n = strlen(tok);
	bool ok = n >= 1 && n <= OPS_NAME_MAX && tok[0] >= 'a' && tok[0] <= 'z';

	for (size_t i = 1; ok && i < n; i++)
		ok = (tok[i] >= 'a' && tok[i] <= 'z') || (tok[i] >= '0' && tok[i] <= '9') ||
		     tok[i] == '_';
	if (!ok)
		return parse_error(p, "bad pmap name " TOK ": expected [a-z][a-z0-9_]{0,15}", tok);
	memcpy(name, tok, n + 1);
	return 0;
}

static int parse_flag(struct op_parser *p, const char *tok, uint32_t *flags)
{
	uint32_t f;

	if (strcmp(tok, "wired") == 0)
		f = PTS_OPF_WIRED;
	else if (strcmp(tok, "canfail") == 0)
		f = PTS_OPF_CANFAIL;
	else
		return parse_error(p, "bad flag " TOK ": expected wired or canfail", tok);
	if (*flags & f)
		return parse_error(p, "duplicate flag %s", tok);
	*flags |= f;
	return 0;
}

/* END (E), or a kernel END (L): above the op's VA */
static int parse_end(struct op_parser *p, const char *tok, bool kernel, struct pts_op *op)
{
	if (kernel ? parse_window(p, tok, true, &op->end) < 0
	           : parse_user_addr(p, tok, true, &op->end) < 0)
		return -1;
	if (op->end > op->va)
		return 0;
	if (kernel)
		return parse_error(p, "bad kernel END " TOK ": not above k+0x%llx", tok,
		                   (unsigned long long)op->va);
	return parse_error(p, "bad END " TOK ": not above VA 0x%llx", tok,
	                   (unsigned long long)op->va);
}

/* the words: an access (A), `alloc` (a), a count (N) */
static int parse_word(struct op_parser *p, char code, const char *tok, struct pts_op *op)
{
	switch (code) {
	case 'A':
		if (strcmp(tok, "w") == 0)
			op->flags |= PTS_OPF_WRITE;
		else if (strcmp(tok, "r") != 0)
			return parse_error(p, "bad access " TOK ": expected r or w", tok);
		return 0;
	case 'a':
		if (strcmp(tok, "alloc") != 0)
			return parse_error(p, "bad word " TOK ": expected %s", tok,
			                   op_syntax_by_kind(op->kind)->usage);
		return 0;
	case 'N':
		if (parse_decimal(tok, &op->value) < 0 || op->value == 0)
			return parse_error(p, "bad count " TOK ": expected a decimal number >= 1",
			                   tok);
		return 0;
	default:
		return parse_error(p, "internal error: argument code %c", code);
	}
}

static int parse_arg(struct op_parser *p, char code, const char *tok, struct script_op *sop)
{
	struct pts_op *op = &sop->op;

	switch (code) {
	case 'C':
	case 'P':
		return parse_pmap_name(p, tok, sop->pmap_name);
	case 'V':
		return parse_user_addr(p, tok, false, &op->va);
	case 'G':
		return parse_page(p, tok, &op->page);
	case 'H':
		return parse_page(p, tok, &op->page2);
	case 'R':
		return parse_prot(p, tok, false, &op->prot);
	case 'Q':
		return parse_prot(p, tok, true, &op->prot);
	case 'K':
		return parse_window(p, tok, false, &op->va);
	case 'F':
		return parse_flag(p, tok, &op->flags);
	case 'E':
	case 'L':
		return parse_end(p, tok, code == 'L', op);
	default:
		return parse_word(p, code, tok, op);
	}
}

/* ---- lines -------------------------------------------------------------- */

static int parse_args(struct op_parser *p, const struct op_syntax *syn, char **tok, unsigned ntok,
                      struct script_op *sop)
{
	const char *code = syn->args;
	unsigned i, min = (unsigned)(strcspn(code, "[")), max;

	max = strchr(code, 'F') ? MAX_TOKENS : (unsigned)strlen(code) - (code[min] == '[');
	if (ntok - 1 < min)
		return parse_error(p, "too few arguments to %s (usage: %s)", syn->name, syn->usage);
	if (ntok - 1 > max)
		return parse_error(p, "trailing garbage " TOK " (usage: %s)", tok[max + 1],
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

/* "ok", "true or false", "ok, enomem, ... or pg<N>" */
static void describe_results(uint32_t mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (uint32_t r = 0; r < PTS_RES_COUNT && used < len; r++) {
		if (!(mask & (1u << r)))
			continue;
		mask &= ~(1u << r);
		used += (size_t)snprintf(buf + used, len - used, "%s%s%s",
		                         !used  ? ""
		                         : mask ? ", "
		                                : " or ",
		                         pts_result_name(r), r == PTS_RES_PAGE ? "<N>" : "");
	}
}

/* what a line may expect: what some op may give */
static uint32_t expectable_results(void)
{
	uint32_t mask = 0;

	for (size_t i = 0; i < OP_TABLE_LEN; i++)
		mask |= op_table[i].results;
	return mask;
}

static int parse_expect(struct op_parser *p, const struct op_syntax *syn, const char *tok,
                        struct script_op *sop)
{
	char allowed[96];

	if (result_parse(tok, &sop->expect, &sop->expect_value) < 0) {
		describe_results(expectable_results(), allowed, sizeof(allowed));
		return parse_error(p, "bad result " TOK ": expected %s", tok, allowed);
	}
	if (sop->expect == PTS_RES_PAGE && sop->expect_value >= p->lim.arena_pages)
		return parse_error(p, "bad result " TOK ": beyond the arena (%llu pages)", tok,
		                   (unsigned long long)p->lim.arena_pages);
	if (!op_result_possible(&sop->op, sop->expect)) {
		if (sop->expect == PTS_RES_ENOMEM && (syn->results & (1u << PTS_RES_ENOMEM)))
			return parse_error(p, "result " TOK " impossible for %s without canfail",
			                   tok, syn->name);
		describe_results(syn->results, allowed, sizeof(allowed));
		return parse_error(p, "result " TOK " impossible for %s (expected %s)", tok,
		                   syn->name, allowed);
	}
	sop->has_expect = true;
	return 0;
}

/* Split off `=> RESULT`: *result is NULL when the line has none. */
static int split_result(struct op_parser *p, char **tok, unsigned *ntok, const char **result)
{
	*result = NULL;
	for (unsigned i = 0; i < *ntok; i++) {
		if (strncmp(tok[i], "=>", 2) != 0)
			continue;
		if (tok[i][2] != '\0')
			return parse_error(p,
			                   "bad token " TOK ": write => RESULT, with "
			                   "a blank after =>",
			                   tok[i]);
		if (i == 0)
			return parse_error(p, "missing op before =>");
		if (i + 1 == *ntok)
			return parse_error(p, "missing result after =>");
		if (i + 2 < *ntok)
			return parse_error(p, "trailing garbage " TOK " after the result",
			                   tok[i + 2]);
		*result = tok[i + 1];
		*ntok = i;
		return 0;
	}
	return 0;
}

/* Cut the comment off and split at blanks, in place.  Returns the number of
 * tokens, of which the first MAX_TOKENS are stored, or -1. */
static int tokenize(struct op_parser *p, char *line, char **tok)
{
	char *c = line;
	int n = 0;

	line[strcspn(line, "#")] = '\0';
	for (;;) {
		while (*c == ' ' || *c == '\t' || *c == '\r')
			c++;
		if (*c == '\0')
			return n;
		if (n < MAX_TOKENS)
			tok[n] = c;
		n++;
		for (; *c && *c != ' ' && *c != '\t' && *c != '\r'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return parse_error(p, "bad character 0x%02x at column %u",
				                   (unsigned)(unsigned char)*c,
				                   (unsigned)(c - line + 1));
		if (*c)
			*c++ = '\0';
	}
}

/* `cpuN:` before the op names the CPU that runs it (none: cpu0).  The
 * prefix is taken off the tokens. */
static int parse_cpu_prefix(struct op_parser *p, char **tok, unsigned *ntok, uint32_t *cpu)
{
	size_t len = strlen(tok[0]);
	char digits[8];
	uint64_t n;

	if (strncmp(tok[0], "cpu", 3) != 0 || len < 4 || tok[0][len - 1] != ':')
		return 0;
	if (len - 4 >= sizeof digits)
		return parse_error(p, "bad CPU prefix " TOK " (expected cpu0: .. cpu%u:)", tok[0],
		                   PTS_MAX_CPUS - 1);
	memcpy(digits, tok[0] + 3, len - 4);
	digits[len - 4] = '\0';
	if (parse_decimal(digits, &n) < 0 || n >= PTS_MAX_CPUS)
		return parse_error(p, "bad CPU prefix " TOK " (expected cpu0: .. cpu%u:)", tok[0],
		                   PTS_MAX_CPUS - 1);
	if (*ntok < 2)
		return parse_error(p, "missing op after " TOK, tok[0]);
	if (p->lim.cpus != 0 && n >= p->lim.cpus) /* 0: not stated */
		return parse_error(
		    p,
		    "CPU prefix " TOK
		    " names a CPU the run does not have (%u CPU%s; --cpus %llu or more)",
		    tok[0], p->lim.cpus, p->lim.cpus == 1 ? "" : "s", (unsigned long long)n + 1);
	*cpu = (uint32_t)n;
	memmove(tok, tok + 1, (*ntok - 1) * sizeof *tok);
	(*ntok)--;
	return 0;
}

/* The op a line's tokens say: its name, its arguments, its `=> RESULT`. */
static int parse_tokens(struct op_parser *p, char **tok, unsigned ntok, struct script_op *out)
{
	const struct op_syntax *syn;
	const char *result;

	if (split_result(p, tok, &ntok, &result) < 0)
		return -1;
	if (parse_cpu_prefix(p, tok, &ntok, &out->op.cpu) < 0)
		return -1;
	syn = op_syntax_by_name(tok[0]);
	if (!syn)
		return parse_error(p, "unknown op " TOK, tok[0]);
	out->op.kind = syn->kind;
	if (parse_args(p, syn, tok, ntok, out) < 0)
		return -1;
	if (result && parse_expect(p, syn, result, out) < 0)
		return -1;
	return 0;
}

int script_op_parse(const char *text, const struct ops_limits *lim, struct script_op *out,
                    char *msg, size_t msglen)
{
	struct op_parser p = {.msg = msg, .msglen = msglen};
	char line[OPS_LINE_MAX + 1], *tok[MAX_TOKENS];
	int n;

	memset(out, 0, sizeof(*out));
	if (lim)
		p.lim = *lim;
	else
		ops_limits_default(&p.lim);
	if (strlen(text) > OPS_LINE_MAX)
		return parse_error(&p, "line longer than %u bytes", OPS_LINE_MAX);
	strcpy(line, text);
	n = tokenize(&p, line, tok);
	if (n <= 0)
		return n;
	if (parse_tokens(&p, tok, n < MAX_TOKENS ? (unsigned)n : MAX_TOKENS, out) < 0)
		return -1;
	if (n > MAX_TOKENS) /* cannot happen: no op takes MAX_TOKENS tokens */
		return parse_error(&p, "more than %d tokens", MAX_TOKENS);
	return 1;
}

/* ---- ops ---------------------------------------------------------------- */

struct out_buf {
	char *buf;
	size_t len;
	size_t used; /* as snprintf: what would have been written */
};

static void out_printf(struct out_buf *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void out_printf(struct out_buf *o, const char *fmt, ...)
{
	size_t room = o->used < o->len ? o->len - o->used : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->used : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->used += (size_t)n;
}

static const char *prot_text(uint32_t prot, bool none_ok)
{
	switch (prot) {
	case PTS_PROT_READ:
		return "r";
	case PTS_PROT_READ | PTS_PROT_WRITE:
		return "rw";
	case PTS_PROT_READ | PTS_PROT_EXEC:
		return "rx";
	case PTS_PROT_READ | PTS_PROT_WRITE | PTS_PROT_EXEC:
		return "rwx";
	case 0:
		return none_ok ? "none" : "?";
	default:
		return "?";
	}
}

/* the codes that name where: a pmap, its addresses, the kernel window, pages */
/* the kernel window's addresses (K, L) and pages (G, H) */
static void format_page(struct out_buf *o, char code, const struct pts_op *op)
{
	unsigned long long end = op->end;

	switch (code) {
	case 'K':
		out_printf(o, " k+0x%llx", (unsigned long long)op->va);
		break;
	case 'L':
		if (end)
			out_printf(o, " k+0x%llx", end);
		break;
	case 'G':
		out_printf(o, " pg%llu", (unsigned long long)op->page);
		break;
	case 'H':
		out_printf(o, " pg%llu", (unsigned long long)op->page2);
		break;
	default:
		break;
	}
}

static void format_where(struct out_buf *o, char code, const struct script_op *sop)
{
	const struct pts_op *op = &sop->op;
	unsigned long long end = op->end;

	switch (code) {
	case 'C':
	case 'P':
		if (sop->pmap_name[0])
			out_printf(o, " %s", sop->pmap_name);
		else
			out_printf(o, " p%u", (unsigned)op->pmap);
		break;
	case 'V':
		out_printf(o, " 0x%llx", (unsigned long long)op->va);
		break;
	case 'E':
		if (end)
			out_printf(o, " 0x%llx", end);
		break;
	case 'K':
	case 'L':
	case 'G':
	case 'H':
		format_page(o, code, op);
		break;
	default:
		break;
	}
}

/* one argument's text, by its code (PTS_OP_TABLE) */
static void format_arg(struct out_buf *o, char code, const struct script_op *sop)
{
	const struct pts_op *op = &sop->op;

	switch (code) {
	case 'R':
		out_printf(o, " %s", prot_text(op->prot, false));
		break;
	case 'Q':
		out_printf(o, " %s", prot_text(op->prot, true));
		break;
	case 'A':
		out_printf(o, " %s", op->flags & PTS_OPF_WRITE ? "w" : "r");
		break;
	case 'a':
		out_printf(o, " alloc");
		break;
	case 'N':
		out_printf(o, " %llu", (unsigned long long)op->value);
		break;
	case 'F':
		if (op->flags & PTS_OPF_WIRED)
			out_printf(o, " wired");
		if (op->flags & PTS_OPF_CANFAIL)
			out_printf(o, " canfail");
		break;
	default:
		format_where(o, code, sop);
		break;
	}
}

int script_op_format(const struct script_op *sop, char *buf, size_t len)
{
	const struct op_syntax *syn = op_syntax_by_kind(sop->op.kind);
	struct out_buf o = {buf, len, 0};

	if (len)
		buf[0] = '\0';
	if (!syn) {
		out_printf(&o, "# unknown op kind %u", (unsigned)sop->op.kind);
		return (int)o.used;
	}
	if (sop->op.cpu != 0)
		out_printf(&o, "cpu%u: ", (unsigned)sop->op.cpu);
	out_printf(&o, "%s", syn->name);
	for (const char *c = syn->args; *c; c++)
		format_arg(&o, *c, sop);
	return (int)o.used;
}
