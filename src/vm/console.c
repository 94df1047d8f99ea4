/* src/vm/console.c - the guest's console as the host shows it: whole lines
 * with a prefix, control bytes made harmless, and the last bytes kept for reports.
 */
#include <string.h>

#include "vm.h"

void console_flush(struct console *c)
{
	if (c->len == 0 || c->out == NULL)
		return;
	fprintf(c->out, "%s%.*s\n", c->prefix != NULL ? c->prefix : "", (int)c->len, c->line);
	fflush(c->out);
	c->len = 0;
}

void console_putc(struct console *c, char ch)
{
	if (c->tail_len == sizeof(c->tail)) {
		memmove(c->tail, c->tail + sizeof(c->tail) / 2, sizeof(c->tail) / 2);
		c->tail_len = sizeof(c->tail) / 2;
	}
	c->tail[c->tail_len++] = ch;
	if (ch == '\n') {
		console_flush(c);
		return;
	}
	if (ch == '\r')
		return;
	/* a guest writing control bytes must not drive the host terminal */
	if (((unsigned char)ch < 0x20 && ch != '\t') || ch == 0x7f)
		ch = '?';
	if (c->len == sizeof(c->line))
		console_flush(c);
	c->line[c->len++] = ch;
}
