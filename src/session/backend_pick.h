/* src/session/backend_pick.h - what `--backend auto` runs on: the one
 * backend this machine has, else the faster of kvm and qemu (tcg) here, by a
 * measurement made once per machine and cached.
 */
#ifndef PTSHADOW_BACKEND_PICK_H
#define PTSHADOW_BACKEND_PICK_H

#include <stddef.h>

#include "session.h"

/*
 * Resolve cfg->backend when it is VM_BACKEND_AUTO (else nothing happens).
 * Where both /dev/kvm opens and QEMU is installed, each boots cfg->guest and
 * runs the same short op stream (a stop after every op, no monitor), unless
 * $XDG_CACHE_HOME/ptshadow/backend-speed (else ~/.cache/...) already holds
 * the figures for this kernel, CPU, KVM module and QEMU binary.  A backend
 * that cannot boot the guest is never picked.  why gets what the user is
 * told ("8.1x faster than kvm here; --backend kvm to override"), or "" when
 * there was no choice.  0, or EXIT_USAGE with why naming the bad image.
 */
int backend_pick(struct session_config *cfg, char *why, size_t len);

/* The cache file's path ("" when there is no $XDG_CACHE_HOME or $HOME). */
void backend_pick_cache_path(char *path, size_t len);

#endif /* PTSHADOW_BACKEND_PICK_H */
