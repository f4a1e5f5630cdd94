/* SPDX-License-Identifier: MIT */
/*
 * sdnotify.h -- tell systemd where dnsd is in its life (sd_notify(3)):
 * READY=1 once the sockets are bound, the store is open and the workers
 * answer; RELOADING=1 and READY=1 around a SIGHUP reload; STOPPING=1 when
 * shutdown begins. This is what makes Type=notify in contrib/dnsd.service
 * right: `systemctl start` returns only when dnsd answers.
 * Called by main() and the orchestration thread's signal handler only;
 * never from a worker. Without $NOTIFY_SOCKET (not under systemd) every call
 * does nothing; built without libsystemd (configure --without-systemd) too,
 * and the unit must then be Type=simple (README, "Operations").
 * Errors are ignored on purpose: a service manager that cannot be told is
 * no reason to stop serving.
 */
#ifndef DNSD_SDNOTIFY_H
#define DNSD_SDNOTIFY_H

/** READY=1 with STATUS=@p status (a short line, e.g. "serving /var/lib/dnsd"). */
void sdn_ready(const char *status);

/** RELOADING=1 with MONOTONIC_USEC (systemd.service(5), Type=notify-reload). */
void sdn_reloading(void);

/** STOPPING=1: shutdown has begun. */
void sdn_stopping(void);

#endif
