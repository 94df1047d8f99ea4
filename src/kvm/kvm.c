/* src/kvm/kvm.c - the KVM side of the VMM: /dev/kvm, the VM and its memslot, the
 * vCPU, CPUID with the ptshadow hypervisor leaves, PVH entry registers.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_vm.h"

#define KVM_TSS_GPA 0xfffbd000ull

static int kvm_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -1;
}

/* Guest RAM (vm/'s mapping) as memslot 0: 0, or -1 with err. */
static int kvm_memslot(struct vm *vm, uint64_t mem_size, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region region;

	if (vm_ram_anon(vm, mem_size) != 0)
		return kvm_fail(err, errlen, "guest memory");
	region = (struct kvm_userspace_memory_region){
	    .slot = 0,
	    .flags = 0, /* dirty logging starts after boot: vm_dirty_start */
	    .guest_phys_addr = 0,
	    .memory_size = mem_size,
	    .userspace_addr = (uint64_t)vm->mem.base,
	};
	if (ioctl(KVM(vm)->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return kvm_fail(err, errlen, "KVM_SET_USER_MEMORY_REGION");
	return 0;
}

/* The vCPU and its kvm_run page: 0, or -1 with err. */
static int kvm_open_vcpu(struct vm *vm, char *err, size_t errlen)
{
	int mmap_size;

	KVM(vm)->vcpu_fd = ioctl(KVM(vm)->vm_fd, KVM_CREATE_VCPU, 0);
	if (KVM(vm)->vcpu_fd < 0)
		return kvm_fail(err, errlen, "KVM_CREATE_VCPU");
	mmap_size = ioctl(KVM(vm)->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run))
		return kvm_fail(err, errlen, "KVM_GET_VCPU_MMAP_SIZE");
	KVM(vm)->run_size = (size_t)mmap_size;
	KVM(vm)->run =
	    mmap(NULL, KVM(vm)->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, KVM(vm)->vcpu_fd, 0);
	if (KVM(vm)->run == MAP_FAILED) {
		KVM(vm)->run = NULL;
		return kvm_fail(err, errlen, "mmap kvm_run");
	}
	if (KVM(vm)->ncpus > 1 && kvm_smp_open_aps(vm, mmap_size, err, errlen) != 0)
		return -1;
	return kvm_dirty_map_vcpu(vm, 0, KVM(vm)->vcpu_fd, err, errlen) < 0 ? -1 : 0;
}

/* Several vCPUs need what kvm_smp_missing names: -2 (a usage error) without it. */
static int kvm_open_smp(struct vm *vm, char *err, size_t errlen)
{
	const char *missing = kvm_smp_missing(KVM(vm)->kvm_fd);

	if (missing != NULL) {
		snprintf(err, errlen, "--cpus %u: this KVM lacks %s", KVM(vm)->ncpus, missing);
		return -2;
	}
	return kvm_smp_irqchip(vm, err, errlen);
}

int kvm_open_vm(struct vm *vm, uint64_t mem_size, const struct vm_config *cfg, char *err,
                size_t errlen)
{
	int api, rc;

	vm->be = calloc(1, sizeof(struct kvm_vm));
	if (vm->be == NULL)
		return kvm_fail(err, errlen, "KVM backend state");
	KVM(vm)->kvm_fd = KVM(vm)->vm_fd = KVM(vm)->vcpu_fd = -1;
	KVM(vm)->ncpus = cfg->cpus > 1 ? cfg->cpus : 1;
	KVM(vm)->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (KVM(vm)->kvm_fd < 0)
		return kvm_fail(err, errlen, "/dev/kvm");
	api = ioctl(KVM(vm)->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm: API version %d, need %d", api, KVM_API_VERSION);
		return -1;
	}
	KVM(vm)->vm_fd = ioctl(KVM(vm)->kvm_fd, KVM_CREATE_VM, 0);
	if (KVM(vm)->vm_fd < 0)
		return kvm_fail(err, errlen, "KVM_CREATE_VM");
	if (mem_size <= KVM_TSS_GPA && ioctl(KVM(vm)->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_GPA) < 0 &&
	    errno != ENOTTY && errno != EINVAL)
		return kvm_fail(err, errlen, "KVM_SET_TSS_ADDR");
	if (KVM(vm)->ncpus > 1 && (rc = kvm_open_smp(vm, err, errlen)) != 0)
		return rc;
	rc = kvm_dirty_setup(vm, mem_size, cfg->dirty_mode, cfg->dirty_ring_bytes, err, errlen);
	if (rc < 0)
		return rc;
	if (kvm_memslot(vm, mem_size, err, errlen) != 0 || kvm_open_vcpu(vm, err, errlen) != 0)
		return -1;
	int khz = ioctl(KVM(vm)->vcpu_fd, KVM_GET_TSC_KHZ, 0);
	vm->tsc_khz = khz > 0 ? (uint64_t)khz : 0;
	return 0;
}

/*
 * The guest sees the host's supported CPUID, with the hypervisor bit set and
 * the ptshadow leaves in place of any other hypervisor's: 0x40000000 (highest
 * leaf and signature) and 0x40000010 (TSC frequency in kHz, VMware style).
 */
/* The host's leaves with the hypervisor bit, another hypervisor's leaves
 * dropped, and ours added (room for two more entries is there). */
static void cpuid_ours(struct kvm_cpuid2 *cpuid, uint64_t tsc_khz)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 e = cpuid->entries[i];
		if (e.function >= 0x40000000u && e.function < 0x40000100u)
			continue;
		if (e.function == 1)
			e.ecx |= 1u << 31; /* hypervisor present */
		cpuid->entries[n++] = e;
	}
	cpuid->entries[n++] = (struct kvm_cpuid_entry2){
	    .function = PTS_CPUID_LEAF,
	    .eax = PTS_CPUID_LEAF + 0x10,
	    .ebx = PTS_CPUID_SIG_EBX,
	    .ecx = PTS_CPUID_SIG_ECX,
	    .edx = PTS_CPUID_SIG_EDX,
	};
	cpuid->entries[n++] = (struct kvm_cpuid_entry2){
	    .function = PTS_CPUID_LEAF + 0x10,
	    .eax = (uint32_t)tsc_khz,
	};
	cpuid->nent = n;
}

/* vCPU n's own: its initial APIC ID (leaf 1 EBX[31:24], leaf 0xb EDX) is n */
static int cpuid_set(struct kvm_cpuid2 *cpuid, int fd, unsigned n)
{
	for (unsigned i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | n << 24;
		if (e->function == 0xb || e->function == 0x1f)
			e->edx = n;
	}
	return ioctl(fd, KVM_SET_CPUID2, cpuid);
}

int x86_setup_cpuid(struct vm *vm, char *err, size_t errlen)
{
	unsigned max = 256;
	struct kvm_cpuid2 *cpuid;
	int rc;

	cpuid = calloc(1, sizeof(*cpuid) + (max + 2) * sizeof(struct kvm_cpuid_entry2));
	if (cpuid == NULL)
		return kvm_fail(err, errlen, "cpuid");
	cpuid->nent = max;
	if (ioctl(KVM(vm)->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		free(cpuid);
		return kvm_fail(err, errlen, "KVM_GET_SUPPORTED_CPUID");
	}
	cpuid_ours(cpuid, vm->tsc_khz);
	rc = ioctl(KVM(vm)->vcpu_fd, KVM_SET_CPUID2, cpuid);
	for (unsigned i = 1; i < KVM(vm)->ncpus && rc == 0; i++)
		rc = cpuid_set(cpuid, KVM(vm)->aps[i].fd, i);
	free(cpuid);
	return rc < 0 ? kvm_fail(err, errlen, "KVM_SET_CPUID2") : 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = 1,
	    .s = 1,
	    .l = 0,
	    .g = 1,
	};
}

/* PVH: 32-bit protected mode, paging off, flat segments, %ebx = start_info. */
int x86_setup_pvh_regs(struct vm *vm, uint64_t entry, uint64_t start_info, char *err, size_t errlen)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(KVM(vm)->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return kvm_fail(err, errlen, "KVM_GET_SREGS");
	flat_segment(&sregs.cs, 0x08, 0xb);
	flat_segment(&sregs.ds, 0x10, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){
	    .base = 0, .limit = 0x67, .selector = 0x18, .type = 0xb, .present = 1};
	sregs.ldt = (struct kvm_segment){.selector = 0, .type = 0x2, .present = 1, .unusable = 1};
	sregs.gdt.base = 0;
	sregs.gdt.limit = 0xffff;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = 0x11; /* PE | ET */
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(KVM(vm)->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return kvm_fail(err, errlen, "KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = entry;
	regs.rbx = start_info;
	regs.rflags = 0x2;
	if (ioctl(KVM(vm)->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return kvm_fail(err, errlen, "KVM_SET_REGS");
	return 0;
}

uint64_t kvm_cr3(struct vm *vm)
{
	struct kvm_sregs sregs;

	if (ioctl(KVM(vm)->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return 0;
	return sregs.cr3;
}

void kvm_dump_regs(struct vm *vm, FILE *f)
{
	struct kvm_vm *k = KVM(vm);
	int fd = k->vcpu_fd;
	struct kvm_regs r;
	struct kvm_sregs s;

	if (k->ncpus > 1 && k->ap_event != VM_EV_NONE) { /* the AP that ended it: stopped */
		fd = k->aps[k->ap_event_cpu].fd;
		fprintf(f, "  (cpu%u's)\n", k->ap_event_cpu);
	}
	if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(f, "  (registers unavailable: %s)\n", strerror(errno));
		return;
	}
	fprintf(f, "  rip %016llx rsp %016llx rflags %016llx\n", r.rip, r.rsp, r.rflags);
	fprintf(f, "  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", r.rax, r.rbx, r.rcx,
	        r.rdx);
	fprintf(f, "  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n", r.rsi, r.rdi, r.rbp,
	        r.r8);
	fprintf(f, "  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n", r.r9, r.r10, r.r11,
	        r.r12);
	fprintf(f, "  r13 %016llx r14 %016llx r15 %016llx\n", r.r13, r.r14, r.r15);
	fprintf(f, "  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %016llx\n", s.cr0, s.cr2,
	        s.cr3, s.cr4, s.efer);
	fprintf(f, "  cs %04x ss %04x gdt %016llx/%04x idt %016llx/%04x\n", s.cs.selector,
	        s.ss.selector, s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}

/* Each vCPU's RIP: the APs paused (at most SMP_PAUSE_NS, as for a snapshot)
 * so that their registers can be read, then let go again.  vm->error is the
 * caller's (a hang's message) and stays so. */
void kvm_vcpu_rips(struct vm *vm, uint64_t *rip, bool *known, unsigned n)
{
	struct kvm_vm *k = KVM(vm);
	char keep[sizeof(vm->error)];
	struct kvm_regs r;
	unsigned have = k->ncpus < n ? k->ncpus : n;

	snprintf(keep, sizeof(keep), "%s", vm->error);
	if (k->ncpus > 1 && kvm_smp_pause(vm) != 0)
		have = 1; /* an AP still in KVM_RUN: its registers cannot be read */
	for (unsigned v = 0; v < have; v++) {
		int fd = v == 0 ? k->vcpu_fd : k->aps[v].fd;
		if (fd >= 0 && ioctl(fd, KVM_GET_REGS, &r) == 0) {
			rip[v] = r.rip;
			known[v] = true;
		}
	}
	kvm_smp_resume(vm);
	snprintf(vm->error, sizeof(vm->error), "%s", keep);
}

void kvm_destroy(struct vm *vm)
{
	struct kvm_vm *k = KVM(vm);

	if (k == NULL)
		return;
	if (k->ncpus > 1)
		kvm_smp_destroy(vm);
	kvm_dirty_free(vm);
	if (k->run != NULL)
		munmap(k->run, k->run_size);
	if (k->vcpu_fd >= 0)
		close(k->vcpu_fd);
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->kvm_fd >= 0)
		close(k->kvm_fd);
	free(k);
	vm->be = NULL;
}
