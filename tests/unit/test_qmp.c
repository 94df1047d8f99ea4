/* tests/unit/test_qmp.c - the QMP client against a QEMU that answers late:
 * a fake QMP server in a child process on a socketpair, no QEMU needed.  A
 * reply that comes after its command gave up is never taken for the answer
 * to a later command, and a handshake that timed out recovers.
 */
#include <sys/socket.h>

#include "qemu_vm.h"
#include "testutil.h"

Suite *suite_qmp(void);

#define LATE_US 3500000 /* longer than the client waits (3 s without a watchdog given) */

/* ---- the fake QMP server ---------------------------------------------------- */

static void say(int fd, const char *line)
{
	size_t len = strlen(line);

	if (write(fd, line, len) != (ssize_t)len || write(fd, "\r\n", 2) != 2)
		_exit(2);
}

/* The next command (one JSON object): its "execute" into name, its id (-1: none). */
static long next_command(int fd, char *name, size_t namelen)
{
	static char buf[4096];
	static size_t len;
	const char *e, *idp;
	long id = -1;

	for (;;) {
		int depth = 0;
		size_t end = 0;
		for (size_t i = 0; i < len && end == 0; i++) {
			depth += buf[i] == '{' ? 1 : buf[i] == '}' ? -1 : 0;
			if (buf[i] == '}' && depth == 0)
				end = i + 1;
		}
		if (end != 0) {
			buf[end - 1] = '\0';
			e = strstr(buf, "\"execute\":\"");
			snprintf(name, namelen, "%s", e != NULL ? e + 11 : "?");
			if (strchr(name, '"') != NULL)
				*strchr(name, '"') = '\0';
			idp = strstr(buf, "\"id\":");
			if (idp != NULL)
				id = strtol(idp + 5, NULL, 10);
			memmove(buf, buf + end, len - end);
			len -= end;
			return id;
		}
		ssize_t k = read(fd, buf + len, sizeof(buf) - len);
		if (k <= 0)
			_exit(0);
		len += (size_t)k;
	}
}

/* Answer the next command (which must be want) with return (JSON text). */
static void answer(int fd, const char *want, const char *ret, useconds_t delay)
{
	char name[64], line[512];
	long id = next_command(fd, name, sizeof(name));

	if (strcmp(name, want) != 0)
		_exit(3);
	usleep(delay);
	if (id >= 0)
		snprintf(line, sizeof(line), "{\"return\": %s, \"id\": %ld}", ret, id);
	else
		snprintf(line, sizeof(line), "{\"return\": %s}", ret);
	say(fd, line);
}

#define GREETING  "{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}"
#define HMP       "human-monitor-command"
#define REGS(cr3) "\"RIP=ffffffff80102060 RFL=00000097 HLT=0\\r\\nCR3=" cr3 " CR4=000000a0\\r\\n\""

/* the client's view of QEMU, and QEMU (the fake) */
static struct qemu_vm q;
static pid_t server;

static void start(void (*serve)(int fd))
{
	int sv[2];

	memset(&q, 0, sizeof(q));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	server = fork();
	ck_assert_int_ge(server, 0);
	if (server == 0) {
		close(sv[0]);
		serve(sv[1]);
		pause(); /* the socket stays open until the client is done */
		_exit(0);
	}
	close(sv[1]);
	q.qmp_fd = sv[0];
	q.pid = server;
	fcntl(q.qmp_fd, F_SETFL, O_NONBLOCK);
}

static void stop(void)
{
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	close(q.qmp_fd);
	free(q.qmp_buf);
}

static uint64_t cr3_of(const char *regs)
{
	uint64_t cr3 = 0;

	ck_assert_ptr_nonnull(regs);
	ck_assert_int_eq(qmp_reg(regs, "CR3", &cr3), 0);
	return cr3;
}

/* ---- a reply that comes too late ----------------------------------------------- */

static void serve_one_late(int fd)
{
	say(fd, GREETING);
	answer(fd, "qmp_capabilities", "{}", 0);
	answer(fd, HMP, REGS("0000000000111000"), LATE_US); /* QEMU stopped, then went on */
	answer(fd, HMP, REGS("0000000000222000"), 0);
}

/* The first "info registers" gives up; its reply, when it comes, is not the
 * second one's (it was, and a stale CR3 made a false finding). */
START_TEST(late_reply_is_not_the_next_ones)
{
	char err[256];
	char *regs;

	start(serve_one_late);
	ck_assert_int_eq(qmp_connect(&q, err, sizeof(err)), 0);
	regs = qmp_hmp(&q, "info registers", err, sizeof(err));
	ck_assert_msg(regs == NULL, "the late reply came in time?");
	ck_assert_msg(strstr(err, "QMP") != NULL && strstr(err, "no reply") != NULL, "err: %s",
	              err);
	regs = qmp_hmp(&q, "info registers", err, sizeof(err));
	ck_assert_msg(regs != NULL, "err: %s", err);
	ck_assert_msg(cr3_of(regs) == 0x222000,
	              "the second \"info registers\" got CR3 %#llx, the late answer to the first",
	              (unsigned long long)cr3_of(regs));
	free(regs);
	stop();
}
END_TEST

/* ---- a handshake that times out -------------------------------------------------- */

static void serve_late_capabilities(int fd)
{
	char name[64], line[256];
	long id;

	say(fd, GREETING);
	answer(fd, "qmp_capabilities", "{}", LATE_US);
	/* the client asks again: QEMU's answer to a second negotiation */
	id = next_command(fd, name, sizeof(name));
	snprintf(line, sizeof(line),
	         "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities "
	         "negotiation is already complete, command ignored\"}, \"id\": %ld}",
	         id);
	say(fd, line);
	answer(fd, HMP, REGS("0000000000333000"), 0);
}

/* The negotiation gave up, QEMU's late reply came after: QMP works from then
 * on (the reply was read as the greeting, and QMP stayed dead). */
START_TEST(late_handshake_recovers)
{
	char err[256];
	char *regs;

	start(serve_late_capabilities);
	ck_assert_int_eq(qmp_connect(&q, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "no reply") != NULL, "err: %s", err);
	regs = qmp_hmp(&q, "info registers", err, sizeof(err));
	ck_assert_msg(regs != NULL, "QMP is dead after a slow handshake: %s", err);
	ck_assert_uint_eq(cr3_of(regs), 0x333000);
	free(regs);
	stop();
}
END_TEST

Suite *suite_qmp(void)
{
	Suite *s = suite_create("qmp");
	TCase *tc = tcase_create("late");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, late_reply_is_not_the_next_ones);
	tcase_add_test(tc, late_handshake_recovers);
	suite_add_tcase(s, tc);
	return s;
}
