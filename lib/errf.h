/* lib/errf.h - an error message with a prefix: "FILE:LINE: message", or
 * "PREFIX: message", into the caller's buffer.  Every error of host code
 * names the input at fault this way (docs/architecture.md).
 */
#ifndef PTSHADOW_LIB_ERRF_H
#define PTSHADOW_LIB_ERRF_H

#include <stdarg.h>
#include <stddef.h>

/* "prefix:line: " (line 0: "prefix: ") and the message into err; -1, always,
 * so that a check can `return errf(...)`. */
int errf(char *err, size_t errlen, const char *prefix, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int verrf(char *err, size_t errlen, const char *prefix, unsigned line, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

#endif /* PTSHADOW_LIB_ERRF_H */
