/* src/qemu/qemu_cpus.c - each vCPU's CR3 as the guest publishes it in struct
 * pts_smp, for the dirty log's walks on several vCPUs (qemu_dirty.c); each
 * vCPU's RIP as QEMU tells it, for a guest that hangs.
 *
 * Guest memory is hostile: the descriptor's smp pointer is a KVA, translated
 * by a bounded walk from the kernel pmap's root through the checked accessor;
 * the structure is copied out before anything in it is used.  QEMU's vCPU v
 * has LAPIC ID v (-smp N, no topology given); the guest numbers its CPUs in
 * the order they came up, so each vCPU's CPU is found by its LAPIC ID.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_vm.h"

#define PTE_P     0x1ull
#define PTE_PS    0x80ull
#define PTE_FRAME 0x000ffffffffff000ull

/* kva's guest-physical address through root (4 KiB, 2 MiB and 1 GiB pages), or 0 */
static uint64_t kva_to_gpa(const struct vm *vm, uint64_t root, uint64_t kva)
{
	uint64_t table = root & PTE_FRAME;

	for (int level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (unsigned)(level - 1);
		uint64_t pte;
		if (gmem_read_u64(&vm->mem, table + ((kva >> shift) & 511) * 8, &pte) != 0 ||
		    !(pte & PTE_P))
			return 0;
		if (level == 1 || ((pte & PTE_PS) && level <= 3)) {
			uint64_t mask = (1ull << shift) - 1;
			return ((pte & PTE_FRAME) & ~mask) | (kva & mask);
		}
		table = pte & PTE_FRAME;
	}
	return 0;
}

/* copy [kva, kva + len) out, a page at a time: 0, or -1 */
static int kva_copy(const struct vm *vm, uint64_t root, uint64_t kva, void *dst, size_t len)
{
	uint8_t *out = dst;

	while (len > 0) {
		size_t chunk = PTS_PAGE_SIZE - (kva & (PTS_PAGE_SIZE - 1));
		uint64_t gpa = kva_to_gpa(vm, root, kva);
		if (chunk > len)
			chunk = len;
		if (gpa == 0 || gmem_read(&vm->mem, gpa, out, chunk) != 0)
			return -1;
		out += chunk;
		kva += chunk;
		len -= chunk;
	}
	return 0;
}

int qemu_vcpu_cr3s(struct vm *vm, uint64_t kernel_root, uint64_t *cr3, unsigned n)
{
	uint64_t at = vm->desc_gpa + offsetof(struct pts_descriptor, smp), kva;
	struct pts_smp smp;
	unsigned up;

	memset(cr3, 0, n * sizeof(*cr3));
	if (vm->desc_gpa == 0 || kernel_root == 0 || gmem_read_u64(&vm->mem, at, &kva) != 0 ||
	    kva == 0 || kva_copy(vm, kernel_root, kva, &smp, sizeof(smp)) != 0 ||
	    smp.magic != PTS_SMP_MAGIC || smp.cpu_size != sizeof(struct pts_cpu))
		return -1;
	up = smp.ncpus < PTS_MAX_CPUS ? smp.ncpus : PTS_MAX_CPUS;
	for (unsigned v = 1; v <= n; v++) {
		unsigned c = 0;
		while (c < up && smp.cpu[c].lapic_id != v)
			c++;
		if (c < up)
			cr3[v - 1] = smp.cpu[c].cr3 & PTE_FRAME;
		else if (v < up) /* a CPU is up that no vCPU is known to run */
			return -1;
	}
	return 0;
}

char *qemu_hmp(struct vm *vm, const char *command, char *err, size_t errlen)
{
	struct qemu_vm *q = QEMU(vm);

	return q->host != NULL ? q->host->hmp(vm, command, err, errlen)
	                       : qmp_hmp(q, command, err, errlen);
}

/* "info registers -a" (one QMP call, bounded as every one is): a section a
 * vCPU, headed "CPU#v", each with its RIP= */
void qemu_vcpu_rips(struct vm *vm, uint64_t *rip, bool *known, unsigned n)
{
	char err[256], *all = qemu_hmp(vm, "info registers -a", err, sizeof(err));
	char *p = all;

	while (p != NULL && (p = strstr(p, "CPU#")) != NULL) {
		char *end;
		unsigned long v = strtoul(p + 4, &end, 10);
		char *next = strstr(end, "CPU#");
		if (next != NULL)
			*next = '\0'; /* this section only */
		if (end != p + 4 && v < n && qmp_reg(end, "RIP", &rip[v]) == 0)
			known[v] = true;
		if (next != NULL)
			*next = 'C';
		p = next;
	}
	free(all);
}
