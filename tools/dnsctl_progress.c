/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_progress.c -- the progress line of dnsctl's long commands (`zone
 * import` of a large file, `store backup`, `dnssec enable|resign` of a big
 * zone): what was done, the rate and the
 * time left, on standard error, rewritten in place ("\r") at most four
 * times a second. Only when standard error is a terminal and --quiet was
 * not given: in scripts and pipes nothing is printed, so output stays
 * machine-readable. Never touches standard output.
 */
#include "tools/dnsctl.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_INTERVAL_NS 250000000LL /* at most four updates a second */

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void ctl_progress_begin(ctl_progress_t *p, const ctl_t *c, const char *what, bool bytes)
{
    memset(p, 0, sizeof(*p));
    p->on = !c->quiet && isatty(STDERR_FILENO);
    p->bytes = bytes;
    snprintf(p->what, sizeof(p->what), "%s", what);
    p->start_ns = now_ns();
}

void ctl_progress_unit(ctl_progress_t *p, const char *unit)
{
    p->unit = unit;
}

/* "12.3 MiB" */
static void size_str(uint64_t n, char *buf, size_t cap)
{
    if (n < 1024) {
        snprintf(buf, cap, "%llu B", (unsigned long long)n);
    } else if (n < 1024 * 1024) {
        snprintf(buf, cap, "%.1f KiB", (double)n / 1024);
    } else if (n < 1024ull * 1024 * 1024) {
        snprintf(buf, cap, "%.1f MiB", (double)n / (1024 * 1024));
    } else {
        snprintf(buf, cap, "%.2f GiB", (double)n / (1024.0 * 1024 * 1024));
    }
}

static void print_line(ctl_progress_t *p, long long now, bool final)
{
    char line[256], a[32], b[32];
    double secs = (double)(now - p->start_ns) / 1e9;
    int n;
    if (p->bytes) {
        size_str(p->done, a, sizeof(a));
        n = snprintf(line, sizeof(line), "%s: %s", p->what, a);
        if (!final && p->total > p->done) {
            size_str(p->total, b, sizeof(b));
            n += snprintf(line + n, sizeof(line) - (size_t)n, " (at most %s)", b);
        }
        if (secs > 0.05) {
            size_str((uint64_t)((double)p->done / secs), b, sizeof(b));
            n += snprintf(line + n, sizeof(line) - (size_t)n, ", %s/s", b);
        }
    } else {
        const char *unit = p->unit ? p->unit : "records";
        n = snprintf(line, sizeof(line), "%s: %lu %s", p->what, p->records, unit);
        if (p->total > 0 && !final) {
            n += snprintf(line + n, sizeof(line) - (size_t)n, " (%.0f%%)",
                          100.0 * (double)p->done / (double)p->total);
        }
        if (secs > 0.05) {
            n += snprintf(line + n, sizeof(line) - (size_t)n, ", %.0f %s/s",
                          (double)p->records / secs, unit);
        }
    }
    if (!final && p->total > p->done && p->done > 0 && secs > 0.05) {
        long left = (long)(secs * (double)(p->total - p->done) / (double)p->done + 0.5);
        n += snprintf(line + n, sizeof(line) - (size_t)n, ", ETA %ld:%02ld", left / 60,
                      left % 60);
    }
    if (final) {
        n += snprintf(line + n, sizeof(line) - (size_t)n, " in %.1f s", secs);
    }
    if (n < 0 || (size_t)n >= sizeof(line)) {
        n = (int)strlen(line);
    }
    /* blank what is left of a longer previous line */
    int pad = p->width > n ? p->width - n : 0;
    fprintf(stderr, "\r%s%*s%s", line, pad, "", final ? "\n" : "");
    fflush(stderr);
    p->width = n;
    p->last_ns = now;
    p->shown = true;
}

static void update(ctl_progress_t *p)
{
    if (!p->on) {
        return;
    }
    long long now = now_ns();
    if (p->shown && now - p->last_ns < PROGRESS_INTERVAL_NS) {
        return;
    }
    print_line(p, now, false);
}

void ctl_progress_records(ctl_progress_t *p, unsigned long records, uint64_t done,
                          uint64_t total)
{
    p->records = records;
    p->done = done;
    p->total = total;
    update(p);
}

void ctl_progress_bytes(ctl_progress_t *p, uint64_t done, uint64_t total)
{
    p->done = done;
    p->total = total;
    update(p);
}

void ctl_progress_end(ctl_progress_t *p, bool ok)
{
    if (!p->on) {
        return;
    }
    if (ok) {
        print_line(p, now_ns(), true);
    } else if (p->shown) {
        /* the error message that follows starts on a clean line */
        fprintf(stderr, "\r%*s\r", p->width, "");
        fflush(stderr);
    }
    p->on = false;
}
