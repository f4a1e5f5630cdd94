/* SPDX-License-Identifier: MIT */
/*
 * parse.h -- the one parser each for what config files and command lines
 * give as text: decimal numbers in a range, CIDR networks, and IP
 * "host[:port]" addresses. Used by dnsd's config (dnsd/config.c,
 * dnsd/certs.c), the ACME shard settings (acme/shard.c), the stored region
 * rules (zones/regions.c) and dnsctl. Only libc; slow path, any thread;
 * nothing here allocates or logs. Names are never resolved: addresses are
 * IP literals.
 */
#ifndef DNSD_PARSE_H
#define DNSD_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/**
 * A decimal integer from @p min to @p max: a '-' (only when @p min is
 * negative), then digits only (no spaces, no '+', no hex, nothing after).
 * @return 0 and *out; DNSD_EMALFORMED for anything else, including a
 *         number out of range (the caller names the range).
 */
int parse_num(const char *text, long long min, long long max, long long *out);

/** A network: IPv4 or IPv6 address and prefix length. */
typedef struct parse_cidr {
    uint8_t family; /* 4 or 6 */
    uint8_t len;    /* prefix length, 0-32 or 0-128 */
    uint8_t addr[16];
} parse_cidr_t;

/**
 * "192.0.2.0/24" or "2001:db8::/32": an address, '/', a prefix length;
 * the bits past the prefix must be 0.
 * @return 0 and *out; DNSD_EMALFORMED with *why (if @p why is not NULL)
 *         set to a static phrase: "no prefix length", "not an IPv4 or
 *         IPv6 address", "prefix length out of range", "host bits set".
 */
int parse_cidr(const char *text, parse_cidr_t *out, const char **why);

/**
 * "192.0.2.1", "192.0.2.1:53", "[2001:db8::1]:53" or a bare "2001:db8::1"
 * (no port: a bare IPv6 address takes no ":port"). @p dflt_port when no
 * port is given; a given port must be from @p min_port to 65535.
 * @return 0 and *out (family, address, port; *len, if not NULL, the size
 *         of the family's sockaddr); DNSD_EMALFORMED.
 */
int parse_hostport(const char *text, uint16_t dflt_port, uint16_t min_port,
                   struct sockaddr_storage *out, socklen_t *len);

/**
 * @p ss as parse_hostport() reads it: "192.0.2.1:53", "[2001:db8::1]:53"
 * ("?" for another family) into @p buf (cap >= 64 holds any).
 */
void sockaddr_text(const struct sockaddr_storage *ss, char *buf, size_t cap);

/** Same family, address and port (IPv4 or IPv6; any other family: false). */
bool sockaddr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

#endif
