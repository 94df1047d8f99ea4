/* src/qemu/qmp.c - a small QMP client over the socketpair QEMU inherits as
 * its control monitor: the capabilities handshake, "cont", and HMP's "info
 * registers" for register dumps, halt detection and the CR3 cross-check.
 *
 * QEMU is as untrusted as the guest it runs: every reply is bounded in size
 * and time, parsed by jansson, and a reply we cannot use is an error, never
 * a hang.  Every command carries an id and only the reply with that id
 * answers it: a stopped QEMU answers late, and a late reply must never be
 * read as the answer to a later command (it was: a stale "info registers"
 * gave a false CR3 finding).  Whatever goes wrong here is QEMU's side, and
 * the messages say so.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "qemu_vm.h"

#define QMP_WAIT_MIN_MS  3000u  /* a reply may always take this long */
#define QMP_WAIT_NONE_MS 30000u /* ... and this long without a watchdog */
#define QMP_LINE_MAX     (64u << 10)

unsigned qmp_wait_for(unsigned timeout_s)
{
	if (timeout_s == 0)
		return QMP_WAIT_NONE_MS;
	/* QEMU gets as long to answer as the guest gets to make progress */
	return timeout_s > QMP_WAIT_MIN_MS / 1000 ? timeout_s * 1000u : QMP_WAIT_MIN_MS;
}

void qmp_reset(struct qemu_vm *q)
{
	q->qmp_ready = q->qmp_greeted = false;
	q->qmp_len = 0;
	q->qmp_caps_id = 0;
	q->qmp_shutdown[0] = '\0';
	q->qmp_shutdown_guest = false;
}

/* What QEMU's process is doing, for a message: "; QEMU (pid N) is stopped" */
static void qemu_state_note(const struct qemu_vm *q, char *buf, size_t len)
{
	char path[64], stat[512], *rp;
	FILE *f;

	buf[0] = '\0';
	if (q->pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)q->pid);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	if (fgets(stat, sizeof(stat), f) != NULL && (rp = strrchr(stat, ')')) != NULL &&
	    rp[1] == ' ') {
		char st = rp[2];
		snprintf(buf, len, "; QEMU (pid %d) %s", (int)q->pid,
		         st == 'T' || st == 't' ? "is stopped (SIGSTOP?)"
		         : st == 'Z'            ? "has exited"
		         : st == 'D'            ? "is blocked in the kernel (disk?)"
		                                : "runs but does not answer");
	}
	fclose(f);
}

static void qmp_timeout_error(const struct qemu_vm *q, char *err, size_t errlen)
{
	char note[96];

	qemu_state_note(q, note, sizeof(note));
	snprintf(err, errlen, "QMP: no reply from QEMU within %u ms%s", q->qmp_wait_ms, note);
}

/* A SHUTDOWN event says why QEMU is about to exit: keep it for qemu_gone. */
static void qmp_note_event(struct qemu_vm *q, json_t *ev)
{
	json_t *data = json_object_get(ev, "data");
	json_t *reason = json_object_get(data, "reason");

	if (!json_is_string(json_object_get(ev, "event")) ||
	    strcmp(json_string_value(json_object_get(ev, "event")), "SHUTDOWN") != 0)
		return;
	snprintf(q->qmp_shutdown, sizeof(q->qmp_shutdown), "%s",
	         json_is_string(reason) ? json_string_value(reason) : "unknown");
	q->qmp_shutdown_guest = json_is_true(json_object_get(data, "guest"));
}

/* The first whole line buffered, as a JSON object: 1 with *out (an event
 * is noted and dropped: *out NULL), 0 when no line is whole, -1 with err. */
static int qmp_take_line(struct qemu_vm *q, json_t **out, char *err, size_t errlen)
{
	char *nl = memchr(q->qmp_buf, '\n', q->qmp_len);
	size_t n;
	json_error_t je;
	json_t *j;

	*out = NULL;
	if (nl == NULL)
		return 0;
	n = (size_t)(nl - q->qmp_buf) + 1;
	j = json_loadb(q->qmp_buf, n, 0, &je);
	memmove(q->qmp_buf, q->qmp_buf + n, q->qmp_len - n);
	q->qmp_len -= n;
	if (j == NULL || !json_is_object(j)) {
		snprintf(err, errlen, "QMP: QEMU sent a line that is not a JSON object%s%s%s",
		         j == NULL ? " (" : "", j == NULL ? je.text : "", j == NULL ? ")" : "");
		json_decref(j);
		return -1;
	}
	if (json_object_get(j, "event") != NULL) {
		qmp_note_event(q, j);
		json_decref(j);
		return 1;
	}
	*out = j;
	return 1;
}

/* More of QEMU's monitor into the buffer, waiting until deadline (0: only
 * what has arrived): 0 (maybe nothing yet), or -1 with err. */
static int qmp_fill(struct qemu_vm *q, uint64_t deadline, char *err, size_t errlen)
{
	uint64_t now = now_ns();
	struct pollfd p = {q->qmp_fd, POLLIN, 0};
	int ms = deadline > now ? (int)((deadline - now) / 1000000) + 1 : 0;
	ssize_t k;

	if (q->qmp_len >= QMP_LINE_MAX) {
		snprintf(err, errlen, "QMP: QEMU sent a line longer than %u bytes", QMP_LINE_MAX);
		return -1;
	}
	if (poll(&p, 1, ms) <= 0) {
		if (deadline == 0) {
			snprintf(err, errlen, "QMP: nothing more from QEMU");
			return -1;
		}
		if (now_ns() < deadline)
			return 0; /* a signal */
		qmp_timeout_error(q, err, errlen);
		return -1;
	}
	k = read(q->qmp_fd, q->qmp_buf + q->qmp_len, QMP_LINE_MAX - q->qmp_len);
	if (k <= 0 && !(k < 0 && (errno == EINTR || errno == EAGAIN))) {
		snprintf(err, errlen, "QMP: QEMU closed its monitor");
		return -1;
	}
	if (k > 0)
		q->qmp_len += (size_t)k;
	return 0;
}

/* The next message that is not an event (QMP ends each with CRLF), waiting
 * until deadline (0: only what has arrived), bounded in size. */
static json_t *qmp_read(struct qemu_vm *q, uint64_t deadline, char *err, size_t errlen)
{
	for (;;) {
		json_t *j;
		int r = qmp_take_line(q, &j, err, errlen);
		if (r < 0)
			return NULL;
		if (j != NULL)
			return j;
		if (r == 0 && qmp_fill(q, deadline, err, errlen) != 0)
			return NULL;
	}
}

static int qmp_send(struct qemu_vm *q, json_t *cmd, uint64_t deadline, char *err, size_t errlen)
{
	char *text = json_dumps(cmd, JSON_COMPACT);
	size_t len = text != NULL ? strlen(text) : 0, done = 0;

	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	text[len++] = '\n'; /* json_dumps left room for its NUL: one command a line */
	while (done < len) {
		struct pollfd p = {q->qmp_fd, POLLOUT, 0};
		ssize_t k = send(q->qmp_fd, text + done, len - done, MSG_NOSIGNAL);
		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "QMP: cannot send QEMU a command (%s)",
			         strerror(errno));
			break;
		}
		uint64_t now = now_ns();
		if (now >= deadline) {
			qmp_timeout_error(q, err, errlen);
			break;
		}
		poll(&p, 1, (int)((deadline - now) / 1000000) + 1);
	}
	free(text);
	return done == len ? 0 : -1;
}

/* Send cmd (consumed) with a new id and wait for the reply whose id is in
 * [first_id, that id]: replies to commands that gave up earlier, and
 * anything else without such an id, are dropped. */
/* The reply whose id is first_id..id (late replies to earlier commands are
 * dropped, the greeting noted), or NULL with err. */
static json_t *qmp_reply(struct qemu_vm *q, uint64_t first_id, uint64_t id, uint64_t deadline,
                         char *err, size_t errlen)
{
	json_t *r;

	while ((r = qmp_read(q, deadline, err, errlen)) != NULL) {
		json_t *rid = json_object_get(r, "id");
		if (json_object_get(r, "QMP") != NULL)
			q->qmp_greeted = true;
		else if (json_is_integer(rid) && (uint64_t)json_integer_value(rid) >= first_id &&
		         (uint64_t)json_integer_value(rid) <= id)
			return r;
		json_decref(r);
	}
	return NULL;
}

static json_t *qmp_exchange(struct qemu_vm *q, json_t *cmd, uint64_t first_id, char *err,
                            size_t errlen)
{
	uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)q->qmp_wait_ms * 1000000;
	uint64_t id = ++q->qmp_id;
	const char *name = json_string_value(json_object_get(cmd, "execute"));
	char what[48];
	json_t *r = NULL;

	snprintf(what, sizeof(what), "%s", name != NULL ? name : "?");
	if (first_id == 0)
		first_id = id;
	if (cmd == NULL || json_object_set_new(cmd, "id", json_integer((json_int_t)id)) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (qmp_send(q, cmd, deadline, err, errlen) != 0)
		goto out;
	r = qmp_reply(q, first_id, id, deadline, err, errlen);
	if (r != NULL && json_object_get(r, "return") == NULL) {
		json_t *e = json_object_get(json_object_get(r, "error"), "desc");
		snprintf(err, errlen, "QMP: QEMU refused %s: %s", what,
		         json_is_string(e) ? json_string_value(e) : "no reason given");
		json_decref(r);
		r = NULL;
	}
out:
	json_decref(cmd);
	q->qmp_last_ns = now_ns() - t0;
	return r;
}

static int qmp_alloc(struct qemu_vm *q, char *err, size_t errlen)
{
	if (q->qmp_buf == NULL && (q->qmp_buf = malloc(QMP_LINE_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (q->qmp_wait_ms == 0)
		q->qmp_wait_ms = QMP_WAIT_MIN_MS;
	return 0;
}

int qmp_connect(struct qemu_vm *q, char *err, size_t errlen)
{
	json_t *r;

	if (qmp_alloc(q, err, errlen) != 0)
		return -1;
	if (!q->qmp_greeted) {
		uint64_t t0 = now_ns();
		json_t *greeting =
		    qmp_read(q, t0 + (uint64_t)q->qmp_wait_ms * 1000000, err, errlen);
		q->qmp_last_ns = now_ns() - t0;
		if (greeting == NULL)
			return -1;
		q->qmp_greeted = json_object_get(greeting, "QMP") != NULL;
		json_decref(greeting);
		if (!q->qmp_greeted) {
			snprintf(err, errlen, "QMP: QEMU's first message is no QMP greeting");
			return -1;
		}
	}
	/* a retry also takes the reply to an earlier qmp_capabilities that came late */
	if (q->qmp_caps_id == 0)
		q->qmp_caps_id = q->qmp_id + 1;
	r = qmp_exchange(q, json_pack("{s:s}", "execute", "qmp_capabilities"), q->qmp_caps_id, err,
	                 errlen);
	if (r == NULL)
		return -1;
	json_decref(r);
	q->qmp_ready = true;
	return 0;
}

int qmp_simple(struct qemu_vm *q, const char *command, char *err, size_t errlen)
{
	json_t *r;

	if (!q->qmp_ready && qmp_connect(q, err, errlen) != 0)
		return -1;
	r = qmp_exchange(q, json_pack("{s:s}", "execute", command), 0, err, errlen);
	json_decref(r);
	return r != NULL ? 0 : -1;
}

/* An HMP command's text (the caller frees), or NULL with err. */
char *qmp_hmp(struct qemu_vm *q, const char *command, char *err, size_t errlen)
{
	json_t *r, *ret;
	char *text;

	if (q->pid <= 0) {
		snprintf(err, errlen, "QEMU has exited");
		return NULL;
	}
	if (!q->qmp_ready && qmp_connect(q, err, errlen) != 0)
		return NULL;
	r = qmp_exchange(q,
	                 json_pack("{s:s, s:{s:s}}", "execute", "human-monitor-command",
	                           "arguments", "command-line", command),
	                 0, err, errlen);
	if (r == NULL)
		return NULL;
	ret = json_object_get(r, "return");
	text = json_is_string(ret) ? strdup(json_string_value(ret)) : NULL;
	json_decref(r);
	if (text == NULL)
		snprintf(err, errlen, "QMP: QEMU's \"%s\" gave no text", command);
	return text;
}

void qmp_drain(struct qemu_vm *q)
{
	char err[128];
	json_t *j;

	if (q->qmp_fd < 0 || q->qmp_buf == NULL)
		return;
	while ((j = qmp_read(q, 0, err, sizeof(err))) != NULL) /* events are noted on the way */
		json_decref(j);
}

/* The hex value after "NAME=" (or "NAME =") in an info-registers dump. */
int qmp_reg(const char *regs, const char *name, uint64_t *v)
{
	size_t n = strlen(name);

	for (const char *p = regs; (p = strstr(p, name)) != NULL; p += n) {
		const char *q = p + n;
		char *end;
		if (p != regs && p[-1] != ' ' && p[-1] != '\n')
			continue;
		while (*q == ' ')
			q++;
		if (*q != '=')
			continue;
		q++;
		while (*q == ' ')
			q++;
		errno = 0;
		*v = strtoull(q, &end, 16);
		return errno == 0 && end != q ? 0 : -1;
	}
	return -1;
}
