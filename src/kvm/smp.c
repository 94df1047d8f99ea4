/* src/kvm/smp.c - the KVM backend on several vCPUs (docs/smp.md): the in-kernel
 * irqchip, a thread for each AP, and the pause that stops them all.
 *
 * RULES
 *   - vCPU 0 (the BSP) runs on the caller's thread in kvm_run_vcpu, as with one
 *     vCPU; vCPU n > 0 runs on its own thread from creation to kvm_destroy.  The
 *     guest starts the APs itself (INIT, SIPI) through the in-kernel LAPICs, so
 *     an AP's first KVM_RUN blocks in KVM until its SIPI.
 *   - `lock` guards the AP control word, the first AP event, and every exit an
 *     AP hands to the table (console, hypercalls): the BSP's own port I/O
 *     takes it too, so vm state has one writer at a time.
 *   - A thread is kicked out of KVM_RUN by SIG_KICK, whose handler sets its
 *     own kvm_run's immediate_exit: a kick between the thread's look at the
 *     control word and its KVM_RUN is not lost (immediate_exit is cleared
 *     before the look).
 *   - An AP whose exit is an event (a panic record, a triple fault, KVM's
 *     error) records it (the first one wins), kicks the BSP, and waits for
 *     kvm_destroy: the BSP's run returns the event, naming the CPU.
 *   - Every wait is bounded: a pause that the APs do not reach in
 *     SMP_PAUSE_NS is an error, never a hang.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "kvm_vm.h"

#define SIG_KICK     SIGUSR2
#define SMP_PAUSE_NS 5000000000ull

static __thread struct kvm_run *self_run;

static void on_kick(int sig)
{
	(void)sig;
	if (self_run != NULL)
		self_run->immediate_exit = 1;
}

void kvm_smp_thread_is(struct kvm_run *run)
{
	self_run = run;
}

static int smp_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -1;
}

/* One line naming what this KVM lacks for several vCPUs, or NULL. */
const char *kvm_smp_missing(int kvm_fd)
{
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0)
		return "KVM_CAP_IRQCHIP (an in-kernel LAPIC to start the APs)";
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MP_STATE) <= 0)
		return "KVM_CAP_MP_STATE (the APs' run state, for resets)";
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
		return "KVM_CAP_IMMEDIATE_EXIT (stopping a vCPU thread)";
	return NULL;
}

/* Before any vCPU: the LAPICs, IOAPIC and PIC in the kernel. */
int kvm_smp_irqchip(struct vm *vm, char *err, size_t errlen)
{
	struct sigaction sa = {.sa_handler = on_kick};
	struct kvm_vm *k = KVM(vm);

	if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return smp_fail(err, errlen, "KVM_CREATE_IRQCHIP");
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_KICK, &sa, NULL) != 0) /* no SA_RESTART: KVM_RUN returns EINTR */
		return smp_fail(err, errlen, "sigaction");
	if (pthread_mutex_init(&k->lock, NULL) != 0 || pthread_cond_init(&k->cond, NULL) != 0)
		return smp_fail(err, errlen, "pthread_mutex_init");
	k->lock_ready = true;
	k->bsp_thread = pthread_self();
	return 0;
}

int kvm_smp_open_aps(struct vm *vm, int mmap_size, char *err, size_t errlen)
{
	struct kvm_vm *k = KVM(vm);

	for (unsigned i = 1; i < k->ncpus; i++) {
		struct kvm_ap *ap = &k->aps[i];
		ap->cpu = i;
		ap->vm = vm;
		ap->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, i);
		if (ap->fd < 0)
			return smp_fail(err, errlen, "KVM_CREATE_VCPU (an AP)");
		ap->run =
		    mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, ap->fd, 0);
		if (ap->run == MAP_FAILED) {
			ap->run = NULL;
			return smp_fail(err, errlen, "mmap kvm_run (an AP)");
		}
		if (kvm_dirty_map_vcpu(vm, i, ap->fd, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* ---- an AP's exits ---------------------------------------------------------- */

/* the first AP event wins; the BSP is told (locked) */
static void ap_event(struct kvm_ap *ap, enum vm_event ev, const char *why)
{
	struct kvm_vm *k = KVM(ap->vm);

	if (k->ap_event == VM_EV_NONE) {
		k->ap_event = ev;
		k->ap_event_cpu = ap->cpu;
		snprintf(k->ap_error, sizeof(k->ap_error), "cpu%u: %s", ap->cpu, why);
	}
	pthread_kill(k->bsp_thread, SIG_KICK);
}

/* An AP's port I/O: the console, and of the hypercalls its panic record only
 * (as the QEMU backend serves an AP's doorbell): CPU 0 makes every other
 * call, so one from an AP is a guest error. */
static enum vm_event ap_io(struct kvm_ap *ap)
{
	struct kvm_run *run = ap->run;
	unsigned nr = run->io.port - PTS_HC_PORT_BASE;

	if (run->io.port >= PTS_HC_PORT_BASE && nr < PTS_HC_PORT_COUNT && nr != PTS_HC_PANIC) {
		snprintf(ap->vm->error, sizeof(ap->vm->error),
		         "guest hypercall: CPU %u called (number %u); ptshadow serves CPU 0's "
		         "calls only",
		         ap->cpu, nr);
		return VM_EV_GUEST_ERROR;
	}
	return kvm_io_exit(ap->vm, run); /* the port table, locked */
}

/* one exit of an AP (locked): VM_EV_NONE, or its event with vm->error set */
static enum vm_event ap_exit(struct kvm_ap *ap)
{
	struct vm *vm = ap->vm;

	switch (ap->run->exit_reason) {
	case KVM_EXIT_IO:
		return ap_io(ap);
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT: /* the in-kernel LAPIC wakes it; KVM_RUN again */
		return VM_EV_NONE;
	case KVM_EXIT_SHUTDOWN:
		snprintf(vm->error, sizeof(vm->error), "guest shut down (triple fault)");
		return VM_EV_SHUTDOWN;
	case KVM_EXIT_DIRTY_RING_FULL: /* as the BSP's: keep what it holds, go on */
		vm->ring_full_exits++;
		return kvm_dirty_harvest_locked(vm, (int)ap->cpu) == 0 ? VM_EV_NONE
		                                                       : VM_EV_KVM_ERROR;
	case KVM_EXIT_MMIO:
		snprintf(vm->error, sizeof(vm->error),
		         "guest %s %u bytes at unbacked address %#llx",
		         ap->run->mmio.is_write ? "wrote" : "read", ap->run->mmio.len,
		         (unsigned long long)ap->run->mmio.phys_addr);
		return VM_EV_GUEST_ERROR;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(vm->error, sizeof(vm->error),
		         "guest crashed: KVM internal error (suberror %u; a triple fault looks "
		         "like this here)",
		         ap->run->internal.suberror);
		return VM_EV_SHUTDOWN;
	default:
		snprintf(vm->error, sizeof(vm->error), "unexpected KVM exit reason %u",
		         ap->run->exit_reason);
		return VM_EV_KVM_ERROR;
	}
}

/* ---- the AP thread ---------------------------------------------------------- */

/* Wait while paused (counted) or stopped by its own event; false: exit. */
static bool ap_may_run(struct kvm_ap *ap)
{
	struct kvm_vm *k = KVM(ap->vm);

	while (k->ap_want != AP_EXIT && (k->ap_want == AP_PAUSE || ap->stopped)) {
		if (!ap->paused) {
			ap->paused = true;
			k->ap_paused++;
			pthread_cond_broadcast(&k->cond);
		}
		pthread_cond_wait(&k->cond, &k->lock);
	}
	if (ap->paused) {
		ap->paused = false;
		k->ap_paused--;
	}
	return k->ap_want != AP_EXIT;
}

static void *ap_thread(void *arg)
{
	struct kvm_ap *ap = arg;
	struct kvm_vm *k = KVM(ap->vm);

	kvm_smp_thread_is(ap->run);
	pthread_mutex_lock(&k->lock);
	for (;;) {
		enum vm_event ev = VM_EV_NONE;
		ap->run->immediate_exit = 0;
		if (!ap_may_run(ap))
			break;
		pthread_mutex_unlock(&k->lock);
		int rc = ioctl(ap->fd, KVM_RUN, 0);
		int e = errno;
		pthread_mutex_lock(&k->lock);
		if (rc < 0 && e != EINTR && e != EAGAIN) {
			snprintf(ap->vm->error, sizeof(ap->vm->error), "KVM_RUN: %s", strerror(e));
			ev = VM_EV_KVM_ERROR;
		} else if (rc == 0) {
			ev = ap_exit(ap);
		}
		if (ev != VM_EV_NONE) {
			ap_event(ap, ev, ap->vm->error);
			ap->stopped = true;
		}
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* The AP threads, once every vCPU has its CPUID; SIG_KICK only, in them. */
int kvm_smp_start(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_vm *k = KVM(vm);
	sigset_t all, old;

	sigfillset(&all);
	sigdelset(&all, SIG_KICK);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 1; i < k->ncpus; i++) {
		if (pthread_create(&k->aps[i].thread, NULL, ap_thread, &k->aps[i]) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return smp_fail(err, errlen, "pthread_create (an AP)");
		}
		k->aps[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* ---- pause, resume, end ------------------------------------------------------ */

static void kick_aps(struct kvm_vm *k)
{
	for (unsigned i = 1; i < k->ncpus; i++)
		if (k->aps[i].started)
			pthread_kill(k->aps[i].thread, SIG_KICK);
}

static unsigned aps_started(const struct kvm_vm *k)
{
	unsigned n = 0;

	for (unsigned i = 1; i < k->ncpus; i++)
		n += k->aps[i].started;
	return n;
}

/* Every AP out of KVM_RUN and waiting (its state may be read and set): 0, or
 * -1 when one did not stop within SMP_PAUSE_NS. */
int kvm_smp_pause(struct vm *vm)
{
	struct kvm_vm *k = KVM(vm);
	uint64_t deadline = now_ns() + SMP_PAUSE_NS;
	int rc = 0;

	if (k->ncpus <= 1)
		return 0;
	pthread_mutex_lock(&k->lock);
	k->ap_want = AP_PAUSE;
	while (k->ap_paused < aps_started(k) && rc == 0) {
		struct timespec ts;
		uint64_t t = deadline < now_ns() + 10000000ull ? deadline : now_ns() + 10000000ull;
		kick_aps(k); /* again: a thread may have been between its look and KVM_RUN */
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t wait = t > now_ns() ? t - now_ns() : 0;
		ts.tv_sec += (time_t)((ts.tv_nsec + wait) / 1000000000ull);
		ts.tv_nsec = (long)((ts.tv_nsec + wait) % 1000000000ull);
		pthread_cond_timedwait(&k->cond, &k->lock, &ts);
		if (now_ns() >= deadline && k->ap_paused < aps_started(k))
			rc = -1;
	}
	pthread_mutex_unlock(&k->lock);
	if (rc != 0)
		snprintf(vm->error, sizeof(vm->error), "the APs did not stop within %llu s",
		         SMP_PAUSE_NS / 1000000000ull);
	return rc;
}

void kvm_smp_resume(struct vm *vm)
{
	struct kvm_vm *k = KVM(vm);

	if (k->ncpus <= 1)
		return;
	pthread_mutex_lock(&k->lock);
	k->ap_want = AP_RUN;
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
}

/* Stop and join every AP thread, close its vCPU (every exit path: kvm_destroy). */
void kvm_smp_destroy(struct vm *vm)
{
	struct kvm_vm *k = KVM(vm);

	if (k->lock_ready) {
		pthread_mutex_lock(&k->lock);
		k->ap_want = AP_EXIT;
		pthread_cond_broadcast(&k->cond);
		kick_aps(k);
		pthread_mutex_unlock(&k->lock);
	}
	for (unsigned i = 1; i < k->ncpus; i++) {
		struct kvm_ap *ap = &k->aps[i];
		if (ap->started)
			pthread_join(ap->thread, NULL);
		ap->started = false;
		if (ap->run != NULL)
			munmap(ap->run, k->run_size);
		if (ap->fd > 0)
			close(ap->fd);
	}
}
