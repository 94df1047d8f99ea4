/* src/session/run.c - the one loop over a script's ops: each op through the
 * ring and the monitor (step.c), what became of it mapped once to an
 * outcome, and the outcome handed to the caller's sink.  run, replay,
 * minimize, fuzz, dump and bench differ in their policy and their sink.
 */
#include <stdio.h>
#include <string.h>

#include "session_impl.h"
#include "util.h"

/* How the guest died, copied out of the VM now (registers: where asked). */
static void death_record(struct session *s, struct death *d, bool regs)
{
	FILE *f;

	d->event = vm_event(s->vm);
	d->exit_status = vm_exit_status(s->vm);
	d->panic = *vm_panic(s->vm);
	if (s->err[0] != '\0') /* escaped already (session_fail) */
		snprintf(d->error, sizeof(d->error), "%s", s->err);
	else
		text_safe(d->error, sizeof(d->error), vm_error(s->vm));
	d->ninflight = s->ninflight;
	memcpy(d->inflight, s->inflight, sizeof(d->inflight));
	d->regs[0] = '\0';
	if (!regs || (f = fmemopen(d->regs, sizeof(d->regs), "w")) == NULL)
		return;
	setvbuf(f, NULL, _IONBF, 0);
	vm_dump_regs(s->vm, f);
	fclose(f);
	d->regs[sizeof(d->regs) - 1] = '\0';
}

static void outcome_init(struct session *s, struct outcome *o, enum outcome_kind kind)
{
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->death.event = vm_event(s->vm);
	o->console_len = vm_console_tail(s->vm, o->console, sizeof(o->console));
}

static void outcome_of_op(struct session *s, struct outcome *o, enum outcome_kind kind, size_t i,
                          const struct script_op *sop)
{
	outcome_init(s, o, kind);
	o->op_index = i;
	o->cpu = sop->op.cpu;
	o->op = *sop;
	snprintf(o->op_text, sizeof(o->op_text), "%s", session_op_text(s, sop));
}

struct outcome session_last(struct session *s)
{
	struct outcome o;

	outcome_init(s, &o, OUTCOME_DEATH);
	o.boot = true;
	snprintf(o.op_text, sizeof(o.op_text), "(boot)");
	death_record(s, &o.death, vm_event(s->vm) != VM_EV_EXIT);
	return o;
}

/* A finding for the sink: true when the run ends with it. */
static bool deliver(const struct run_sink *k, const struct outcome *o)
{
	return k->finding == NULL || k->finding(k->ctx, o);
}

/* The monitor's violations of op i: true when the run ends with them. */
static bool violations(struct session *s, size_t i, const struct script_op *sop,
                       const struct run_policy *p, const struct run_sink *k, struct outcome *o)
{
	size_t n = p->every_violation ? session_nviolations(s) : 1;

	for (size_t v = 0; v < n; v++) {
		outcome_of_op(s, o, OUTCOME_VIOLATION, i, sop);
		o->violation = *session_violation(s, v);
		if (deliver(k, o))
			return true;
	}
	return !p->keep_going;
}

static void tell_op(struct session *s, const struct run_policy *p, const struct run_sink *k,
                    size_t i, const struct script_op *sop, enum session_status st)
{
	struct op_step step = {
	    .index = i,
	    .cpu = sop->op.cpu,
	    .op = sop,
	    .status = st,
	    .check_ns = s->last_check_ns,
	};

	if (k->op == NULL)
		return;
	if (p->op_text)
		step.text = session_op_text(s, sop);
	k->op(k->ctx, &step);
}

/* What became of op i, as the policy and the sink take it: true when the
 * run ends here, with *o. */
static bool after_op(struct session *s, size_t i, const struct script_op *sop,
                     enum session_status st, const struct run_policy *p, const struct run_sink *k,
                     struct outcome *o)
{
	switch (st) {
	case SESSION_ERROR:
	case SESSION_INTERRUPTED:
		outcome_of_op(s, o, st == SESSION_ERROR ? OUTCOME_ERROR : OUTCOME_INTERRUPTED, i,
		              sop);
		snprintf(o->death.error, sizeof(o->death.error), "%s", s->err);
		return true;
	case SESSION_GUEST_DIED:
	case SESSION_EXITED:
		outcome_of_op(s, o, OUTCOME_DEATH, i, sop);
		death_record(s, &o->death, st == SESSION_GUEST_DIED);
		deliver(k, o);
		return true;
	case SESSION_VIOLATION:
		if (violations(s, i, sop, p, k, o))
			return true;
		break;
	case SESSION_OK:
		break;
	}
	if (!p->check_expect || script_op_expect_met(sop))
		return false;
	outcome_of_op(s, o, OUTCOME_MISMATCH, i, sop);
	return deliver(k, o) || !p->keep_going;
}

/* A group ops[i..i+n) at once: told op by op; what became of it is the
 * last op's (its index, its text), after the others' `=> RESULT`s. */
static bool run_group(struct session *s, struct script *sc, size_t i, size_t n,
                      const struct run_policy *p, const struct run_sink *k, struct outcome *o)
{
	enum session_status st = session_group(s, &sc->ops[i], n);

	for (size_t j = i; j < i + n; j++) {
		s->op_text_valid = false; /* each op's own text */
		tell_op(s, p, k, j, &sc->ops[j], st);
	}
	for (size_t j = i; st == SESSION_OK && p->check_expect && j + 1 < i + n; j++) {
		if (script_op_expect_met(&sc->ops[j]))
			continue;
		outcome_of_op(s, o, OUTCOME_MISMATCH, j, &sc->ops[j]);
		if (deliver(k, o) || !p->keep_going)
			return true;
	}
	return after_op(s, i + n - 1, &sc->ops[i + n - 1], st, p, k, o);
}

/* The next op after i, if it is one the guest may start on at once */
static struct script_op *next_single(struct script *sc, size_t i)
{
	return i + 1 < sc->n_ops && sc->ops[i + 1].group == 0 ? &sc->ops[i + 1] : NULL;
}

struct outcome session_run(struct session *s, struct script *sc, size_t from,
                           const struct run_policy *p, const struct run_sink *k)
{
	struct outcome o;

	for (size_t i = from;; i++) {
		struct script_op *sop;
		enum session_status st;
		size_t n;
		if (i == sc->n_ops && (k->feed == NULL || k->feed(k->ctx, sc) != 0))
			break;
		sop = &sc->ops[i];
		if ((n = script_group_len(sc, i)) > 1) {
			if (run_group(s, sc, i, n, p, k, &o))
				return o;
			i += n - 1;
			continue;
		}
		if (p->lookahead)
			session_set_next(s, next_single(sc, i));
		st = session_op(s, sop);
		tell_op(s, p, k, i, sop, st);
		if (after_op(s, i, sop, st, p, k, &o))
			return o;
	}
	outcome_init(s, &o, OUTCOME_CLEAN);
	return o;
}
