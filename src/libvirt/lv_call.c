/* src/libvirt/lv_call.c - libvirt calls with a deadline: each in a thread
 * of its own (SIGINT and SIGTERM blocked there, so they reach the caller),
 * while the caller waits in 50 ms slices for the answer, the deadline or a
 * signal.  A call abandoned that way keeps its thread until libvirtd answers
 * or the process ends; it owns copies of its inputs, never the caller's.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "clock.h"
#include "lv_call.h"
#include "vm_impl.h"

#define SLICE_NS 50000000ull

struct lv_job {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs; /* the caller and the thread: the last one frees */
	bool done;
	enum lv_what what;
	char *uri, *xml, *name, *cmd; /* copies */
	struct lv_args a;
};

static const char *const names[] = {
    [LV_OPEN] = "virConnectOpen",
    [LV_CREATE] = "virDomainCreateXML",
    [LV_LOOKUP] = "virDomainLookupByName",
    [LV_DESTROY] = "virDomainDestroy",
    [LV_MONITOR] = "virDomainQemuMonitorCommand",
    [LV_CLOSE] = "virConnectClose",
};

const char *lv_call_name(enum lv_what what)
{
	return (unsigned)what < sizeof(names) / sizeof(names[0]) ? names[what] : "libvirt";
}

/* libvirt's last error of this thread, on one line (its XML errors span three) */
static void last_error(char *line, size_t len)
{
	const char *m = virGetLastErrorMessage();
	size_t n = 0;

	for (; m != NULL && *m != '\0' && n + 1 < len; m++)
		if (*m != '\n' || (n > 0 && line[n - 1] != ' '))
			line[n++] = *m == '\n' ? ' ' : *m;
	line[n] = '\0';
	if (n == 0)
		snprintf(line, len, "unknown libvirt error");
}

static void job_put(struct lv_job *j)
{
	bool last;

	pthread_mutex_lock(&j->mu);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->mu);
	if (!last)
		return;
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	free(j->uri);
	free(j->xml);
	free(j->name);
	free(j->cmd);
	free(j);
}

static void job_do(struct lv_job *j)
{
	struct lv_args *a = &j->a;
	bool ok = false;

	switch (j->what) {
	case LV_OPEN:
		ok = (a->conn_out = virConnectOpen(j->uri)) != NULL;
		break;
	case LV_CREATE:
		ok = (a->dom_out = virDomainCreateXML(a->conn, j->xml,
		                                      VIR_DOMAIN_START_AUTODESTROY)) != NULL;
		break;
	case LV_LOOKUP:
		ok = (a->dom_out = virDomainLookupByName(a->conn, j->name)) != NULL;
		break;
	case LV_DESTROY:
		ok = virDomainDestroy(a->dom) == 0;
		break;
	case LV_MONITOR:
		ok = virDomainQemuMonitorCommand(a->dom, j->cmd, &a->out,
		                                 VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP) == 0;
		break;
	case LV_CLOSE:
		ok = virConnectClose(a->conn) >= 0;
		break;
	}
	a->rc = ok ? 0 : -1;
	if (!ok)
		last_error(a->err, sizeof(a->err));
}

static void *job_thread(void *arg)
{
	struct lv_job *j = arg;

	job_do(j);
	pthread_mutex_lock(&j->mu);
	j->done = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	job_put(j);
	return NULL;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s != NULL ? strdup(s) : NULL;

	if (s != NULL && d == NULL)
		*oom = true;
	return d;
}

static struct lv_job *job_new(enum lv_what what, const struct lv_args *a)
{
	struct lv_job *j = calloc(1, sizeof(*j));
	pthread_condattr_t ca;
	bool oom = false;

	if (j == NULL)
		return NULL;
	j->what = what;
	j->refs = 2;
	j->a.conn = a->conn;
	j->a.dom = a->dom;
	j->uri = dup_or_null(a->uri, &oom);
	j->xml = dup_or_null(a->xml, &oom);
	j->name = dup_or_null(a->name, &oom);
	j->cmd = dup_or_null(a->cmd, &oom);
	pthread_mutex_init(&j->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (oom) {
		j->refs = 1;
		job_put(j);
		return NULL;
	}
	return j;
}

static int job_start(struct lv_job *j)
{
	sigset_t block, old;
	pthread_attr_t at;
	pthread_t t;
	int rc;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &block, &old); /* the thread inherits it */
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &at, job_thread, j);
	pthread_attr_destroy(&at);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Wait for the thread's answer until deadline_ns (0: none) or a signal. */
static enum lv_outcome job_wait(struct lv_job *j, uint64_t deadline_ns, bool interruptible)
{
	enum lv_outcome o = LV_DONE;

	pthread_mutex_lock(&j->mu);
	while (!j->done) {
		uint64_t now = now_ns(), until = now + SLICE_NS;
		struct timespec ts;

		if (interruptible && vm_interrupted) {
			o = LV_INTERRUPTED;
			break;
		}
		if (deadline_ns != 0 && now >= deadline_ns) {
			o = LV_STALLED;
			break;
		}
		if (deadline_ns != 0 && until > deadline_ns)
			until = deadline_ns;
		ts.tv_sec = (time_t)(until / 1000000000ull);
		ts.tv_nsec = (long)(until % 1000000000ull);
		pthread_cond_timedwait(&j->cv, &j->mu, &ts);
	}
	pthread_mutex_unlock(&j->mu);
	return o;
}

enum lv_outcome lv_call(enum lv_what what, struct lv_args *a, unsigned secs, bool interruptible)
{
	uint64_t deadline = secs != 0 ? now_ns() + (uint64_t)secs * 1000000000ull : 0;
	struct lv_job *j = job_new(what, a);
	enum lv_outcome o;

	if (j == NULL || job_start(j) != 0) {
		if (j != NULL) {
			j->refs = 1;
			job_put(j);
		}
		a->rc = -1;
		snprintf(a->err, sizeof(a->err), "%s: cannot start a thread for the call: %s",
		         lv_call_name(what), strerror(j == NULL ? ENOMEM : EAGAIN));
		return LV_DONE;
	}
	o = job_wait(j, deadline, interruptible);
	if (o == LV_DONE) {
		a->conn_out = j->a.conn_out;
		a->dom_out = j->a.dom_out;
		a->out = j->a.out;
		a->rc = j->a.rc;
		memcpy(a->err, j->a.err, sizeof(a->err));
	}
	job_put(j);
	return o;
}
