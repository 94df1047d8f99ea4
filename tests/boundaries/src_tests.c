/* tests/boundaries/src_tests.c - src/ including the test library's synthetic
 * image: must not compile with src/'s flags (make check-boundaries).
 */
#include "synth.h"
