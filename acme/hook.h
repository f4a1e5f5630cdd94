/* SPDX-License-Identifier: MIT */
/*
 * hook.h -- run an operator's deploy hook: "/bin/sh -c CMD" started with
 * posix_spawn in a process group of its own, every signal at its default
 * disposition (dnsd ignores SIGPIPE; a hook must not inherit that) and an
 * empty signal mask (dnsd's threads block every signal). Bounded: on
 * timeout, or when the caller's stop flag is raised (dnsd shutting down),
 * the WHOLE group gets SIGTERM, then SIGKILL after a short grace, so a
 * hook's own children (`sleep 300 &`) go with it. The child is reaped here
 * and only here: dnsd's main loop must not reap children (dnsd/main.c uses a
 * libev loop of its own, not the default loop, for that reason).
 * Called by the ACME worker (deploy.c) on its thread. Never on a query worker.
 */
#ifndef DNSD_ACME_HOOK_H
#define DNSD_ACME_HOOK_H

#include <stdbool.h>

/** How long a hook's group has between SIGTERM and SIGKILL, milliseconds. */
#define ACME_HOOK_GRACE_MS 1000

typedef struct acme_hook_result {
    bool ok;        /* exited 0 */
    bool timed_out; /* killed after the timeout */
    bool stopped;   /* killed because the stop flag was raised */
    int exit_code;  /* when it exited: its code; else -1 */
    int signal;     /* when a signal ended it: the signal; else 0 */
    char text[160]; /* "exit 0", "exit 3", "signal 9", "killed after 60 s", ... */
} acme_hook_result_t;

/**
 * Run @p cmd with /bin/sh -c; @p vars ("K=V", NULL-terminated) are added to
 * dnsd's environment (replacing variables of the same names). Waits at most
 * @p timeout_s seconds (>= 1), polling @p stop (may be NULL) every 50 ms.
 * @return 0 when it exited 0; -ETIMEDOUT (timeout), -EINTR (stopped),
 * -ECHILD (non-zero exit or a signal), or -errno when it could not be
 * started; @p res describes the outcome in each case.
 */
int acme_hook_run(const char *cmd, const char *const *vars, long timeout_s, volatile int *stop,
                  acme_hook_result_t *res);

#endif
