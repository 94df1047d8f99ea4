/* src/qemu/qemu_launch.c - starting qemu-system-x86_64 for the QEMU backend:
 * its command line, the fds it inherits, and making sure it never outlives us.
 *
 * QEMU gets guest RAM as a memfd we made (fd 3, `memory-backend-file` on
 * /proc/self/fd/3, share=on), COM1 and COM2 as socketpairs (fds 4 and 5),
 * optionally the plugin's region (fd 6), its QMP monitor as a socketpair
 * (fd 7), and its stderr on a pipe.  It runs
 * in its own process group (a ^C reaches ptshadow, which ends it) with
 * PR_SET_PDEATHSIG so that even a `kill -9` of ptshadow takes it down.
 * Nothing is left on disk: no RAM file, no socket path.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qemu_vm.h"
#include "tcg_dirty.h"

#define QEMU_DEFAULT "qemu-system-x86_64"
#define FD_RAM       3
#define FD_CONS      4
#define FD_DB        5
#define FD_PLUGIN    6
#define FD_QMP       7
#define QEMU_NICE    5 /* QEMU's priority below ptshadow's */

int qemu_find_binary(const char *want, char *path, size_t len, char *err, size_t errlen)
{
	const char *env = getenv("PATH");
	char *dirs, *save = NULL;

	if (want != NULL) {
		if (access(want, X_OK) != 0) {
			snprintf(err, errlen, "--qemu %s: %s", want, strerror(errno));
			return EXIT_USAGE;
		}
		snprintf(path, len, "%s", want);
		return 0;
	}
	dirs = strdup(env != NULL ? env : "/usr/local/bin:/usr/bin:/bin");
	if (dirs == NULL) {
		snprintf(err, errlen, "out of memory");
		return EXIT_INTERNAL;
	}
	for (char *d = strtok_r(dirs, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, len, "%s/%s", d, QEMU_DEFAULT);
		if (access(path, X_OK) == 0) {
			free(dirs);
			return 0;
		}
	}
	free(dirs);
	snprintf(err, errlen,
	         "%s: not found on PATH (install qemu-system-x86, or name it with --qemu PATH)",
	         QEMU_DEFAULT);
	return EXIT_INTERNAL;
}

#define MAX_ARGS 48

struct argv_buf {
	char *v[MAX_ARGS];
	unsigned n;
	char text[4096 + 2 * VM_CMDLINE_MAX];
	size_t used;
	bool overflow;
};

static void arg(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argv_buf *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->n + 1 >= MAX_ARGS || a->used >= sizeof(a->text)) {
		a->overflow = true;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(a->text + a->used, sizeof(a->text) - a->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(a->text) - a->used) {
		a->overflow = true; /* never start QEMU on a command line cut short */
		return;
	}
	a->v[a->n++] = a->text + a->used;
	a->v[a->n] = NULL;
	a->used += (size_t)n + 1;
}

/*
 * -accel and -smp.  With more than one vCPU, TCG runs them round-robin on one
 * thread (thread=single), not one thread each (MTTCG): the interleaving is
 * QEMU's timer slices and the guest's `pause` and `hlt`, not the host's
 * scheduler, which is what a replayable run wants, and the machines here
 * have two cores for several jobs anyway (docs/smp.md).  Free-running groups
 * want the opposite (cfg->parallel): thread=multi, each vCPU on a host
 * thread, racing for real.  KVM runs each vCPU on a thread of its own.
 */
static void cpu_args(struct argv_buf *a, const struct vm_config *cfg)
{
	unsigned cpus = cfg->cpus > 1 ? cfg->cpus : 1;

	arg(a, "-accel");
	arg(a, "%s",
	    cfg->qemu_kvm   ? "kvm"
	    : cpus == 1     ? "tcg"
	    : cfg->parallel ? "tcg,thread=multi"
	                    : "tcg,thread=single");
	arg(a, "-smp");
	arg(a, "%u", cpus);
}

/* the machine: accelerator, CPU, RAM from our memfd, its vCPUs (cpu_args), nothing else */
static void argv_machine(struct argv_buf *a, const char *qemu, const struct vm_config *cfg)
{
	arg(a, "%s", qemu);
	cpu_args(a, cfg);
	arg(a, "-machine");
	arg(a, "pc,memory-backend=ram0,max-ram-below-4g=%llu", (unsigned long long)QEMU_LOWMEM_MAX);
	arg(a, "-cpu");
	/* a KVM that refuses IA32_ARCH_CAPABILITIES (kvm_pvm: "failed to set MSR
	 * 0x10a") makes QEMU abort at start; the guest never reads it */
	arg(a, "%s", cfg->qemu_kvm ? "host,-arch-capabilities" : "max");
	arg(a, "-m");
	arg(a, "%uM", cfg->mem_mib);
	arg(a, "-object");
	arg(a, "memory-backend-file,id=ram0,size=%uM,mem-path=/proc/self/fd/%d,share=on",
	    cfg->mem_mib, FD_RAM);
	arg(a, "-nodefaults");
	arg(a, "-no-user-config");
	arg(a, "-display");
	arg(a, "none");
	/* a triple fault (a reset) is a shutdown that pauses the machine rather
	 * than ending QEMU: each vCPU's registers can still be read (qemu.c,
	 * qemu_machine_stopped); a quit or a signal still ends it */
	arg(a, "-action");
	arg(a, "reboot=shutdown,shutdown=pause");
	arg(a, "-S"); /* paused until QMP is ready and says "cont" (qemu.c) */
}

/* its devices (console, doorbell, QMP on our sockets; the exit port), the
 * plugin, and the guest */
static void build_argv(struct argv_buf *a, const char *qemu, const char *guest,
                       const struct vm_config *cfg, const char *plugin)
{
	argv_machine(a, qemu, cfg);
	arg(a, "-chardev");
	arg(a, "socket,id=con,fd=%d", FD_CONS);
	arg(a, "-chardev");
	arg(a, "socket,id=db,fd=%d", FD_DB);
	arg(a, "-chardev");
	arg(a, "socket,id=qmp,fd=%d", FD_QMP);
	arg(a, "-mon");
	arg(a, "chardev=qmp,mode=control");
	arg(a, "-serial");
	arg(a, "chardev:con");
	arg(a, "-serial");
	arg(a, "chardev:db");
	arg(a, "-device");
	arg(a, "isa-debug-exit,iobase=%#x,iosize=4", PTS_QEMU_EXIT_PORT);
	if (plugin != NULL) {
		arg(a, "-plugin");
		arg(a, "%s,fd=%d,vpages=on", plugin, FD_PLUGIN);
	}
	arg(a, "-kernel");
	arg(a, "%s", guest);
	arg(a, "-append");
	arg(a, "%s doorbell=com2", cfg->cmdline != NULL ? cfg->cmdline : "");
}

static __attribute__((noreturn)) void child(const struct argv_buf *a, pid_t parent, int ram_fd,
                                            int cons_fd, int db_fd, int plugin_fd, int qmp_fd,
                                            int err_fd)
{
	sigset_t none;
	int null = open("/dev/null", O_RDWR);

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) /* we lost the race with the parent's death */
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* below us: on a CPU we share, the CPU is ptshadow's as soon as the
	 * guest calls (docs/performance.md, "A guest that waits"); raising our
	 * niceness cannot fail, it stops at 19 */
	(void)!nice(QEMU_NICE);
	signal(SIGPIPE, SIG_DFL);
	/* move the inherited fds out of the way first, then into place */
	ram_fd = fcntl(ram_fd, F_DUPFD_CLOEXEC, 10);
	cons_fd = fcntl(cons_fd, F_DUPFD_CLOEXEC, 10);
	db_fd = fcntl(db_fd, F_DUPFD_CLOEXEC, 10);
	qmp_fd = fcntl(qmp_fd, F_DUPFD_CLOEXEC, 10);
	if (plugin_fd >= 0)
		plugin_fd = fcntl(plugin_fd, F_DUPFD_CLOEXEC, 10);
	if (null < 0 || ram_fd < 0 || cons_fd < 0 || db_fd < 0 || qmp_fd < 0 ||
	    dup2(qmp_fd, FD_QMP) < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(err_fd, 2) < 0 || dup2(ram_fd, FD_RAM) < 0 || dup2(cons_fd, FD_CONS) < 0 ||
	    dup2(db_fd, FD_DB) < 0 || (plugin_fd >= 0 && dup2(plugin_fd, FD_PLUGIN) < 0))
		_exit(126);
	execv(a->v[0], a->v);
	dprintf(2, "exec %s: %s\n", a->v[0], strerror(errno));
	_exit(127);
}

/* QEMU's command line, or NULL with err (out of memory, or too long) */
static struct argv_buf *launch_argv(const char *qemu, const char *guest_path,
                                    const struct vm_config *cfg, const char *plugin, char *err,
                                    size_t errlen)
{
	struct argv_buf *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	build_argv(a, qemu, guest_path, cfg, plugin);
	if (!a->overflow)
		return a;
	snprintf(err, errlen, "QEMU's command line does not fit in %zu bytes (%s, --cmdline)",
	         sizeof(a->text), guest_path);
	free(a);
	return NULL;
}

/* our ends of the sockets and the stderr pipe, non-blocking; QEMU's closed */
static void keep_our_ends(struct qemu_vm *q, const int cons[2], const int db[2], const int qmp[2],
                          const int errp[2])
{
	close(cons[1]);
	close(db[1]);
	close(qmp[1]);
	close(errp[1]);
	q->qmp_fd = qmp[0];
	q->cons_fd = cons[0];
	q->db_fd = db[0];
	q->err_fd = errp[0];
	fcntl(q->cons_fd, F_SETFL, O_NONBLOCK);
	fcntl(q->db_fd, F_SETFL, O_NONBLOCK);
	fcntl(q->err_fd, F_SETFL, O_NONBLOCK);
	fcntl(q->qmp_fd, F_SETFL, O_NONBLOCK);
}

int qemu_launch(struct vm *vm, const char *qemu, const char *guest_path,
                const struct vm_config *cfg, const char *plugin, char *err, size_t errlen)
{
	struct qemu_vm *q = QEMU(vm);
	int cons[2], db[2], qmp[2], errp[2];
	struct argv_buf *a = launch_argv(qemu, guest_path, cfg, plugin, err, errlen);
	pid_t parent = getpid();

	if (a == NULL)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cons) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, db) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "QEMU's sockets: %s", strerror(errno));
		free(a);
		return -1;
	}
	q->pid = fork();
	if (q->pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		free(a);
		return -1;
	}
	if (q->pid == 0)
		child(a, parent, q->ram_fd, cons[1], db[1],
		      q->dirty != NULL ? tcg_dirty_fd(q->dirty) : -1, qmp[1], errp[1]);
	free(a);
	setpgid(q->pid, q->pid); /* whichever of us runs first */
	q->running = true;
	keep_our_ends(q, cons, db, qmp, errp);
	return 0;
}

int qemu_reap(struct qemu_vm *q, bool kill_now)
{
	int status = 0;
	struct timespec ms = {0, 1000000};

	if (q->pid <= 0)
		return -1;
	if (kill_now)
		kill(q->pid, SIGKILL);
	for (int i = 0; i < 3000; i++) { /* QEMU closed its end: it is on its way out */
		pid_t r = waitpid(q->pid, &status, WNOHANG);
		if (r == q->pid || (r < 0 && errno != EINTR)) {
			q->pid = 0;
			q->running = false;
			return status;
		}
		if (i == 2000)
			kill(q->pid, SIGKILL);
		nanosleep(&ms, NULL);
	}
	kill(q->pid, SIGKILL);
	waitpid(q->pid, &status, 0);
	q->pid = 0;
	q->running = false;
	return status;
}
