/* src/report/report.c - turns violations and guest deaths into findings, and
 * findings into crash directories (report.txt, report.json, walk.svg, repro.ops,
 * count).
 * A directory is written whole in a temporary directory and renamed into
 * place, so parallel jobs never clobber and a full disk leaves nothing half.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"
#include "bug.h"
#include "invariant.h"
#include "report.h"
#include "svg.h"
#include "util.h"
#include "violation.h"

#define REPORT_LAST_OPS 20

uint64_t signature_of(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

void finding_sig_hex(const struct finding *f, char buf[17])
{
	snprintf(buf, 17, "%016llx", (unsigned long long)f->signature);
}

static char *memstream_text(void (*fn)(const void *, FILE *), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return strdup("");
	fn(arg, f);
	fclose(f);
	return buf;
}

static void print_violation(const void *v, FILE *f)
{
	violation_print(v, f);
}

void finding_from_violation(struct finding *f, const struct violation *v)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->id, sizeof(f->id), "%s", v->inv->id);
	snprintf(f->name, sizeof(f->name), "%s", v->inv->name);
	snprintf(f->title, sizeof(f->title), "%s", v->title);
	snprintf(f->message, sizeof(f->message), "%s", v->message);
	snprintf(f->op_text, sizeof(f->op_text), "%s", v->op_text);
	f->signature = v->signature;
	f->op_index = v->op_index;
	f->op_kind = v->op_kind;
	f->details = memstream_text(print_violation, v);
	f->json = violation_json(v);
}

static void finding_basic_json(struct finding *f)
{
	f->json = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "invariant", f->id, "name", f->name,
	                    "title", f->title, "message", f->message, "op_index",
	                    (json_int_t)f->op_index, "op", f->op_text);
}

static void finding_titled(struct finding *f, const char *id, const char *name,
                           const struct outcome *o)
{
	const struct script_op *sop = o->boot ? NULL : &o->op;
	char norm[128];

	snprintf(f->id, sizeof(f->id), "%s", id);
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->op_index = o->boot ? 0 : o->op_index;
	f->op_kind = sop != NULL ? sop->op.kind : PTS_OP_NONE;
	snprintf(f->op_text, sizeof(f->op_text), "%s", o->op_text);
	snprintf(f->title, sizeof(f->title), "%s: %s during %s", id, name,
	         sop != NULL ? op_kind_name(sop->op.kind) : "boot");
	snprintf(norm, sizeof(norm), "%s|%s", id,
	         sop != NULL ? op_kind_name(sop->op.kind) : "boot");
	f->signature = signature_of(norm);
}

/* How the guest died, for messages and reports (the guest's words escaped). */
void death_describe(const struct death *d, FILE *f)
{
	char file[sizeof(d->panic.file) * 4], msg[sizeof(d->panic.msg) * 4];

	switch (d->event) {
	case VM_EV_PANIC:
		fprintf(f, "guest panic at %s:%u: %s\n",
		        text_safe(file, sizeof(file), d->panic.file), d->panic.line,
		        text_safe(msg, sizeof(msg), d->panic.msg));
		if (d->panic.vector != 0xffffffffu)
			fprintf(f, "  vector %u error %#llx rip %#llx cr2 %#llx\n", d->panic.vector,
			        (unsigned long long)d->panic.error_code,
			        (unsigned long long)d->panic.rip, (unsigned long long)d->panic.cr2);
		break;
	case VM_EV_EXIT:
		fprintf(f, "guest exited with status %u\n", d->exit_status);
		return;
	default:
		fprintf(f, "%s\n", d->error);
		break;
	}
	fprintf(f, "guest registers:\n%s", d->regs);
}

static void print_death(const void *d, FILE *f)
{
	death_describe(d, f);
}

/* the finding's id and name for how the guest died */
static void death_names(enum vm_event ev, const char **id, const char **name)
{
	static const struct {
		enum vm_event ev;
		const char *id, *name;
	} names[] = {
	    {VM_EV_PANIC, "GUEST-PANIC", "guest panic"},
	    {VM_EV_TIMEOUT, "GUEST-HANG", "guest hang"},
	    {VM_EV_SHUTDOWN, "GUEST-CRASH", "triple fault"},
	    {VM_EV_HLT, "GUEST-HANG", "guest halted"},
	    {VM_EV_EXIT, "GUEST-EXIT", "guest exited"},
	};

	*id = "GUEST-ERROR";
	*name = "guest error";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].ev == ev) {
			*id = names[i].id;
			*name = names[i].name;
		}
}

/* report.json's "inflight": the ops in flight at a hang or a triple fault on
 * several CPUs, each with its CPU, how far it had got and its RIP if known */
static json_t *inflight_json(const struct death *d)
{
	static const char *const states[] = {
	    [INFLIGHT_NOT_BEGUN] = "not_begun",
	    [INFLIGHT_RUNNING] = "running",
	    [INFLIGHT_ENDED] = "ended",
	};
	json_t *a = json_array();

	for (unsigned i = 0; a != NULL && i < d->ninflight && i < PTS_GROUP_MAX; i++) {
		const struct inflight *in = &d->inflight[i];
		json_t *e = json_pack("{s:I, s:i, s:s}", "op_index", (json_int_t)in->op_index,
		                      "cpu", (int)in->cpu, "state", states[in->state]);
		char rip[24];
		snprintf(rip, sizeof(rip), "%#llx", (unsigned long long)in->rip);
		if (e != NULL && in->rip_known)
			json_object_set_new(e, "rip", json_string(rip));
		json_array_append_new(a, e);
	}
	return a;
}

static void finding_from_death(struct finding *f, const struct outcome *o)
{
	const struct death *d = &o->death;
	const char *id, *name;

	memset(f, 0, sizeof(*f));
	death_names(d->event, &id, &name);
	finding_titled(f, id, name, o);
	if (d->event == VM_EV_PANIC) {
		/* the panic record is the guest's: escaped, never raw to a terminal or JSON */
		char file[sizeof(d->panic.file) * 4], msg[sizeof(d->panic.msg) * 4];
		snprintf(f->message, sizeof(f->message), "panic at %s:%u: %s",
		         text_safe(file, sizeof(file), d->panic.file), d->panic.line,
		         text_safe(msg, sizeof(msg), d->panic.msg));
	} else {
		snprintf(f->message, sizeof(f->message), "%s", d->error);
	}
	f->details = memstream_text(print_death, d);
	finding_basic_json(f);
	if (f->json != NULL && d->ninflight > 0)
		json_object_set_new(f->json, "inflight", inflight_json(d));
}

static void finding_from_mismatch(struct finding *f, const struct outcome *o)
{
	const struct script_op *sop = &o->op;
	char got[32], want[32];

	memset(f, 0, sizeof(*f));
	finding_titled(f, "EXPECT", "result differs from the script", o);
	result_format(sop->op.result, sop->op.value, got, sizeof(got));
	result_format(sop->expect, sop->expect_value, want, sizeof(want));
	snprintf(f->message, sizeof(f->message), "'%s' gave %s, the script expects %s", f->op_text,
	         got, want);
	f->details = strdup("");
	finding_basic_json(f);
}

void finding_from_outcome(struct finding *f, const struct outcome *o)
{
	switch (o->kind) {
	case OUTCOME_VIOLATION:
		finding_from_violation(f, &o->violation);
		return;
	case OUTCOME_DEATH:
		finding_from_death(f, o);
		return;
	case OUTCOME_MISMATCH:
		finding_from_mismatch(f, o);
		return;
	default:
		PTS_BUG("an outcome of kind %d is no finding", (int)o->kind);
	}
}

void finding_free(struct finding *f)
{
	free(f->details);
	if (f->json != NULL)
		json_decref(f->json);
	memset(f, 0, sizeof(*f));
}

/* ---- writing ------------------------------------------------------------
 *
 * A crash directory exists whole or not at all: its files are written into a
 * temporary directory inside crashes/ (.tmp.<sig>.<pid>: a dot name, which
 * readers skip), each one fsynced, then the directory is renamed into place
 * and crashes/ fsynced.  A recurrence (or another job whose rename came
 * first) bumps count under a lock on the directory, and count is replaced
 * atomically too.  Guest text (the console tail) is escaped on the way in,
 * so report.txt is safe to cat and report.json always encodes.
 */

#define CRASH_TMP_PREFIX ".tmp."

static int write_text(const char *dir, const char *name, const char *text, size_t len, char *err,
                      size_t errlen)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return write_file_atomic(path, text, len, err, errlen);
}

static void last_ops(FILE *f, const struct script *sc, uint64_t upto)
{
	char text[OPS_TEXT_MAX], res[32];
	uint64_t first = upto + 1 > REPORT_LAST_OPS ? upto + 1 - REPORT_LAST_OPS : 0;

	for (uint64_t i = first; i <= upto && i < sc->n_ops; i++) {
		script_op_format(&sc->ops[i], text, sizeof(text));
		result_format(sc->ops[i].op.result, sc->ops[i].op.value, res, sizeof(res));
		fprintf(f, "  %s%6llu  %-50s => %s\n", i == upto ? ">" : " ", (unsigned long long)i,
		        text, res);
	}
}

/* tail: the console tail, already escaped */
static char *report_text(const struct finding *f, const struct script *sc, const char *tail,
                         size_t *len)
{
	size_t tail_len = strlen(tail);
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);

	if (out == NULL)
		return NULL;
	fprintf(out, "%s\n\n", f->title);
	fprintf(out, "invariant: %s (%s)\n", f->id, f->name);
	fprintf(out, "op:        #%llu  %s\n", (unsigned long long)f->op_index, f->op_text);
	report_schedule_text(out, sc, f->op_index);
	fprintf(out, "message:   %s\n", f->message);
	fprintf(out, "signature: %016llx\n", (unsigned long long)f->signature);
	fprintf(out, "picture:   walk.svg\n\n");
	if (f->details != NULL && f->details[0] != '\0')
		fprintf(out, "%s\n", f->details);
	fprintf(out, "last ops (%s):\n", sc->file ? sc->file : "script");
	last_ops(out, sc, f->op_index);
	fprintf(out, "\nguest console (tail):\n");
	fprintf(out, "%s%s", tail, tail_len > 0 && tail[tail_len - 1] != '\n' ? "\n" : "");
	if (fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* s as a JSON string; text that is not UTF-8 (jansson refuses it) escaped */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	char *safe;

	if (j != NULL || s == NULL)
		return j;
	safe = malloc(strlen(s) * 4 + 1);
	if (safe == NULL)
		return NULL;
	text_escape(safe, strlen(s) * 4 + 1, s, strlen(s), true);
	j = json_string(safe);
	free(safe);
	return j;
}

/* tail: the console tail, already escaped */
static json_t *report_json(const struct finding *f, const struct script *sc, const char *tail)
{
	json_t *j = f->json != NULL ? json_deep_copy(f->json) : json_object();
	json_t *ops = json_array();
	char sig[17], text[OPS_TEXT_MAX], res[32];
	uint64_t first = f->op_index + 1 > REPORT_LAST_OPS ? f->op_index + 1 - REPORT_LAST_OPS : 0;

	if (j == NULL || ops == NULL) {
		json_decref(j);
		json_decref(ops);
		return NULL;
	}
	finding_sig_hex(f, sig);
	json_object_set_new(j, "invariant", json_text(f->id));
	json_object_set_new(j, "name", json_text(f->name));
	json_object_set_new(j, "title", json_text(f->title));
	json_object_set_new(j, "signature", json_string(sig));
	json_object_set_new(j, "op_index", json_integer((json_int_t)f->op_index));
	json_object_set_new(j, "op", json_text(f->op_text));
	json_object_set_new(j, "message", json_text(f->message));
	json_t *sched = report_schedule_json(sc, f->op_index);
	if (sched != NULL)
		json_object_set_new(j, "schedule", sched);
	for (uint64_t i = first; i <= f->op_index && i < sc->n_ops; i++) {
		script_op_format(&sc->ops[i], text, sizeof(text));
		result_format(sc->ops[i].op.result, sc->ops[i].op.value, res, sizeof(res));
		json_array_append_new(ops, json_pack("{s:I, s:s, s:s}", "index", (json_int_t)i,
		                                     "op", text, "result", res));
	}
	json_object_set_new(j, "last_ops", ops);
	json_object_set_new(j, "console_tail", json_text(tail));
	if (f->details != NULL)
		json_object_set_new(j, "details", json_text(f->details));
	return j;
}

static char *script_text(const struct script *sc, size_t n, size_t *len)
{
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);

	if (out == NULL)
		return NULL;
	script_write(out, sc, n, false);
	if (fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* walk.svg: the picture of report.json's object j (svg.h) */
static char *picture_text(const json_t *j, size_t *len)
{
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);

	if (out == NULL)
		return NULL;
	if (svg_finding(j, out) != 0 || fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* the five files' texts into dir: 0, or -1 with err */
static int crash_write(const char *dir, const char *repro, size_t repro_len, const char *js,
                       const char *txt, size_t txt_len, const char *svg, size_t svg_len, char *err,
                       size_t errlen)
{
	if (write_text(dir, "repro.ops", repro, repro_len, err, errlen) == 0 &&
	    write_text(dir, "report.json", js, strlen(js), err, errlen) == 0 &&
	    write_text(dir, "report.txt", txt, txt_len, err, errlen) == 0 &&
	    write_text(dir, "walk.svg", svg, svg_len, err, errlen) == 0 &&
	    write_text(dir, "count", "1\n", 2, err, errlen) == 0)
		return 0;
	return -1;
}

/* The five files of a new crash directory, into dir (the temporary one). */
static int crash_files(const char *dir, const struct finding *f, const struct script *sc,
                       const char *console_tail, size_t tail_len, const struct session_config *cfg,
                       char *err, size_t errlen)
{
	size_t txt_len = 0, repro_len = 0, svg_len = 0;
	char *tail = malloc(tail_len * 4 + 1), *txt = NULL, *repro = NULL, *js = NULL, *svg = NULL;
	json_t *j = NULL;
	int rc = -1;

	if (tail == NULL)
		goto oom;
	text_escape(tail, tail_len * 4 + 1, console_tail, tail_len, true);
	txt = report_text(f, sc, tail, &txt_len);
	repro = script_text(sc, f->op_index + 1, &repro_len);
	j = report_json(f, sc, tail);
	if (txt == NULL || repro == NULL || j == NULL)
		goto oom;
	if (cfg != NULL)
		json_object_set_new(j, "guest", report_guest_json(cfg));
	js = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	if ((svg = picture_text(j, &svg_len)) == NULL)
		goto oom;
	if (js == NULL) {
		snprintf(err, errlen, "%s/report.json: the report cannot be encoded as JSON", dir);
		goto out;
	}
	rc = crash_write(dir, repro, repro_len, js, txt, txt_len, svg, svg_len, err, errlen);
	goto out;
oom:
	snprintf(err, errlen, "%s: out of memory", dir);
out:
	json_decref(j);
	free(tail);
	free(txt);
	free(repro);
	free(js);
	free(svg);
	return rc;
}

/* One more recurrence in dir's count, under a lock on the directory; count
 * is replaced whole, so a full disk leaves the old count, never a torn one. */
static int bump_count(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX], buf[32] = "";
	unsigned long long n = 0;
	int dfd, fd, rc;
	ssize_t r;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || flock(dfd, LOCK_EX) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/count", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : 0;
	if (fd >= 0)
		close(fd);
	if (r > 0) {
		buf[r] = '\0';
		n = strtoull(buf, NULL, 10);
	}
	snprintf(buf, sizeof(buf), "%llu\n", n + 1);
	rc = write_file_atomic(path, buf, strlen(buf), err, errlen);
	close(dfd);
	return rc;
}

/* The temporary directory could not be filled: gone, and err names the
 * directory the user will look for, not the temporary one. */
static void crash_tmp_failed(const char *tmp, const char *dir, char *err, size_t errlen)
{
	size_t n = strlen(tmp);

	if (strncmp(err, tmp, n) == 0) {
		char rest[512];
		snprintf(rest, sizeof(rest), "%s", err + n);
		snprintf(err, errlen, "%s%s", dir, rest);
	}
	remove_flat_dir(tmp);
}

/* The whole temporary directory into place (*is_new), or, when another
 * job's came first, a recurrence.  0, or -1 with err. */
static int crash_rename(const char *tmp, const char *dir, const char *crashes, bool *is_new,
                        char *err, size_t errlen)
{
	int e;

	if (rename(tmp, dir) != 0) {
		e = errno;
		remove_flat_dir(tmp);
		if (e == EEXIST || e == ENOTEMPTY) /* another job's came first */
			return bump_count(dir, err, errlen);
		snprintf(err, errlen, "%s: %s", dir, strerror(e));
		return -1;
	}
	*is_new = true;
	return fsync_dir(crashes, err, errlen);
}

int report_write(const char *outdir, const struct finding *f, const struct script *sc,
                 const char *console_tail, size_t tail_len, const struct session_config *cfg,
                 bool *is_new, char *err, size_t errlen)
{
	char crashes[PATH_MAX], dir[PATH_MAX + 32], tmp[PATH_MAX + 64], sig[17];

	*is_new = false;
	finding_sig_hex(f, sig);
	snprintf(crashes, sizeof(crashes), "%s/crashes", outdir);
	if (mkdir_p(crashes, err, errlen) != 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/%s", crashes, sig);
	if (access(dir, F_OK) == 0)
		return bump_count(dir, err, errlen);
	snprintf(tmp, sizeof(tmp), "%s/" CRASH_TMP_PREFIX "%s.%d", crashes, sig, (int)getpid());
	remove_flat_dir(tmp); /* ours from before: cannot be, but costs nothing */
	if (mkdir(tmp, 0755) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (crash_files(tmp, f, sc, console_tail, tail_len, cfg, err, errlen) != 0 ||
	    fsync_dir(tmp, err, errlen) != 0) {
		crash_tmp_failed(tmp, dir, err, errlen);
		return -1;
	}
	return crash_rename(tmp, dir, crashes, is_new, err, errlen);
}

void report_clean_stale(const char *outdir)
{
	char crashes[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *e;
	DIR *d;

	snprintf(crashes, sizeof(crashes), "%s/crashes", outdir);
	d = opendir(crashes);
	while (d != NULL && (e = readdir(d)) != NULL) {
		const char *dot = strrchr(e->d_name, '.');
		long pid = dot != NULL ? strtol(dot + 1, NULL, 10) : 0;
		if (strncmp(e->d_name, CRASH_TMP_PREFIX, strlen(CRASH_TMP_PREFIX)) != 0 || pid <= 0)
			continue;
		/* a writer that is gone (killed mid-write) left it; a live one is busy with it */
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", crashes, e->d_name);
		remove_flat_dir(path);
	}
	if (d != NULL)
		closedir(d);
}

json_t *report_guest_json(const struct session_config *cfg)
{
	char abs[PATH_MAX];
	const char *guest = realpath(cfg->guest, abs) ? abs : cfg->guest;

	bool lv = vm_backend_takes_template(cfg->backend);
	char xml_abs[PATH_MAX];
	const char *xml = lv && cfg->libvirt_xml != NULL
	                      ? (realpath(cfg->libvirt_xml, xml_abs) ? xml_abs : cfg->libvirt_xml)
	                      : "";

	return json_pack(
	    "{s:s, s:i, s:i, s:I, s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:s, s:s}", "image",
	    guest, "mem_mib", (int)cfg->mem_mib, "cpus", (int)(cfg->cpus ? cfg->cpus : 1),
	    "arena_pages", (json_int_t)cfg->arena_pages, "pv_per_page", (int)cfg->pv_per_page,
	    "cmdline", cfg->extra_cmdline ? cfg->extra_cmdline : "", "check",
	    cfg->check_spec ? cfg->check_spec : "", "backend", vm_backend_name(cfg->backend),
	    "qemu_accel", vm_backend_accel(cfg->backend, cfg->qemu_kvm), "timeout_s",
	    (int)cfg->timeout_s, "dirty_log", vm_dirty_mode_name(cfg->dirty_mode), "check_mode",
	    cfg->incremental ? "incremental" : "full", "full_every", (json_int_t)cfg->full_every,
	    "libvirt_uri", lv && cfg->libvirt_uri ? cfg->libvirt_uri : "", "domain_xml", xml);
}

/* ---- reading a report back -------------------------------------------------
 *
 * replay and minimize read report.json from wherever the user points them, so
 * it is input like any other: the file is bounded, every member used is
 * checked for its type and range, and the first one at fault is named in a
 * one-line error ("FILE: guest.mem_mib: ...").  Nothing is silently ignored:
 * a wrong member is an error, not a default.
 */

/* Member key of o ("guest." in where for messages): absent 0, an integer in
 * min..max 1 (*v set), else -1 with err. */
static int member_uint(const json_t *o, const char *where, const char *key, uint64_t min,
                       uint64_t max, uint64_t *v, const char *path, char *err, size_t errlen)
{
	const json_t *m = json_object_get(o, key);
	json_int_t i;

	if (m == NULL)
		return 0;
	if (!json_is_integer(m))
		return errf(err, errlen, path, 0, "%s%s: want an integer", where, key);
	i = json_integer_value(m);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return errf(err, errlen, path, 0, "%s%s: %lld is out of range (%llu..%llu)", where,
		            key, (long long)i, (unsigned long long)min, (unsigned long long)max);
	*v = (uint64_t)i;
	return 1;
}

/* Member key of o: absent 0, a string 1 (*v set, owned by o), else -1. */
static int member_string(const json_t *o, const char *where, const char *key, const char **v,
                         const char *path, char *err, size_t errlen)
{
	const json_t *m = json_object_get(o, key);

	if (m == NULL)
		return 0;
	if (!json_is_string(m))
		return errf(err, errlen, path, 0, "%s%s: want a string", where, key);
	*v = json_string_value(m);
	return 1;
}

static int load_signature(const json_t *j, uint64_t *signature, uint64_t *op_index,
                          const char *path, char *err, size_t errlen)
{
	const char *sig = NULL;
	char hex[24];
	int r = member_string(j, "", "signature", &sig, path, err, errlen);

	if (r < 0)
		return -1;
	if (r == 0 || strlen(sig) != 16 || strspn(sig, "0123456789abcdefABCDEF") != 16)
		return errf(err, errlen, path, 0, "signature: want 16 hex digits");
	snprintf(hex, sizeof(hex), "0x%s", sig);
	if (parse_u64(hex, signature) != 0)
		return errf(err, errlen, path, 0, "signature: want 16 hex digits");
	r = member_uint(j, "", "op_index", 0, OPS_FILE_MAX, op_index, path, err, errlen);
	if (r == 0)
		return errf(err, errlen, path, 0, "op_index: missing");
	return r < 0 ? -1 : 0;
}

/* what a replayed report's cmdline and check point to (one report a process) */
static char replay_cmdline[VM_CMDLINE_MAX];
static char replay_check[1024];
static char replay_uri[256];
static char replay_xml[PATH_MAX];

/* The members of a report's guest object, as read (NULL, UINT64_MAX: absent) */
struct guest_members {
	const char *image, *backend, *accel, *cmdline, *check, *dirty, *mode, *uri, *xml;
	uint64_t mem, cpus, arena, ppp, timeout, full_every;
	enum vm_backend_kind k;
	enum vm_dirty_mode d;
};

/* Each member of the right type and in range, or absent: 0, or -1. */
static int guest_members_read(const json_t *g, struct guest_members *m, const char *path, char *err,
                              size_t errlen)
{
	const char *w = "guest.";

	*m = (struct guest_members){.ppp = UINT64_MAX,
	                            .timeout = UINT64_MAX,
	                            .full_every = UINT64_MAX}; /* 0 or MAX: absent */
	if (!json_is_object(g))
		return errf(err, errlen, path, 0, "guest: want an object");
	if (member_string(g, w, "image", &m->image, path, err, errlen) < 0 ||
	    member_string(g, w, "backend", &m->backend, path, err, errlen) < 0 ||
	    member_string(g, w, "qemu_accel", &m->accel, path, err, errlen) < 0 ||
	    member_string(g, w, "cmdline", &m->cmdline, path, err, errlen) < 0 ||
	    member_string(g, w, "check", &m->check, path, err, errlen) < 0 ||
	    member_uint(g, w, "mem_mib", VM_MEM_MIN_MIB, VM_MEM_MAX_MIB, &m->mem, path, err,
	                errlen) < 0 ||
	    member_uint(g, w, "cpus", 1, PTS_MAX_CPUS, &m->cpus, path, err, errlen) < 0 ||
	    member_uint(g, w, "arena_pages", 1, OPS_ARENA_MAX, &m->arena, path, err, errlen) < 0 ||
	    member_uint(g, w, "pv_per_page", 0, GUEST_PV_PER_PAGE_MAX, &m->ppp, path, err, errlen) <
	        0 ||
	    member_uint(g, w, "timeout_s", 0, GUEST_TIMEOUT_MAX, &m->timeout, path, err, errlen) <
	        0 ||
	    member_string(g, w, "dirty_log", &m->dirty, path, err, errlen) < 0 ||
	    member_string(g, w, "check_mode", &m->mode, path, err, errlen) < 0 ||
	    member_uint(g, w, "full_every", 0, UINT32_MAX, &m->full_every, path, err, errlen) < 0 ||
	    member_string(g, w, "libvirt_uri", &m->uri, path, err, errlen) < 0 ||
	    member_string(g, w, "domain_xml", &m->xml, path, err, errlen) < 0)
		return -1;
	return 0;
}

/* The string members' words and lengths: 0, or -1 naming the first at fault. */
static int guest_members_check(struct guest_members *m, const char *path, char *err, size_t errlen)
{
	if (m->uri != NULL && strlen(m->uri) >= sizeof(replay_uri))
		return errf(err, errlen, path, 0, "guest.libvirt_uri: longer than %zu bytes",
		            sizeof(replay_uri) - 1);
	if (m->xml != NULL && strlen(m->xml) >= sizeof(replay_xml))
		return errf(err, errlen, path, 0, "guest.domain_xml: longer than %zu bytes",
		            sizeof(replay_xml) - 1);
	if (m->image != NULL && (m->image[0] == '\0' || strlen(m->image) >= PATH_MAX))
		return errf(err, errlen, path, 0, "guest.image: want a path");
	if (m->backend != NULL && vm_backend_parse(m->backend, &m->k) != 0)
		return errf(err, errlen, path, 0,
		            "guest.backend: '%.32s': want kvm, qemu, libvirt or auto", m->backend);
	if (m->accel != NULL && m->accel[0] != '\0' && strcmp(m->accel, "tcg") != 0 &&
	    strcmp(m->accel, "kvm") != 0)
		return errf(err, errlen, path, 0, "guest.qemu_accel: '%.32s': want tcg or kvm",
		            m->accel);
	if (m->dirty != NULL && vm_dirty_mode_parse(m->dirty, &m->d) != 0)
		return errf(err, errlen, path, 0,
		            "guest.dirty_log: '%.32s': want ring, clear, get, plugin, none or auto",
		            m->dirty);
	if (m->mode != NULL && strcmp(m->mode, "full") != 0 && strcmp(m->mode, "incremental") != 0)
		return errf(err, errlen, path, 0,
		            "guest.check_mode: '%.32s': want full or incremental", m->mode);
	return 0;
}

/* The numbers and modes into cfg, each unless the command line gave it. */
static void guest_members_apply(const struct guest_members *m, struct session_config *cfg,
                                unsigned given)
{
	/* the recorded backend, unless --backend said otherwise */
	if (m->backend != NULL && cfg->backend == VM_BACKEND_AUTO)
		cfg->backend = m->k;
	if (m->accel != NULL && strcmp(m->accel, "kvm") == 0 &&
	    cfg->backend == vm_backend_with_accel() && !(given & GUEST_SET_QEMU_ACCEL))
		cfg->qemu_kvm = true;
	if (m->mem != 0 && !(given & GUEST_SET_MEM))
		cfg->mem_mib = (unsigned)m->mem;
	if (m->cpus != 0 && !(given & GUEST_SET_CPUS)) /* the CPUs it was found with */
		cfg->cpus = (unsigned)m->cpus;
	if (m->arena != 0 && !(given & GUEST_SET_ARENA))
		cfg->arena_pages = m->arena;
	if (m->ppp != UINT64_MAX && !(given & GUEST_SET_PV_PER_PAGE))
		cfg->pv_per_page = (unsigned)m->ppp;
	if (m->timeout != UINT64_MAX && !(given & GUEST_SET_TIMEOUT))
		cfg->timeout_s = (unsigned)m->timeout;
	/* a dirty log the backend of the replay cannot keep yields (guest_opts_finish) */
	if (m->dirty != NULL && !(given & GUEST_SET_DIRTY_LOG))
		cfg->dirty_mode = m->d;
	/* the check mode it was found in: an incremental check reads what the
	 * dirty log names, and a full one every full_every ops */
	if (m->mode != NULL)
		cfg->incremental = strcmp(m->mode, "incremental") == 0;
	if (m->full_every != UINT64_MAX)
		cfg->full_every = (unsigned)m->full_every;
}

/* s into buf (a replay's own copy) for *to, when s is given and *to is not:
 * 0, or -1 when it does not fit. */
static int replay_copy(const char *s, char *buf, size_t len, const char **to)
{
	if (s == NULL || s[0] == '\0' || *to != NULL)
		return 0;
	if (strlen(s) >= len)
		return -1;
	snprintf(buf, len, "%s", s);
	*to = buf;
	return 0;
}

/* The strings into cfg: the libvirt connection and template it ran with (on
 * libvirt), the image, the command line and the switched-off invariants
 * (a finding made with --check -TLB replays so), each unless given. */
static int guest_members_own(const struct guest_members *m, struct session_config *cfg,
                             char **guest_owned, const char *path, char *err, size_t errlen)
{
	if (vm_backend_takes_template(cfg->backend)) {
		replay_copy(m->uri, replay_uri, sizeof(replay_uri), &cfg->libvirt_uri);
		replay_copy(m->xml, replay_xml, sizeof(replay_xml), &cfg->libvirt_xml);
	}
	if (m->image != NULL && (*guest_owned = strdup(m->image)) == NULL)
		return errf(err, errlen, path, 0, "out of memory");
	if (replay_copy(m->cmdline, replay_cmdline, sizeof(replay_cmdline), &cfg->extra_cmdline))
		return errf(err, errlen, path, 0, "guest.cmdline: longer than %zu bytes",
		            sizeof(replay_cmdline) - 1);
	if (replay_copy(m->check, replay_check, sizeof(replay_check), &cfg->check_spec))
		return errf(err, errlen, path, 0, "guest.check: longer than %zu bytes",
		            sizeof(replay_check) - 1);
	return 0;
}

/* The guest object: every member checked before any is applied, and a
 * setting the command line gave (given, GUEST_SET_*) is left as it is. */
static int load_guest(const json_t *g, struct session_config *cfg, unsigned given,
                      char **guest_owned, const char *path, char *err, size_t errlen)
{
	struct guest_members m;

	if (guest_members_read(g, &m, path, err, errlen) != 0 ||
	    guest_members_check(&m, path, err, errlen) != 0)
		return -1;
	guest_members_apply(&m, cfg, given);
	return guest_members_own(&m, cfg, guest_owned, path, err, errlen);
}

int report_guest_load(const char *report_json, struct session_config *cfg, unsigned given,
                      char **guest_owned, uint64_t *signature, uint64_t *op_index, char *err,
                      size_t errlen)
{
	struct stat st;
	json_error_t je;
	json_t *j, *g;
	int rc;

	*guest_owned = NULL;
	if (stat(report_json, &st) != 0)
		return errf(err, errlen, report_json, 0, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return errf(err, errlen, report_json, 0, "not a regular file");
	if (st.st_size > (off_t)REPORT_JSON_MAX)
		return errf(err, errlen, report_json, 0, "larger than the %u MiB a report may have",
		            REPORT_JSON_MAX >> 20);
	j = json_load_file(report_json, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		snprintf(err, errlen, "%s:%d: %s", report_json, je.line, je.text);
		return -1;
	}
	if (!json_is_object(j))
		rc = errf(err, errlen, report_json, 0, "want a JSON object");
	else
		rc = load_signature(j, signature, op_index, report_json, err, errlen);
	g = rc == 0 ? json_object_get(j, "guest") : NULL;
	if (g != NULL)
		rc = load_guest(g, cfg, given, guest_owned, report_json, err, errlen);
	json_decref(j);
	return rc;
}
