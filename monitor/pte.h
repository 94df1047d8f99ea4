/* monitor/pte.h - x86-64 page-table entry bits as the monitor decodes them,
 * with the BSD names, and the PTE encoding of docs/semantics.md.
 */
#ifndef MONITOR_PTE_H
#define MONITOR_PTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PG_V        0x001ull /* present */
#define PG_RW       0x002ull /* writable */
#define PG_u        0x004ull /* user */
#define PG_WT       0x008ull /* PWT */
#define PG_N        0x010ull /* PCD */
#define PG_U        0x020ull /* accessed ("used") */
#define PG_M        0x040ull /* dirty ("modified") */
#define PG_PS       0x080ull /* large page (PAT at level 1) */
#define PG_G        0x100ull /* global */
#define PG_NX       (1ull << 63)
#define PG_FRAME    0x000ffffffffff000ull /* bits 12-51 */
#define PG_HIGH_AVL 0x7ff0000000000000ull /* bits 52-62 */

#define NPTEPG     512u
#define PTP_LEVELS 4u

/* bytes mapped by one entry at level (1 = PT ... 4 = PML4) */
static inline uint64_t level_span(unsigned level)
{
	return 1ull << (12 + 9 * (level - 1));
}

/* index of va in a table of the given level */
static inline unsigned level_index(uint64_t va, unsigned level)
{
	return (unsigned)((va >> (12 + 9 * (level - 1))) & 511);
}

static inline uint64_t canonical(uint64_t va)
{
	return (va & (1ull << 47)) ? (va | 0xffff000000000000ull) : (va & 0x0000ffffffffffffull);
}

static inline bool is_canonical(uint64_t va)
{
	return canonical(va) == va;
}

static inline bool pte_valid(uint64_t pte)
{
	return (pte & PG_V) != 0;
}

/* a leaf at this level: a PT entry, or a PS entry at level 2 or 3 */
static inline bool pte_is_leaf(uint64_t pte, unsigned level)
{
	return level == 1 || ((level == 2 || level == 3) && (pte & PG_PS));
}

/* old -> new only sets A and/or D: what the MMU does on its own */
static inline bool pte_hw_update(uint64_t old, uint64_t new)
{
	return pte_valid(old) && (old ^ new) == ((old ^ new) & (PG_U | PG_M)) && (new &old) == old;
}

/* physical frame of an entry; PS leaves are aligned to their span */
uint64_t pte_frame(uint64_t pte, unsigned level);
/* reserved bits set in a valid entry at this level (0 if none) */
uint64_t pte_reserved(uint64_t pte, unsigned level, uint64_t avl_ok);
/* PTS_PROT_* rights a leaf grants to user mode (r always, w if RW, x if !NX) */
uint32_t pte_prot(uint64_t pte);
/* "0x...  P RW US A D NX" into buf; returns buf */
char *pte_format(uint64_t pte, unsigned level, uint64_t wired_bit, uint64_t managed_bit, char *buf,
                 size_t len);
/* "V RW US NX ..." flags only */
char *pte_flags(uint64_t pte, unsigned level, uint64_t wired_bit, uint64_t managed_bit, char *buf,
                size_t len);
/* "r", "rw", "rx", "rwx" or "-" */
const char *prot_name(uint32_t prot);

#endif /* MONITOR_PTE_H */
