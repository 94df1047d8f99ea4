/* tests/boundaries/report_session.c - report/ including the session's inside:
 * must not compile with report/'s flags (make check-boundaries); a report
 * is made of outcomes, values, never of a session.
 */
#include "session_impl.h"
