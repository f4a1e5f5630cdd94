/* SPDX-License-Identifier: MIT */
/* ctl_proto.c -- the control socket's request parser (see ctl_proto.h). No allocation. */
#include "dnsd/ctl_proto.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/log.h"

#define CTL_WORDS_MAX 2

typedef struct word {
    const char *p;
    size_t len;
} word_t;

static const struct {
    const char *name;
    ctl_cmd_t cmd;
    int nargs;
} cmds[] = {
    {"status", CTL_CMD_STATUS, 0},
    {"stats", CTL_CMD_STATS, 0},
    {"reload", CTL_CMD_RELOAD, 0},
    {"log-level", CTL_CMD_LOG_LEVEL, 1},
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t cap, const char *fmt, ...)
{
    if (cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return DNSD_EMALFORMED;
}

static bool word_is(const word_t *w, const char *s)
{
    return strlen(s) == w->len && memcmp(w->p, s, w->len) == 0;
}

const char *ctl_cmd_name(ctl_cmd_t cmd)
{
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (cmds[i].cmd == cmd) {
            return cmds[i].name;
        }
    }
    return "?";
}

int ctl_req_parse(const char *buf, size_t len, ctl_req_t *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof(*out));
    if (len >= CTL_REQ_MAX) {
        return fail(err, errcap, "request longer than %d bytes", CTL_REQ_MAX - 1);
    }
    if (len > 0 && buf[len - 1] == '\r') {
        len--;
    }
    /* printable ASCII and spaces only: what we echo back is then safe text */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch != ' ' && (ch < 0x21 || ch > 0x7e)) {
            return fail(err, errcap, "byte 0x%02x at offset %zu: requests are printable ASCII",
                        ch, i);
        }
    }
    word_t w[CTL_WORDS_MAX];
    int nw = 0;
    for (size_t i = 0; i < len;) {
        if (buf[i] == ' ') {
            i++;
            continue;
        }
        size_t s = i;
        while (i < len && buf[i] != ' ') {
            i++;
        }
        if (nw == CTL_WORDS_MAX) {
            return fail(err, errcap, "too many words (at most %d)", CTL_WORDS_MAX);
        }
        w[nw].p = buf + s;
        w[nw].len = i - s;
        nw++;
    }
    if (nw == 0) {
        return fail(err, errcap, "empty request (status, stats, reload, log-level LEVEL)");
    }
    size_t k, n = sizeof(cmds) / sizeof(cmds[0]);
    for (k = 0; k < n && !word_is(&w[0], cmds[k].name); k++) {
    }
    if (k == n) {
        return fail(err, errcap,
                    "unknown command \"%.*s\" (status, stats, reload, log-level LEVEL)",
                    (int)(w[0].len > 64 ? 64 : w[0].len), w[0].p);
    }
    if (nw - 1 != cmds[k].nargs) {
        return fail(err, errcap, "%s takes %s", cmds[k].name,
                    cmds[k].nargs ? "one argument" : "no argument");
    }
    out->cmd = cmds[k].cmd;
    if (out->cmd == CTL_CMD_LOG_LEVEL) {
        char lvl[16];
        if (w[1].len >= sizeof(lvl)) {
            return fail(err, errcap, "log-level: \"%.15s...\" is not error|warning|info|debug",
                        w[1].p);
        }
        memcpy(lvl, w[1].p, w[1].len);
        lvl[w[1].len] = '\0';
        out->level = log_level_parse(lvl);
        if (out->level < 0) {
            return fail(err, errcap, "log-level: \"%s\" is not error|warning|info|debug", lvl);
        }
    }
    return 0;
}
