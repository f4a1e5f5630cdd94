/* SPDX-License-Identifier: MIT */
/* parse.c -- numbers, CIDRs and host[:port] from text (see parse.h). */
#include "zones/base/parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"

int parse_num(const char *text, long long min, long long max, long long *out)
{
    const char *p = text[0] == '-' && min < 0 ? text + 1 : text;
    if (!isdigit((unsigned char)p[0])) {
        return DNSD_EMALFORMED; /* strtoll would take spaces and '+' */
    }
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || *end || n < min || n > max) {
        return DNSD_EMALFORMED;
    }
    *out = n;
    return 0;
}

int parse_cidr(const char *text, parse_cidr_t *out, const char **why)
{
    const char *dummy;
    why = why ? why : &dummy;
    char buf[64];
    const char *slash = strchr(text, '/');
    if (!slash) {
        *why = "no prefix length";
        return DNSD_EMALFORMED;
    }
    memset(out, 0, sizeof(*out));
    size_t al = (size_t)(slash - text);
    if (al >= sizeof(buf)) {
        *why = "not an IPv4 or IPv6 address";
        return DNSD_EMALFORMED;
    }
    memcpy(buf, text, al);
    buf[al] = 0;
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = 4;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = 6;
    } else {
        *why = "not an IPv4 or IPv6 address";
        return DNSD_EMALFORMED;
    }
    int bits = out->family == 4 ? 32 : 128;
    long long pl;
    if (parse_num(slash + 1, 0, bits, &pl) != 0) {
        *why = "prefix length out of range";
        return DNSD_EMALFORMED;
    }
    out->len = (uint8_t)pl;
    for (int b = (int)pl; b < bits; b++) {
        if (out->addr[b / 8] & (0x80 >> (b % 8))) {
            *why = "host bits set";
            return DNSD_EMALFORMED;
        }
    }
    return 0;
}

int parse_hostport(const char *text, uint16_t dflt_port, uint16_t min_port,
                   struct sockaddr_storage *out, socklen_t *len)
{
    char host[64];
    const char *port = NULL;
    memset(out, 0, sizeof(*out));
    if (text[0] == '[') {
        const char *e = strchr(text, ']');
        if (!e || (size_t)(e - text - 1) >= sizeof(host)) {
            return DNSD_EMALFORMED;
        }
        memcpy(host, text + 1, (size_t)(e - text - 1));
        host[e - text - 1] = 0;
        if (e[1] == ':') {
            port = e + 2;
        } else if (e[1] != 0) {
            return DNSD_EMALFORMED;
        }
    } else {
        const char *colon = strchr(text, ':');
        if (colon && strchr(colon + 1, ':')) {
            colon = NULL; /* a bare IPv6 address, no port */
        }
        size_t hl = colon ? (size_t)(colon - text) : strlen(text);
        if (hl >= sizeof(host)) {
            return DNSD_EMALFORMED;
        }
        memcpy(host, text, hl);
        host[hl] = 0;
        port = colon ? colon + 1 : NULL;
    }
    long long p = dflt_port;
    if (port && parse_num(port, min_port, 65535, &p) != 0) {
        return DNSD_EMALFORMED;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)p);
        if (len) {
            *len = sizeof(*a4);
        }
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)p);
        if (len) {
            *len = sizeof(*a6);
        }
    } else {
        return DNSD_EMALFORMED;
    }
    return 0;
}

bool sockaddr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) {
        return false;
    }
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
    }
    return false;
}

void sockaddr_text(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
    char a[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)ss;
        inet_ntop(AF_INET, &x->sin_addr, a, sizeof(a));
        snprintf(buf, cap, "%s:%u", a, (unsigned)ntohs(x->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)ss;
        inet_ntop(AF_INET6, &x->sin6_addr, a, sizeof(a));
        snprintf(buf, cap, "[%s]:%u", a, (unsigned)ntohs(x->sin6_port));
    } else {
        snprintf(buf, cap, "?");
    }
}
