/* src/ops_format.c - the op table of the op language and the canonical text
 * form of ops, results and whole scripts (the inverse of src/ops.c).
 */
#include "ops.h"

#include <stdarg.h>
#include <string.h>

#define RES(r) (1u << (r))

/* One entry per op kind, in enum pts_op_kind order.  Argument codes: ops.h. */
static const struct op_syntax op_table[] = {
	{ "create", PTS_OP_CREATE, "P", "create P", RES(PTS_RES_OK) },
	{ "destroy", PTS_OP_DESTROY, "P", "destroy P", RES(PTS_RES_OK) },
	{ "activate", PTS_OP_ACTIVATE, "P", "activate P", RES(PTS_RES_OK) },
	{ "enter", PTS_OP_ENTER, "PVGR[F",
	  "enter P VA PG PROT [wired] [canfail]",
	  RES(PTS_RES_OK) | RES(PTS_RES_ENOMEM) },
	{ "remove", PTS_OP_REMOVE, "PV[E", "remove P VA [END]", RES(PTS_RES_OK) },
	{ "protect", PTS_OP_PROTECT, "PVER", "protect P VA END PROT",
	  RES(PTS_RES_OK) },
	{ "unwire", PTS_OP_UNWIRE, "PV", "unwire P VA", RES(PTS_RES_OK) },
	{ "extract", PTS_OP_EXTRACT, "PV", "extract P VA",
	  RES(PTS_RES_PAGE) | RES(PTS_RES_NONE) },
	{ "page_protect", PTS_OP_PAGE_PROTECT, "GQ", "page_protect PG r|rx|none",
	  RES(PTS_RES_OK) },
	{ "clear_modify", PTS_OP_CLEAR_MODIFY, "G", "clear_modify PG",
	  RES(PTS_RES_OK) },
	{ "clear_reference", PTS_OP_CLEAR_REFERENCE, "G", "clear_reference PG",
	  RES(PTS_RES_OK) },
	{ "is_modified", PTS_OP_IS_MODIFIED, "G", "is_modified PG",
	  RES(PTS_RES_TRUE) | RES(PTS_RES_FALSE) },
	{ "is_referenced", PTS_OP_IS_REFERENCED, "G", "is_referenced PG",
	  RES(PTS_RES_TRUE) | RES(PTS_RES_FALSE) },
	{ "touch", PTS_OP_TOUCH, "PVA", "touch P VA r|w",
	  RES(PTS_RES_OK) | RES(PTS_RES_FAULT) },
	{ "kenter", PTS_OP_KENTER, "KGR", "kenter k+OFF PG PROT",
	  RES(PTS_RES_OK) },
	{ "kremove", PTS_OP_KREMOVE, "K[L", "kremove k+OFF [k+END]",
	  RES(PTS_RES_OK) },
	{ "zero", PTS_OP_ZERO, "G", "zero PG", RES(PTS_RES_OK) },
	{ "copy", PTS_OP_COPY, "GH", "copy PG PG", RES(PTS_RES_OK) },
	{ "collect", PTS_OP_COLLECT, "P", "collect P", RES(PTS_RES_OK) },
	{ "fail", PTS_OP_FAIL_ALLOC, "aN", "fail alloc N", RES(PTS_RES_OK) },
};

#define OP_TABLE_LEN (sizeof(op_table) / sizeof(op_table[0]))
_Static_assert(OP_TABLE_LEN == PTS_OP_COUNT - 1, "one op_table entry per op kind");

static const char *const result_names[PTS_RES_COUNT] = {
	[PTS_RES_PENDING] = "pending", [PTS_RES_OK] = "ok",
	[PTS_RES_ENOMEM] = "enomem",   [PTS_RES_TRUE] = "true",
	[PTS_RES_FALSE] = "false",     [PTS_RES_FAULT] = "fault",
	[PTS_RES_NONE] = "none",       [PTS_RES_PAGE] = "pg",
	[PTS_RES_EINVAL] = "einval",
};

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

	return syn && strchr(syn->args, 'P') != NULL;
}

bool op_result_possible(const struct pts_op *op, uint32_t result)
{
	const struct op_syntax *syn = op_syntax_by_kind(op->kind);

	if (!syn || result >= PTS_RES_COUNT || !(syn->results & RES(result)))
		return false;
	if (result == PTS_RES_ENOMEM)
		return (op->flags & PTS_OPF_CANFAIL) != 0;
	return true;
}

/* ---- results ------------------------------------------------------------ */

int result_format(uint32_t result, uint64_t value, char *buf, size_t len)
{
	if (result == PTS_RES_PAGE)
		return snprintf(buf, len, "pg%llu", (unsigned long long)value);
	if (result < PTS_RES_COUNT)
		return snprintf(buf, len, "%s", result_names[result]);
	return snprintf(buf, len, "result%u", (unsigned)result);
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

static void format_arg(struct out_buf *o, char code, const struct script_op *sop)
{
	const struct pts_op *op = &sop->op;
	unsigned long long end = op->end;

	switch (code) {
	case 'P':
		if (sop->pmap_name[0])
			out_printf(o, " %s", sop->pmap_name);
		else
			out_printf(o, " p%u", (unsigned)op->pmap);
		break;
	case 'V': out_printf(o, " 0x%llx", (unsigned long long)op->va); break;
	case 'E': if (end) out_printf(o, " 0x%llx", end); break;
	case 'K': out_printf(o, " k+0x%llx", (unsigned long long)op->va); break;
	case 'L': if (end) out_printf(o, " k+0x%llx", end); break;
	case 'G': out_printf(o, " pg%llu", (unsigned long long)op->page); break;
	case 'H': out_printf(o, " pg%llu", (unsigned long long)op->page2); break;
	case 'R': out_printf(o, " %s", prot_text(op->prot, false)); break;
	case 'Q': out_printf(o, " %s", prot_text(op->prot, true)); break;
	case 'A':
		out_printf(o, " %s", op->flags & PTS_OPF_WRITE ? "w" : "r");
		break;
	case 'a': out_printf(o, " alloc"); break;
	case 'N': out_printf(o, " %llu", (unsigned long long)op->value); break;
	case 'F':
		if (op->flags & PTS_OPF_WIRED)
			out_printf(o, " wired");
		if (op->flags & PTS_OPF_CANFAIL)
			out_printf(o, " canfail");
		break;
	default:
		break;
	}
}

int script_op_format(const struct script_op *sop, char *buf, size_t len)
{
	const struct op_syntax *syn = op_syntax_by_kind(sop->op.kind);
	struct out_buf o = { buf, len, 0 };

	if (len)
		buf[0] = '\0';
	if (!syn) {
		out_printf(&o, "# unknown op kind %u", (unsigned)sop->op.kind);
		return (int)o.used;
	}
	out_printf(&o, "%s", syn->name);
	for (const char *c = syn->args; *c; c++)
		format_arg(&o, *c, sop);
	return (int)o.used;
}

int script_write(FILE *f, const struct script *s, size_t n_ops,
		 bool with_results)
{
	char text[OPS_TEXT_MAX], res[32];

	if (n_ops > s->n_ops)
		n_ops = s->n_ops;
	for (size_t i = 0; i < n_ops; i++) {
		const struct script_op *sop = &s->ops[i];

		script_op_format(sop, text, sizeof(text));
		if (with_results && sop->has_expect) {
			result_format(sop->expect, sop->expect_value, res,
				      sizeof(res));
			fprintf(f, "%s => %s\n", text, res);
		} else {
			fprintf(f, "%s\n", text);
		}
	}
	return ferror(f) ? -1 : 0;
}
