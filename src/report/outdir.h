/* src/report/outdir.h - a campaign's output directory read back (stats.json,
 * plot_data.csv, crash directories) for the page: every file is untrusted,
 * read only if it is a regular file, and only so far. */
#ifndef PTSHADOW_OUTDIR_H
#define PTSHADOW_OUTDIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* stats.json is read back at most this big (it is a few KiB) */
#define OUTDIR_STATS_MAX (16u << 20)

/*
 * path's contents, NUL-terminated, at most max bytes: the first max bytes,
 * or with tail the last max (*cut says bytes were left out).  A FIFO, a
 * device or a directory is refused without being opened for long.  NULL
 * with err ("PATH: No such file or directory").
 */
char *outdir_read(const char *path, size_t max, bool tail, size_t *len, bool *cut, char *err,
                  size_t errlen);
/* OUT/stats.json as a JSON object, or NULL with err naming the file. */
json_t *outdir_stats(const char *out, char *err, size_t errlen);
/* OUT/name as render(f, arg) writes it, written beside and renamed: 0, or
 * -1 with err naming the file. */
int outdir_write(const char *out, const char *name, void (*render)(FILE *f, const void *arg),
                 const void *arg, char *err, size_t errlen);
/* Does OUT/rel exist as a regular file? */
bool outdir_has_file(const char *out, const char *rel);

#endif /* PTSHADOW_OUTDIR_H */
