/* SPDX-License-Identifier: MIT */
/*
 * hook.c -- deploy hooks as processes (see hook.h): posix_spawn into a
 * process group of their own with default signal dispositions and an empty
 * mask, a bounded wait, and the whole group killed on timeout or shutdown.
 * Called by the ACME worker's deployment (deploy.c). Must never run on a
 * query worker, and never leave a child unreaped or a group alive after a
 * timeout.
 */
#include "acme/hook.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zones/base/clock.h"
#include "zones/base/xalloc.h"

extern char **environ;

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* dnsd's environment with @p vars added; variables of the same names dropped */
static char **hook_env(const char *const *vars)
{
    size_t ne = 0, nv = 0;
    while (environ[ne]) {
        ne++;
    }
    while (vars && vars[nv]) {
        nv++;
    }
    char **env = xcalloc(ne + nv + 1, sizeof(char *));
    size_t k = 0;
    for (size_t j = 0; j < ne; j++) {
        bool ours = false;
        for (size_t v = 0; v < nv && !ours; v++) {
            size_t nl = strcspn(vars[v], "=") + 1;
            ours = strncmp(environ[j], vars[v], nl) == 0;
        }
        if (!ours) {
            env[k++] = environ[j];
        }
    }
    for (size_t v = 0; v < nv; v++) {
        env[k++] = (char *)vars[v];
    }
    env[k] = NULL;
    return env;
}

/* wait up to @p ms for @p pid; true when it was reaped (status in *st) */
static bool reap_within(pid_t pid, int *st, long ms)
{
    long long end = mono_ms() + ms;
    for (;;) {
        pid_t r = waitpid(pid, st, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            return true; /* ECHILD would mean someone else reaped it: a bug, but not a hang */
        }
        if (mono_ms() >= end) {
            return false;
        }
        clock_sleep_ms(20);
    }
}

/* end the group: TERM, a grace, KILL; the leader reaped; members already
 * reparented are killed by the group id, which lives while any member does */
static void kill_group(pid_t pgid, int *st, bool *reaped)
{
    kill(-pgid, SIGTERM);
    if (!*reaped) {
        *reaped = reap_within(pgid, st, ACME_HOOK_GRACE_MS);
    } else {
        clock_sleep_ms(100);
    }
    kill(-pgid, SIGKILL);
    if (!*reaped) {
        while (waitpid(pgid, st, 0) < 0 && errno == EINTR) {
        }
        *reaped = true;
    }
}

int acme_hook_run(const char *cmd, const char *const *vars, long timeout_s, volatile int *stop,
                  acme_hook_result_t *res)
{
    memset(res, 0, sizeof(*res));
    res->exit_code = -1;
    posix_spawnattr_t attr;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setpgroup(&attr, 0);    /* a group of its own, id = its pid */
    posix_spawnattr_setsigdefault(&attr, &all); /* SIGPIPE and the rest: default */
    posix_spawnattr_setsigmask(&attr, &none);
    char **env = hook_env(vars);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", NULL, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    free(env);
    if (rc != 0) {
        snprintf(res->text, sizeof(res->text), "cannot start /bin/sh: %s", strerror(rc));
        return -rc;
    }
    if (timeout_s < 1) {
        timeout_s = 1;
    }
    int status = 0;
    bool reaped = false;
    long long end = mono_ms() + timeout_s * 1000;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            reaped = true;
            break;
        }
        if (r < 0 && errno != EINTR) {
            snprintf(res->text, sizeof(res->text), "lost the hook process: %s", strerror(errno));
            kill(-pid, SIGKILL);
            return -errno;
        }
        if (stop && *stop) {
            kill_group(pid, &status, &reaped);
            res->stopped = true;
            snprintf(res->text, sizeof(res->text), "killed: dnsd is stopping");
            return -EINTR;
        }
        if (mono_ms() >= end) {
            kill_group(pid, &status, &reaped);
            res->timed_out = true;
            snprintf(res->text, sizeof(res->text), "killed after %ld s (deploy-timeout)",
                     timeout_s);
            return -ETIMEDOUT;
        }
        clock_sleep_ms(50);
    }
    if (WIFEXITED(status)) {
        res->exit_code = WEXITSTATUS(status);
        res->ok = res->exit_code == 0;
        snprintf(res->text, sizeof(res->text), "exit %d", res->exit_code);
    } else if (WIFSIGNALED(status)) {
        res->signal = WTERMSIG(status);
        snprintf(res->text, sizeof(res->text), "signal %d", res->signal);
    }
    return res->ok ? 0 : -ECHILD;
}
