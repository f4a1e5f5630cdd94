/* SPDX-License-Identifier: MIT */
/* log.c -- see log.h. One write(2) per line so threads do not interleave. */
#include "zones/base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int log_level = LOG_LVL_INFO;

static const char *const lvl_names[] = {"error", "warning", "info", "debug"};

int log_level_parse(const char *s)
{
    static const char *const alias[] = {"err", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, lvl_names[i]) == 0 || strcmp(s, alias[i]) == 0) {
            return i;
        }
    }
    return -1;
}

void log_msg(int level, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
    n += snprintf(line + n, sizeof(line) - (size_t)n, "%s: ", lvl_names[level & 3]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) {
        m = 0;
    }
    n += m;
    if (n > (int)sizeof(line) - 2) {
        n = (int)sizeof(line) - 2;
    }
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
