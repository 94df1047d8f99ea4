/* guest/kernel.h - what every part of the guest kernel may rely on: the
 * kernel virtual layout, boot information, console, panic and assertions.
 *
 * Virtual layout (PML4 slots 256..511 are the kernel's, shared by all pmaps):
 *   0x0000000000000000 .. 0x00007fffffffffff  user space (slots 0..255)
 *   0xffff800000000000  DMAP_BASE     slot 256..  direct map of all RAM (NX, 2 MiB pages)
 *   0xffffc00000000000  KENTER_BASE   slot 384    kenter window (unmanaged 4K mappings)
 *   0xffffc08000000000  PV_KVA_BASE   slot 385    fixed pv pool reservation (FreeBSD 2006)
 *   0xffffc10000000000  LAPIC_KVA     slot 386    the local APIC's page, uncached (SMP only)
 *   0xffffffff80000000  KERNBASE      slot 511    kernel image (phys 1 MiB + ...)
 */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <ptshadow/abi.h>

#define PAGE_SIZE  4096ul
#define PAGE_SHIFT 12
#define PAGE_MASK  (PAGE_SIZE - 1)
#define NBPD       (1ul << 21) /* bytes mapped by a PD entry: 2 MiB */
#define NBPDP      (1ul << 30) /* bytes mapped by a PDPT entry: 1 GiB */
#define NBPML4     (1ul << 39)

#define KERNBASE          0xffffffff80000000ul
#define DMAP_BASE         0xffff800000000000ul
#define DMAP_MAX_BYTES    (64ul << 30) /* RAM the direct map can cover */
#define KENTER_BASE       0xffffc00000000000ul
#define KENTER_SIZE       (4ul << 20) /* 1024 pages */
#define PV_KVA_BASE       0xffffc08000000000ul
#define PV_KVA_SIZE       (64ul << 20)         /* 16384 pool pages */
#define LAPIC_KVA         0xffffc10000000000ul /* mapped only when cpus > 1 */
#define KERNEL_SLOT_FIRST 256
#define KERNEL_SLOT_LAST  511
#define SLOT_DMAP         256
#define SLOT_KENTER       384
#define SLOT_PV_KVA       385
#define SLOT_LAPIC        386
#define SLOT_KERNBASE     511

#define PHYS_TO_DMAP(pa) ((uint64_t)(pa) + DMAP_BASE)
#define DMAP_TO_PHYS(va) ((uint64_t)(va)-DMAP_BASE)
/* physical address of a kernel-image object (text, data, bss) */
#define KVTOPHYS(va) ((uint64_t)(va)-KERNBASE)

#define round_page(x)      (((uint64_t)(x) + PAGE_MASK) & ~(uint64_t)PAGE_MASK)
#define trunc_page(x)      ((uint64_t)(x) & ~(uint64_t)PAGE_MASK)
#define nitems(a)          (sizeof(a) / sizeof((a)[0]))
#define __aligned(x)       __attribute__((aligned(x)))
#define __packed           __attribute__((packed))
#define __unused           __attribute__((unused))
#define __noreturn         __attribute__((noreturn))
#define __printflike(f, a) __attribute__((format(printf, f, a)))

/* ---- boot information, filled from the PVH start_info before anything runs */
#define BOOT_MEMMAP_MAX  32
#define BOOT_CMDLINE_MAX 512

struct boot_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* 1 = RAM, as in the E820/PVH memory map */
	uint32_t pad;
};

struct boot_info {
	struct boot_memmap_entry memmap[BOOT_MEMMAP_MAX];
	uint32_t nmemmap;
	bool under_ptshadow;      /* CPUID signature seen: hypercalls available */
	uint64_t kernel_pa_start; /* first byte of the image */
	uint64_t kernel_pa_end;   /* first byte after .bss, page aligned */
	uint64_t boot_alloc_end;  /* boot-time allocations below this PA are in use */
	uint64_t tsc_khz;         /* 0 if unknown */
	char cmdline[BOOT_CMDLINE_MAX];
};
extern struct boot_info bootinfo;

/* cmdline: "key=value key2=value2"; returns dflt when key is absent or bad */
uint64_t cmdline_u64(const char *key, uint64_t dflt);
bool cmdline_flag(const char *key);
bool cmdline_is(const char *key, const char *value);

/* ---- console and failure */
void cons_putc(char c);
void cons_puts(const char *s);
int kprintf(const char *fmt, ...) __printflike(1, 2);
int kvsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t len, const char *fmt, ...) __printflike(3, 4);
__noreturn void panic_at(const char *file, int line, const char *fmt, ...) __printflike(3, 4);
#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)
#define KASSERT(x)                                                                                 \
	do {                                                                                       \
		if (__builtin_expect(!(x), 0))                                                     \
			panic("assertion \"%s\" failed in %s", #x, __func__);                      \
	} while (0)

/* ---- hypercalls (no-ops under QEMU, where guest_exit uses isa-debug-exit) */
void hc_register(struct pts_descriptor *desc); /* desc in the kernel image */
/* the coverage header's guest-physical address, 0 without coverage (cov.c) */
uint64_t cov_register(void);
void hc_op_done(struct pts_ring *ring);
void hc_nop(void);
void hc_raw(enum pts_hypercall nr, uint64_t record_pa); /* selftests: any record address */
void hc_wakeup_init(void); /* doorbell: sleep in long waits (after cpu_init) */
__noreturn void guest_exit(uint32_t status);

/* ---- libc bits */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
char *strncpy_s(char *d, const char *s, size_t n); /* always NUL-terminates */

/* ---- hooks the rest of the kernel provides (guest/kmain.c calls them) */
void kern_main(void); /* after the CPU and console are up; never returns */
/* guest/selftest.c: a hostile console on purpose (selftest=binconsole|escpanic, flood=N) */
void selftest_console_boot(void);
void selftest_after_op(void); /* the ring loop, after every op */

#endif /* GUEST_KERNEL_H */
