/* lib/array.h - a growable array: the one place that grows an array of
 * elements with realloc, for every room of src/ and monitor/.
 */
#ifndef PTSHADOW_LIB_ARRAY_H
#define PTSHADOW_LIB_ARRAY_H

#include <stddef.h>

/*
 * Make room for `need` elements of `elem` bytes in the array *items points
 * to (a T **), whose room is *cap elements: at least doubled, `first` at
 * the first allocation.  0, or -1 when out of memory (the array is as it
 * was).
 */
int array_reserve(void *items, size_t *cap, size_t need, size_t elem, size_t first);

/* room for one more element than n in arr (a T *) of capacity cap */
#define ARRAY_GROW(arr, cap, n, first)                                                             \
	array_reserve(&(arr), &(cap), (n) + 1, sizeof(*(arr)), (first))

#endif /* PTSHADOW_LIB_ARRAY_H */
