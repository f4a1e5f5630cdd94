/* SPDX-License-Identifier: MIT */
/*
 * dnsq.c -- one DNS exchange for the ACME side (see dnsq.h): a query built
 * by hand, sent on a connected UDP socket (a closed port answers at once
 * with ICMP, ECONNREFUSED, instead of costing the timeout), TCP when the
 * answer is truncated. Used by the DNS-01 visibility check (dns01.c) and the
 * CNAME-delegation preflight (delegate.c). Slow path; blocking, every wait
 * bounded by a deadline; never parses beyond the ID and question match.
 */
#include "acme/dnsq.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zones/base/clock.h"
#include "zones/base/err.h"
#include "zones/names.h"

/* the answer matches query @p q (@p qlen): same ID and the same question */
static bool answer_matches(const uint8_t *q, size_t qlen, const uint8_t *a, size_t alen)
{
    if (alen < qlen || memcmp(a, q, 2) != 0 || !(a[2] & 0x80) || a[4] != 0 || a[5] != 1) {
        return false;
    }
    /* the question: our name (case may differ) and type/class */
    size_t qn = qlen - 12 - 4 - 11; /* header, type/class, our OPT record */
    for (size_t i = 0; i < qn + 4; i++) {
        if (tolower(a[12 + i]) != tolower(q[12 + i])) {
            return false;
        }
    }
    return true;
}

static int tcp_ask(const struct sockaddr_storage *to, const uint8_t *q, size_t qlen,
                   int timeout_ms, uint8_t *buf, size_t *len, char *why, size_t wcap)
{
    long long deadline = clock_mono_ms() + timeout_ms;
    int fd = socket(to->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int rc = DNSD_ENET;
    socklen_t sl = to->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                            : sizeof(struct sockaddr_in6);
    if (fd < 0) {
        snprintf(why, wcap, "TCP: %s", strerror(errno));
        return rc;
    }
    if (connect(fd, (const struct sockaddr *)to, sl) != 0 && errno != EINPROGRESS) {
        snprintf(why, wcap, "TCP: %s", strerror(errno));
        goto out;
    }
    int soerr = 0;
    socklen_t el = sizeof(soerr);
    if (clock_wait_fd(fd, POLLOUT, deadline) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) != 0 || soerr != 0) {
        snprintf(why, wcap, "TCP: %s", soerr ? strerror(soerr) : "no connection in time");
        goto out;
    }
    uint8_t out[2 + 512];
    out[0] = (uint8_t)(qlen >> 8);
    out[1] = (uint8_t)qlen;
    memcpy(out + 2, q, qlen);
    if (send(fd, out, qlen + 2, MSG_NOSIGNAL) != (ssize_t)(qlen + 2)) {
        snprintf(why, wcap, "TCP: cannot send the query");
        goto out;
    }
    size_t got = 0, want = 2;
    uint8_t hdr[2];
    while (got < want) {
        if (clock_wait_fd(fd, POLLIN, deadline) != 0) {
            snprintf(why, wcap, "TCP: no answer within %d ms", timeout_ms);
            goto out;
        }
        uint8_t *dst = want == 2 && got < 2 ? hdr + got : buf + (got - 2);
        ssize_t r = recv(fd, dst, want - got, 0);
        if (r <= 0) {
            snprintf(why, wcap, "TCP: connection closed");
            goto out;
        }
        got += (size_t)r;
        if (want == 2 && got == 2) {
            want = 2 + ((size_t)hdr[0] << 8 | hdr[1]);
        }
    }
    *len = want - 2;
    rc = answer_matches(q, qlen, buf, *len) ? 0 : DNSD_ENET;
    if (rc) {
        snprintf(why, wcap, "TCP: the answer does not match the query");
    }
out:
    close(fd);
    return rc;
}

int acme_dns_ask(const struct sockaddr_storage *to, const uint8_t *qname, uint16_t qtype, bool rd,
                 int tries, int timeout_ms, uint8_t *buf, size_t *len, char *why, size_t wcap)
{
    uint8_t q[512];
    int nl = dname_wire_len(qname, DNAME_MAXLEN + 1);
    if (nl <= 0 || to->ss_family == 0) {
        snprintf(why, wcap, "nothing to ask");
        return DNSD_ENET;
    }
    uint16_t id;
    RAND_bytes((uint8_t *)&id, sizeof(id));
    size_t o = 0;
    q[o++] = (uint8_t)(id >> 8);
    q[o++] = (uint8_t)id;
    q[o++] = rd ? 0x01 : 0x00;
    q[o++] = 0;
    static const uint8_t counts[8] = {0, 1, 0, 0, 0, 0, 0, 1};
    memcpy(q + o, counts, sizeof(counts));
    o += sizeof(counts);
    memcpy(q + o, qname, (size_t)nl);
    o += (size_t)nl;
    q[o++] = (uint8_t)(qtype >> 8);
    q[o++] = (uint8_t)qtype;
    q[o++] = 0;
    q[o++] = 1; /* IN */
    /* EDNS OPT (RFC 6891): root owner, type 41, 1232-byte payload, no options */
    static const uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
    memcpy(q + o, opt, sizeof(opt));
    o += sizeof(opt);
    socklen_t sl = to->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                            : sizeof(struct sockaddr_in6);
    int fd = socket(to->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rc = DNSD_ENET;
    snprintf(why, wcap, "no answer within %d ms%s", timeout_ms, tries > 1 ? " (each try)" : "");
    if (fd < 0 || connect(fd, (const struct sockaddr *)to, sl) != 0) {
        snprintf(why, wcap, "%s", strerror(errno));
        goto out;
    }
    for (int attempt = 0; attempt < tries && rc != 0; attempt++) {
        if (send(fd, q, o, 0) != (ssize_t)o) {
            snprintf(why, wcap, "%s", strerror(errno));
            goto out;
        }
        long long deadline = clock_mono_ms() + timeout_ms;
        while (rc != 0 && clock_wait_fd(fd, POLLIN, deadline) == 0) {
            ssize_t r = recv(fd, buf, ACME_DNS_ANSWER_MAX, 0);
            if (r < 0) {
                snprintf(why, wcap, "%s", strerror(errno)); /* e.g. connection refused */
                goto out;
            }
            if (answer_matches(q, o, buf, (size_t)r)) {
                *len = (size_t)r;
                rc = 0;
            }
        }
    }
    if (rc == 0 && (buf[2] & 0x02)) {
        rc = tcp_ask(to, q, o, timeout_ms, buf, len, why, wcap); /* truncated */
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}
