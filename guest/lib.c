/* guest/lib.c - the few libc routines a freestanding kernel needs (gcc also
 * emits calls to memset/memcpy/memmove/memcmp on its own). */
#include "kernel.h"

/*
 * String instructions, 8 bytes at a time: under the nested hypervisor here
 * the guest kernel is emulated, and a `rep` costs per iteration, so stosq
 * zeroes a page about 7x faster than stosb (and 30x faster than a loop).
 */
void *memset(void *d, int c, size_t n)
{
	void *ret = d;
	size_t q = n / 8, r = n % 8;
	uint64_t v = (uint8_t)c * 0x0101010101010101ull;

	__asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(r) : "a"(v) : "memory");
	return ret;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *ret = d;
	size_t q = n / 8, r = n % 8;

	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(q)::"memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(r)::"memory");
	return ret;
}

/* gcc may call memmove and memcmp for structure copies and compares, even
 * freestanding (its documented requirement), so they exist unreferenced */
// cppcheck-suppress unusedFunction
void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if (dp < sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n-- > 0)
		dp[n] = sp[n];
	return d;
}

// cppcheck-suppress unusedFunction
int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i] || a[i] == '\0')
			return (unsigned char)a[i] - (unsigned char)b[i];
	}
	return 0;
}

char *strncpy_s(char *d, const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return d;
	for (; i + 1 < n && s[i] != '\0'; i++)
		d[i] = s[i];
	d[i] = '\0';
	return d;
}
