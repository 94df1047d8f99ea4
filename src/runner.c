/* src/runner.c - one script, one fresh guest, the first finding. */
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static void keep_console(struct session *s, char **console, size_t *len)
{
	if (console == NULL)
		return;
	*len = s->vm.cons.tail_len;
	*console = malloc(*len + 1);
	if (*console != NULL) {
		memcpy(*console, s->vm.cons.tail, *len);
		(*console)[*len] = '\0';
	} else {
		*len = 0;
	}
}

static bool expectation_met(const struct script_op *sop)
{
	if (!sop->has_expect)
		return true;
	if (sop->op.result != sop->expect)
		return false;
	return sop->expect != PTS_RES_PAGE || sop->op.value == sop->expect_value;
}

enum run_outcome run_script(const struct session_config *cfg, struct script *sc,
			    bool check_expect, struct finding *f, char **console, size_t *console_len,
			    char *err, size_t errlen)
{
	struct session s;
	enum run_outcome out = RUN_CLEAN;
	int rc;

	if (console != NULL)
		*console = NULL;
	rc = session_boot(&s, cfg);
	if (rc != 0) {
		snprintf(err, errlen, "%s", s.err);
		if (rc == EXIT_FINDING) {
			finding_from_death(f, &s, 0, NULL);
			out = RUN_FINDING;
		} else {
			out = rc == EXIT_USAGE ? RUN_BAD_IMAGE : RUN_ERROR;
		}
		goto done;
	}
	for (size_t i = 0; i < sc->n_ops; i++) {
		struct script_op *sop = &sc->ops[i];
		enum session_status st = session_op(&s, sop);

		if (st == SESSION_VIOLATION) {
			finding_from_violation(f, session_violation(&s, 0));
			out = RUN_FINDING;
			goto done;
		}
		if (st == SESSION_GUEST_DIED || st == SESSION_EXITED) {
			finding_from_death(f, &s, i, sop);
			out = RUN_FINDING;
			goto done;
		}
		if (st == SESSION_ERROR || st == SESSION_INTERRUPTED) {
			snprintf(err, errlen, "%s", s.err);
			out = RUN_ERROR;
			goto done;
		}
		if (check_expect && !expectation_met(sop)) {
			finding_from_mismatch(f, i, sop);
			out = RUN_FINDING;
			goto done;
		}
	}
	if (session_finish(&s) != SESSION_EXITED || s.vm.exit_status != 0) {
		finding_from_death(f, &s, sc->n_ops > 0 ? sc->n_ops - 1 : 0,
				   sc->n_ops > 0 ? &sc->ops[sc->n_ops - 1] : NULL);
		out = RUN_FINDING;
	}
done:
	keep_console(&s, console, console_len);
	session_destroy(&s);
	return out;
}
