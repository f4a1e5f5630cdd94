/* SPDX-License-Identifier: MIT */
/*
 * rollout_ev.c -- the parsers of acme/rollout_ev.h: HAProxy's dnsd-tls
 * line inside an RFC 3164 or RFC 5424 syslog datagram, and the JSON line
 * of the evidence socket. Both read bytes anyone who can reach dnsd's
 * syslog port or socket may send, so every field is checked and every
 * string copied bounded; a failure names the field.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/rollout_ev.h"
#include "zones/base/parse.h"

#define WHY(...)    (snprintf(why, whycap, __VA_ARGS__), -1)
#define SETWHY(...) ((void)snprintf(why, whycap, __VA_ARGS__))

/* a handshake longer than an hour is not a measurement */
#define HS_MS_MAX 3600000.0

uint8_t rev_proto_parse(const char *s)
{
    if (!s) {
        return REV_TLS_UNKNOWN;
    }
    if (strncmp(s, "TLSv", 4) == 0) {
        s += 4;
    } else if (strncmp(s, "TLS", 3) == 0) {
        s += 3;
    }
    static const char *const names[] = {"1.0", "1.1", "1.2", "1.3"};
    for (unsigned i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            return (uint8_t)(REV_TLS10 + i);
        }
    }
    if (strcmp(s, "1") == 0) { /* OpenSSL's name of TLS 1.0 is "TLSv1" */
        return REV_TLS10;
    }
    return REV_TLS_UNKNOWN;
}

const char *rev_proto_name(uint8_t p)
{
    switch (p) {
    case REV_TLS10:
        return "TLSv1.0";
    case REV_TLS11:
        return "TLSv1.1";
    case REV_TLS12:
        return "TLSv1.2";
    case REV_TLS13:
        return "TLSv1.3";
    default:
        return "unknown";
    }
}

/* copy @p n bytes of @p s to @p dst (cap @p cap), truncated, control bytes as '?' */
static void copy_text(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    dst[n] = '\0';
}

/*
 * An OpenSSL error string "error:0A000418:SSL routines::tlsv1 alert unknown
 * ca" is kept as its reason ("tlsv1 alert unknown ca"), the text a client's
 * own report or dnsd's probe gives for the same failure.
 */
static void copy_err(char *dst, size_t cap, const char *s, size_t n)
{
    if (n > 6 && memcmp(s, "error:", 6) == 0) {
        for (size_t i = n; i >= 2; i--) {
            if (s[i - 1] == ':' && s[i - 2] == ':') {
                if (i == n) {
                    break; /* no reason after "::": the whole text */
                }
                s += i;
                n -= i;
                break;
            }
        }
    }
    copy_text(dst, cap, s, n);
}

/*
 * A certificate serial: hex digits (a ':' between bytes allowed), stored as
 * OpenSSL's BN_bn2hex writes it, which is how dnsd records its certificates'
 * serials and HAProxy's ssl_f_serial,hex reads: upper case, whole bytes, no
 * leading zero byte ("0a:1b" -> "0A1B", "abc" -> "0ABC", "000A1B" -> "0A1B").
 */
static int copy_serial(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 1; /* dst[0]: room for a '0' before an odd count */
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ':') {
            continue;
        }
        if (!isxdigit((unsigned char)s[i]) || o + 1 >= cap) {
            return -1;
        }
        dst[o++] = (char)toupper((unsigned char)s[i]);
    }
    if (o == 1) {
        return -1;
    }
    size_t start = (o - 1) % 2 ? 0 : 1;
    dst[0] = '0';
    while (o - start > 2 && dst[start] == '0' && dst[start + 1] == '0') {
        start += 2;
    }
    memmove(dst, dst + start, o - start);
    dst[o - start] = '\0';
    return 0;
}

/*
 * The frontend address of a dnsd-tls line: "192.0.2.1:443", "[2001:db8::1]:443",
 * or HAProxy's "%fi:%fp" for IPv6, "2001:db8::1:443" (the port is required, so
 * the last ':' starts it).
 */
static int parse_fe(const char *s, size_t n, struct sockaddr_storage *out)
{
    char buf[INET6_ADDRSTRLEN + 16];
    if (n == 0 || n >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *colon = strrchr(buf, ':');
    if (!colon || colon[1] == '\0') {
        return -1;
    }
    if (buf[0] == '[' || memchr(buf, ':', (size_t)(colon - buf)) == NULL) {
        /* default port 0: "[2001:db8::1]" without one parses, and is refused here */
        if (parse_hostport(buf, 0, 1, out, NULL) != 0) {
            return -1;
        }
        return (out->ss_family == AF_INET ? ((struct sockaddr_in *)out)->sin_port
                                          : ((struct sockaddr_in6 *)out)->sin6_port) != 0
                   ? 0
                   : -1;
    }
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port == 0 || port > 65535 || !isdigit((unsigned char)colon[1])) {
        return -1;
    }
    *colon = '\0';
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET6, buf, &s6->sin6_addr) != 1) {
        return -1;
    }
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    return 0;
}

/*
 * An IPv4 client of a dual-stack listener (`bind :::443 v4v6`) reaches
 * "::ffff:192.0.2.1", which %fi writes so: the same load balancer as the
 * shard's "192.0.2.1", so kept as IPv4.
 */
static void unmap_v4(struct sockaddr_storage *ss)
{
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
        return;
    }
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof(s4));
    s4.sin_family = AF_INET;
    s4.sin_port = s6->sin6_port;
    memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, &s4, sizeof(s4));
}

/* a handshake time in ms ("12", "12.5"; "-" or HAProxy's -1: unknown) -> us */
static int parse_ms(const char *s, size_t n, uint32_t *us)
{
    char buf[32];
    if (n == 0 || n >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (strcmp(buf, "-") == 0 || strcmp(buf, "-1") == 0) {
        *us = 0;
        return 0;
    }
    char *end = NULL;
    double v = strtod(buf, &end);
    if (*end || !isdigit((unsigned char)buf[0]) || !(v >= 0 && v <= HS_MS_MAX)) {
        return -1;
    }
    *us = (uint32_t)(v * 1000.0 + 0.5);
    return 0;
}

static int parse_bool01(const char *s, size_t n, bool *out)
{
    if (n == 1 && (s[0] == '0' || s[0] == '1')) {
        *out = s[0] == '1';
        return 0;
    }
    return -1;
}

static bool is_dash(const char *s, size_t n) { return n == 0 || (n == 1 && s[0] == '-'); }

/*
 * Skip the RFC 3164 or RFC 5424 header of @p p..@p end; @return the message
 * start, or NULL with @p why.
 */
static const char *syslog_msg(const char *p, const char *end, char *why, size_t whycap)
{
    /* <PRI>: 1-3 digits, at most 191 (facility 23, severity 7) */
    if (p >= end || *p != '<') {
        SETWHY("no syslog priority: the datagram does not start with '<'");
        return NULL;
    }
    unsigned pri = 0, nd = 0;
    for (p++; p < end && isdigit((unsigned char)*p) && nd < 4; p++, nd++) {
        pri = pri * 10 + (unsigned)(*p - '0');
    }
    if (nd == 0 || nd > 3 || p >= end || *p != '>' || pri > 191) {
        SETWHY("bad syslog priority: expected <0> to <191>");
        return NULL;
    }
    p++;
    if (end - p >= 2 && p[0] == '1' && p[1] == ' ') {
        /* RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG] */
        p += 2;
        for (int f = 0; f < 5; f++) {
            const char *sp = memchr(p, ' ', (size_t)(end - p));
            if (!sp || sp == p) {
                SETWHY("RFC 5424 header cut short (field %d of TIMESTAMP HOSTNAME APP-NAME PROCID MSGID)",
                    f + 1);
                return NULL;
            }
            p = sp + 1;
        }
        if (p < end && *p == '-') {
            p++;
        } else {
            /* SD-ELEMENTs: [id param="value" ...]..., values escape '"', '\\' and ']' */
            if (p >= end || *p != '[') {
                SETWHY("RFC 5424 structured data is neither '-' nor [...]");
                return NULL;
            }
            while (p < end && *p == '[') {
                bool inq = false;
                for (p++; p < end; p++) {
                    if (inq && *p == '\\' && p + 1 < end) {
                        p++;
                    } else if (*p == '"') {
                        inq = !inq;
                    } else if (*p == ']' && !inq) {
                        break;
                    }
                }
                if (p >= end) {
                    SETWHY("RFC 5424 structured data not closed by ']'");
                    return NULL;
                }
                p++;
            }
        }
        if (p < end && *p == ' ') {
            p++;
        } else if (p < end) {
            SETWHY("RFC 5424: no space between structured data and message");
            return NULL;
        }
        if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
            p += 3; /* the BOM of an UTF-8 message */
        }
        return p;
    }
    /* RFC 3164: [TIMESTAMP SP] [HOSTNAME SP] TAG[pid]: SP MSG */
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (end - p >= 16 && p[3] == ' ' && p[6] == ' ' && p[9] == ':' && p[12] == ':' && p[15] == ' ') {
        for (unsigned i = 0; i < 12; i++) {
            if (memcmp(p, mon[i], 3) == 0) {
                p += 16;
                break;
            }
        }
    }
    /* the tag is the first of at most two words ending in ':' (the first may be the host) */
    const char *q = p;
    for (int w = 0; w < 2 && q < end; w++) {
        const char *sp = memchr(q, ' ', (size_t)(end - q));
        if (!sp) {
            break;
        }
        if (sp > q && sp[-1] == ':') {
            return sp + 1;
        }
        q = sp + 1;
    }
    return p; /* no tag: the message follows the header directly */
}

/*
 * Whether a '"' before @p p closes a quoted value: it is followed by the end,
 * or by spaces and the next "key=" (HAProxy's +Q does not escape a '"' inside,
 * so "a "b" c" is one value).
 */
static bool closes(const char *p, const char *end)
{
    if (p == end) {
        return true;
    }
    if (*p != ' ') {
        return false;
    }
    while (p < end && *p == ' ') {
        p++;
    }
    if (p == end) {
        return true;
    }
    const char *k = p;
    while (p < end && (isalnum((unsigned char)*p) || *p == '_')) {
        p++;
    }
    return p > k && p < end && *p == '=';
}

/* one "key=value" token of a dnsd-tls line; sets *val, *vlen and moves *pp past it */
static int next_token(const char **pp, const char *end, const char **key, size_t *klen,
                      const char **val, size_t *vlen, char *why, size_t whycap)
{
    const char *p = *pp;
    const char *k = p;
    while (p < end && *p != '=' && *p != ' ') {
        p++;
    }
    if (p >= end || *p != '=' || p == k) {
        return WHY("token \"%.*s\" is not key=value", (int)((p - k) > 40 ? 40 : (p - k)), k);
    }
    *key = k;
    *klen = (size_t)(p - k);
    p++;
    if (p < end && *p == '"') {
        /* %{+Q}: quoted; the value ends at a '"' that closes() (a \" or \\ is an escape,
           as %{+E} writes them) */
        const char *v = ++p;
        for (; p < end; p++) {
            if (*p == '\\' && p + 1 < end) {
                p++;
            } else if (*p == '"' && closes(p + 1, end)) {
                break;
            }
        }
        if (p >= end) {
            return WHY("value of %.*s: quote not closed", (int)*klen, k);
        }
        *val = v;
        *vlen = (size_t)(p - v);
        p++;
    } else {
        *val = p;
        while (p < end && *p != ' ') {
            p++;
        }
        *vlen = (size_t)(p - *val);
    }
    *pp = p;
    return 0;
}

/* a quoted value with its \-escapes removed, into @p dst */
static void unescape(char *dst, size_t cap, const char *v, size_t n, size_t *outn)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (v[i] == '\\' && i + 1 < n) {
            i++;
        }
        dst[o++] = v[i];
    }
    dst[o] = '\0';
    *outn = o;
}

#define KEY(lit) (klen == sizeof(lit) - 1 && memcmp(key, lit, klen) == 0)

static int parse_syslog(const char *buf, size_t len, rev_sample_t *out, char *why, size_t whycap)
{
    memset(out, 0, sizeof(*out));
    out->source = REV_SRC_SYSLOG;
    if (len > REV_LINE_MAX) {
        return WHY("datagram of %zu bytes is longer than %d", len, REV_LINE_MAX);
    }
    const char *end = buf + len;
    while (end > buf && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == '\0')) {
        end--;
    }
    const char *p = syslog_msg(buf, end, why, whycap);
    if (!p) {
        return -1;
    }
    static const char magic[] = "dnsd-tls ";
    if ((size_t)(end - p) < sizeof(magic) - 1 || memcmp(p, magic, sizeof(magic) - 1) != 0) {
        return 1; /* another message on the same port (e.g. HAProxy's own alerts) */
    }
    p += sizeof(magic) - 1;
    bool have_fe = false, have_ok = false;
    char errcode[64] = "", errstr[REV_LINE_MAX], fcerrstr[REV_LINE_MAX];
    errstr[0] = fcerrstr[0] = '\0';
    size_t errstrn = 0, fcerrstrn = 0;
    while (p < end) {
        if (*p == ' ') {
            p++;
            continue;
        }
        const char *key, *val;
        size_t klen, vlen;
        if (next_token(&p, end, &key, &klen, &val, &vlen, why, whycap) != 0) {
            return -1;
        }
        if (KEY("v")) {
            if (vlen != 1 || val[0] != '1') {
                return WHY("dnsd-tls line version v=%.*s (this dnsd reads v=1)",
                           (int)(vlen > 16 ? 16 : vlen), val);
            }
        } else if (KEY("fe")) {
            if (parse_fe(val, vlen, &out->lb) != 0) {
                return WHY("fe=%.*s is not ADDRESS:PORT", (int)(vlen > 64 ? 64 : vlen), val);
            }
            unmap_v4(&out->lb);
            have_fe = true;
        } else if (KEY("ok")) {
            if (parse_bool01(val, vlen, &out->ok) != 0) {
                return WHY("ok=%.*s is not 0 or 1", (int)(vlen > 16 ? 16 : vlen), val);
            }
            have_ok = true;
        } else if (KEY("resumed")) {
            if (!is_dash(val, vlen) && parse_bool01(val, vlen, &out->resumed) != 0) {
                return WHY("resumed=%.*s is not 0 or 1", (int)(vlen > 16 ? 16 : vlen), val);
            }
        } else if (KEY("proto")) {
            char pr[16];
            copy_text(pr, sizeof(pr), val, vlen < sizeof(pr) ? vlen : sizeof(pr) - 1);
            out->proto = rev_proto_parse(pr);
        } else if (KEY("cipher")) {
            /* HAProxy writes "(NONE)" when no cipher was agreed */
            if (!is_dash(val, vlen) && !(vlen == 6 && memcmp(val, "(NONE)", 6) == 0)) {
                copy_text(out->cipher, sizeof(out->cipher), val, vlen);
            }
        } else if (KEY("hs_ms")) {
            if (parse_ms(val, vlen, &out->hs_us) != 0) {
                return WHY("hs_ms=%.*s is not a time in ms", (int)(vlen > 16 ? 16 : vlen), val);
            }
        } else if (KEY("serial")) {
            if (!is_dash(val, vlen) && copy_serial(out->serial, sizeof(out->serial), val, vlen) != 0) {
                return WHY("serial=%.*s is not a hex serial of at most %zu digits",
                           (int)(vlen > 40 ? 40 : vlen), val, sizeof(out->serial) - 2);
            }
        } else if (KEY("sni")) {
            if (!is_dash(val, vlen)) {
                copy_text(out->sni, sizeof(out->sni), val, vlen);
            }
        } else if (KEY("err")) {
            if (!is_dash(val, vlen)) {
                copy_text(errcode, sizeof(errcode), val, vlen);
            }
        } else if (KEY("errstr")) {
            if (!is_dash(val, vlen)) {
                unescape(errstr, sizeof(errstr), val, vlen, &errstrn);
            }
        } else if (KEY("fcerrstr")) {
            if (!is_dash(val, vlen)) {
                unescape(fcerrstr, sizeof(fcerrstr), val, vlen, &fcerrstrn);
            }
        }
        /* unknown keys: ignored (a later format may add some) */
    }
    if (!have_fe) {
        return WHY("dnsd-tls line without fe=");
    }
    if (!have_ok) {
        return WHY("dnsd-tls line without ok=");
    }
    if (!out->ok && out->serial[0] == '\0') {
        /* no certificate chosen: no ClientHello came (a TCP health check, plain HTTP on the
           TLS port), so the failure says nothing about any certificate */
        return 1;
    }
    if (!out->ok) {
        /* the most specific text: OpenSSL's reason, then HAProxy's, then the codes */
        if (errstrn) {
            copy_err(out->err, sizeof(out->err), errstr, errstrn);
        } else if (fcerrstrn) {
            copy_err(out->err, sizeof(out->err), fcerrstr, fcerrstrn);
        } else if (errcode[0]) {
            copy_text(out->err, sizeof(out->err), errcode, strlen(errcode));
        } else {
            copy_text(out->err, sizeof(out->err), "handshake failed", 16);
        }
    }
    return 0;
}

/* an optional JSON string member: "" when absent or null; -1 when another type */
static int json_str(json_t *o, const char *k, const char **s)
{
    json_t *v = json_object_get(o, k);
    *s = "";
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        return -1;
    }
    *s = json_string_value(v);
    return 0;
}

static int parse_json(const char *buf, size_t len, rev_sample_t *out, char *why, size_t whycap)
{
    memset(out, 0, sizeof(*out));
    out->source = REV_SRC_JSON;
    if (len > REV_LINE_MAX) {
        return WHY("line of %zu bytes is longer than %d", len, REV_LINE_MAX);
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        len--;
    }
    json_error_t je;
    json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!o) {
        return WHY("not JSON: %s at column %d", je.text, je.column);
    }
    if (!json_is_object(o)) {
        SETWHY("not a JSON object");
        goto out;
    }
    const char *lb, *serial, *proto, *cipher, *error, *profile, *source, *sni;
    json_t *ok = json_object_get(o, "ok"), *res = json_object_get(o, "resumed");
    json_t *hs = json_object_get(o, "hs_ms");
    if (json_str(o, "lb", &lb) || json_str(o, "serial", &serial) || json_str(o, "proto", &proto) ||
        json_str(o, "cipher", &cipher) || json_str(o, "error", &error) ||
        json_str(o, "profile", &profile) || json_str(o, "source", &source) ||
        json_str(o, "sni", &sni)) {
        SETWHY("lb, serial, proto, cipher, error, profile, source and sni must be strings");
        goto out;
    }
    if (!*lb) {
        SETWHY("no \"lb\" (the load balancer's address)");
        goto out;
    }
    if (strlen(lb) > INET6_ADDRSTRLEN + 8 || parse_hostport(lb, 443, 1, &out->lb, NULL) != 0) {
        SETWHY("\"lb\": \"%.64s\" is not an address[:port]", lb);
        goto out;
    }
    unmap_v4(&out->lb);
    if (!json_is_boolean(ok)) {
        SETWHY("no \"ok\": true|false");
        goto out;
    }
    out->ok = json_is_true(ok);
    if (res && !json_is_null(res)) {
        if (!json_is_boolean(res)) {
            SETWHY("\"resumed\" is not true|false");
            goto out;
        }
        out->resumed = json_is_true(res);
    }
    if (hs && !json_is_null(hs)) {
        double v = json_number_value(hs);
        if (!json_is_number(hs) || !(v >= 0 && v <= HS_MS_MAX)) {
            SETWHY("\"hs_ms\" is not a time in ms (0 to %.0f)", HS_MS_MAX);
            goto out;
        }
        out->hs_us = (uint32_t)(v * 1000.0 + 0.5);
    }
    if (*serial && copy_serial(out->serial, sizeof(out->serial), serial, strlen(serial)) != 0) {
        SETWHY("\"serial\": \"%.40s\" is not a hex serial of at most %zu digits", serial,
            sizeof(out->serial) - 2);
        goto out;
    }
    if (strcmp(source, "beacon") == 0) {
        out->source = REV_SRC_BEACON;
    } else if (*source && strcmp(source, "lb") != 0) {
        SETWHY("\"source\": \"%.24s\" is neither \"lb\" nor \"beacon\"", source);
        goto out;
    }
    out->proto = rev_proto_parse(proto);
    copy_text(out->cipher, sizeof(out->cipher), cipher, strlen(cipher));
    copy_text(out->profile, sizeof(out->profile), profile, strlen(profile));
    copy_text(out->sni, sizeof(out->sni), sni, strlen(sni));
    if (!out->ok) {
        copy_err(out->err, sizeof(out->err), *error ? error : "handshake failed",
                 *error ? strlen(error) : 16);
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

/* the reason goes to a log line: whatever bytes of the input it quotes, printable */
static int printable(int rc, char *why, size_t whycap)
{
    if (rc < 0 && whycap) {
        why[whycap - 1] = '\0';
        for (char *c = why; *c; c++) {
            if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
                *c = '?';
            }
        }
    }
    return rc;
}

int rev_parse_syslog(const char *buf, size_t len, rev_sample_t *out, char *why, size_t whycap)
{
    return printable(parse_syslog(buf, len, out, why, whycap), why, whycap);
}

int rev_parse_json(const char *buf, size_t len, rev_sample_t *out, char *why, size_t whycap)
{
    return printable(parse_json(buf, len, out, why, whycap), why, whycap);
}
