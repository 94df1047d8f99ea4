/* src/vm/console.c - the guest's console as the host shows it: whole lines
 * with a prefix, every byte that is not printable ASCII escaped (\xNN), at
 * most CONSOLE_OP_MAX bytes an op (the rest counted, and said so), and the
 * last bytes kept, raw, for reports (which escape them too).
 */
#include <errno.h>
#include <string.h>

#include "util.h"
#include "vm_impl.h"

void console_flush(struct console *c)
{
	if (c->len == 0)
		return;
	/* a destination that failed once (full disk, closed pipe) is not written again:
	 * its FILE keeps the error for the command to report */
	if (c->out != NULL && !ferror(c->out)) {
		fprintf(c->out, "%s%.*s\n", c->prefix != NULL ? c->prefix : "", (int)c->len,
		        c->line);
		fflush(c->out);
	}
	c->len = 0;
}

void console_end_op(struct console *c)
{
	uint64_t held = c->held;

	c->shown = 0;
	if (held == 0)
		return;
	c->held = 0;
	c->held_total += held;
	console_flush(c);
	if (c->out != NULL && !ferror(c->out)) {
		fprintf(c->out, "%s[console: %llu more bytes of this op not shown]\n",
		        c->prefix != NULL ? c->prefix : "", (unsigned long long)held);
		fflush(c->out);
	}
}

void console_putc(struct console *c, char ch)
{
	char e[8];
	size_t k;

	if (c->tail_len == sizeof(c->tail)) {
		memmove(c->tail, c->tail + sizeof(c->tail) / 2, sizeof(c->tail) / 2);
		c->tail_len = sizeof(c->tail) / 2;
	}
	c->tail[c->tail_len++] = ch;
	/* a guest that floods its console costs the terminal a few lines an op */
	if (c->shown >= CONSOLE_OP_MAX) {
		c->held++;
		return;
	}
	c->shown++;
	if (ch == '\n') {
		console_flush(c);
		return;
	}
	if (ch == '\r')
		return;
	/* a guest writing control bytes must not drive the host terminal */
	k = text_escape(e, sizeof(e), &ch, 1, true);
	if (c->len + k > sizeof(c->line))
		console_flush(c);
	memcpy(c->line + c->len, e, k);
	c->len += k;
}
