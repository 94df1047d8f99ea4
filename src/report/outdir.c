/* src/report/outdir.c - bounded reads of an output directory's files (outdir.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outdir.h"
#include "util.h"

/* O_NONBLOCK: a FIFO put where a file belongs does not block the open */
static int open_regular(const char *path, struct stat *st, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	return fd;
}

char *outdir_read(const char *path, size_t max, bool tail, size_t *len, bool *cut, char *err,
                  size_t errlen)
{
	struct stat st;
	size_t want, got = 0;
	off_t from = 0;
	char *buf;
	int fd = open_regular(path, &st, err, errlen);

	if (fd < 0)
		return NULL;
	want = (uint64_t)st.st_size > max ? max : (size_t)st.st_size;
	if (tail && (uint64_t)st.st_size > max)
		from = st.st_size - (off_t)max;
	if (cut != NULL)
		*cut = (uint64_t)st.st_size > max;
	buf = malloc(want + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	while (got < want) { /* the file may shrink while we read: take what is there */
		ssize_t n = pread(fd, buf + got, want - got, from + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	if (len != NULL)
		*len = got;
	return buf;
}

json_t *outdir_stats(const char *out, char *err, size_t errlen)
{
	char path[PATH_MAX], *text;
	json_error_t je;
	size_t len;
	bool cut;
	json_t *j;

	snprintf(path, sizeof(path), "%s/stats.json", out);
	text = outdir_read(path, OUTDIR_STATS_MAX, false, &len, &cut, err, errlen);
	if (text == NULL)
		return NULL;
	if (cut) {
		snprintf(err, errlen, "%s: larger than %u bytes", path, OUTDIR_STATS_MAX);
		free(text);
		return NULL;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (j == NULL || !json_is_object(j)) {
		snprintf(err, errlen, "%s: %s", path, j == NULL ? je.text : "not a JSON object");
		json_decref(j);
		return NULL;
	}
	return j;
}

bool outdir_has_file(const char *out, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", out, rel);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int outdir_write(const char *out, const char *name, void (*render)(FILE *f, const void *arg),
                 const void *arg, char *err, size_t errlen)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc;

	snprintf(path, sizeof(path), "%s/%s", out, name);
	if (mem == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	render(mem, arg);
	if (fclose(mem) != 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(text);
		return -1;
	}
	rc = write_file_atomic(path, text, len, err, errlen);
	free(text);
	return rc;
}
