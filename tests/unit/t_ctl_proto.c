/* SPDX-License-Identifier: MIT */
/*
 * t_ctl_proto.c -- the control socket's request parser (dnsd/ctl_proto.c):
 * one named case per row, each with the command (or the error) it must give
 * and, for errors, a piece of the message the client sees.
 */
#include "dnsd/ctl_proto.h"

#include <string.h>

#include "tests/tap.h"
#include "zones/base/err.h"
#include "zones/base/log.h"

static const struct {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
    int rc;
    ctl_cmd_t cmd;
    int level;
    const char *err; /* a piece of the error text */
} cases[] = {
    {"status", "status", 0, 0, CTL_CMD_STATUS, 0, NULL},
    {"stats", "stats", 0, 0, CTL_CMD_STATS, 0, NULL},
    {"reload", "reload", 0, 0, CTL_CMD_RELOAD, 0, NULL},
    {"reload with CR (nc -C)", "reload\r", 0, 0, CTL_CMD_RELOAD, 0, NULL},
    {"log-level debug", "log-level debug", 0, 0, CTL_CMD_LOG_LEVEL, LOG_LVL_DEBUG, NULL},
    {"log-level warning", "log-level warning", 0, 0, CTL_CMD_LOG_LEVEL, LOG_LVL_WARN, NULL},
    {"log-level err (alias)", "log-level err", 0, 0, CTL_CMD_LOG_LEVEL, LOG_LVL_ERR, NULL},
    {"spaces around words", "  log-level   info ", 0, 0, CTL_CMD_LOG_LEVEL, LOG_LVL_INFO, NULL},
    {"empty", "", 0, DNSD_EMALFORMED, 0, 0, "empty request"},
    {"only spaces", "   ", 0, DNSD_EMALFORMED, 0, 0, "empty request"},
    {"unknown command", "shutdown", 0, DNSD_EMALFORMED, 0, 0, "unknown command \"shutdown\""},
    {"case matters", "STATUS", 0, DNSD_EMALFORMED, 0, 0, "unknown command"},
    {"status takes no argument", "status all", 0, DNSD_EMALFORMED, 0, 0, "no argument"},
    {"log-level needs one", "log-level", 0, DNSD_EMALFORMED, 0, 0, "one argument"},
    {"three words", "log-level debug now", 0, DNSD_EMALFORMED, 0, 0, "too many words"},
    {"unknown level", "log-level verbose", 0, DNSD_EMALFORMED, 0, 0, "\"verbose\" is not"},
    {"long level", "log-level debugdebugdebugdebug", 0, DNSD_EMALFORMED, 0, 0, "is not"},
    {"NUL inside", "stat\0us", 7, DNSD_EMALFORMED, 0, 0, "byte 0x00 at offset 4"},
    {"tab", "status\t", 0, DNSD_EMALFORMED, 0, 0, "byte 0x09 at offset 6"},
    {"UTF-8", "st\xc3\xa4tus", 0, DNSD_EMALFORMED, 0, 0, "byte 0xc3 at offset 2"},
    {"CR inside", "sta\rtus", 0, DNSD_EMALFORMED, 0, 0, "byte 0x0d at offset 3"},
};

int main(void)
{
    size_t n = sizeof(cases) / sizeof(cases[0]);
    for (size_t i = 0; i < n; i++) {
        ctl_req_t r;
        char err[256] = "";
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        int rc = ctl_req_parse(cases[i].in, len, &r, err, sizeof(err));
        is_int(rc, cases[i].rc, "%s: result", cases[i].name);
        if (cases[i].rc == 0) {
            ok(r.cmd == cases[i].cmd && r.level == cases[i].level, "%s: %s, level %d",
               cases[i].name, ctl_cmd_name(r.cmd), r.level);
        } else {
            ok(strstr(err, cases[i].err) != NULL, "%s: error says \"%s\" (got \"%s\")",
               cases[i].name, cases[i].err, err);
        }
    }
    /* the size limit: CTL_REQ_MAX - 1 bytes is the longest request */
    char big[CTL_REQ_MAX + 1];
    memset(big, ' ', sizeof(big));
    memcpy(big, "status", 6);
    ctl_req_t r;
    char err[256];
    is_int(ctl_req_parse(big, CTL_REQ_MAX - 1, &r, err, sizeof(err)), 0,
           "a request of CTL_REQ_MAX - 1 bytes is read");
    is_int(ctl_req_parse(big, CTL_REQ_MAX, &r, err, sizeof(err)), DNSD_EMALFORMED,
           "one of CTL_REQ_MAX bytes is refused");
    ok(strstr(err, "longer than") != NULL, "... as too long (%s)", err);
    /* a short error buffer is cut, never overrun */
    char tiny[8];
    memset(tiny, 'x', sizeof(tiny));
    ctl_req_parse("nope", 4, &r, tiny, 5);
    ok(tiny[4] == '\0' && tiny[5] == 'x', "the error text is cut to the buffer given");
    is_str(ctl_cmd_name(CTL_CMD_LOG_LEVEL), "log-level", "command names");
    return done_testing();
}
