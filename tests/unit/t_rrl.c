/* SPDX-License-Identifier: MIT */
/*
 * t_rrl.c -- response rate limiting without sockets (its SipHash-2-4 is
 * zones/base/siphash.c, checked in t_rollout.c): the token bucket with a fake clock (burst, refill,
 * slip pattern, slip 0 and 1, rate 0); what shares a bucket (the client's
 * /24 or /56 or configured prefix, class, qtype, name) and what does not;
 * a table too small for its keys; and, through a real store, the class and
 * name answer_query() reports for each kind of response and the TC=1 slip
 * answer_slip() makes of a response.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dnsd/answer.h"
#include "dnsd/pkt.h"
#include "dnsd/rrl.h"
#include "tests/tap.h"
#include "tests/testzone.h"

static struct sockaddr_storage v4(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    inet_pton(AF_INET, a, &s->sin_addr);
    return ss;
}

static struct sockaddr_storage v6(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    inet_pton(AF_INET6, a, &s->sin6_addr);
    return ss;
}

static const uint8_t WWW[] = "\3www\7example\4test";
static const uint8_t MAIL[] = "\4mail\7example\4test";

/* @p n responses for (src, ANSWER, A, name) at @p now; a string of verdicts: P S D */
static const char *run(rrl_t *r, const struct sockaddr_storage *src, const uint8_t *name,
                       unsigned rate, unsigned slip, int n, uint64_t now)
{
    static char out[256];
    bool ev;
    for (int i = 0; i < n && i < 255; i++) {
        rrl_verdict_t v = rrl_decide(r, (const struct sockaddr *)src, ANSWER_CLS_ANSWER, DNS_T_A,
                                     name, strlen((const char *)name) + 1, rate, slip, now, &ev);
        out[i] = v == RRL_PASS ? 'P' : v == RRL_SLIP ? 'S' : 'D';
        out[i + 1] = 0;
    }
    return out;
}

static void bucket(void)
{
    uint64_t t0 = rrl_clock_us() + 5000000; /* tables count from their creation */
    rrl_t *r = rrl_new(4096, 24, 56);
    is_int(rrl_buckets(r), 4096, "4096 buckets");
    struct sockaddr_storage a = v4("192.0.2.1");
    is_str(run(r, &a, WWW, 5, 2, 5, t0), "PPPPP", "rate 5: a burst of 5 passes at once");
    is_str(run(r, &a, WWW, 5, 2, 6, t0), "SDSDSD", "rate 5, slip 2: then slip, drop, slip, ...");
    is_str(run(r, &a, WWW, 5, 2, 2, t0 + 199000), "SD", "199 ms later: still limited");
    is_str(run(r, &a, WWW, 5, 2, 2, t0 + 200000), "PS", "200 ms later: one more passes (1/rate)");
    is_str(run(r, &a, WWW, 5, 2, 7, t0 + 1300000), "PPPPPDS",
           "1.3 s later: the burst is back, no more (the slip count goes on)");

    struct sockaddr_storage same24 = v4("192.0.2.200"), other24 = v4("192.0.3.1");
    is_str(run(r, &same24, WWW, 5, 2, 1, t0 + 1300000), "D", "same /24: shares the bucket");
    is_str(run(r, &other24, WWW, 5, 2, 6, t0 + 1300000), "PPPPPS", "another /24: its own bucket");
    is_str(run(r, &a, MAIL, 5, 2, 6, t0 + 1300000), "PPPPPS", "another name: its own bucket");
    bool ev;
    rrl_verdict_t v = rrl_decide(r, (struct sockaddr *)&a, ANSWER_CLS_ANSWER, DNS_T_AAAA, WWW,
                                 sizeof(WWW), 5, 2, t0 + 1300000, &ev);
    is_int(v, RRL_PASS, "another qtype: its own bucket");
    v = rrl_decide(r, (struct sockaddr *)&a, ANSWER_CLS_NODATA, DNS_T_A, WWW, sizeof(WWW), 5, 2,
                   t0 + 1300000, &ev);
    is_int(v, RRL_PASS, "another class: its own bucket");

    struct sockaddr_storage b6 = v6("2001:db8:0:1::1"), s6 = v6("2001:db8:0:ff::99"),
                            o6 = v6("2001:db8:0:100::1");
    is_str(run(r, &b6, WWW, 3, 1, 4, t0), "PPPS", "IPv6, rate 3, slip 1: 3 pass, then all slip");
    is_str(run(r, &s6, WWW, 3, 1, 1, t0), "S", "same /56 (2001:db8:0:ff::): shares the bucket");
    is_str(run(r, &o6, WWW, 3, 1, 1, t0), "P", "another /56 (2001:db8:0:100::): its own");
    rrl_free(r);

    /* a prefix that is not a whole number of bytes */
    r = rrl_new(1024, 20, 64);
    struct sockaddr_storage p1 = v4("10.0.16.1"), p2 = v4("10.0.31.254"), p3 = v4("10.0.32.1");
    is_str(run(r, &p1, WWW, 2, 0, 4, t0), "PPDD", "rate 2, slip 0: limited ones all dropped");
    is_str(run(r, &p2, WWW, 2, 0, 1, t0), "D", "/20: 10.0.31.254 is in 10.0.16.0/20");
    is_str(run(r, &p3, WWW, 2, 0, 1, t0), "P", "/20: 10.0.32.1 is not");
    is_str(run(r, &p1, WWW, 0, 2, 3, t0), "PPP", "rate 0: never limited");
    rrl_free(r);
}

/* many more active keys than buckets: answers stay sane, evictions are seen */
static void small_table(void)
{
    uint64_t t0 = rrl_clock_us() + 5000000;
    rrl_t *r = rrl_new(10, 24, 56);
    is_int(rrl_buckets(r), RRL_TABLE_MIN, "a table is never smaller than RRL_TABLE_MIN");
    unsigned evicted = 0, passed = 0;
    for (int round = 0; round < 2; round++) {
        for (unsigned i = 0; i < 4 * RRL_TABLE_MIN; i++) {
            struct sockaddr_storage ss = v4("10.0.0.0");
            ((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(0x0A000000u | i << 8);
            bool ev;
            rrl_verdict_t v = rrl_decide(r, (struct sockaddr *)&ss, ANSWER_CLS_ANSWER, DNS_T_A,
                                         WWW, sizeof(WWW), 1, 2, t0, &ev);
            passed += v == RRL_PASS;
            evicted += ev;
        }
    }
    ok(evicted > 0, "4096 flows in 1024 buckets: evictions counted (%u)", evicted);
    /* rate 1: every flow's first response passes; evicted flows start over,
     * so a small table errs on the side of answering */
    ok(passed >= 4 * RRL_TABLE_MIN, "every flow's first response passed (%u)", passed);
    rrl_free(r);
}

static size_t mkq(uint8_t *q, const char *name, uint16_t type, bool edns)
{
    memset(q, 0, 12);
    put16(q, 0x4242);
    put16(q + 4, 1);
    size_t o = 12 + (size_t)tz_wire(name, q + 12);
    put16(q + o, type);
    put16(q + o + 2, DNS_C_IN);
    o += 4;
    if (edns) {
        put16(q + 10, 1);
        q[o] = 0;
        put16(q + o + 1, DNS_T_OPT);
        put16(q + o + 3, 1232);
        memset(q + o + 5, 0, 6);
        o += 11;
    }
    return o;
}

static void classes(void)
{
    char dir[] = "/tmp/t_rrl.XXXXXX";
    if (!mkdtemp(dir)) {
        exit(1);
    }
    zs_store_t *store = tz_build(dir);
    zr_t rd;
    answer_ctx_t a;
    memset(&a, 0, sizeof(a));
    a.rd = &rd;
    a.udp_max = 1232;
    a.classify = true;
    ok(zr_init(&rd, store) == 0, "reader ready");
    static const struct {
        const char *what, *qname;
        uint16_t qtype;
        answer_cls_t cls;
        const char *key; /* the name it is counted under */
        uint16_t key_type;
    } cases[] = {
        {"an answer", "WWW.Example.TEST.", DNS_T_A, ANSWER_CLS_ANSWER, "www.example.test.", 1},
        {"a CNAME chain", "c1.example.test.", DNS_T_A, ANSWER_CLS_ANSWER, "c1.example.test.", 1},
        {"NODATA", "www.example.test.", DNS_T_AAAA, ANSWER_CLS_NODATA, "www.example.test.", 0},
        {"NXDOMAIN: the zone", "nope.example.test.", DNS_T_A, ANSWER_CLS_NXDOMAIN,
         "example.test.", 0},
        {"NXDOMAIN in a nested zone", "x.deep.example.test.", DNS_T_A, ANSWER_CLS_NXDOMAIN,
         "deep.example.test.", 0},
        {"a wildcard: its parent", "Random1.wild.example.test.", DNS_T_A, ANSWER_CLS_WILDCARD,
         "wild.example.test.", 1},
        {"another name, same wildcard", "x.y.wild.example.test.", DNS_T_A, ANSWER_CLS_WILDCARD,
         "wild.example.test.", 1},
        {"wildcard NODATA", "r2.wild.example.test.", DNS_T_MX, ANSWER_CLS_WILDCARD,
         "wild.example.test.", DNS_T_MX},
        {"a name beside the wildcard", "host.wild.example.test.", 16, ANSWER_CLS_ANSWER,
         "host.wild.example.test.", 16},
        {"a referral: the cut", "a.b.sub.example.test.", DNS_T_A, ANSWER_CLS_REFERRAL,
         "sub.example.test.", 0},
        {"REFUSED (no zone)", "www.other.test.", DNS_T_A, ANSWER_CLS_ERROR, NULL, 0},
        {"a large answer (TC)", "big.example.test.", 16, ANSWER_CLS_ANSWER, "big.example.test.",
         16},
    };
    uint8_t q[512], out[4096], key[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t ql = mkq(q, cases[i].qname, cases[i].qtype, false);
        a.rd_ok = zr_begin(&rd) == 0;
        size_t len = answer_query(&a, q, ql, out, sizeof(out), false, NULL);
        zr_end(&rd);
        size_t kl = cases[i].key ? (size_t)tz_wire(cases[i].key, key) : 0;
        ok(len > 0 && a.cls == cases[i].cls && a.cls_name_len == kl &&
               memcmp(a.cls_name, key, kl) == 0 && a.cls_qtype == cases[i].key_type,
           "class of %s: %d under %s/%u (got %d, %u bytes, type %u)", cases[i].what,
           cases[i].cls, cases[i].key ? cases[i].key : "-", cases[i].key_type, a.cls,
           a.cls_name_len, a.cls_qtype);
    }
    /* malformed: an error, no name */
    size_t ql = mkq(q, "www.example.test.", DNS_T_A, false);
    put16(q + 2, 5 << 11);
    a.rd_ok = zr_begin(&rd) == 0;
    answer_query(&a, q, ql, out, sizeof(out), false, NULL);
    zr_end(&rd);
    ok(a.cls == ANSWER_CLS_ERROR && a.cls_name_len == 0, "NOTIMP: class error, no name");

    /* the slip of a full answer with EDNS: header, question, OPT; TC=1 */
    ql = mkq(q, "mail.example.test.", DNS_T_A, true);
    a.rd_ok = zr_begin(&rd) == 0;
    size_t len = answer_query(&a, q, ql, out, sizeof(out), false, NULL);
    zr_end(&rd);
    size_t qlen = ql - 11 - 12;
    ok(len > 12 + qlen + 11 && get16(out + 6) == 1, "mail A with EDNS: a full answer first");
    uint8_t opt[11];
    memcpy(opt, out + len - 11, 11);
    size_t sl = answer_slip(&a, out, len);
    is_int(sl, 12 + qlen + 11, "slip: header + question + OPT");
    ok((get16(out + 2) & DNS_F_TC) && (get16(out + 2) & DNS_F_AA) && (get16(out + 2) & 0xF) == 0,
       "slip: TC=1, AA and rcode kept");
    ok(get16(out) == 0x4242 && get16(out + 4) == 1 && get16(out + 6) == 0 && get16(out + 8) == 0 &&
           get16(out + 10) == 1,
       "slip: id kept, counts 1/0/0/1");
    ok(memcmp(out + 12, q + 12, qlen) == 0, "slip: the question as asked");
    ok(memcmp(out + 12 + qlen, opt, 11) == 0, "slip: the OPT record unchanged");
    /* without EDNS, an NXDOMAIN: header and question only, rcode kept */
    ql = mkq(q, "nope.example.test.", DNS_T_A, false);
    a.rd_ok = zr_begin(&rd) == 0;
    len = answer_query(&a, q, ql, out, sizeof(out), false, NULL);
    zr_end(&rd);
    sl = answer_slip(&a, out, len);
    ok(sl == ql && (get16(out + 2) & 0xF) == DNS_R_NXDOMAIN && get16(out + 8) == 0 &&
           get16(out + 10) == 0 && (get16(out + 2) & DNS_F_TC),
       "slip of NXDOMAIN without EDNS: header + question, TC, rcode kept, no SOA");
    zr_fini(&rd);
    zs_close(store);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        exit(1);
    }
}

int main(void)
{
    bucket();
    small_table();
    classes();
    return done_testing();
}
