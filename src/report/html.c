/* src/report/html.c - untrusted text made safe inside an HTML page (html.h).
 * No HTML library: a page that only ever prints text needs five entities. */
#include <string.h>

#include "html.h"

static void html_byte(FILE *f, unsigned char c)
{
	switch (c) {
	case '&':
		fputs("&amp;", f);
		return;
	case '<':
		fputs("&lt;", f);
		return;
	case '>':
		fputs("&gt;", f);
		return;
	case '"':
		fputs("&quot;", f);
		return;
	case '\'':
		fputs("&#39;", f);
		return;
	case '\n':
	case '\t':
		fputc(' ', f);
		return;
	default:
		if (c >= 0x20 && c < 0x7f)
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

void html_text(FILE *f, const char *s, size_t max)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; s[i] != '\0' && i < max; i++)
		html_byte(f, (unsigned char)s[i]);
	if (s[i] != '\0')
		fputs("...", f);
}

int html_safe_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255 || s[0] == '.')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}
