/* src/kvm/vcpu_loop.c - creating the VM from a guest image, and the run loop: one
 * switch on the exit reason, port I/O through the table, a watchdog that ends
 * a guest that stops making progress.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "kvm_vm.h"

static int kvm_create(struct vm *vm, const char *guest_path, const struct vm_config *cfg, char *err,
                      size_t errlen)
{
	struct elf_image img;
	uint64_t start_info;
	int rc;

	vm->caps = VM_CAP_DIRTY_LOG | VM_CAP_SNAPSHOT | VM_CAP_REGS;
	rc = kvm_open_vm(vm, (uint64_t)cfg->mem_mib << 20, cfg, err, errlen);
	if (rc < 0)
		return rc == -2 ? EXIT_USAGE : EXIT_INTERNAL;
	if (elf_load(guest_path, &vm->mem, &img, err, errlen) < 0)
		return EXIT_USAGE;
	if (pvh_setup(&vm->mem, cfg->cmdline, &start_info, err, errlen) < 0)
		return EXIT_USAGE;
	if (x86_setup_cpuid(vm, err, errlen) < 0 ||
	    x86_setup_pvh_regs(vm, img.pvh_entry, start_info, err, errlen) < 0 ||
	    (KVM(vm)->ncpus > 1 && kvm_smp_start(vm, err, errlen) != 0))
		return EXIT_INTERNAL;
	return 0;
}

enum vm_event kvm_io_exit(struct vm *vm, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	enum vm_event ev = VM_EV_NONE;

	if (run->io.data_offset > KVM(vm)->run_size ||
	    (uint64_t)run->io.size * run->io.count > KVM(vm)->run_size - run->io.data_offset) {
		snprintf(vm->error, sizeof(vm->error), "KVM reported a bad I/O data area");
		return VM_EV_KVM_ERROR;
	}
	for (uint32_t i = 0; i < run->io.count && ev == VM_EV_NONE; i++) {
		ev = io_dispatch(vm, run->io.port, run->io.direction == KVM_EXIT_IO_OUT,
		                 run->io.size, data);
		data += run->io.size;
	}
	return ev;
}

static enum vm_event exit_io(struct vm *vm)
{
	enum vm_event ev;

	if (KVM(vm)->ncpus == 1)
		return kvm_io_exit(vm, KVM(vm)->run);
	pthread_mutex_lock(&KVM(vm)->lock); /* the APs' exits use the table too */
	ev = kvm_io_exit(vm, KVM(vm)->run);
	pthread_mutex_unlock(&KVM(vm)->lock);
	return ev;
}

/*
 * A guest whose exception cannot be delivered (a triple fault under some
 * nested hypervisors) or whose instruction cannot be emulated shows up as
 * KVM's internal error: the guest's doing, so a finding, not a KVM failure.
 */
static enum vm_event exit_internal_error(struct vm *vm)
{
	struct kvm_run *run = KVM(vm)->run;
	uint32_t sub = run->internal.suberror;

	if (sub == KVM_INTERNAL_ERROR_EMULATION || sub == KVM_INTERNAL_ERROR_DELIVERY_EV) {
		snprintf(vm->error, sizeof(vm->error),
		         "guest crashed: KVM could not %s (suberror %u; a triple fault "
		         "looks like this "
		         "here)",
		         sub == KVM_INTERNAL_ERROR_EMULATION ? "emulate its instruction"
		                                             : "deliver its exception",
		         sub);
		return VM_EV_SHUTDOWN;
	}
	snprintf(vm->error, sizeof(vm->error), "KVM internal error (suberror %u)", sub);
	return VM_EV_KVM_ERROR;
}

/* An access where there is nothing (the guest's), or an entry KVM refused
 * (KVM's) */
static enum vm_event exit_refused(struct vm *vm)
{
	struct kvm_run *run = KVM(vm)->run;

	if (run->exit_reason == KVM_EXIT_MMIO) {
		snprintf(vm->error, sizeof(vm->error),
		         "guest %s %u bytes at unbacked address %#llx",
		         run->mmio.is_write ? "wrote" : "read", run->mmio.len,
		         (unsigned long long)run->mmio.phys_addr);
		return VM_EV_GUEST_ERROR;
	}
	snprintf(vm->error, sizeof(vm->error), "KVM could not enter the guest (reason %#llx)",
	         (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	return VM_EV_KVM_ERROR;
}

static enum vm_event exit_reason(struct vm *vm)
{
	struct kvm_run *run = KVM(vm)->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return exit_io(vm);
	case KVM_EXIT_HLT:
		/* nothing here sends interrupts, so a halted vCPU never wakes */
		snprintf(vm->error, sizeof(vm->error),
		         "guest halted (hlt) and nothing will wake it");
		return VM_EV_HLT;
	case KVM_EXIT_SHUTDOWN:
		snprintf(vm->error, sizeof(vm->error), "guest shut down (triple fault)");
		return VM_EV_SHUTDOWN;
	case KVM_EXIT_MMIO:
	case KVM_EXIT_FAIL_ENTRY:
		return exit_refused(vm);
	case KVM_EXIT_INTERNAL_ERROR:
		return exit_internal_error(vm);
	case KVM_EXIT_INTR:
		return VM_EV_NONE;
	case KVM_EXIT_DIRTY_RING_FULL:
		/* keep what the ring holds for the next sync, then let KVM go on */
		vm->ring_full_exits++;
		return vm_dirty_harvest(vm, true) == 0 ? VM_EV_NONE : VM_EV_KVM_ERROR;
	default:
		snprintf(vm->error, sizeof(vm->error), "unexpected KVM exit reason %u",
		         run->exit_reason);
		return VM_EV_KVM_ERROR;
	}
}

static enum vm_event no_progress(struct vm *vm)
{
	snprintf(vm->error, sizeof(vm->error), "guest made no progress for %u s (--timeout)",
	         vm->timeout_s);
	return VM_EV_TIMEOUT;
}

/* An AP's event, if one came (its thread kicked us): the BSP stops with it. */
static enum vm_event ap_event_taken(struct vm *vm)
{
	struct kvm_vm *k = KVM(vm);
	enum vm_event ev;

	k->run->immediate_exit = 0; /* before the look: a kick after it is not lost */
	pthread_mutex_lock(&k->lock);
	ev = k->ap_event;
	if (ev != VM_EV_NONE)
		snprintf(vm->error, sizeof(vm->error), "%s", k->ap_error);
	pthread_mutex_unlock(&k->lock);
	return ev;
}

/* One KVM_RUN and its exit: the event, or VM_EV_NONE (a signal too) */
static enum vm_event run_once(struct vm *vm)
{
	enum vm_event ev;

	if (KVM(vm)->ncpus > 1 && (ev = ap_event_taken(vm)) != VM_EV_NONE)
		return ev;
	if (ioctl(KVM(vm)->vcpu_fd, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return VM_EV_NONE;
		snprintf(vm->error, sizeof(vm->error), "KVM_RUN: %s", strerror(errno));
		return VM_EV_KVM_ERROR;
	}
	vm->exits++;
	ev = exit_reason(vm);
	if (ev == VM_EV_SHUTDOWN && KVM(vm)->ncpus > 1) { /* an AP's names its CPU too */
		char why[sizeof(vm->error)];
		snprintf(why, sizeof(why), "%s", vm->error);
		snprintf(vm->error, sizeof(vm->error), "cpu0: %s", why);
	}
	return ev;
}

enum vm_event kvm_run_vcpu(struct vm *vm)
{
	enum vm_event ev = VM_EV_NONE;
	uint64_t now = now_ns();

	/* the deadline runs from the guest's last progress, not from this call */
	if (vm->deadline_ns != 0 && now >= vm->deadline_ns)
		return no_progress(vm);
	if (vm->deadline_ns != 0)
		watchdog_arm(vm->deadline_ns - now);
	if (KVM(vm)->ncpus > 1)
		kvm_smp_thread_is(KVM(vm)->run);
	while (ev == VM_EV_NONE) {
		ev = run_once(vm);
		if (ev != VM_EV_NONE)
			break;
		/* checked after every exit too: a guest that exits often (a serial
		 * or hypercall loop) may take the signal outside KVM_RUN */
		if (vm->deadline_ns != 0 && watchdog_fired()) {
			ev = no_progress(vm);
		} else if (vm_interrupted) {
			snprintf(vm->error, sizeof(vm->error), "interrupted");
			ev = VM_EV_INTERRUPTED;
		}
	}
	if (vm->deadline_ns != 0)
		watchdog_disarm();
	return ev;
}

static bool kvm_available(const struct vm_config *cfg, char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	const char *missing;

	if (fd < 0) {
		snprintf(why, len, "/dev/kvm: %s", strerror(errno));
		return false;
	}
	missing = cfg->cpus > 1 ? kvm_smp_missing(fd) : NULL;
	if (missing != NULL)
		snprintf(why, len, "--cpus %u: this KVM lacks %s", cfg->cpus, missing);
	close(fd);
	return missing == NULL;
}

/* the modules that serve /dev/kvm: kvm_intel, kvm_amd, or kvm_pvm (a
 * software hypervisor, many times slower) */
static void kvm_identity(const struct vm_config *cfg, char *buf, size_t len)
{
	static const char *const mods[] = {"kvm_intel", "kvm_amd", "kvm_pvm"};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]) && used < len; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/sys/module/%s", mods[i]);
		if (access(path, F_OK) == 0)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "+" : "",
			                         mods[i]);
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "kvm");
}

const struct vm_backend vm_backend_kvm = {
    .name = "kvm",
    .dirty_logs = 1u << VM_DIRTY_RING | 1u << VM_DIRTY_CLEAR | 1u << VM_DIRTY_GET,
    .dirty_logs_one_cpu = 1u << VM_DIRTY_RING,
    .dirty_one_cpu_why = "an AP's ring does not recover from an overflow on every KVM "
                         "(kvm_pvm keeps it \"full\"); with --cpus > 1 auto logs with clear",
    .missing = "no /dev/kvm here",
    .cpus_max = VM_CPUS_MAX,
    .engine = true,
    .available = kvm_available,
    .identity = kvm_identity,
    .create = kvm_create,
    .run = kvm_run_vcpu,
    .destroy = kvm_destroy,
    .cr3 = kvm_cr3,
    .cr3_actual = NULL, /* kvm_cr3 reads the vCPU's own */
    .dump_regs = kvm_dump_regs,
    .vcpu_rips = kvm_vcpu_rips,
    .dirty_start = kvm_dirty_start,
    .dirty_harvest = kvm_dirty_harvest,
    .snap_stop = kvm_snap_stop,
    .snap_save = kvm_snap_save,
    .snap_load = kvm_snap_load,
};
