/* SPDX-License-Identifier: MIT */
/* log.c -- see log.h. One write(2) per line so threads do not interleave. */
#include "zones/base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int log_level = LOG_LVL_INFO;

/* set once by log_journal_detect() before any thread starts */
static bool log_journal;

bool log_journal_detect(void)
{
    /* "DEV:INODE" of the stream systemd connected; stderr may have been
     * redirected since (a shell wrapper), so compare instead of trusting it */
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    log_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
                  fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
                  (unsigned long long)st.st_ino == ino;
    return log_journal;
}

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
    int n;
    if (log_journal) {
        static const char prio[] = {'3', '4', '6', '7'}; /* LOG_ERR, _WARNING, _INFO, _DEBUG */
        n = snprintf(line, sizeof(line), "<%c>", prio[level & 3]);
    } else {
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
    }
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
