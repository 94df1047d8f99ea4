/* tests/lib/svgcheck.h - the tests' reading of ptshadow's SVG pictures:
 * parsed back strictly with libxml2, elements found by XPath (bodies in
 * svgcheck.c, in the test library).
 */
#ifndef TESTS_LIB_SVGCHECK_H
#define TESTS_LIB_SVGCHECK_H

#include <stdbool.h>
#include <stddef.h>

struct svg_check;

/* text parsed as XML (no network, no entities from outside); NULL when it is
 * not well-formed, with libxml2's first complaint in err */
struct svg_check *svg_check_parse(const char *text, size_t len, char *err, size_t errlen);
/* the same for a file (one that cannot be read fails the test) */
struct svg_check *svg_check_load(const char *path, char *err, size_t errlen);
void svg_check_free(struct svg_check *c);

/* the root is <svg> in the SVG namespace */
bool svg_check_is_svg(const struct svg_check *c);
/* how many elements the XPath expression selects (prefix s: is SVG's namespace) */
int svg_check_count(const struct svg_check *c, const char *xpath);
/* attribute attr of the first element xpath selects, or NULL (owned by c
 * until the next call) */
const char *svg_check_attr(struct svg_check *c, const char *xpath, const char *attr);
/* some <text> element's whole text contains needle (what a viewer shows) */
bool svg_check_has_text(const struct svg_check *c, const char *needle);

/* an XPath test for a class word: S_CLASS("wrong") */
#define S_CLASS(word) "contains(concat(' ', normalize-space(@class), ' '), ' " word " ')"

#endif /* TESTS_LIB_SVGCHECK_H */
