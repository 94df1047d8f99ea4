/* src/report/report_sched.c - where a finding made at a group's end stands
 * in its schedule: the group's ops and the steps it ran with (docs/smp.md,
 * "Groups"), for report.txt and report.json.
 */
#include "report.h"

/* the group op i is in: its first op and size; false when i is in none */
static bool group_at(const struct script *sc, uint64_t i, size_t *first, size_t *n)
{
	if (i >= sc->n_ops || sc->ops[i].group == 0)
		return false;
	*first = (size_t)i;
	while (*first > 0 && sc->ops[*first - 1].group == sc->ops[i].group)
		(*first)--;
	*n = script_group_len(sc, *first);
	return *n > 1;
}

void report_schedule_text(FILE *out, const struct script *sc, uint64_t op_index)
{
	size_t first, n;

	if (!group_at(sc, op_index, &first, &n))
		return;
	const struct script_op *g = &sc->ops[first];
	if (g->free_run) {
		fprintf(out,
		        "schedule:  group #%zu..#%zu, checked at its end; it ran free (its CPUs "
		        "in parallel, no steps: it replays only by chance)\n",
		        first, first + n - 1);
		return;
	}
	fprintf(out, "schedule:  group #%zu..#%zu, checked at its end, after step %u:", first,
	        first + n - 1, (unsigned)g->nsteps);
	for (unsigned k = 0; k < g->nsteps; k++)
		fprintf(out, " %u", (unsigned)g->steps[k]);
	fprintf(out, "%s\n", g->has_schedule ? "" : " (none recorded)");
}

json_t *report_schedule_json(const struct script *sc, uint64_t op_index)
{
	size_t first, n;
	json_t *steps;

	if (!group_at(sc, op_index, &first, &n) || (steps = json_array()) == NULL)
		return NULL;
	for (unsigned k = 0; k < sc->ops[first].nsteps; k++)
		json_array_append_new(steps, json_integer(sc->ops[first].steps[k]));
	return json_pack("{s:I, s:I, s:I, s:o, s:b}", "group_first", (json_int_t)first,
	                 "group_last", (json_int_t)(first + n - 1), "step",
	                 (json_int_t)sc->ops[first].nsteps, "steps", steps, "free",
	                 sc->ops[first].free_run);
}
