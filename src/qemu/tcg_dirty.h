/* src/qemu/tcg_dirty.h - the host side of ptsdirty.so, the TCG plugin that logs which
 * guest pages the guest wrote (and, optionally, which virtual pages it touched).
 *
 * ptshadow makes the region, lets QEMU inherit its fd and starts QEMU with
 *     -plugin <tcg_dirty_plugin_path()>,fd=<tcg_dirty_fd()>[,vpages=on]
 * Then, while the vCPU is parked between ops, each harvest hands over the pages
 * logged since the previous one.  A pfn is the page's offset in QEMU's RAM
 * (= guest-physical below the PCI hole).  The region is written by code inside
 * QEMU, so everything read back from it is bounded before use.
 */
#ifndef PTSHADOW_TCG_DIRTY_H
#define PTSHADOW_TCG_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tcg_dirty;

/* How big a region: guest pages, pfn list entries a vCPU, vCPUs (QEMU's -smp,
 * at most PTSDIRTY_MAX_VCPUS: the plugin refuses a QEMU with more). */
struct tcg_dirty_size {
	uint64_t gpa_pages, list_cap;
	unsigned vcpus;
};

/* A memfd holding header + bitmap (gpa_pages bits) + for each vCPU a pfn list
 * (list_cap entries) and a vpage table; mapped; logging off.  The fd has
 * FD_CLOEXEC cleared. */
int tcg_dirty_open(struct tcg_dirty **out, const struct tcg_dirty_size *size, char *err,
                   size_t errlen);
/* The same in a new file at path (0666: QEMU may be another user), for a QEMU
 * that cannot inherit our fd: -plugin <path>,path=<path>.  Remove it with
 * unlink once the plugin is alive. */
int tcg_dirty_open_at(struct tcg_dirty **out, const char *path, const struct tcg_dirty_size *size,
                      char *err, size_t errlen);
int tcg_dirty_fd(const struct tcg_dirty *d);
/* The plugin accepted the region inside qemu_plugin_install(). */
bool tcg_dirty_plugin_alive(const struct tcg_dirty *d);
void tcg_dirty_enable(struct tcg_dirty *d, bool on);
/* Log virtual pages too (only effective with vpages=on). */
void tcg_dirty_enable_vpages(struct tcg_dirty *d, bool on);

/* Hand every pfn logged since the last harvest to add(), clear their bits and the
 * list.  *lost = true when the list overflowed or held nonsense: the caller must
 * then treat all pages as written.  Meant for while the vCPU is parked, safe at
 * any time (an entry racing with the harvest comes out now or next time).
 * Returns the number of pfns handed over. */
int tcg_dirty_harvest(struct tcg_dirty *d, void (*add)(void *ctx, uint64_t pfn), void *ctx,
                      bool *lost);
/* The same for the virtual pages accessed: page-aligned va, the QEMU vCPU index
 * that accessed it (< the region's vcpus; its CR3 is the one to walk with),
 * is_store when any access to it was a store.  *lost: a table overflowed,
 * re-walk everything. */
typedef void tcg_dirty_vpage_fn(void *ctx, unsigned vcpu, uint64_t va, bool is_store);
int tcg_dirty_harvest_vpages(struct tcg_dirty *d, tcg_dirty_vpage_fn *add_vpage, void *ctx,
                             bool *lost);

void tcg_dirty_close(struct tcg_dirty *d);

/* Where the plugin is: $PTSHADOW_PLUGIN if set, else ptsdirty.so beside
 * /proc/self/exe.  0, or -1 when it does not fit in buf. */
int tcg_dirty_plugin_path(char *buf, size_t len);

#endif /* PTSHADOW_TCG_DIRTY_H */
