/* SPDX-License-Identifier: MIT */
/*
 * privs.h -- leave root once the sockets are bound and the store is open:
 * chroot (optional), then the group list, group and user of the config
 * (user, group), and a check that root cannot be regained. Called once by
 * main() before any worker thread exists. Slow path.
 */
#ifndef DNSD_PRIVS_H
#define DNSD_PRIVS_H

#include "dnsd/config.h"
#include "zones/base/diag.h"

/**
 * chroot to @p c->chroot (if set), then become @p c->uid / @p c->gid with no
 * supplementary groups (if @p c->user is set). @return 0, or DNSD_ECONFIG
 * with @p d saying what failed; the caller must exit then.
 */
int privs_drop(const config_t *c, diag_t *d);

#endif
