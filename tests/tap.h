/* SPDX-License-Identifier: MIT */
/* tap.h -- a tiny TAP producer for the C unit tests (run by tap-driver.sh). */
#ifndef DNSD_TAP_H
#define DNSD_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_fail;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 4, 5)))
static int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        tap_fail++;
        printf("#   failed at %s:%d\n", file, line);
    }
    return pass;
}
static __attribute__((unused)) int tap_is_int(long long g, long long w, const char *f, int l, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static __attribute__((unused)) int tap_is_int(long long g, long long w, const char *f, int l, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (tap_ok(g == w, f, l, "%s", msg)) {
        return 1;
    }
    printf("#   got %lld, want %lld\n", g, w);
    return 0;
}

static __attribute__((unused)) int tap_is_str(const char *g, const char *w, const char *f, int l, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static __attribute__((unused)) int tap_is_str(const char *g, const char *w, const char *f, int l, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (tap_ok(g && w && strcmp(g, w) == 0, f, l, "%s", msg)) {
        return 1;
    }
    printf("#   got \"%s\", want \"%s\"\n", g ? g : "(null)", w ? w : "(null)");
    return 0;
}

static inline int done_testing(void)
{
    printf("1..%d\n", tap_n);
    fflush(stdout);
    return tap_fail ? 1 : 0;
}

#endif
