/* src/session/backend_pick.c - `--backend auto`: where both KVM and QEMU can
 * run the guest, the one that runs it faster here, measured once per
 * machine.  /dev/kvm opening says nothing about speed: kvm_pvm (a software
 * hypervisor) serves one on which ptshadow's KVM backend runs ~8x slower
 * than QEMU's TCG, and nested or real KVM the other way round.
 *
 * The measure is what a campaign pays per op: one op through the ring with
 * a stop after it, the guest's work included (on kvm_pvm the guest's ring-0
 * code is emulated, so a bare doorbell round trip would favour KVM wrongly).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "backend_pick.h"
#include "clock.h"
#include "ops.h"
#include "util.h"

#define PICK_OPS       300          /* the op stream (create, then enter/touch/remove) */
#define PICK_WARMUP    30           /* ops not timed: TCG translates the code they run */
#define PICK_MIN_NS    300000000ull /* time at least this long ... */
#define PICK_MAX_OPS   5000         /* ... or this many ops */
#define PICK_MEM_MIB   32
#define PICK_ARENA     64
#define PICK_TIMEOUT_S 30
#define CACHE_MAX      (64u * 1024) /* the cache file read at most */
#define CACHE_LINES    32           /* machines (keys) kept */

/* ---- the key: what the figures depend on ------------------------------------ */

static void cpu_model(char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(out, len, "?");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "model name", 10) == 0 && strchr(line, ':') != NULL) {
			char *v = strchr(line, ':') + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, len, "%s", v);
			break;
		}
	if (f != NULL)
		fclose(f);
}

/* kernel, CPU and each backend's identity (the KVM modules, the QEMU
 * binary), hashed (FNV-1a 64) into a word; the text goes into the cache as a
 * comment */
static uint64_t machine_key(const struct session_config *cfg, char *text, size_t len)
{
	char cpu[128], kvm[128], qemu[640];
	struct vm_config vc;
	struct utsname u;
	uint64_t h = 0xcbf29ce484222325ull;

	if (uname(&u) != 0)
		memset(&u, 0, sizeof(u));
	cpu_model(cpu, sizeof(cpu));
	session_vm_config(cfg, &vc);
	vm_backend_identity(VM_BACKEND_KVM, &vc, kvm, sizeof(kvm));
	vm_backend_identity(VM_BACKEND_QEMU, &vc, qemu, sizeof(qemu));
	snprintf(text, len, "%s %s | %s | %s | %s", u.release, u.version, cpu, kvm, qemu);
	for (const char *p = text; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	return h;
}

/* ---- the cache ------------------------------------------------------------- */

void backend_pick_cache_path(char *path, size_t len)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (xdg != NULL && xdg[0] == '/')
		snprintf(path, len, "%s/ptshadow/backend-speed", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(path, len, "%s/.cache/ptshadow/backend-speed", home);
	else
		path[0] = '\0';
}

/* the cache file's text (NUL-terminated, malloc'd), or NULL */
static char *cache_read(const char *path)
{
	char *buf;
	ssize_t n;
	size_t used = 0;
	int fd = path[0] != '\0' ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	if (fd < 0)
		return NULL;
	buf = malloc(CACHE_MAX + 1);
	while (buf != NULL && used < CACHE_MAX && (n = read(fd, buf + used, CACHE_MAX - used)) > 0)
		used += (size_t)n;
	close(fd);
	if (buf != NULL)
		buf[used] = '\0';
	return buf;
}

/* "KEY kvm=N qemu=N ..." for key: the figures (ops/s), or false */
static bool cache_lookup(const char *text, uint64_t key, double *kvm, double *qemu)
{
	char want[24];
	size_t wl = (size_t)snprintf(want, sizeof(want), "%016llx ", (unsigned long long)key);

	for (const char *l = text; l != NULL && *l != '\0'; l = strchr(l, '\n'), l += l != NULL) {
		if (strncmp(l, want, wl) == 0 &&
		    sscanf(l + wl, "kvm=%lf qemu=%lf", kvm, qemu) == 2 && *kvm > 0 && *qemu > 0 &&
		    *kvm < 1e9 && *qemu < 1e9)
			return true;
	}
	return false;
}

/* The line for key first, then the other machines' lines (at most
 * CACHE_LINES in all), written atomically; a cache that cannot be written
 * only costs a measurement next time. */
/* The other machines' lines of old (not the one that starts with head),
 * after p, as many as fit before end and the cache keeps; the new end. */
static char *cache_keep_others(char *p, const char *end, const char *old, const char *head,
                               size_t hl)
{
	size_t lines = 1; /* this machine's */

	for (const char *l = old; l != NULL && *l != '\0' && lines < CACHE_LINES;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl != NULL ? (size_t)(nl - l) : strlen(l);
		if (n > 17 && l[16] == ' ' && strncmp(l, head, hl) != 0 &&
		    n + 2 < (size_t)(end - p)) {
			memcpy(p, l, n);
			p += n;
			*p++ = '\n';
			lines++;
		}
		l = nl != NULL ? nl + 1 : NULL;
	}
	return p;
}

static void cache_store(const char *path, const char *old, uint64_t key, const char *keytext,
                        double kvm, double qemu)
{
	char dir[4096], err[256], head[24], *buf, *p;
	size_t cap = (old != NULL ? strlen(old) : 0) + 2048;
	int hl = snprintf(head, sizeof(head), "%016llx ", (unsigned long long)key);
	time_t now = time(NULL);
	struct tm tm;

	if (path[0] == '\0' || (buf = malloc(cap)) == NULL)
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((p = strrchr(dir, '/')) != NULL)
		*p = '\0';
	gmtime_r(&now, &tm);
	p = buf +
	    snprintf(buf, cap,
	             "# ptshadow: ops/s with a stop after each op, per backend; one line a "
	             "machine (kernel | CPU | KVM module | QEMU); delete to measure again\n"
	             "%skvm=%.0f qemu=%.0f measured=%04d-%02d-%02dT%02d:%02d:%02dZ # %.1500s\n",
	             head, kvm, qemu, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	             tm.tm_min, tm.tm_sec, keytext);
	p = cache_keep_others(p, buf + cap, old, head, (size_t)hl);
	if (mkdir_p(dir, err, sizeof(err)) == 0)
		write_file_atomic(path, buf, (size_t)(p - buf), err, sizeof(err));
	free(buf);
}

/* ---- the measurement ----------------------------------------------------------- */

/* PICK_OPS ops that map, touch and unmap pages in one pmap */
static struct script *pick_script(char *err, size_t errlen)
{
	char text[PICK_OPS * 48], *p = text;
	struct ops_limits lim;
	struct script *s = NULL;

	ops_limits_default(&lim);
	lim.arena_pages = PICK_ARENA;
	p += sprintf(p, "create a\n");
	for (unsigned i = 0; i + 1 < PICK_OPS; i++) {
		unsigned va = 0x400000 + (i / 3 % 16) * 0x1000;
		if (i % 3 == 0)
			p += sprintf(p, "enter a %#x pg%u rw\n", va, i / 3 % PICK_ARENA);
		else if (i % 3 == 1)
			p += sprintf(p, "touch a %#x w\n", va);
		else
			p += sprintf(p, "remove a %#x\n", va);
	}
	if (script_parse_string("<backend measurement>", text, (size_t)(p - text), &lim, &s, err,
	                        errlen) != 0 ||
	    script_assign_slots(s, err, errlen) != 0) {
		script_free(s);
		return NULL;
	}
	return s;
}

/* The timing's sink: the stream once, then its enter/touch/remove triples
 * again (each leaves the pmap empty) until long enough to time. */
struct pick_timing {
	const struct script *ops;
	size_t next; /* the stream's op to feed next */
	uint64_t t0;
	double rate;
};

static void pick_op(void *ctx, const struct op_step *step)
{
	struct pick_timing *t = ctx;
	size_t n = step->index;

	if (step->status != SESSION_OK) {
		t->rate = 0;
		return;
	}
	t->rate = n >= PICK_WARMUP ? (n + 1 - PICK_WARMUP) / ((now_ns() - t->t0) / 1e9 + 1e-9) : 0;
}

static int pick_feed(void *ctx, struct script *sc)
{
	struct pick_timing *t = ctx;
	size_t n = sc->n_ops;

	if (n >= PICK_MAX_OPS || (n > PICK_WARMUP + 1 && now_ns() - t->t0 >= PICK_MIN_NS))
		return -1;
	if (n == PICK_WARMUP)
		t->t0 = now_ns();
	if (script_append(sc, &t->ops->ops[t->next]) != 0)
		return -1;
	t->next = t->next + 1 < t->ops->n_ops ? t->next + 1 : 1;
	return 0;
}

/* the user's guest, small, on backend k: a stop after every op, no monitor */
static struct session_config pick_config(const struct session_config *user, enum vm_backend_kind k)
{
	return (struct session_config){
	    .guest = user->guest,
	    .backend = k,
	    .qemu_path = user->qemu_path,
	    .mem_mib = PICK_MEM_MIB,
	    .timeout_s = PICK_TIMEOUT_S,
	    .arena_pages = PICK_ARENA,
	    .ring = true,
	    .stop_each = true,
	    .dirty_mode = VM_DIRTY_AUTO,
	};
}

/* ops/s of backend k on cfg's guest (0: it could not run it, why in err);
 * EXIT_USAGE in *rc when the image itself is at fault */
static double measure(const struct session_config *user, enum vm_backend_kind k,
                      const struct script *ops, int *rc, char *err, size_t errlen)
{
	struct session_config cfg = pick_config(user, k);
	struct pick_timing t = {.ops = ops};
	const struct run_policy policy = {0};
	const struct run_sink sink = {.ctx = &t, .op = pick_op, .feed = pick_feed};
	struct session *s = session_open(&cfg, rc);
	struct script *sc = script_new("<backend pick>");
	struct outcome o;

	if (*rc != 0 || sc == NULL) {
		snprintf(err, errlen, "%s", sc == NULL ? "out of memory" : session_error(s));
		session_close(s);
		script_free(sc);
		return 0;
	}
	o = session_run(s, sc, 0, &policy, &sink);
	if (o.kind != OUTCOME_CLEAN) {
		snprintf(err, errlen, "op %llu: %s", (unsigned long long)o.op_index,
		         o.death.error[0] ? o.death.error : "failed");
		t.rate = 0;
	}
	session_close(s);
	script_free(sc);
	return t.rate;
}

/* ---- the choice ---------------------------------------------------------------- */

static bool kvm_opens(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void say_choice(const struct session_config *cfg, double kvm, double qemu, bool cached,
                       char *why, size_t len)
{
	bool q = cfg->backend == VM_BACKEND_QEMU;
	double r = q ? qemu / kvm : kvm / qemu;

	snprintf(why, len, "%.1f\u00d7 %s than %s here (%s); --backend %s to override",
	         r >= 1 ? r : 1 / r, r >= 1 ? "faster" : "slower", q ? "kvm" : "qemu (tcg)",
	         cached ? "measured before" : "measured now", q ? "kvm" : "qemu");
}

/* Both backends' ops/s on cfg's guest (0: it could not run it, why in
 * err[i]): 0, or EXIT_USAGE when the image is at fault (err[0] says why). */
static int measure_both(const struct session_config *cfg, double rate[2], char err[2][512])
{
	struct script *ops = pick_script(err[0], sizeof(err[0]));
	int rc[2] = {0, 0};

	for (int i = 0; i < 2 && ops != NULL; i++) {
		rate[i] = measure(cfg, i == 0 ? VM_BACKEND_KVM : VM_BACKEND_QEMU, ops, &rc[i],
		                  err[i], sizeof(err[i]));
		if (rc[i] == EXIT_USAGE) {
			if (i != 0)
				snprintf(err[0], sizeof(err[0]), "%s", err[i]);
			script_free(ops);
			return EXIT_USAGE;
		}
	}
	script_free(ops);
	return 0;
}

/* One backend could not run the guest: never that one.  Neither could:
 * kvm, and the run that follows says why. */
static void pick_the_one_that_ran(struct session_config *cfg, const double rate[2],
                                  char err[2][512], char *why, size_t len)
{
	int bad = rate[0] > 0;

	if (rate[0] <= 0 && rate[1] <= 0) {
		cfg->backend = VM_BACKEND_KVM;
		return;
	}
	cfg->backend = bad ? VM_BACKEND_KVM : VM_BACKEND_QEMU;
	snprintf(why, len, "%s could not run the guest here (%.200s)", bad ? "qemu" : "kvm",
	         err[bad]);
}

/* Both backends can run here (/dev/kvm opens, QEMU is there); if not, cfg
 * names the one that can (kvm when neither: the run that follows says why) */
static bool both_here(struct session_config *cfg, char *err, size_t errlen)
{
	struct vm_config vc;

	session_vm_config(cfg, &vc);
	if (kvm_opens() && vm_backend_available(VM_BACKEND_QEMU, &vc, err, errlen))
		return true;
	cfg->backend = kvm_opens() ? VM_BACKEND_KVM : VM_BACKEND_QEMU;
	return false;
}

int backend_pick(struct session_config *cfg, char *why, size_t len)
{
	char path[4096], keytext[2048], err[2][512];
	double rate[2] = {0, 0}; /* kvm, qemu */
	char *cache;
	uint64_t key;

	why[0] = '\0';
	if (cfg->backend != VM_BACKEND_AUTO)
		return 0;
	if (!both_here(cfg, err[0], sizeof(err[0])))
		return 0;
	key = machine_key(cfg, keytext, sizeof(keytext));
	backend_pick_cache_path(path, sizeof(path));
	cache = cache_read(path);
	if (cache != NULL && cache_lookup(cache, key, &rate[0], &rate[1])) {
		cfg->backend = rate[1] > rate[0] ? VM_BACKEND_QEMU : VM_BACKEND_KVM;
		say_choice(cfg, rate[0], rate[1], true, why, len);
		free(cache);
		return 0;
	}
	if (measure_both(cfg, rate, err) != 0) { /* the image, not the backend */
		snprintf(why, len, "%s", err[0]);
		free(cache);
		return EXIT_USAGE;
	}
	if (rate[0] > 0 && rate[1] > 0) {
		cfg->backend = rate[1] > rate[0] ? VM_BACKEND_QEMU : VM_BACKEND_KVM;
		cache_store(path, cache, key, keytext, rate[0], rate[1]);
		say_choice(cfg, rate[0], rate[1], false, why, len);
	} else {
		pick_the_one_that_ran(cfg, rate, err, why, len);
	}
	free(cache);
	return 0;
}
