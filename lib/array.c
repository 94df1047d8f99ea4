/* lib/array.c - a growable array (see array.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

int array_reserve(void *items, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t n = *cap != 0 ? *cap : (first != 0 ? first : 1);
	void *old, *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	if (n > SIZE_MAX / elem)
		return -1;
	memcpy(&old, items, sizeof(old)); /* items is a T **: its pointer, whatever T */
	p = realloc(old, n * elem);
	if (p == NULL)
		return -1;
	memcpy(items, &p, sizeof(p));
	*cap = n;
	return 0;
}
