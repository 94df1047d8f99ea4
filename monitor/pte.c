/* monitor/pte.c - decoding page-table entries: frames, reserved bits, rights,
 * and the text form used by dumps and violation reports.
 */
#include "pte.h"

#include <stdio.h>
#include <string.h>

#include <ptshadow/abi.h>

uint64_t pte_frame(uint64_t pte, unsigned level)
{
	if (level > 1 && pte_is_leaf(pte, level))
		return pte & PG_FRAME & ~(level_span(level) - 1);
	return pte & PG_FRAME;
}

uint64_t pte_reserved(uint64_t pte, unsigned level, uint64_t avl_ok)
{
	uint64_t bad = pte & PG_HIGH_AVL & ~avl_ok;
	if (level == 4)
		bad |= pte & PG_PS;
	if (level > 1 && pte_is_leaf(pte, level)) /* PAT is bit 12; 13.. up to the span must be 0 */
		bad |= pte & (level_span(level) - 1) & ~0x1fffull;
	return bad;
}

uint32_t pte_prot(uint64_t pte)
{
	uint32_t prot = PTS_PROT_READ;
	if (pte & PG_RW)
		prot |= PTS_PROT_WRITE;
	if (!(pte & PG_NX))
		prot |= PTS_PROT_EXEC;
	return prot;
}

const char *prot_name(uint32_t prot)
{
	static const char *const names[8] = {"-", "r", "w", "rw", "x", "rx", "wx", "rwx"};
	return names[prot & 7];
}

char *pte_flags(uint64_t pte, unsigned level, uint64_t wired_bit, uint64_t managed_bit, char *buf,
                size_t len)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} bits[] = {{PG_V, "P"}, {PG_RW, "RW"}, {PG_u, "US"},  {PG_WT, "PWT"}, {PG_N, "PCD"},
	            {PG_U, "A"}, {PG_M, "D"},   {PG_PS, "PS"}, {PG_G, "G"},    {PG_NX, "NX"}};
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
		const char *name = bits[i].name;
		if (!(pte & bits[i].bit))
			continue;
		if (bits[i].bit == PG_PS && level == 1)
			name = "PAT";
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? " " : "", name);
	}
	if (wired_bit && (pte & wired_bit))
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%sW", n ? " " : "");
	if (managed_bit && (pte & managed_bit))
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%sPVLIST", n ? " " : "");
	if (pte_reserved(pte, level, wired_bit | managed_bit))
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%sRSVD", n ? " " : "");
	if (n == 0)
		snprintf(buf, len, "-");
	return buf;
}

char *pte_format(uint64_t pte, unsigned level, uint64_t wired_bit, uint64_t managed_bit, char *buf,
                 size_t len)
{
	char flags[96];
	pte_flags(pte, level, wired_bit, managed_bit, flags, sizeof flags);
	snprintf(buf, len, "0x%016llx pa=0x%llx [%s]", (unsigned long long)pte,
	         (unsigned long long)pte_frame(pte, level), flags);
	return buf;
}
