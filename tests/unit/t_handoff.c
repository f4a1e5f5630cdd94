/* SPDX-License-Identifier: MIT */
/*
 * t_handoff.c -- the worker -> consumer hand-off (dnsd/handoff.c) on its
 * own: a kind nobody consumes is refused (the worker answers itself), the
 * queue is FIFO and bounded (a full queue refuses at once, never waits),
 * ho_pop times out and returns NULL after unregister/shutdown; UDP replies
 * go back to the sender; a TCP hand-off carries the read-ahead bytes,
 * ho_next frames the following messages (and reports a closed connection),
 * ho_reply writes the 2-byte length, and ho_close gives the connection
 * slot back to the server-wide count.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsd/handoff.h"
#include "dnsd/tcp.h"
#include "tests/tap.h"

static const uint8_t m1[] = "\x00\x01\x20\x00\x00\x01\x00\x00\x00\x00\x00\x00first";
static const uint8_t m2[] = "\x00\x02\x20\x00\x00\x01\x00\x00\x00\x00\x00\x00second!";

int main(void)
{
    /* UDP: a pair of sockets on loopback, the "worker's" and the client's */
    int srv = socket(AF_INET, SOCK_DGRAM, 0), cli = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    bind(srv, (struct sockaddr *)&a, sizeof(a));
    bind(cli, (struct sockaddr *)&a, sizeof(a));
    struct sockaddr_in ca;
    socklen_t cal = sizeof(ca);
    getsockname(cli, (struct sockaddr *)&ca, &cal);
    getsockname(srv, (struct sockaddr *)&a, &al);

    ok(!ho_wanted(HO_NOTIFY), "no consumer: not wanted");
    is_int(ho_push_udp(HO_NOTIFY, false, m1, sizeof(m1), srv, (struct sockaddr *)&ca, cal, NULL, 0),
           -ENOENT, "no consumer: push refused (the worker answers NOTIMP itself)");
    is_int(ho_register(HO_NOTIFY, 2), 0, "register NOTIFY, queue of 2");
    is_int(ho_register(HO_NOTIFY, 2), -EEXIST, "a second consumer of the kind is refused");
    ok(ho_wanted(HO_NOTIFY) && !ho_wanted(HO_UPDATE), "wanted: NOTIFY only");
    ok(ho_pop(HO_NOTIFY, 50) == NULL, "empty queue: ho_pop times out with NULL");
    is_int(ho_push_udp(HO_NOTIFY, false, m1, sizeof(m1), srv, (struct sockaddr *)&ca, cal, NULL, 0),
           0, "push 1");
    is_int(ho_push_udp(HO_NOTIFY, true, m2, sizeof(m2), srv, (struct sockaddr *)&ca, cal, NULL, 0),
           0, "push 2");
    is_int(ho_push_udp(HO_NOTIFY, false, m1, sizeof(m1), srv, (struct sockaddr *)&ca, cal, NULL, 0),
           -EAGAIN, "push 3: the queue is full, refused at once (the worker answers SERVFAIL)");
    uint8_t big[HO_UDP_MAX + 1] = {0};
    is_int(ho_push_udp(HO_NOTIFY, false, big, sizeof(big), srv, (struct sockaddr *)&ca, cal, NULL,
                       0),
           -EMSGSIZE, "a UDP message past HO_UDP_MAX is refused");
    ho_msg_t *p = ho_pop(HO_NOTIFY, 100);
    ok(p && p->len == sizeof(m1) && memcmp(p->msg, m1, sizeof(m1)) == 0 && !p->is_tcp &&
           !p->has_tsig,
       "FIFO: the first message first, a copy");
    ok(p && p->local.ss_family == AF_INET, "the local address is known");
    ok(p && ho_reply(p, m2, 14) == 0, "ho_reply over UDP");
    uint8_t buf[128];
    struct timeval tv = {2, 0};
    setsockopt(cli, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ok(recv(cli, buf, sizeof(buf), 0) == 14 && memcmp(buf, m2, 14) == 0,
       "the client got the reply from the worker's socket");
    ho_close(p);
    p = ho_pop(HO_NOTIFY, 100);
    ok(p && p->has_tsig && p->len == sizeof(m2), "the second, flagged as signed");
    ok(p && ho_next(p, 10) == -EINVAL, "ho_next on a UDP message: -EINVAL");
    ho_close(p);
    ho_unregister(HO_NOTIFY);
    ok(!ho_wanted(HO_NOTIFY), "unregistered: not wanted");
    ok(ho_pop(HO_NOTIFY, 10) == NULL, "unregistered: ho_pop NULL");

    /* TCP: a socketpair stands for the accepted connection */
    tcp_shared_t sh = {0};
    atomic_store(&sh.open, 1);
    int sp[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
    ho_register(HO_XFR, 4);
    struct sockaddr_in peer = {.sin_family = AF_INET};
    /* the first message, and read ahead: a whole second and half a third */
    uint8_t rest[2 + sizeof(m2) + 3];
    rest[0] = 0;
    rest[1] = sizeof(m2);
    memcpy(rest + 2, m2, sizeof(m2));
    rest[2 + sizeof(m2)] = 0;
    rest[3 + sizeof(m2)] = sizeof(m1);
    memcpy(rest + 4 + sizeof(m2), m1, 1);
    is_int(ho_push_tcp(HO_XFR, false, m1, sizeof(m1), sp[0], tcp_slot_release, &sh,
                       (struct sockaddr *)&peer, rest,
                       sizeof(rest)),
           0, "TCP hand-off with read-ahead");
    p = ho_pop(HO_XFR, 100);
    ok(p && p->is_tcp && p->len == sizeof(m1) && memcmp(p->msg, m1, sizeof(m1)) == 0,
       "the first message");
    ok(p && ho_next(p, 100) == 0 && p->len == sizeof(m2) && memcmp(p->msg, m2, sizeof(m2)) == 0,
       "ho_next: the read-ahead message");
    ok(p && ho_next(p, 50) == -ETIMEDOUT, "ho_next: half a message and silence -> -ETIMEDOUT");
    write(sp[1], m1 + 1, sizeof(m1) - 1);
    ok(p && ho_next(p, 500) == 0 && p->len == sizeof(m1) && memcmp(p->msg, m1, sizeof(m1)) == 0,
       "... its rest arrives: the message, whole");
    ok(p && ho_reply(p, m2, sizeof(m2)) == 0, "ho_reply over TCP");
    ssize_t n = read(sp[1], buf, sizeof(buf));
    ok(n == 2 + (ssize_t)sizeof(m2) && buf[0] == 0 && buf[1] == sizeof(m2) &&
           memcmp(buf + 2, m2, sizeof(m2)) == 0,
       "the client reads the 2-byte length and the message");
    close(sp[1]);
    ok(p && ho_next(p, 500) == -ENOTCONN, "the client closed: -ENOTCONN");
    is_int(atomic_load(&sh.open), 1, "the connection still holds its slot");
    ho_close(p);
    is_int(atomic_load(&sh.open), 0, "ho_close gave the slot back");

    ho_push_tcp(HO_XFR, false, m1, sizeof(m1), socket(AF_INET, SOCK_STREAM, 0),
                tcp_slot_release, &sh,
                (struct sockaddr *)&peer, NULL, 0);
    atomic_store(&sh.open, 1);
    ho_shutdown();
    ok(ho_stopping(), "shutdown");
    is_int(atomic_load(&sh.open), 0, "shutdown closed the queued connection and freed its slot");
    ok(ho_pop(HO_XFR, 10) == NULL, "after shutdown ho_pop returns NULL");
    ok(!ho_wanted(HO_XFR), "after shutdown nothing is wanted");
    close(srv);
    close(cli);
    return done_testing();
}
