/* tests/lib/browser.h - a page as a browser shows it: headless Chromium
 * (Debian's `chromium`) dumps a page's DOM, takes its screenshot and logs
 * its console, under a hang guard that ends Chromium's whole process group.
 */
#ifndef PTSHADOW_BROWSER_H
#define PTSHADOW_BROWSER_H

#include <stdbool.h>

/* Chromium is here ($PTSHADOW_CHROMIUM, else `chromium` on PATH): true, or
 * the test is logged as not run ("chromium not installed") and the caller
 * returns.  PTSHADOW_REQUIRE_CHROMIUM set (CI sets it) makes its absence
 * fail the test instead. */
bool tu_need_chromium(const char *test);

struct tu_browse {
	char *dom;             /* --dump-dom: the DOM after loading, serialised */
	char *log;             /* Chromium's stderr of both runs (--enable-logging=stderr) */
	bool timed_out;        /* a run outlived its hang guard (then killed) */
	int status;            /* of the run that failed, else 0 */
	unsigned png_w, png_h; /* the screenshot's size (0 when there is none) */
};

/*
 * Load the file html in headless Chromium twice, each run bounded by
 * timeout_s: once for the DOM, once for a screenshot of width x height into
 * png.  Scripts and network stay as the page has them (the page under test
 * has neither).
 */
void tu_browse(const char *html, const char *png, unsigned width, unsigned height,
               unsigned timeout_s, struct tu_browse *b);
void tu_browse_free(struct tu_browse *b);
/* The first line of log that is the page's console speaking (a message, an
 * error, an uncaught exception, a refused load), or NULL. */
const char *tu_console_line(const char *log, char *line, unsigned len);
/* A PNG file's width and height from its IHDR: true, or false if it is not
 * a PNG. */
bool tu_png_size(const char *path, unsigned *w, unsigned *h);

#endif /* PTSHADOW_BROWSER_H */
