/* tests/lib/svgcheck.c - SVG pictures parsed back with libxml2 for the tests
 * (see svgcheck.h).
 */
#include "svgcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "testutil.h"

#define SVG_NS "http://www.w3.org/2000/svg"

struct svg_check {
	xmlDocPtr doc;
	xmlXPathContextPtr xp;
	xmlChar *attr; /* the last svg_check_attr's answer */
};

struct svg_check *svg_check_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct svg_check *c;
	xmlDocPtr doc;
	const xmlError *e;

	xmlResetLastError();
	doc = xmlReadMemory(text, (int)len, "picture.svg", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		e = xmlGetLastError();
		snprintf(err, errlen, "not well-formed: line %d: %s", e ? e->line : 0,
		         e && e->message ? e->message : "?");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		xmlFreeDoc(doc);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->doc = doc;
	c->xp = xmlXPathNewContext(doc);
	if (c->xp != NULL)
		xmlXPathRegisterNs(c->xp, BAD_CAST "s", BAD_CAST SVG_NS);
	return c;
}

struct svg_check *svg_check_load(const char *path, char *err, size_t errlen)
{
	size_t len = 0;
	char *buf = tu_read_file(path, &len); /* a missing file fails the test */
	struct svg_check *c = svg_check_parse(buf, len, err, errlen);

	free(buf);
	return c;
}

void svg_check_free(struct svg_check *c)
{
	if (c == NULL)
		return;
	xmlFree(c->attr);
	xmlXPathFreeContext(c->xp);
	xmlFreeDoc(c->doc);
	free(c);
}

bool svg_check_is_svg(const struct svg_check *c)
{
	xmlNodePtr root = xmlDocGetRootElement(c->doc);
	return root != NULL && xmlStrcmp(root->name, BAD_CAST "svg") == 0 && root->ns != NULL &&
	       xmlStrcmp(root->ns->href, BAD_CAST SVG_NS) == 0;
}

static xmlXPathObjectPtr eval(const struct svg_check *c, const char *xpath)
{
	return c->xp != NULL ? xmlXPathEvalExpression(BAD_CAST xpath, c->xp) : NULL;
}

int svg_check_count(const struct svg_check *c, const char *xpath)
{
	xmlXPathObjectPtr r = eval(c, xpath);
	int n = r != NULL && r->nodesetval != NULL ? r->nodesetval->nodeNr : r == NULL ? -1 : 0;

	xmlXPathFreeObject(r);
	return n;
}

const char *svg_check_attr(struct svg_check *c, const char *xpath, const char *attr)
{
	xmlXPathObjectPtr r = eval(c, xpath);

	xmlFree(c->attr);
	c->attr = NULL;
	if (r != NULL && r->nodesetval != NULL && r->nodesetval->nodeNr > 0)
		c->attr = xmlGetProp(r->nodesetval->nodeTab[0], BAD_CAST attr);
	xmlXPathFreeObject(r);
	return (const char *)c->attr;
}

bool svg_check_has_text(const struct svg_check *c, const char *needle)
{
	xmlXPathObjectPtr r = eval(c, "//s:text");
	bool found = false;

	for (int i = 0; r != NULL && r->nodesetval != NULL && i < r->nodesetval->nodeNr && !found;
	     i++) {
		xmlChar *text = xmlNodeGetContent(r->nodesetval->nodeTab[i]);
		found = text != NULL && strstr((const char *)text, needle) != NULL;
		xmlFree(text);
	}
	xmlXPathFreeObject(r);
	return found;
}
