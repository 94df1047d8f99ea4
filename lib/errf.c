/* lib/errf.c - an error message with a prefix (see errf.h). */
#include <stdio.h>

#include "errf.h"

int verrf(char *err, size_t errlen, const char *prefix, unsigned line, const char *fmt, va_list ap)
{
	int n;

	if (errlen == 0)
		return -1;
	n = line != 0 ? snprintf(err, errlen, "%s:%u: ", prefix, line)
	              : snprintf(err, errlen, "%s: ", prefix);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	return -1;
}

int errf(char *err, size_t errlen, const char *prefix, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verrf(err, errlen, prefix, line, fmt, ap);
	va_end(ap);
	return -1;
}
