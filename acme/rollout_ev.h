/* SPDX-License-Identifier: MIT */
/*
 * rollout_ev.h -- evidence for a certificate rollout (issue #15): one TLS
 * handshake outcome seen at a load balancer, and the parsers of the two
 * outside formats it arrives in. Pure functions, no I/O, no allocation
 * beyond jansson's inside rev_parse_json; fuzzed (tests/fuzz/fuzz_rev.c).
 *
 * (a) HAProxy logs over UDP syslog (RFC 3164 or RFC 5424 framing, as
 *     HAProxy sends with `log ... format rfc3164|rfc5424`), whose message is
 *     the line of tools/haproxy-rollout.cfg's log-format (a completed
 *     handshake) or error-log-format (a failed one):
 *
 *       dnsd-tls v=1 fe=ADDR:PORT ok=1|0 proto=TLSv1.3 cipher=NAME resumed=0|1
 *                hs_ms=N serial=HEX sni=NAME err=CODE errstr="TEXT"
 *
 *     tokens in any order, unknown keys ignored, "-" for an empty field,
 *     errstr quoted with HAProxy's %{+Q} rules. fe (the frontend address
 *     the client reached: the load balancer, hence the pool) and ok are
 *     required.
 * (b) JSON lines (one object per line) on dnsd's local evidence socket,
 *     from other load balancers and client beacons:
 *
 *       {"lb": "192.0.2.1:443", "ok": false, "serial": "0A1B...",
 *        "proto": "TLSv1.2", "cipher": "...", "resumed": false,
 *        "hs_ms": 12.5, "error": "certificate verify failed",
 *        "profile": "android-7", "source": "beacon"}
 *
 *     lb and ok required; others optional.
 * (c) dnsd's own active probes (acme/tlsprobe.h) fill the same struct.
 */
#ifndef DNSD_ACME_ROLLOUT_EV_H
#define DNSD_ACME_ROLLOUT_EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum { REV_SRC_SYSLOG = 1, REV_SRC_JSON = 2, REV_SRC_BEACON = 3, REV_SRC_PROBE = 4 };
enum { REV_TLS_UNKNOWN = 0, REV_TLS10 = 1, REV_TLS11 = 2, REV_TLS12 = 3, REV_TLS13 = 4 };
#define REV_LINE_MAX 4096 /* longer lines are malformed */

/** One handshake outcome. Strings are NUL-terminated, truncated to fit. */
typedef struct rev_sample {
    int64_t t_ms;                /* when it was received (the ingester's clock), ms */
    struct sockaddr_storage lb;  /* the load balancer's address the client reached */
    bool ok;                     /* the handshake completed */
    bool resumed;
    uint8_t source;              /* REV_SRC_* */
    uint8_t proto;               /* REV_TLS* */
    uint32_t hs_us;              /* handshake time, microseconds (0: unknown) */
    char serial[72];             /* the certificate presented, hex upper case ("" unknown) */
    char cipher[64];
    char err[96];                /* the failure: code or text ("" when ok) */
    char profile[24];            /* a probe's or beacon's client profile ("" none) */
    char sni[96];
} rev_sample_t;

/**
 * Parse one syslog datagram @p buf (@p len bytes, not NUL-terminated).
 * @return 0 with @p out filled (t_ms left 0, source REV_SRC_SYSLOG), 1 when the
 * message is well-framed but not a dnsd-tls line, or a failed handshake
 * without a serial (no ClientHello came: a TCP health check, plain HTTP on
 * the TLS port; it says nothing about a certificate) -- ignored, not an
 * error -- or -1 with @p why (a sentence naming what was wrong).
 */
int rev_parse_syslog(const char *buf, size_t len, rev_sample_t *out, char *why, size_t whycap);

/** Parse one JSON line; @return 0 or -1 with @p why. source: REV_SRC_JSON, or BEACON for "source":"beacon". */
int rev_parse_json(const char *buf, size_t len, rev_sample_t *out, char *why, size_t whycap);

/** "TLSv1.2" -> REV_TLS12 (also "1.2", "TLS1.2"); REV_TLS_UNKNOWN otherwise. */
uint8_t rev_proto_parse(const char *s);
/** REV_TLS12 -> "TLSv1.2"; "unknown". */
const char *rev_proto_name(uint8_t p);

#endif
