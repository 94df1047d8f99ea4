/* monitor/desc.h - the introspection descriptor, copied out of the guest and
 * validated once, and the kernel-VA view built on it (KVA -> GPA, reads).
 */
#ifndef MONITOR_DESC_H
#define MONITOR_DESC_H

#include <stddef.h>
#include <stdint.h>

#include <ptshadow/abi.h>

#include "gmem.h"
#include "hmap.h"

/*
 * Copy the descriptor at desc_gpa out of guest memory and validate it.  0 on
 * success; -1 with a one-line message in err ("descriptor: ...") otherwise.
 */
int desc_load(const struct gmem *mem, gpa_t desc_gpa, struct pts_descriptor *d, char *err,
              size_t errlen);
/* Validate a host copy (desc_load calls it); mem bounds the physical ranges. */
int desc_validate(const struct pts_descriptor *d, const struct gmem *mem, char *err, size_t errlen);

/*
 * What a descriptor may ask of the monitor (docs/architecture.md, "Limits").
 * The monitor keeps two copies of the vm_page array, so vm_page_size bounds
 * them to RAM / 16 each; a pv entry holds four 8-byte fields; the kenter
 * window is the ABI's (PTS_KENTER_PAGES).  Lists the guest builds are bounded
 * by guest RAM: the pool holds at most one page per page of RAM inside the
 * pv KVA window, and its pages at most that many pv entries.
 */
#define DESC_VM_PAGE_SIZE_MAX  256u
#define DESC_PV_ENTRY_SIZE_MIN 32u
#define DESC_KENTER_SIZE_MAX   ((uint64_t)PTS_KENTER_PAGES * PTS_PAGE_SIZE)
/* pv-list locks the monitor reads at every stop, and their spacing */
#define DESC_PV_LOCKS_MAX       4096u
#define DESC_PV_LOCK_STRIDE_MAX 256u
/* pool pages the monitor follows over the three lists (+ 1 to see an overflow) */
uint64_t desc_max_pool_pages(const struct pts_descriptor *d, const struct gmem *mem);
/* pv entries the monitor follows over every list (+ 1 to see an overflow) */
uint64_t desc_max_pv(const struct pts_descriptor *d, const struct gmem *mem);

/* One page frame of the vm_page array: pfn -> array index, or -1. */
int64_t desc_pfn_index(const struct pts_descriptor *d, uint64_t pfn);
/* KVA of vm_page for array index i. */
uint64_t desc_vm_page_kva(const struct pts_descriptor *d, uint64_t i);
/* vm_page array index of the vm_page at kva, or -1 if kva is not one. */
int64_t desc_vm_page_index(const struct pts_descriptor *d, uint64_t kva);

/*
 * Kernel virtual addresses, translated through the direct map, the kernel
 * image window, or a checked walk of the kernel pmap's page table.
 */
struct kview {
	const struct pts_descriptor *d;
	const struct gmem *mem;
	gpa_t kernel_root; /* kernel pmap PML4 PA, 0 until known */
	struct hmap cache; /* KVA page -> GPA page + 1, for walked translations */
};

void kview_init(struct kview *kv, const struct pts_descriptor *d, const struct gmem *mem);
void kview_free(struct kview *kv);
/* forget walked translations (the kernel page table may have changed) */
void kview_flush(struct kview *kv);
/* 0 and *gpa, or a negative gmem error (GMEM_ERANGE: not mapped) */
int kva_to_gpa(struct kview *kv, uint64_t kva, gpa_t *gpa);
/* read len bytes at kva, page by page */
int kva_read(struct kview *kv, uint64_t kva, void *dst, size_t len);
int kva_read_u64(struct kview *kv, uint64_t kva, uint64_t *v);

#endif /* MONITOR_DESC_H */
