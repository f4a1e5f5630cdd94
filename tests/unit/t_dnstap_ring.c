/* SPDX-License-Identifier: MIT */
/*
 * t_dnstap_ring.c -- the workers' dnstap rings (dnsd/dnstap_ring.h): what a
 * slot records (type, transport, family, both addresses and ports, the
 * message bytes), queries without a response, the log-queries/-responses
 * switches, sampling one query in N, a full ring and an oversize message
 * counted as dnstap.dropped without blocking, and a producer and a consumer
 * on two threads: every message arrives once, in order, intact, or is
 * counted as dropped.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dnsd/dnstap_ring.h"
#include "tests/tap.h"

static struct sockaddr_in cli4, srv4;
static struct sockaddr_in6 cli6;
static const uint8_t query[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                3, 'w', 'w', 'w', 0, 0, 1, 0, 1};
static const uint8_t resp[] = {0x12, 0x34, 0x84, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                               3, 'w', 'w', 'w', 0, 0, 1, 0, 1, 0xff};

static unsigned drain(dnstap_tap_t *t)
{
    unsigned n = 0;
    while (dnstap_tap_peek(t)) {
        dnstap_tap_pop(t);
        n++;
    }
    return n;
}

static void addrs(void)
{
    cli4.sin_family = AF_INET;
    cli4.sin_addr.s_addr = htonl(0xC0000201); /* 192.0.2.1 */
    cli4.sin_port = htons(40000);
    srv4.sin_family = AF_INET;
    srv4.sin_addr.s_addr = htonl(0x7F000001);
    srv4.sin_port = htons(5353);
    cli6.sin6_family = AF_INET6;
    cli6.sin6_addr.s6_addr[0] = 0x20;
    cli6.sin6_addr.s6_addr[1] = 0x01;
    cli6.sin6_addr.s6_addr[15] = 0x09;
    cli6.sin6_port = htons(40001);
}

static void slots(void)
{
    dnstap_tap_t t;
    counters_t st;
    memset(&st, 0, sizeof(st));
    dnstap_tap_init(&t, 1, true, true);
    ok(dnstap_tap_peek(&t) == NULL, "a new ring is empty");
    dnstap_tap_exchange(&t, &st, false, (struct sockaddr *)&cli4, (struct sockaddr *)&srv4,
                        query, sizeof(query), resp, sizeof(resp));
    const dnstap_slot_t *s = dnstap_tap_peek(&t);
    ok(s && s->type == DNSTAP_AUTH_QUERY && !s->is_tcp && s->family == AF_INET,
       "first slot: AUTH_QUERY, UDP, IPv4");
    ok(s && memcmp(s->client, "\xc0\x00\x02\x01", 4) == 0 && s->client_port == 40000,
       "the client's address and port");
    ok(s && s->have_server && memcmp(s->server, "\x7f\x00\x00\x01", 4) == 0 &&
           s->server_port == 5353,
       "the server's address and port");
    ok(s && s->len == sizeof(query) && memcmp(s->msg, query, sizeof(query)) == 0,
       "the query's bytes");
    ok(s && s->qtime.tv_sec > 1600000000, "a wall-clock time");
    dnstap_tap_pop(&t);
    s = dnstap_tap_peek(&t);
    ok(s && s->type == DNSTAP_AUTH_RESPONSE && s->len == sizeof(resp) &&
           memcmp(s->msg, resp, sizeof(resp)) == 0,
       "second slot: AUTH_RESPONSE with the response's bytes");
    dnstap_tap_pop(&t);
    ok(dnstap_tap_peek(&t) == NULL, "then the ring is empty");

    /* TCP over IPv6, no server address known, no response (handed off) */
    dnstap_tap_exchange(&t, &st, true, (struct sockaddr *)&cli6, NULL, query, sizeof(query),
                        NULL, 0);
    s = dnstap_tap_peek(&t);
    ok(s && s->is_tcp && s->family == AF_INET6 && !s->have_server && s->client[15] == 9 &&
           s->client_port == 40001,
       "TCP, IPv6 client, no server address");
    is_int(drain(&t), 1, "no response sent: the query alone is logged");
    /* a server address of the other family is not used */
    dnstap_tap_exchange(&t, &st, false, (struct sockaddr *)&cli6, (struct sockaddr *)&srv4,
                        query, sizeof(query), NULL, 0);
    s = dnstap_tap_peek(&t);
    ok(s && !s->have_server, "a server address of another family is left out");
    drain(&t);

    /* too big for a slot: dropped and counted, the query still logged */
    static uint8_t big[DNSTAP_MSG_MAX + 1];
    dnstap_tap_exchange(&t, &st, true, (struct sockaddr *)&cli4, NULL, query, sizeof(query),
                        big, sizeof(big));
    is_int(drain(&t), 1, "a response over DNSTAP_MSG_MAX is not logged");
    is_int(STAT_GET(CTR(&st, DNSTAP_DROPPED)), 1, "... and counted as dnstap.dropped");
    dnstap_tap_exchange(&t, &st, true, (struct sockaddr *)&cli4, NULL, query, sizeof(query),
                        big, DNSTAP_MSG_MAX);
    is_int(drain(&t), 2, "one of exactly DNSTAP_MSG_MAX bytes is");

    /* full: the worker goes on, each message it cannot put is counted */
    memset(&st, 0, sizeof(st));
    for (unsigned i = 0; i < DNSTAP_RING_SLOTS / 2 + 3; i++) {
        dnstap_tap_exchange(&t, &st, false, (struct sockaddr *)&cli4, (struct sockaddr *)&srv4,
                            query, sizeof(query), resp, sizeof(resp));
    }
    is_int(STAT_GET(CTR(&st, DNSTAP_DROPPED)), 6, "a full ring drops and counts 3 exchanges");
    is_int(drain(&t), DNSTAP_RING_SLOTS, "the ring held DNSTAP_RING_SLOTS messages");
    dnstap_tap_exchange(&t, &st, false, (struct sockaddr *)&cli4, (struct sockaddr *)&srv4,
                        query, sizeof(query), resp, sizeof(resp));
    is_int(drain(&t), 2, "emptied, it takes messages again");
    dnstap_tap_fini(&t);

    /* queries only; responses only */
    dnstap_tap_init(&t, 1, true, false);
    dnstap_tap_exchange(&t, &st, false, (struct sockaddr *)&cli4, NULL, query, sizeof(query),
                        resp, sizeof(resp));
    s = dnstap_tap_peek(&t);
    ok(s && s->type == DNSTAP_AUTH_QUERY && drain(&t) == 1, "dnstap-log-responses no: queries");
    dnstap_tap_fini(&t);
    dnstap_tap_init(&t, 1, false, true);
    dnstap_tap_exchange(&t, &st, false, (struct sockaddr *)&cli4, NULL, query, sizeof(query),
                        resp, sizeof(resp));
    s = dnstap_tap_peek(&t);
    ok(s && s->type == DNSTAP_AUTH_RESPONSE && drain(&t) == 1,
       "dnstap-log-queries no: responses");
    dnstap_tap_fini(&t);

    /* sampling: one query in 10, with its response; every 10th exactly */
    dnstap_tap_init(&t, 10, true, true);
    unsigned logged_at[16], nl = 0;
    for (unsigned i = 1; i <= 100; i++) {
        dnstap_tap_exchange(&t, &st, false, (struct sockaddr *)&cli4, NULL, query, sizeof(query),
                            resp, sizeof(resp));
        unsigned n = drain(&t);
        if (n && nl < 16) {
            logged_at[nl++] = i;
        }
    }
    is_int(nl, 10, "dnstap-sample 10: 10 of 100 queries logged");
    ok(nl >= 2 && logged_at[0] == 10 && logged_at[1] == 20, "the 10th, the 20th, ...");
    dnstap_tap_fini(&t);
}

/* two threads: the producer writes a sequence number into each query */
#define NMSG 200000u
static dnstap_tap_t ct;
static counters_t cst;
static _Atomic bool produced;

static void *producer(void *arg)
{
    uint8_t q[64];
    memcpy(q, query, sizeof(query));
    for (uint32_t i = 0; i < NMSG; i++) {
        memcpy(q + sizeof(query), &i, 4);
        size_t len = sizeof(query) + 4 + (i % 32); /* lengths vary */
        dnstap_tap_exchange(&ct, &cst, false, (struct sockaddr *)&cli4, NULL, q, len, NULL, 0);
    }
    atomic_store(&produced, true);
    return arg;
}

static void threads(void)
{
    dnstap_tap_init(&ct, 1, true, false);
    pthread_t th;
    pthread_create(&th, NULL, producer, NULL);
    uint32_t got = 0, last = 0;
    bool order = true, intact = true, first = true;
    for (;;) {
        const dnstap_slot_t *s = dnstap_tap_peek(&ct);
        if (!s) {
            /* the producer's loop is bounded; once it is done, empty means the end */
            if (atomic_load(&produced) && !dnstap_tap_peek(&ct)) {
                break;
            }
            continue;
        }
        uint32_t seq;
        memcpy(&seq, s->msg + sizeof(query), 4);
        intact = intact && s->len == sizeof(query) + 4 + (seq % 32) &&
                 memcmp(s->msg, query, sizeof(query)) == 0;
        order = order && (first || seq > last);
        first = false;
        last = seq;
        got++;
        dnstap_tap_pop(&ct);
    }
    pthread_join(th, NULL);
    ok(order, "two threads: messages arrive in order (%u taken, %llu dropped)", got,
       (unsigned long long)STAT_GET(CTR(&cst, DNSTAP_DROPPED)));
    ok(intact, "two threads: every message intact");
    ok(got > 0, "two threads: the consumer took messages");
    is_int(got + STAT_GET(CTR(&cst, DNSTAP_DROPPED)), NMSG,
           "two threads: each message was taken or counted as dropped");
    dnstap_tap_fini(&ct);
}

int main(void)
{
    addrs();
    slots();
    threads();
    return done_testing();
}
