/* src/libvirt/lv_call.h - every call into libvirt with a deadline, and
 * interruptible by SIGINT/SIGTERM: libvirt's own calls block until libvirtd
 * answers (a stopped, busy or re-probing libvirtd: minutes), so each runs in
 * a thread of its own while the caller waits in short slices.
 */
#ifndef PTSHADOW_LV_CALL_H
#define PTSHADOW_LV_CALL_H

#include <stdbool.h>
#include <libvirt/libvirt.h>

/* What one call did: done (rc and err are libvirt's), or abandoned. */
enum lv_outcome {
	LV_DONE = 0,
	LV_STALLED,     /* no answer before the deadline */
	LV_INTERRUPTED, /* SIGINT or SIGTERM while waiting */
};

enum lv_what {
	LV_OPEN,    /* virConnectOpen(uri) -> conn */
	LV_CREATE,  /* virDomainCreateXML(conn, xml, AUTODESTROY) -> dom */
	LV_LOOKUP,  /* virDomainLookupByName(conn, name) -> dom */
	LV_DESTROY, /* virDomainDestroy(dom) */
	LV_MONITOR, /* virDomainQemuMonitorCommand(dom, cmd, HMP) -> out */
	LV_CLOSE,   /* virConnectClose(conn) */
};

/* The inputs and results of one call.  The caller fills the inputs it
 * needs; lv_call copies what the thread reads, so an abandoned thread never
 * reads the caller's memory, and frees its copies when the thread ends. */
struct lv_args {
	const char *uri, *xml, *name, *cmd;
	virConnectPtr conn;
	virDomainPtr dom;
	/* results */
	virConnectPtr conn_out;
	virDomainPtr dom_out;
	char *out; /* malloc'd, the caller frees it */
	int rc;    /* 0, or -1 with err */
	char err[512];
};

/* The libvirt function a call makes, for messages ("virDomainCreateXML"). */
const char *lv_call_name(enum lv_what what);
/* Run the call, waiting at most secs seconds (0: no deadline), and, when
 * interruptible, no longer than until SIGINT or SIGTERM (vm_interrupted);
 * calls that clean up after a signal are not interruptible, only bounded.  LV_DONE: a->rc, a->err
 * and the results are set.  Else the call goes on in its thread, and the objects it uses (conn,
 * dom) must not be used or freed again: libvirt would block the same way. */
enum lv_outcome lv_call(enum lv_what what, struct lv_args *a, unsigned secs, bool interruptible);

#endif /* PTSHADOW_LV_CALL_H */
