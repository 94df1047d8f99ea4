/* src/ops/ops_group.c - groups in the op language: ops in flight together,
 * written as a `par {` ... `} [schedule N ...]` block (docs/op-language.md).
 *
 * A block's ops run at once, each on its own CPU; the schedule after its `}`
 * names the CPU let go at each step (docs/smp.md, "Groups"), or is `free`:
 * no steps, the CPUs race (docs/smp.md, "Free-running groups").  The parser
 * (src/ops/ops.c) hands the block's lines here; the ops it makes carry the
 * block's number in script_op.group and its schedule on the first.
 */
#include "errf.h"
#include "ops.h"
#include "ops_group.h"

#include <stdlib.h>
#include <string.h>

bool op_kind_groupable(uint32_t kind)
{
	return kind < 32 && (PTS_GROUP_KINDS & (1u << kind));
}

size_t script_group_len(const struct script *s, size_t i)
{
	size_t n = 1;

	if (i >= s->n_ops || s->ops[i].group == 0)
		return i < s->n_ops ? 1 : 0;
	while (i + n < s->n_ops && s->ops[i + n].group == s->ops[i].group)
		n++;
	return n;
}

bool script_has_free_group(const struct script *s)
{
	for (size_t i = 0; i < s->n_ops; i++)
		if (s->ops[i].free_run)
			return true;
	return false;
}

int script_group_close_format(const struct script *s, size_t first, char *buf, size_t len)
{
	size_t n = script_group_len(s, first), used;
	const struct script_op *with = NULL;

	for (size_t i = first; i < first + n && with == NULL; i++)
		if (s->ops[i].has_schedule)
			with = &s->ops[i];
	used = (size_t)snprintf(buf, len, "}%s%s", with ? " schedule" : "",
	                        with && with->free_run ? " free" : "");
	for (unsigned k = 0; with && k < with->nsteps; k++)
		used +=
		    (size_t)snprintf(buf + (used < len ? used : len), used < len ? len - used : 0,
		                     " %u", (unsigned)with->steps[k]);
	return (int)used;
}

/* the words of a `par {` or `}` line, comment cut off: their number */
static unsigned words(char *line, char **w, unsigned max)
{
	unsigned n = 0;
	char *save = NULL;

	line[strcspn(line, "#")] = '\0';
	for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save))
		if (n++ < max)
			w[n - 1] = t;
	return n;
}

/* `} schedule N N ...`: the steps into the group's first op */
static int parse_schedule(struct group_parse *g, struct script *s, char **w, unsigned n,
                          const struct ops_limits *lim, struct group_error *e)
{
	struct script_op *first = &s->ops[g->first];
	uint32_t cpus = 0;

	for (size_t i = g->first; i < s->n_ops; i++)
		cpus |= 1u << s->ops[i].op.cpu;
	if (n == 3 && strcmp(w[2], "free") == 0) {
		first->has_schedule = first->free_run = true;
		return 0;
	}
	if (n - 2 > OPS_SCHED_STEPS)
		return errf(e->err, e->errlen, s->file, e->line,
		            "schedule of %u steps (at most %u)", n - 2, OPS_SCHED_STEPS);
	for (unsigned k = 2; k < n; k++) {
		char *end;
		unsigned long c = strtoul(w[k], &end, 10);
		if (*end != '\0' || w[k][0] < '0' || w[k][0] > '9' || c >= PTS_MAX_CPUS ||
		    (lim->cpus && c >= lim->cpus))
			return errf(
			    e->err, e->errlen, s->file, e->line,
			    "bad schedule step '%.20s' (a CPU number, 0 to %u; or free alone)",
			    w[k], (lim->cpus ? lim->cpus : PTS_MAX_CPUS) - 1);
		if (!(cpus & (1u << c)))
			return errf(e->err, e->errlen, s->file, e->line,
			            "schedule step %u names cpu%lu, which runs no op of the block",
			            k - 1, c);
		first->steps[k - 2] = (uint8_t)c;
	}
	first->has_schedule = true;
	first->nsteps = (uint8_t)(n - 2);
	return 0;
}

static int close_group(struct group_parse *g, struct script *s, char **w, unsigned n,
                       const struct ops_limits *lim, struct group_error *e)
{
	if (!g->open)
		return errf(e->err, e->errlen, s->file, e->line, "'}' closes no par block");
	if (s->n_ops - g->first < 2)
		return errf(e->err, e->errlen, s->file, e->line,
		            "the par block opened at line %u has %zu op%s (it needs two or more)",
		            g->line, s->n_ops - g->first, s->n_ops - g->first == 1 ? "" : "s");
	g->open = false;
	if (n == 1)
		return 1;
	if (strcmp(w[1], "schedule") != 0)
		return errf(
		    e->err, e->errlen, s->file, e->line,
		    "unexpected '%.20s' after '}' (expected: schedule N ... or schedule free)",
		    w[1]);
	return parse_schedule(g, s, w, n, lim, e) < 0 ? -1 : 1;
}

int group_line(struct group_parse *g, struct script *s, const char *text,
               const struct ops_limits *lim, struct group_error *e)
{
	char line[OPS_LINE_MAX + 1], *w[OPS_SCHED_STEPS + 3];
	unsigned n;

	snprintf(line, sizeof line, "%s", text);
	n = words(line, w, OPS_SCHED_STEPS + 3);
	if (n == 0 || (strcmp(w[0], "par") != 0 && strcmp(w[0], "}") != 0))
		return 0;
	if (w[0][0] == '}')
		return close_group(g, s, w, n, lim, e);
	if (n != 2 || strcmp(w[1], "{") != 0)
		return errf(e->err, e->errlen, s->file, e->line, "expected 'par {'");
	if (g->open)
		return errf(e->err, e->errlen, s->file, e->line,
		            "par block inside the par block opened at line %u", g->line);
	g->open = true;
	g->line = e->line;
	g->first = s->n_ops;
	g->number++;
	return 1;
}

int group_add(struct group_parse *g, const struct script *s, struct script_op *sop,
              struct group_error *e)
{
	if (!g->open)
		return 0;
	if (!op_kind_groupable(sop->op.kind))
		return errf(
		    e->err, e->errlen, s->file, e->line,
		    "%s cannot run in a par block (activate, enter, remove, protect, unwire, "
		    "extract, page_protect, clear_*, is_*, touch can)",
		    op_kind_name(sop->op.kind));
	if (s->n_ops - g->first >= PTS_GROUP_MAX)
		return errf(e->err, e->errlen, s->file, e->line,
		            "more than %u ops in the par block opened at line %u", PTS_GROUP_MAX,
		            g->line);
	for (size_t i = g->first; i < s->n_ops; i++)
		if (s->ops[i].op.cpu == sop->op.cpu)
			return errf(
			    e->err, e->errlen, s->file, e->line,
			    "cpu%u runs two ops of the par block opened at line %u (line %u)",
			    (unsigned)sop->op.cpu, g->line, s->ops[i].line);
	sop->group = g->number;
	return 0;
}

int group_end(const struct group_parse *g, const struct script *s, char *err, size_t errlen)
{
	if (g->open)
		return errf(err, errlen, s->file, g->line, "par block not closed ('}' missing)");
	return 0;
}
