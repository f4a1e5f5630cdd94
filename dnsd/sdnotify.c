/* SPDX-License-Identifier: MIT */
/*
 * sdnotify.c -- see sdnotify.h. A thin layer over libsystemd's sd_notify(),
 * which does nothing when $NOTIFY_SOCKET is unset. Main thread only; slow
 * path; never logs (a failed notification is not an error worth a line).
 */
#include "dnsd/sdnotify.h"

#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

void sdn_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "");
}

void sdn_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long usec =
        (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
    sd_notifyf(0, "RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=%llu", usec);
}

void sdn_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
}

#else /* built without libsystemd: the unit is Type=simple (README, "Operations") */

void sdn_ready(const char *status)
{
    (void)status;
}

void sdn_reloading(void)
{
}

void sdn_stopping(void)
{
}

#endif
