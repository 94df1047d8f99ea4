/* src/libvirt/libvirt.c - the libvirt backend: the QEMU backend's guest (RAM
 * shared with us, the doorbell on COM2, the console on COM1, resets by
 * parking), but QEMU is started, owned and cleaned up by libvirt as a
 * transient domain defined from configs/libvirt/domain.xml.
 *
 * What differs from src/qemu/qemu_launch.c, and why:
 *  - RAM: libvirt backs it with a memfd of its QEMU's (memoryBacking memfd,
 *    shared); we open that memfd through /proc/<qemu>/fd and map it as the
 *    QEMU backend maps its own.  So ptshadow runs on the domain's host.
 *  - COM1 and COM2 connect to two unix sockets we listen on (QEMU runs as
 *    another user, so they are world-connectable until both are accepted,
 *    then unlinked: nothing is left on disk).
 *  - Registers: HMP "info registers" through libvirt-qemu (libvirt marks the
 *    domain "custom-monitor" once it is used: a finding, a quiet guest that
 *    may have halted, or the periodic CR3 check).
 *  - Ending: the domain is started with VIR_DOMAIN_START_AUTODESTROY, so
 *    libvirt destroys it when our connection closes, a kill -9 included;
 *    SIGINT and SIGTERM reach vm_destroy, which destroys it at once.
 *  - The dirty-log plugin only when asked for (--dirty-log plugin): it is a
 *    custom QEMU argument (<qemu:commandline>), which libvirt marks
 *    "tainted: custom-argv", and QEMU cannot inherit our region's fd, so the
 *    plugin opens it by name in our private directory (removed once mapped).
 *    By default there is no log and every check is a full one.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <signal.h>

#include "array.h"
#include "clock.h"
#include "lv_call.h"
#include "qemu_vm.h"
#include "tcg_dirty.h"

#define LV_URI_DEFAULT  "qemu:///system"
#define LV_TEMPLATE_MAX (64u * 1024)
#define LV_ACCEPT_S     30 /* QEMU connects to our sockets while the domain starts */
#define LV_GONE_S       3  /* libvirt logs why the domain ended within this */
#define LV_CLEANUP_S    2  /* destroy and close, once a call stalled or a signal came */
#define LV_SLOW_START_S 10 /* a domain start slower than this gets a hint */
/* pc machine without max-ram-below-4g: with 3.5 GiB or more, 3 GiB stays low */
#define LV_LOWMEM_SPLIT (0xe0000000ull)

/* configs/libvirt/domain.xml, built in (domain_xml.c) */
extern const char lv_domain_xml[];

struct lv_vm {
	virConnectPtr conn;
	virDomainPtr dom;
	char name[64];
	char uri[256];
	char sockdir[PATH_MAX];
	char sock[2][PATH_MAX]; /* console, doorbell */
	int listen_fd[2];
	char region[PATH_MAX]; /* the dirty-log region's file until the plugin maps it */
	char log_path[PATH_MAX];
	bool keep_log;   /* the domain ended oddly: its log is evidence */
	unsigned call_s; /* deadline of one libvirt call (--timeout; 0: none) */
	bool wedged;     /* a call was abandoned: libvirt is not to be called again */
	pid_t qemu_pid;  /* the domain's QEMU, once found */
};

static struct lv_vm *LV(struct vm *vm)
{
	return (struct lv_vm *)QEMU(vm)->host_priv;
}

static void quiet(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e; /* errors are reported through lv_call's messages */
}

static void lv_init(void)
{
	static bool done;

	if (done)
		return;
	virInitialize();
	virSetErrorFunc(NULL, quiet);
	done = true;
}

static const char *uri_of(const struct vm_config *cfg)
{
	return cfg != NULL && cfg->libvirt_uri != NULL ? cfg->libvirt_uri : LV_URI_DEFAULT;
}

/*
 * A /dev/kvm only root may open (no udev to set its group) makes libvirtd
 * slow: it takes KVM for unusable by the user it runs QEMU as, while its
 * probe of QEMU found KVM, so it throws its capability cache away and probes
 * QEMU again at every domain start (~50 s on kvm_pvm).  docs/user-guide.md.
 */
static const char *kvm_hint(void)
{
	struct stat st;

	if (stat("/dev/kvm", &st) != 0 || (st.st_mode & 066) != 0)
		return "";
	return "; note: /dev/kvm is open to root only, which makes libvirtd probe QEMU again at "
	       "every "
	       "domain start: 'chgrp kvm /dev/kvm && chmod 0660 /dev/kvm', as udev does "
	       "(docs/user-guide.md, libvirt)";
}

/* One libvirt call within secs (0: none): 0, or -1 with err naming the
 * connection, the call and, when it did not return, the seconds waited.
 * After a call that did not return, none is made again (it would block).
 * The calls that end the domain go on after a signal (within their secs);
 * the others give way to it. */
static int lv_do(struct lv_vm *l, enum lv_what what, struct lv_args *a, unsigned secs, char *err,
                 size_t errlen)
{
	bool cleanup = what == LV_DESTROY || what == LV_CLOSE || what == LV_LOOKUP ||
	               (what == LV_OPEN && l->dom != NULL);

	enum lv_outcome o;

	if (l->wedged) {
		snprintf(err, errlen,
		         "libvirt at %s: %s: not called (an earlier call did not return)", l->uri,
		         lv_call_name(what));
		return -1;
	}
	o = lv_call(what, a, secs, !cleanup);
	if (o == LV_DONE && a->rc == 0)
		return 0;
	if (o == LV_DONE)
		snprintf(err, errlen, "libvirt at %s: %s: %s", l->uri, lv_call_name(what), a->err);
	else if (o == LV_STALLED)
		snprintf(err, errlen, "libvirt at %s: %s: no answer within %u s%s", l->uri,
		         lv_call_name(what), secs, what == LV_CREATE ? kvm_hint() : "");
	else
		snprintf(err, errlen, "interrupted while waiting for libvirt at %s (%s)", l->uri,
		         lv_call_name(what));
	l->wedged = o != LV_DONE;
	return -1;
}

/* l->conn to l->uri within l->call_s; 0, or -1 with err */
static int lv_connect(struct lv_vm *l, char *err, size_t errlen)
{
	struct lv_args a = {.uri = l->uri};

	lv_init();
	if (lv_do(l, LV_OPEN, &a, l->call_s, err, errlen) != 0) {
		if (!l->wedged)
			snprintf(err + strlen(err), errlen - strlen(err),
			         " (is libvirtd running?)");
		return -1;
	}
	l->conn = a.conn_out;
	return 0;
}

static bool lv_available(const struct vm_config *cfg, char *why, size_t len)
{
	char path[512];
	struct lv_vm l = {.call_s = cfg != NULL ? cfg->timeout_s : 0};

	if (qemu_find_binary(cfg != NULL ? cfg->qemu_path : NULL, path, sizeof(path), why, len) !=
	    0)
		return false;
	snprintf(l.uri, sizeof(l.uri), "%s", uri_of(cfg));
	if (lv_connect(&l, why, len) != 0)
		return false;
	lv_do(&l, LV_CLOSE, &(struct lv_args){.conn = l.conn}, LV_CLEANUP_S, why, len);
	return true;
}

/* ---- the domain XML: the template with its placeholders filled in -------- */

struct strbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct strbuf *b, const char *p, size_t n)
{
	if (b->oom)
		return;
	if (array_reserve(&b->s, &b->cap, b->len + n + 1, 1, 64) != 0) {
		b->oom = true;
		return;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_add_escaped(struct strbuf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		const char *e = *v == '&'    ? "&amp;"
		                : *v == '<'  ? "&lt;"
		                : *v == '>'  ? "&gt;"
		                : *v == '\'' ? "&apos;"
		                : *v == '"'  ? "&quot;"
		                             : NULL;
		if (e != NULL)
			sb_add(b, e, strlen(e));
		else
			sb_add(b, v, 1);
	}
}

struct placeholder {
	const char *name;
	const char *value;
};

/* Fill in every @NAME@ of tmpl; an unknown one is an error naming it. */
/* "@NAME@" at p: NAME's length, *end at its closing @; 0 when p is text */
static size_t placeholder_at(const char *p, const char **end)
{
	const char *e;

	if (*p != '@')
		return 0;
	for (e = p + 1; isupper((unsigned char)*e) || *e == '_'; e++)
		;
	*end = e;
	return *e == '@' ? (size_t)(e - p - 1) : 0;
}

/* the placeholder named name[0..n), or nph */
static size_t placeholder_find(const struct placeholder *ph, size_t nph, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < nph; i++)
		if (strlen(ph[i].name) == n && strncmp(ph[i].name, name, n) == 0)
			break;
	return i;
}

static char *expand(const char *what, const char *tmpl, const struct placeholder *ph, size_t nph,
                    char *err, size_t errlen)
{
	struct strbuf b = {0};
	unsigned line = 1;

	for (const char *p = tmpl; *p != '\0';) {
		const char *end;
		size_t i, n = placeholder_at(p, &end);

		if (n == 0) { /* text, a lone @ too */
			line += *p == '\n';
			sb_add(&b, p++, 1);
			continue;
		}
		i = placeholder_find(ph, nph, p + 1, n);
		if (i == nph) {
			snprintf(err, errlen, "%s:%u: unknown placeholder @%.*s@", what, line,
			         (int)(n < 40 ? n : 40), p + 1);
			free(b.s);
			return NULL;
		}
		sb_add_escaped(&b, ph[i].value);
		p = end + 1;
	}
	if (b.oom || b.s == NULL) {
		snprintf(err, errlen, "%s: out of memory", what);
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* the template: --domain-xml FILE, else the built-in copy of configs/libvirt/domain.xml */
/* at most LV_TEMPLATE_MAX bytes of fd, room for a NUL after them (NULL: out of memory) */
static char *template_bytes(int fd, size_t *len)
{
	char *buf = malloc(LV_TEMPLATE_MAX + 1);
	ssize_t n;

	while (buf != NULL && *len < LV_TEMPLATE_MAX &&
	       (n = read(fd, buf + *len, LV_TEMPLATE_MAX - *len)) > 0)
		*len += (size_t)n;
	return buf;
}

static char *template_read(const char *path, char *err, size_t errlen)
{
	char *buf;
	size_t len = 0;
	int fd;

	if (path == NULL)
		return strdup(lv_domain_xml);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "--domain-xml %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = template_bytes(fd, &len);
	if (buf != NULL && len == LV_TEMPLATE_MAX && read(fd, &(char){0}, 1) > 0) {
		snprintf(err, errlen, "--domain-xml %s: larger than %u bytes", path,
		         LV_TEMPLATE_MAX);
		free(buf);
		buf = NULL;
	} else if (buf != NULL) {
		buf[len] = '\0';
		if (strlen(buf) != len) {
			snprintf(err, errlen, "--domain-xml %s: holds a NUL byte", path);
			free(buf);
			buf = NULL;
		}
	} else {
		snprintf(err, errlen, "out of memory");
	}
	close(fd);
	return buf;
}

/* Check a --domain-xml template before anything starts: readable, and every
 * placeholder one ptshadow knows (the values do not matter here). */
int libvirt_template_check(const char *path, char *err, size_t errlen)
{
	static const struct placeholder ph[] = {
	    {"NAME", ""},    {"MEMORY_MIB", ""},     {"EMULATOR", ""},        {"KERNEL", ""},
	    {"CMDLINE", ""}, {"CONSOLE_SOCKET", ""}, {"DOORBELL_SOCKET", ""}, {"VCPUS", ""},
	};
	char *t = template_read(path, err, errlen), *x;

	if (t == NULL)
		return -1;
	x = expand(path != NULL ? path : "configs/libvirt/domain.xml", t, ph,
	           sizeof(ph) / sizeof(ph[0]), err, errlen);
	free(t);
	free(x);
	return x != NULL ? 0 : -1;
}

/* ---- the sockets QEMU connects to ----------------------------------------- */

static void sockets_remove(struct lv_vm *l)
{
	for (int i = 0; i < 2; i++) {
		if (l->listen_fd[i] >= 0)
			close(l->listen_fd[i]);
		l->listen_fd[i] = -1;
		if (l->sock[i][0] != '\0')
			unlink(l->sock[i]);
		l->sock[i][0] = '\0';
	}
	if (l->region[0] != '\0')
		unlink(l->region);
	l->region[0] = '\0';
	if (l->sockdir[0] != '\0')
		rmdir(l->sockdir);
	l->sockdir[0] = '\0';
}

/* socket i, `name` in the socket directory, listening for QEMU: 0, or -1 */
static int socket_listen(struct lv_vm *l, int i, const char *name, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", l->sockdir, name) >=
	    sizeof(a.sun_path)) {
		snprintf(err, errlen, "socket path %s/%s: too long (set TMPDIR shorter)",
		         l->sockdir, name);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    chmod(a.sun_path, 0666) != 0 || listen(fd, 1) != 0) {
		snprintf(err, errlen, "socket %s: %s", a.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(l->sock[i], sizeof(l->sock[i]), "%s", a.sun_path);
	l->listen_fd[i] = fd;
	return 0;
}

static int sockets_create(struct lv_vm *l, char *err, size_t errlen)
{
	static const char *const names[2] = {"console", "doorbell"};
	const char *tmp = getenv("TMPDIR");

	snprintf(l->sockdir, sizeof(l->sockdir), "%s/ptshadow-XXXXXX",
	         tmp != NULL && *tmp == '/' ? tmp : "/tmp");
	if (mkdtemp(l->sockdir) == NULL) {
		snprintf(err, errlen, "socket directory %s: %s", l->sockdir, strerror(errno));
		l->sockdir[0] = '\0';
		return -1;
	}
	chmod(l->sockdir, 0711); /* QEMU runs as another user: it must reach the sockets */
	for (int i = 0; i < 2; i++)
		if (socket_listen(l, i, names[i], err, errlen) != 0)
			return -1;
	return 0;
}

/* QEMU has connected both sockets (or we give up); then nothing is on disk. */
static int sockets_accept(struct vm *vm, char *err, size_t errlen)
{
	struct qemu_vm *q = QEMU(vm);
	struct lv_vm *l = LV(vm);
	int *into[2] = {&q->cons_fd, &q->db_fd};
	uint64_t deadline = now_ns() + LV_ACCEPT_S * 1000000000ull;

	while (*into[0] < 0 || *into[1] < 0) {
		struct pollfd p[2] = {{*into[0] < 0 ? l->listen_fd[0] : -1, POLLIN, 0},
		                      {*into[1] < 0 ? l->listen_fd[1] : -1, POLLIN, 0}};
		uint64_t now = now_ns();

		if (vm_interrupted) {
			snprintf(err, errlen, "interrupted");
			return -1;
		}
		if (now >= deadline) {
			snprintf(err, errlen, "domain %s: QEMU did not connect to %s within %d s",
			         l->name, *into[0] < 0 ? l->sock[0] : l->sock[1], LV_ACCEPT_S);
			return -1;
		}
		if (poll(p, 2, 100) <= 0)
			continue;
		for (int i = 0; i < 2; i++)
			if (p[i].revents & POLLIN) {
				int fd = accept4(l->listen_fd[i], NULL, NULL,
				                 SOCK_CLOEXEC | SOCK_NONBLOCK);
				if (fd >= 0)
					*into[i] = fd;
			}
	}
	sockets_remove(l);
	return 0;
}

/* ---- the domain's RAM: its QEMU's memfd ------------------------------------ */

/* the pid of the QEMU whose command line names the domain (-name guest=NAME,...) */
static pid_t qemu_pid_of(const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char want[96];
	size_t wlen;
	pid_t found = 0;

	if (d == NULL)
		return 0;
	wlen = (size_t)snprintf(want, sizeof(want), "guest=%s,", name);
	while (found == 0 && (e = readdir(d)) != NULL) {
		char path[64], buf[4096];
		ssize_t n;
		int fd;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		for (ssize_t i = 0; n > 0 && i + (ssize_t)wlen <= n; i++)
			if ((i == 0 || buf[i - 1] == '\0') && memcmp(buf + i, want, wlen) == 0) {
				found = (pid_t)atoi(e->d_name);
				break;
			}
	}
	closedir(d);
	return found;
}

/* an fd of ours on the memfd of pid that is bytes long (-1: none) */
/* path (an fd in /proc) opened when it is a memfd bytes long; else -1 */
static int memfd_open(const char *path, uint64_t bytes)
{
	char link[128];
	struct stat st;
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	int fd;

	if (n <= 0)
		return -1;
	link[n] = '\0';
	if (strncmp(link, "/memfd:", 7) != 0)
		return -1;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size == bytes)
		return fd;
	close(fd);
	return -1;
}

static int memfd_of(pid_t pid, uint64_t bytes)
{
	char dir[64];
	struct dirent *e;
	DIR *d;
	int found = -1;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (d == NULL)
		return -1;
	while (found < 0 && (e = readdir(d)) != NULL) {
		char path[128];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		found = memfd_open(path, bytes);
	}
	closedir(d);
	return found;
}

static int ram_attach(struct vm *vm, uint64_t bytes, char *err, size_t errlen)
{
	struct lv_vm *l = LV(vm);
	pid_t pid = l->qemu_pid = qemu_pid_of(l->name);
	int fd;

	if (pid == 0) {
		snprintf(err, errlen,
		         "domain %s: its QEMU is not a process on this machine (ptshadow maps the "
		         "domain's RAM, so it runs beside it: see docs/scaling.md)",
		         l->name);
		return -1;
	}
	fd = memfd_of(pid, bytes);
	if (fd < 0) {
		snprintf(err, errlen,
		         "domain %s: no %llu MiB memfd in QEMU %d (the template must keep "
		         "<memoryBacking> memfd + shared)",
		         l->name, (unsigned long long)(bytes >> 20), (int)pid);
		return -1;
	}
	if (qemu_ram_map(vm, fd, bytes, bytes >= LV_LOWMEM_SPLIT ? QEMU_LOWMEM_MAX : bytes, err,
	                 errlen) != 0) {
		close(fd);
		return -1;
	}
	return 0;
}

/* ---- how the domain ended -------------------------------------------------- */

static void log_path_set(struct lv_vm *l)
{
	const char *home = getenv("HOME");

	if (strstr(l->uri, "/session") != NULL && home != NULL)
		snprintf(l->log_path, sizeof(l->log_path), "%s/.cache/libvirt/qemu/log/%s.log",
		         home, l->name);
	else
		snprintf(l->log_path, sizeof(l->log_path), "/var/log/libvirt/qemu/%s.log", l->name);
}

/* The last line of the domain's log that holds key (from key on, into out) */
static bool log_last(const char *buf, const char *key, char *out, size_t len)
{
	const char *at = NULL;

	for (const char *p = buf; (p = strstr(p, key)) != NULL; p++)
		at = p;
	if (at == NULL)
		return false;
	snprintf(out, len, "%.*s", (int)strcspn(at, "\r\n"), at);
	return true;
}

/*
 * How the domain ended, from its log: libvirt's last "shutting down,
 * reason=WHY" into why, and QEMU's last "terminating on signal N from pid P
 * (NAME)" into killer ("" if none).  A guest that triple-faults resets, and
 * libvirt (on_reboot destroy) ends QEMU with SIGTERM: NAME is libvirtd.  Any
 * other sender is someone outside.
 */
static bool log_reason(const struct lv_vm *l, char *why, size_t len, char *killer, size_t klen)
{
	char buf[8192];
	const char *key = "shutting down, reason=";
	ssize_t n;
	off_t size;
	int fd = open(l->log_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	size = lseek(fd, 0, SEEK_END);
	n = pread(fd, buf, sizeof(buf) - 1,
	          size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (!log_last(buf, key, why, len))
		return false;
	memmove(why, why + strlen(key), strlen(why + strlen(key)) + 1);
	if (!log_last(buf, "terminating on signal", killer, klen))
		killer[0] = '\0';
	return true;
}

static enum vm_event lv_gone(struct vm *vm)
{
	struct lv_vm *l = LV(vm);
	uint64_t deadline = now_ns() + LV_GONE_S * 1000000000ull;
	struct timespec ms20 = {0, 20000000};
	char why[64] = "", killer[256] = "";
	size_t kl;

	while (!log_reason(l, why, sizeof(why), killer, sizeof(killer)) && now_ns() < deadline)
		nanosleep(&ms20, NULL);
	kl = strlen(killer);
	if (kl > 0 && (kl < 10 || strcmp(killer + kl - 10, "/libvirtd)") != 0)) {
		l->keep_log = true; /* not libvirt's doing, nor the guest's */
		snprintf(vm->error, sizeof(vm->error),
		         "domain %s: its QEMU was ended from outside (%s); libvirt's log: %s",
		         l->name, killer, l->log_path);
		return VM_EV_KVM_ERROR;
	}
	if (strcmp(why, "shutdown") == 0) { /* libvirt ended it: on_reboot destroy */
		snprintf(vm->error, sizeof(vm->error), "guest shut down (triple fault)");
		return VM_EV_SHUTDOWN;
	}
	l->keep_log = true;
	snprintf(vm->error, sizeof(vm->error), "domain %s ended (%s); libvirt's log: %s", l->name,
	         why[0] ? why : "no reason logged", l->log_path);
	return VM_EV_KVM_ERROR;
}

static char *lv_hmp(struct vm *vm, const char *command, char *err, size_t errlen)
{
	struct lv_vm *l = LV(vm);
	struct lv_args a = {.dom = l->dom, .cmd = command};

	if (l->dom == NULL) {
		snprintf(err, errlen, "libvirt: no domain");
		return NULL;
	}
	if (lv_do(l, LV_MONITOR, &a, l->call_s, err, errlen) != 0)
		return NULL;
	return a.out;
}

static const struct qemu_host libvirt_host = {
    .name = "libvirt",
    .hmp = lv_hmp,
    .gone = lv_gone,
};

/* ---- the dirty-log plugin, when asked for ----------------------------------- */

#define LV_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* The domain with <qemu:commandline> loading the plugin on region, or NULL
 * (err) when the XML has no <domain ...> ... </domain> to put it in. */
static char *with_plugin(const char *xml, const char *plugin, const char *region, char *err,
                         size_t errlen)
{
	const char *open = strstr(xml, "<domain"), *close = NULL;
	struct strbuf b = {0};
	char arg[2 * PATH_MAX + 32];

	for (const char *p = xml; (p = strstr(p, "</domain>")) != NULL; p++)
		close = p;
	if (open == NULL || close == NULL || close < open ||
	    (open[7] != ' ' && open[7] != '>' && open[7] != '\n')) {
		snprintf(err, errlen, "domain template: no <domain> element to add the plugin to");
		return NULL;
	}
	snprintf(arg, sizeof(arg), "%s,path=%s,vpages=on", plugin, region);
	sb_add(&b, xml, (size_t)(open - xml) + 7);
	if (strstr(xml, "xmlns:qemu=") == NULL)
		sb_add(&b, " xmlns:qemu='" LV_QEMU_NS "'", strlen(" xmlns:qemu='" LV_QEMU_NS "'"));
	sb_add(&b, open + 7, (size_t)(close - open - 7));
	sb_add(
	    &b, "  <qemu:commandline>\n    <qemu:arg value='-plugin'/>\n    <qemu:arg value='",
	    strlen("  <qemu:commandline>\n    <qemu:arg value='-plugin'/>\n    <qemu:arg value='"));
	sb_add_escaped(&b, arg);
	sb_add(&b, "'/>\n  </qemu:commandline>\n", strlen("'/>\n  </qemu:commandline>\n"));
	sb_add(&b, close, strlen(close));
	if (b.oom || b.s == NULL) {
		snprintf(err, errlen, "out of memory");
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* the guest-physical span of bytes of RAM on the pc machine */
static uint64_t ram_span(uint64_t bytes)
{
	return bytes >= LV_LOWMEM_SPLIT ? QEMU_HIGHMEM_BASE + (bytes - QEMU_LOWMEM_MAX) : bytes;
}

static int plugin_prepare(struct vm *vm, const struct vm_config *cfg, char *plugin, size_t len,
                          char *err, size_t errlen)
{
	struct lv_vm *l = LV(vm);

	char rel[PATH_MAX];

	/* absolute: QEMU under libvirt does not run in our directory */
	if (tcg_dirty_plugin_path(rel, sizeof(rel)) != 0 || len < PATH_MAX ||
	    realpath(rel, plugin) == NULL || access(plugin, R_OK) != 0) {
		snprintf(err, errlen, "--dirty-log plugin: %s: %s", rel, strerror(errno));
		return EXIT_USAGE;
	}
	if ((size_t)snprintf(l->region, sizeof(l->region), "%s/dirtylog", l->sockdir) >=
	    sizeof(l->region)) {
		snprintf(err, errlen, "%s/dirtylog: path too long", l->sockdir);
		l->region[0] = '\0';
		return EXIT_INTERNAL;
	}
	struct tcg_dirty_size size = {ram_span((uint64_t)cfg->mem_mib << 20) / PTS_PAGE_SIZE,
	                              1u << 20, cfg->cpus > 1 ? cfg->cpus : 1};
	QEMU(vm)->vcpus = size.vcpus;
	if (tcg_dirty_open_at(&QEMU(vm)->dirty, l->region, &size, err, errlen) != 0) {
		l->region[0] = '\0'; /* not ours to remove: it may be someone else's */
		return EXIT_INTERNAL;
	}
	return 0;
}

/* The plugin maps the region as QEMU starts: by now it has, or it never will. */
static int plugin_wait(struct vm *vm, char *err, size_t errlen)
{
	struct lv_vm *l = LV(vm);
	uint64_t deadline = now_ns() + 10000000000ull;
	struct timespec ms = {0, 1000000};

	while (!tcg_dirty_plugin_alive(QEMU(vm)->dirty)) {
		if (now_ns() >= deadline) {
			snprintf(err, errlen,
			         "--dirty-log plugin: domain %s's QEMU did not start the "
			         "plugin (libvirt's log: %s)",
			         l->name, l->log_path);
			l->keep_log = true;
			return -1;
		}
		nanosleep(&ms, NULL);
	}
	unlink(l->region); /* mapped by both sides: nothing on disk */
	l->region[0] = '\0';
	vm->dirty_mode = VM_DIRTY_PLUGIN;
	vm->caps |= VM_CAP_DIRTY_LOG;
	return 0;
}

/* ---- create and destroy ---------------------------------------------------- */

/* virDomainCreateXML within the deadline; a slow one gets the likely cause */
static int domain_create(struct lv_vm *l, const char *xml, char *err, size_t errlen)
{
	struct lv_args a = {.conn = l->conn, .xml = xml};
	uint64_t t0 = now_ns(), secs;

	if (lv_do(l, LV_CREATE, &a, l->call_s, err, errlen) != 0)
		return EXIT_INTERNAL;
	l->dom = a.dom_out;
	secs = (now_ns() - t0) / 1000000000ull;
	if (secs >= LV_SLOW_START_S && kvm_hint()[0] != '\0')
		fprintf(stderr, "ptshadow: libvirt at %s: domain %s took %llu s to start%s\n",
		        l->uri, l->name, (unsigned long long)secs, kvm_hint());
	return 0;
}

/* The domain's XML: the template with its placeholders filled in (and the
 * plugin's <qemu:commandline> when asked for); NULL with err. */
static char *domain_xml(struct vm *vm, const struct vm_config *cfg, const char *emulator,
                        const char *kernel, const char *plugin, char *err, size_t errlen)
{
	struct lv_vm *l = LV(vm);
	char mem[16], vcpus[16], cmdline[VM_CMDLINE_MAX + 32];
	char *tmpl = template_read(cfg->libvirt_xml, err, errlen), *xml;

	if (tmpl == NULL)
		return NULL;
	snprintf(mem, sizeof(mem), "%u", cfg->mem_mib);
	snprintf(vcpus, sizeof(vcpus), "%u", cfg->cpus > 1 ? cfg->cpus : 1);
	snprintf(cmdline, sizeof(cmdline), "%s doorbell=com2", cfg->cmdline ? cfg->cmdline : "");
	const struct placeholder ph[] = {
	    {"NAME", l->name},
	    {"MEMORY_MIB", mem},
	    {"VCPUS", vcpus},
	    {"EMULATOR", emulator},
	    {"KERNEL", kernel},
	    {"CMDLINE", cmdline},
	    {"CONSOLE_SOCKET", l->sock[0]},
	    {"DOORBELL_SOCKET", l->sock[1]},
	};
	xml = expand(cfg->libvirt_xml ? cfg->libvirt_xml : "configs/libvirt/domain.xml", tmpl, ph,
	             sizeof(ph) / sizeof(ph[0]), err, errlen);
	free(tmpl);
	if (xml != NULL && QEMU(vm)->dirty != NULL) {
		char *x = with_plugin(xml, plugin, l->region, err, errlen);
		free(xml);
		xml = x;
	}
	return xml;
}

/* The QEMU binary and the image, as absolute paths (libvirt wants them so):
 * 0, or an exit status with err. */
static int lv_paths(const struct vm_config *cfg, const char *guest_path, char emulator[PATH_MAX],
                    char kernel[PATH_MAX], char *err, size_t errlen)
{
	char found[512];
	int rc = qemu_find_binary(cfg->qemu_path, found, sizeof(found), err, errlen);

	if (rc != 0)
		return rc;
	if (realpath(guest_path, kernel) == NULL) {
		snprintf(err, errlen, "%s: %s", guest_path, strerror(errno));
		return EXIT_USAGE;
	}
	if (realpath(found, emulator) == NULL) {
		snprintf(err, errlen, "%s: %s", found, strerror(errno));
		return EXIT_INTERNAL;
	}
	return 0;
}

static int lv_start(struct vm *vm, const char *guest_path, const struct vm_config *cfg, char *err,
                    size_t errlen)
{
	struct lv_vm *l = LV(vm);
	char emulator[PATH_MAX], kernel[PATH_MAX], plugin[PATH_MAX] = "";
	static unsigned serial;
	char *xml;
	int rc;

	rc = lv_paths(cfg, guest_path, emulator, kernel, err, errlen);
	if (rc != 0)
		return rc;
	snprintf(l->name, sizeof(l->name), "ptshadow-%d-%u", (int)getpid(), serial++);
	if (sockets_create(l, err, errlen) != 0)
		return EXIT_INTERNAL;
	if (cfg->dirty_mode == VM_DIRTY_PLUGIN &&
	    (rc = plugin_prepare(vm, cfg, plugin, sizeof(plugin), err, errlen)) != 0)
		return rc;
	xml = domain_xml(vm, cfg, emulator, kernel, plugin, err, errlen);
	if (xml == NULL)
		return EXIT_USAGE;
	log_path_set(l);
	rc = domain_create(l, xml, err, errlen);
	free(xml);
	if (rc != 0)
		return rc;
	QEMU(vm)->running = true;
	if (QEMU(vm)->dirty != NULL && plugin_wait(vm, err, errlen) != 0)
		return EXIT_INTERNAL;
	if (sockets_accept(vm, err, errlen) != 0)
		return EXIT_INTERNAL;
	return 0;
}

/* a dirty log or an accelerator this backend does not take (err says which) */
static bool lv_refuses(const struct vm_config *cfg, char *err, size_t errlen)
{
	if (cfg->dirty_mode != VM_DIRTY_AUTO && cfg->dirty_mode != VM_DIRTY_NONE &&
	    cfg->dirty_mode != VM_DIRTY_PLUGIN) {
		snprintf(err, errlen,
		         "--dirty-log %s: the libvirt backend logs with plugin or none",
		         vm_dirty_mode_name(cfg->dirty_mode));
		return true;
	}
	if (cfg->qemu_kvm) {
		snprintf(err, errlen,
		         "--qemu-accel kvm: the libvirt backend's accelerator is the "
		         "template's <domain type>");
		return true;
	}
	return false;
}

static int lv_create(struct vm *vm, const char *guest_path, const struct vm_config *cfg, char *err,
                     size_t errlen)
{
	struct lv_vm *l;
	int rc;

	if (lv_refuses(cfg, err, errlen))
		return EXIT_USAGE;
	if (qemu_state_init(vm, err, errlen) != 0)
		return EXIT_INTERNAL;
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return EXIT_INTERNAL;
	}
	l->listen_fd[0] = l->listen_fd[1] = -1;
	QEMU(vm)->host = &libvirt_host;
	QEMU(vm)->host_priv = l;
	vm->dirty_mode = VM_DIRTY_NONE;
	snprintf(l->uri, sizeof(l->uri), "%s", uri_of(cfg));
	l->call_s = cfg->timeout_s;
	if (lv_connect(l, err, errlen) != 0)
		return EXIT_INTERNAL;
	rc = lv_start(vm, guest_path, cfg, err, errlen);
	if (rc != 0)
		return rc;
	if (ram_attach(vm, (uint64_t)cfg->mem_mib << 20, err, errlen) != 0 ||
	    vm_dirty_alloc(vm, vm->mem.size, err, errlen) != 0)
		return EXIT_INTERNAL;
	return 0;
}

/* Still our domain's QEMU (a pid can be reused)? */
static bool is_our_qemu(const struct lv_vm *l, pid_t pid)
{
	return pid > 0 && qemu_pid_of(l->name) == pid;
}

/*
 * The domain ends with us, whatever libvirt does: destroyed through our
 * connection; else (the connection is lost: libvirtd was restarted) through
 * a new one; else (libvirtd does not answer) its QEMU is killed, which
 * libvirt sees when it answers again.  A domain whose start never returned
 * is ended by libvirt itself (AUTODESTROY) once it notices we have gone.
 */
static void domain_end(struct lv_vm *l)
{
	char err[512];
	/* after a signal, the whole end stays within ~2 s */
	unsigned secs = vm_interrupted                                   ? 1
	                : l->call_s == 0 || l->call_s > LV_CLEANUP_S * 5 ? LV_CLEANUP_S * 5
	                                                                 : l->call_s;
	struct lv_args a = {.dom = l->dom};
	bool ended = l->dom != NULL && lv_do(l, LV_DESTROY, &a, secs, err, sizeof(err)) == 0;

	if (!ended && !l->wedged && l->dom != NULL && virConnectIsAlive(l->conn) != 1) {
		struct lv_args o = {.uri = l->uri}, k = {0}, d = {0};
		if (lv_do(l, LV_OPEN, &o, secs, err, sizeof(err)) == 0) {
			k.conn = o.conn_out;
			k.name = l->name;
			if (lv_do(l, LV_LOOKUP, &k, secs, err, sizeof(err)) == 0) {
				d.dom = k.dom_out;
				ended = lv_do(l, LV_DESTROY, &d, secs, err, sizeof(err)) == 0;
				if (!l->wedged)
					virDomainFree(k.dom_out);
			}
			if (!l->wedged)
				lv_do(l, LV_CLOSE, &k, secs, err, sizeof(err));
		}
	}
	if (l->qemu_pid == 0 && l->name[0] != '\0')
		l->qemu_pid = qemu_pid_of(l->name);
	if (!ended && is_our_qemu(l, l->qemu_pid))
		kill(l->qemu_pid, SIGKILL);
}

/* libvirt's per-domain RAM directory (/var/lib/libvirt/qemu/ram/ID-NAME),
 * which a libvirtd killed under the domain leaves behind: removed when it is
 * empty (our RAM is a memfd, so it holds nothing; rmdir touches nothing else) */
static void ram_dir_remove(const struct lv_vm *l)
{
	static const char ram[] = "/var/lib/libvirt/qemu/ram";
	size_t nl = strlen(l->name);
	DIR *d = opendir(ram);
	struct dirent *e;

	while (d != NULL && nl > 0 && (e = readdir(d)) != NULL) {
		size_t el = strlen(e->d_name);
		char path[PATH_MAX];
		if (el > nl + 1 && e->d_name[el - nl - 1] == '-' &&
		    strcmp(e->d_name + el - nl, l->name) == 0 &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", ram, e->d_name) < sizeof(path))
			rmdir(path);
	}
	if (d != NULL)
		closedir(d);
}

static void lv_destroy(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);
	struct lv_vm *l = q != NULL ? LV(vm) : NULL;

	if (l != NULL) {
		sockets_remove(l);
		if (l->conn != NULL)
			domain_end(l);
		/* after a call that did not return, libvirt is left alone: its
		 * objects are in use by that call's thread */
		if (!l->wedged) {
			char err[512];
			struct lv_args a = {.conn = l->conn};
			if (l->dom != NULL)
				virDomainFree(l->dom);
			if (l->conn != NULL)
				lv_do(l, LV_CLOSE, &a, vm_interrupted ? 1 : LV_CLEANUP_S, err,
				      sizeof(err));
		}
		if (!l->keep_log && l->log_path[0] != '\0')
			unlink(l->log_path); /* one log a domain, and the run went as it should */
		ram_dir_remove(l);           /* the domain has ended: none of it stays */
		free(l);
		q->host_priv = NULL;
	}
	qemu_state_free(vm);
}

const struct vm_backend vm_backend_libvirt = {
    .name = "libvirt",
    .dirty_logs = 1u << VM_DIRTY_PLUGIN | 1u << VM_DIRTY_NONE,
    .dirty_refusal = "the libvirt backend logs with plugin (asked for) or none (the default)",
    .runs_qemu = true,
    .cpus_max = VM_CPUS_MAX,
    .accel_refusal = "with libvirt, the template's <domain type> picks the accelerator",
    .template_check = libvirt_template_check,
    .available = lv_available,
    .create = lv_create,
    .destroy = lv_destroy,
    QEMU_GUEST_OPS,
};
