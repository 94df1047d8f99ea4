/* src/qemu/qmp.c - a small QMP client over the socketpair QEMU inherits as
 * its control monitor: the capabilities handshake, and HMP's "info
 * registers" for register dumps, halt detection and the CR3 cross-check.
 *
 * QEMU is as untrusted as the guest it runs: every reply is bounded in size
 * and time, parsed by jansson, and a reply we cannot use is an error, never
 * a hang.
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

#define QMP_TIMEOUT_MS 3000
#define QMP_LINE_MAX   (64u << 10)

/* One line of JSON (QMP ends each message with CRLF), bounded in time and size. */
static json_t *qmp_read(struct qemu_vm *q, char *err, size_t errlen)
{
	uint64_t deadline = now_ns() + (uint64_t)QMP_TIMEOUT_MS * 1000000;

	for (;;) {
		char *nl = memchr(q->qmp_buf, '\n', q->qmp_len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - q->qmp_buf) + 1;
			json_error_t je;
			json_t *j = json_loadb(q->qmp_buf, n, 0, &je);
			memmove(q->qmp_buf, q->qmp_buf + n, q->qmp_len - n);
			q->qmp_len -= n;
			if (j == NULL) {
				snprintf(err, errlen, "QMP: unreadable reply (%s)", je.text);
				return NULL;
			}
			if (json_object_get(j, "event") != NULL) { /* not ours to handle */
				json_decref(j);
				continue;
			}
			return j;
		}
		if (q->qmp_len >= QMP_LINE_MAX) {
			snprintf(err, errlen, "QMP: reply longer than %u bytes", QMP_LINE_MAX);
			return NULL;
		}
		uint64_t now = now_ns();
		struct pollfd p = {q->qmp_fd, POLLIN, 0};
		if (now >= deadline || poll(&p, 1, (int)((deadline - now) / 1000000) + 1) <= 0) {
			snprintf(err, errlen, "QMP: no reply within %d ms", QMP_TIMEOUT_MS);
			return NULL;
		}
		ssize_t k = read(q->qmp_fd, q->qmp_buf + q->qmp_len, QMP_LINE_MAX - q->qmp_len);
		if (k <= 0 && !(k < 0 && (errno == EINTR || errno == EAGAIN))) {
			snprintf(err, errlen, "QMP: QEMU closed its monitor");
			return NULL;
		}
		if (k > 0)
			q->qmp_len += (size_t)k;
	}
}

static json_t *qmp_call(struct qemu_vm *q, json_t *cmd, char *err, size_t errlen)
{
	char *text = json_dumps(cmd, JSON_COMPACT);
	size_t len = text != NULL ? strlen(text) : 0;
	json_t *r;

	json_decref(cmd);
	if (text == NULL || send(q->qmp_fd, text, len, MSG_NOSIGNAL) != (ssize_t)len) {
		free(text);
		snprintf(err, errlen, "QMP: cannot send a command");
		return NULL;
	}
	free(text);
	r = qmp_read(q, err, errlen);
	if (r != NULL && json_object_get(r, "return") == NULL) {
		json_t *e = json_object_get(json_object_get(r, "error"), "desc");
		snprintf(err, errlen, "QMP: %s",
		         json_is_string(e) ? json_string_value(e) : "error");
		json_decref(r);
		return NULL;
	}
	return r;
}

int qmp_connect(struct qemu_vm *q, char *err, size_t errlen)
{
	json_t *greeting, *r;

	if (q->qmp_buf == NULL && (q->qmp_buf = malloc(QMP_LINE_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	greeting = qmp_read(q, err, errlen);
	if (greeting == NULL)
		return -1;
	if (json_object_get(greeting, "QMP") == NULL) {
		json_decref(greeting);
		snprintf(err, errlen, "QMP: no greeting");
		return -1;
	}
	json_decref(greeting);
	r = qmp_call(q, json_pack("{s:s}", "execute", "qmp_capabilities"), err, errlen);
	if (r == NULL)
		return -1;
	json_decref(r);
	q->qmp_ready = true;
	return 0;
}

/* HMP "info registers" as text (the caller frees), or NULL with err. */
char *qmp_registers(struct qemu_vm *q, char *err, size_t errlen)
{
	json_t *r, *ret;
	char *text;

	if (q->pid <= 0) {
		snprintf(err, errlen, "QEMU has exited");
		return NULL;
	}
	if (!q->qmp_ready && qmp_connect(q, err, errlen) != 0)
		return NULL;
	r = qmp_call(q,
	             json_pack("{s:s, s:{s:s}}", "execute", "human-monitor-command", "arguments",
	                       "command-line", "info registers"),
	             err, errlen);
	if (r == NULL)
		return NULL;
	ret = json_object_get(r, "return");
	text = json_is_string(ret) ? strdup(json_string_value(ret)) : NULL;
	json_decref(r);
	if (text == NULL)
		snprintf(err, errlen, "QMP: info registers gave no text");
	return text;
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
