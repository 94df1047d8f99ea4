/* guest/script.c - runs scenarios written in the op language of DESIGN.md
 * inside the guest, through the same executor the command ring uses: the
 * built-in smoke scenario, and (test hook) a file QEMU loads into RAM and
 * names with cmdline "script=PA".
 */
#include "ops.h"
#include "pmap.h"

#define SCRIPT_MAX (64u * 1024)
#define LINE_MAX   256
#define TOKENS_MAX 12
#define NAME_MAX   16

static char script_buf[SCRIPT_MAX + 1];
static bool script_have;

void script_capture(void)
{
	uint64_t pa = cmdline_u64("script", 0);
	const char *src;
	size_t i;

	if (pa == 0)
		return;
	if (pa + SCRIPT_MAX < pa || pa + SCRIPT_MAX > (4ull << 30)) {
		kprintf("script: %#lx is not below 4 GiB, ignored\n", pa);
		return;
	}
	/* the boot tables still map the first 4 GiB at DMAP_BASE */
	src = (const char *)PHYS_TO_DMAP(pa);
	for (i = 0; i < SCRIPT_MAX && src[i] != '\0'; i++)
		script_buf[i] = src[i];
	script_buf[i] = '\0';
	script_have = true;
}

const char *script_captured(void)
{
	return script_have ? script_buf : NULL;
}

/* ---- the parser */

struct script_state {
	char names[PTS_MAX_PMAPS][NAME_MAX + 1]; /* pmap name per slot, "" = free */
	char pmap_name[NAME_MAX + 1];            /* the name on the line parsed last */
	uint64_t seq;
};

/*
 * Argument letters: P pmap, V va, E optional end va, W end va, G page,
 * H second page, R prot (r rw rx rwx), S page_protect prot (also none),
 * A access (r w), K kenter offset k+OFF, L optional kenter end, a literal
 * "alloc", N count; enter takes trailing "wired" / "canfail".
 */
static const struct {
	const char *name;
	uint32_t kind;
	const char *args;
} syntax[] = {
    {"create", PTS_OP_CREATE, "P"},
    {"destroy", PTS_OP_DESTROY, "P"},
    {"activate", PTS_OP_ACTIVATE, "P"},
    {"enter", PTS_OP_ENTER, "PVGR"},
    {"remove", PTS_OP_REMOVE, "PVE"},
    {"protect", PTS_OP_PROTECT, "PVWR"},
    {"unwire", PTS_OP_UNWIRE, "PV"},
    {"extract", PTS_OP_EXTRACT, "PV"},
    {"page_protect", PTS_OP_PAGE_PROTECT, "GS"},
    {"clear_modify", PTS_OP_CLEAR_MODIFY, "G"},
    {"clear_reference", PTS_OP_CLEAR_REFERENCE, "G"},
    {"is_modified", PTS_OP_IS_MODIFIED, "G"},
    {"is_referenced", PTS_OP_IS_REFERENCED, "G"},
    {"touch", PTS_OP_TOUCH, "PVA"},
    {"kenter", PTS_OP_KENTER, "KGR"},
    {"kremove", PTS_OP_KREMOVE, "KL"},
    {"zero", PTS_OP_ZERO, "G"},
    {"copy", PTS_OP_COPY, "GH"},
    {"collect", PTS_OP_COLLECT, "P"},
    {"fail", PTS_OP_FAIL_ALLOC, "aN"},
};

static bool parse_num(const char *s, uint64_t *v)
{
	unsigned base = 10;
	uint64_t n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (n > (~0ull - d) / base)
			return false;
		n = n * base + d;
	}
	*v = n;
	return true;
}

static bool parse_prefixed(const char *s, const char *prefix, uint64_t *v)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 && parse_num(s + n, v);
}

static bool parse_prot(const char *s, bool allow_none, uint32_t *prot)
{
	static const struct {
		const char *name;
		uint32_t prot;
	} prots[] = {
	    {"r", PTS_PROT_READ},
	    {"rw", PTS_PROT_READ | PTS_PROT_WRITE},
	    {"rx", PTS_PROT_READ | PTS_PROT_EXEC},
	    {"rwx", PTS_PROT_READ | PTS_PROT_WRITE | PTS_PROT_EXEC},
	    {"none", 0},
	};

	for (unsigned i = 0; i < nitems(prots); i++)
		if (strcmp(s, prots[i].name) == 0 && (allow_none || prots[i].prot != 0)) {
			*prot = prots[i].prot;
			return true;
		}
	return false;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* the slot of a named pmap; create gets the lowest free one; unknown: invalid slot */
static uint32_t name_slot(struct script_state *st, const char *name, bool create)
{
	for (uint32_t s = 0; s < PTS_MAX_PMAPS; s++)
		if (strcmp(st->names[s], name) == 0)
			return s;
	if (create)
		for (uint32_t s = 0; s < PTS_MAX_PMAPS; s++)
			if (st->names[s][0] == '\0' && pmap_lookup(s) == NULL)
				return s;
	return PTS_MAX_PMAPS;
}

static int tokenize(char *line, char *tok[])
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\0' || n == TOKENS_MAX)
			return n;
		tok[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
}

struct expect {
	bool present;
	uint32_t result;
	uint64_t value;
};

static bool parse_expect(const char *s, struct expect *e)
{
	e->present = true;
	e->value = 0;
	if (parse_prefixed(s, "pg", &e->value)) {
		e->result = PTS_RES_PAGE;
		return true;
	}
	for (uint32_t r = PTS_RES_OK; r < PTS_RES_COUNT; r++)
		if (r != PTS_RES_PAGE && strcmp(s, ops_result_name(r)) == 0) {
			e->result = r;
			return true;
		}
	return false;
}

/* One line into op (+ expectation); false if it is malformed. */
static bool parse_line(struct script_state *st, char *line, struct pts_op *op, struct expect *e,
                       bool *empty)
{
	char *tok[TOKENS_MAX], *arrow, *hash = line;
	const char *args = NULL;
	int n, t = 1;

	while (*hash != '\0' && *hash != '#')
		hash++;
	*hash = '\0';
	memset(e, 0, sizeof(*e));
	arrow = line;
	while (*arrow != '\0' && !(arrow[0] == '=' && arrow[1] == '>'))
		arrow++;
	if (*arrow != '\0') {
		char *etok[2];
		*arrow = '\0';
		if (tokenize(arrow + 2, etok) != 1 || !parse_expect(etok[0], e))
			return false;
	}
	n = tokenize(line, tok);
	*empty = n == 0;
	if (n == 0)
		return !e->present;
	memset(op, 0, sizeof(*op));
	for (unsigned i = 0; i < nitems(syntax); i++)
		if (strcmp(tok[0], syntax[i].name) == 0) {
			op->kind = syntax[i].kind;
			args = syntax[i].args;
		}
	if (args == NULL)
		return false;
	for (; *args != '\0'; args++) {
		const char *s = t < n ? tok[t] : NULL;
		bool optional = *args == 'E' || *args == 'L';

		if (s == NULL) {
			if (optional)
				continue;
			return false;
		}
		t++;
		switch (*args) {
		case 'P':
			if (!name_ok(s))
				return false;
			op->pmap = name_slot(st, s, op->kind == PTS_OP_CREATE);
			strncpy_s(st->pmap_name, s, sizeof(st->pmap_name));
			break;
		case 'V':
			if (!parse_num(s, &op->va))
				return false;
			break;
		case 'E':
		case 'W':
			if (!parse_num(s, &op->end))
				return false;
			break;
		case 'G':
			if (!parse_prefixed(s, "pg", &op->page))
				return false;
			break;
		case 'H':
			if (!parse_prefixed(s, "pg", &op->page2))
				return false;
			break;
		case 'R':
		case 'S':
			if (!parse_prot(s, *args == 'S', &op->prot))
				return false;
			break;
		case 'A':
			if (strcmp(s, "w") == 0)
				op->flags |= PTS_OPF_WRITE;
			else if (strcmp(s, "r") != 0)
				return false;
			break;
		case 'K':
			if (!parse_prefixed(s, "k+", &op->va))
				return false;
			break;
		case 'L':
			if (!parse_prefixed(s, "k+", &op->end))
				return false;
			break;
		case 'a':
			if (strcmp(s, "alloc") != 0)
				return false;
			break;
		case 'N':
			if (!parse_num(s, &op->value))
				return false;
			break;
		}
	}
	for (; t < n && op->kind == PTS_OP_ENTER; t++) {
		if (strcmp(tok[t], "wired") == 0)
			op->flags |= PTS_OPF_WIRED;
		else if (strcmp(tok[t], "canfail") == 0)
			op->flags |= PTS_OPF_CANFAIL;
		else
			return false;
	}
	return t == n;
}

static void result_str(uint32_t result, uint64_t value, char *buf, size_t len)
{
	if (result == PTS_RES_PAGE)
		ksnprintf(buf, len, "pg%lu", value);
	else
		ksnprintf(buf, len, "%s", ops_result_name(result));
}

unsigned script_run(const char *name, const char *text, bool stop_at_first, unsigned *nops)
{
	static struct script_state st;
	bool trace = cmdline_flag("trace"), check = cmdline_flag("check");
	unsigned lineno = 0, bad = 0;
	const char *p = text;

	memset(&st, 0, sizeof(st));
	*nops = 0;
	while (*p != '\0') {
		char line[LINE_MAX], shown[LINE_MAX], got[32], want[32];
		struct pts_op op;
		struct expect e;
		size_t len = 0;
		uint64_t before;
		bool empty, ok;

		lineno++;
		while (p[len] != '\0' && p[len] != '\n')
			len++;
		if (len >= sizeof(line)) {
			kprintf("%s:%u: line too long\n", name, lineno);
			return bad + 1;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (p[len] == '\n');
		strncpy_s(shown, line, sizeof(shown));
		if (!parse_line(&st, line, &op, &e, &empty)) {
			kprintf("%s:%u: cannot parse \"%s\"\n", name, lineno, shown);
			bad++;
			if (stop_at_first)
				return bad;
			continue;
		}
		if (empty)
			continue;
		op.seq = st.seq++;
		before = check ? pmap_check_state(op.pmap) : 0;
		if (check)
			pmap_check_tlb_begin();
		ops_execute(&op);
		(*nops)++;
		if (op.kind == PTS_OP_CREATE && op.result == PTS_RES_OK)
			strncpy_s(st.names[op.pmap], st.pmap_name, sizeof(st.names[op.pmap]));
		if (op.kind == PTS_OP_DESTROY && op.result == PTS_RES_OK)
			st.names[op.pmap][0] = '\0';
		result_str(op.result, op.value, got, sizeof(got));
		ok = !e.present ||
		     (op.result == e.result && (e.result != PTS_RES_PAGE || op.value == e.value));
		if (trace)
			kprintf("%s:%u: %s => %s (%lu cycles)\n", name, lineno, shown, got,
			        op.cycles);
		if (!ok) {
			result_str(e.result, e.value, want, sizeof(want));
			kprintf("%s:%u: \"%s\": got %s, expected %s\n", name, lineno, shown, got,
			        want);
		}
		if (check && op.result == PTS_RES_ENOMEM && pmap_check_state(op.pmap) != before) {
			kprintf("%s:%u: \"%s\": enomem, but the pmap, pages or pool changed\n",
			        name, lineno, shown);
			ok = false;
		}
		if (check && pmap_check_tlb_end() + pmap_check() != 0) {
			kprintf("%s:%u: \"%s\": the pmap is inconsistent afterwards\n", name,
			        lineno, shown);
			ok = false;
		}
		if (!ok) {
			bad++;
			if (stop_at_first)
				return bad;
		}
	}
	return bad;
}
