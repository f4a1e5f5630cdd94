/* SPDX-License-Identifier: MIT */
/*
 * ctl_proto.h -- the control socket's request language (dnsd/ctl.c serves
 * it, dnsctl speaks it): one request line of printable ASCII words
 * separated by spaces, ended by '\n', at most CTL_REQ_MAX bytes with the
 * newline; the answer is one JSON object and a newline, then the server
 * closes the connection. README "Control socket" documents both.
 *
 *   status | stats | reload | log-level error|warning|info|debug
 *
 * The bytes come from any local user who may open the socket: the parser
 * reads them bounds-checked, allocates nothing, and is fuzzed
 * (tests/fuzz/fuzz_ctl.c). Any thread; pure function.
 */
#ifndef DNSD_CTL_PROTO_H
#define DNSD_CTL_PROTO_H

#include <stddef.h>

#define CTL_REQ_MAX 256 /* bytes of one request, '\n' included */

typedef enum ctl_cmd {
    CTL_CMD_STATUS = 1,
    CTL_CMD_STATS,
    CTL_CMD_RELOAD,
    CTL_CMD_LOG_LEVEL,
} ctl_cmd_t;

typedef struct ctl_req {
    ctl_cmd_t cmd;
    int level; /* CTL_CMD_LOG_LEVEL: LOG_LVL_* (zones/base/log.h) */
} ctl_req_t;

/**
 * Parse one request line: @p buf holds @p len bytes, the '\n' not among
 * them (a '\r' before it is allowed, for `nc -C`). @return 0 and fills
 * @p out, or DNSD_EMALFORMED with a one-line reason in @p err (NUL-ended,
 * printable ASCII only, cut to @p errcap) that names the offending word or
 * byte offset.
 */
int ctl_req_parse(const char *buf, size_t len, ctl_req_t *out, char *err, size_t errcap);

/** The request's command name ("status", ..., "log-level"). */
const char *ctl_cmd_name(ctl_cmd_t cmd);

#endif
