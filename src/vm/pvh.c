/* src/vm/pvh.c - the PVH boot data the VMM hands the guest: hvm_start_info
 * (version 1), its memory map and the command line, at fixed low addresses.
 */
#include <string.h>

#include "vm_impl.h"

/* The first MiB holds the boot data and is never the guest's RAM. */
static void memmap_write(struct pts_hvm_memmap_entry mm[2], uint64_t size)
{
	mm[0] = (struct pts_hvm_memmap_entry){0, VM_LOW_RESERVED, PTS_HVM_MEMMAP_RESERVED, 0};
	mm[1] = (struct pts_hvm_memmap_entry){VM_LOW_RESERVED, size - VM_LOW_RESERVED,
	                                      PTS_HVM_MEMMAP_RAM, 0};
}

int pvh_setup(struct gmem *m, const char *cmdline, uint64_t *start_info_gpa, char *err,
              size_t errlen)
{
	struct pts_hvm_start_info *si;
	struct pts_hvm_memmap_entry *mm;
	size_t cl = cmdline != NULL ? strlen(cmdline) : 0;
	char *dst;

	if (cl >= VM_CMDLINE_MAX) {
		snprintf(err, errlen, "--cmdline: %zu bytes, at most %u allowed", cl,
		         VM_CMDLINE_MAX - 1);
		return -1;
	}
	si = gmem_ptr(m, VM_START_INFO_GPA, sizeof(*si), 8);
	mm = gmem_ptr(m, VM_MEMMAP_GPA, 2 * sizeof(*mm), 8);
	dst = gmem_ptr(m, VM_CMDLINE_GPA, VM_CMDLINE_MAX, 1);
	if (si == NULL || mm == NULL || dst == NULL || m->size <= VM_LOW_RESERVED) {
		snprintf(err, errlen, "guest memory too small for PVH boot data");
		return -1;
	}
	memcpy(dst, cmdline != NULL ? cmdline : "", cl + 1);
	memmap_write(mm, m->size);
	memset(si, 0, sizeof(*si));
	si->magic = PTS_HVM_START_MAGIC;
	si->version = 1;
	si->cmdline_paddr = VM_CMDLINE_GPA;
	si->memmap_paddr = VM_MEMMAP_GPA;
	si->memmap_entries = 2;
	*start_info_gpa = VM_START_INFO_GPA;
	return 0;
}
