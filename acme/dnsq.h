/* SPDX-License-Identifier: MIT */
/*
 * dnsq.h -- one bounded DNS exchange for the ACME side: the DNS-01
 * visibility check (dns01.c: is the TXT record served by every NS?) and the
 * CNAME-delegation preflight (delegate.c). Callers parse the answer
 * themselves (ldns). Slow path only: it blocks for up to the timeouts given;
 * never on a query worker.
 */
#ifndef ACME_DNSQ_H
#define ACME_DNSQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** the answer buffer acme_dns_ask() needs */
#define ACME_DNS_ANSWER_MAX 65535

/**
 * Ask @p to (address and port) for (@p qname wire form, @p qtype, class IN),
 * RD as @p rd, EDNS with a 1232-byte payload, over a connected UDP socket:
 * sent up to @p tries times, waiting @p timeout_ms after each; an answer
 * with another ID or question is ignored. A truncated answer is asked again
 * over TCP (@p timeout_ms for the whole exchange).
 * @return 0 with the answer in @p buf (ACME_DNS_ANSWER_MAX bytes) and its
 * length in *@p len -- any rcode, the caller judges it -- or DNSD_ENET with
 * @p why saying what went wrong (refused, no answer in time, closed).
 */
int acme_dns_ask(const struct sockaddr_storage *to, const uint8_t *qname, uint16_t qtype, bool rd,
                 int tries, int timeout_ms, uint8_t *buf, size_t *len, char *why, size_t wcap);

#endif
