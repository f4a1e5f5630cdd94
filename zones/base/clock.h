/* SPDX-License-Identifier: MIT */
/*
 * clock.h -- the monotonic clock in milliseconds and an EINTR-safe sleep,
 * for timeouts and pacing on slow paths (ACME thread, cluster threads,
 * transfers), and a poll for one descriptor bounded by a deadline. Never used on the per-query path (it reads its clock once
 * per batch, itself).
 */
#ifndef DNSD_BASE_CLOCK_H
#define DNSD_BASE_CLOCK_H

#include <errno.h>
#include <poll.h>
#include <time.h>

/** Milliseconds on CLOCK_MONOTONIC (an arbitrary origin: compare, never print as a date). */
static inline long long clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** Sleep @p ms milliseconds, resuming after signals. */
static inline void clock_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/**
 * Wait for @p ev (POLLIN, POLLOUT) on @p fd until @p deadline_ms
 * (clock_mono_ms), resuming after signals. @return 0 when ready,
 * -ETIMEDOUT at the deadline, -errno when poll fails.
 */
static inline int clock_wait_fd(int fd, short ev, long long deadline_ms)
{
    for (;;) {
        long long left = deadline_ms - clock_mono_ms();
        if (left <= 0) {
            return -ETIMEDOUT;
        }
        struct pollfd pfd = {fd, ev, 0};
        int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0) {
            return 0;
        }
        if (n < 0 && errno != EINTR) {
            return -errno;
        }
    }
}

#endif
