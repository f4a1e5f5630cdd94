/* SPDX-License-Identifier: MIT */
/*
 * ctl.h -- the control socket (control-socket PATH): a Unix stream socket
 * on the main thread's libev loop that answers `dnsctl status`, `stats`,
 * `reload` and `log-level` about the live process (the request language is
 * ctl_proto.h). Store-based requests (certificates, shards, zones) do not
 * come here: dnsctl writes them to the store, which works across a cluster.
 *
 * Who may ask: whoever may connect, i.e. the socket file's owner and group
 * (control-socket-owner/-group, mode control-socket-mode, default 0660);
 * the kernel enforces it at connect(2). main() binds it as root, before
 * the privilege drop and the chroot, and keeps the descriptor.
 *
 * DESIGN. Everything is bounded so no local client can stall the main loop
 * or reach the workers: non-blocking sockets, one request per connection
 * (CTL_REQ_MAX bytes, longer is answered with an error and closed), a
 * per-connection deadline (CTL_TIMEOUT_S from accept to the last byte of
 * the answer), and at most CTL_CLIENTS_MAX connections at once: when all
 * are taken, the oldest one that has not finished its request is dropped
 * for the newcomer, so idle connections cannot lock the operator out.
 * Answers are built from the counters (stats_collect), the published
 * snapshots and short read transactions; nothing here blocks.
 * Main thread only; slow path.
 */
#ifndef DNSD_CTL_H
#define DNSD_CTL_H

#include <stdint.h>

#include "dnsd/config.h"
#include "dnsd/orch.h"
#include "zones/base/diag.h"

#define CTL_CLIENTS_MAX 16
#define CTL_TIMEOUT_S   5.0

typedef struct ctl_sock ctl_sock_t;

/**
 * Create and bind the control socket of @p c (control-socket; *@p out is
 * NULL when it is unset), owned and moded as configured. A file already at
 * the path is removed only when it is a socket nobody answers on (a dnsd
 * that died); a live one means another dnsd uses it: DNSD_ECONFIG, "another
 * dnsd is listening on PATH". @return 0, or DNSD_ECONFIG with @p d saying
 * what failed (start-up must stop). Main thread, before the privilege drop.
 */
int ctl_bind(const config_t *c, ctl_sock_t **out, diag_t *d);

/**
 * Record a bound listen address for `status` (@p kind "dns", "http01", ...;
 * @p text as configured, @p port as bound). NULL @p cs is fine.
 */
void ctl_note_listen(ctl_sock_t *cs, const char *kind, const char *text, uint16_t port);

/** Serve on @p o's loop (before orch_run). NULL @p cs is fine. */
void ctl_start(ctl_sock_t *cs, orch_t *o);

/**
 * Close every connection and the socket, and remove the socket file (as
 * seen inside the chroot; a path outside it is left, and the next start
 * removes it as stale). NULL is fine. Main thread, after orch_run.
 */
void ctl_free(ctl_sock_t *cs);

/** The socket's path (for messages); "" when @p cs is NULL. */
const char *ctl_path(const ctl_sock_t *cs);

#endif
