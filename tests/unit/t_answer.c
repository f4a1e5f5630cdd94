/* SPDX-License-Identifier: MIT */
/*
 * t_answer.c -- the query engine end to end without sockets: a real LMDB
 * store in a temp dir (filled through the writer), hand-built query packets
 * through answer_query(), responses decoded and checked field by field.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsd/answer.h"
#include "dnsd/pkt.h"
#include "dnsd/query.h"
#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/writer.h"

#define UDP_MAX_TEST 4096

static zs_store_t *store;
static uint8_t resp[65536];

typedef struct rsp {
    size_t len;
    uint16_t id, flags, qd, an, ns, ar;
    uint8_t rcode; /* with the extended bits from OPT */
    bool opt;
    uint16_t opt_udp;
    uint32_t first_ttl[3];     /* TTL of the first RR of each section */
    uint16_t first_type[3];
} rsp_t;

static size_t mkq(uint8_t *q, const char *name, uint16_t type, uint16_t flags, int edns_udp,
                  int edns_ver)
{
    memset(q, 0, 12);
    put16(q, 0x1234);
    put16(q + 2, flags);
    put16(q + 4, 1);
    size_t o = 12 + (size_t)tz_wire(name, q + 12);
    put16(q + o, type);
    put16(q + o + 2, DNS_C_IN);
    o += 4;
    if (edns_udp) {
        put16(q + 10, 1);
        q[o] = 0;
        put16(q + o + 1, DNS_T_OPT);
        put16(q + o + 3, (uint16_t)edns_udp);
        q[o + 5] = 0;
        q[o + 6] = (uint8_t)edns_ver;
        put16(q + o + 7, 0);
        put16(q + o + 9, 0);
        o += 11;
    }
    return o;
}

static bool skip_name(rd_t *r)
{
    for (;;) {
        uint8_t l = rd_u8(r);
        if (r->bad) {
            return false;
        }
        if ((l & 0xC0) == 0xC0) {
            rd_u8(r);
            return !r->bad;
        }
        if (l == 0) {
            return true;
        }
        rd_skip(r, l);
    }
}

static rsp_t ask(answer_ctx_t *a, const uint8_t *q, size_t ql, bool tcp)
{
    rsp_t s;
    memset(&s, 0, sizeof(s));
    a->rd_ok = zr_begin(a->rd) == 0;
    s.len = answer_query(a, q, ql, resp, tcp ? ANSWER_TCP_MAX : UDP_MAX_TEST, tcp, NULL);
    zr_end(a->rd);
    if (s.len < 12) {
        return s;
    }
    rd_t r;
    rd_init(&r, resp, s.len);
    s.id = rd_u16(&r);
    s.flags = rd_u16(&r);
    s.rcode = s.flags & 0xF;
    s.qd = rd_u16(&r);
    s.an = rd_u16(&r);
    s.ns = rd_u16(&r);
    s.ar = rd_u16(&r);
    for (unsigned i = 0; i < s.qd; i++) {
        skip_name(&r);
        rd_skip(&r, 4);
    }
    unsigned counts[3] = {s.an, s.ns, s.ar};
    for (int sec = 0; sec < 3; sec++) {
        for (unsigned i = 0; i < counts[sec]; i++) {
            skip_name(&r);
            uint16_t type = rd_u16(&r), cls = rd_u16(&r);
            uint32_t ttl = rd_u32(&r);
            uint16_t rl = rd_u16(&r);
            rd_skip(&r, rl);
            if (i == 0) {
                s.first_ttl[sec] = ttl;
                s.first_type[sec] = type;
            }
            if (type == DNS_T_OPT) {
                s.opt = true;
                s.opt_udp = cls;
                s.rcode = (uint8_t)(s.rcode | ((ttl >> 24) << 4));
            }
        }
    }
    if (r.bad || rd_left(&r) != 0) {
        s.rcode = 0xFF; /* marks a malformed response */
    }
    return s;
}


int main(void)
{
    char dir[] = "/tmp/t_answer.XXXXXX";
    if (!mkdtemp(dir)) {
        return 1;
    }
    store = tz_build(dir);
    zr_t rd;
    answer_ctx_t a;
    memset(&a, 0, sizeof(a));
    a.rd = &rd;
    a.udp_max = 1232;
    if (zr_init(&rd, store) != 0) {
        return 1;
    }
    uint8_t q[600];
    size_t ql;
    rsp_t s;

    ql = mkq(q, "www.example.test.", DNS_T_A, DNS_F_RD, 0, 0);
    s = ask(&a, q, ql, false);
    is_int(s.rcode, DNS_R_NOERROR, "A: NOERROR");
    ok(s.flags & DNS_F_AA, "A: AA set");
    ok(s.flags & DNS_F_RD, "A: RD copied");
    ok(!(s.flags & DNS_F_RA), "A: RA clear");
    is_int(s.an, 2, "A: two records");
    is_int(s.id, 0x1234, "A: id echoed");
    ok(resp[s.len - 16] == 0xC0 && resp[s.len - 15] == 12,
       "A: owner compressed to the question (0xC00C)");
    ok(!s.opt, "no OPT without EDNS in the query");

    ql = mkq(q, "WwW.ExAmPlE.TeSt.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    is_int(s.an, 2, "mixed case: answered");
    ok(memcmp(resp + 12, q + 12, 18) == 0, "mixed case: question echoed as sent");

    ql = mkq(q, "nope.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    is_int(s.rcode, DNS_R_NXDOMAIN, "NXDOMAIN");
    is_int(s.ns, 1, "NXDOMAIN: SOA in authority");
    is_int(s.first_type[1], DNS_T_SOA, "NXDOMAIN: it is the SOA");
    is_int(s.first_ttl[1], 300, "NXDOMAIN: TTL = min(SOA TTL, MINIMUM)");

    ql = mkq(q, "www.example.test.", DNS_T_AAAA, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && s.an == 0 && s.ns == 1, "NODATA: NOERROR, SOA only");

    ql = mkq(q, "b.ent.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && s.an == 0 && s.ns == 1, "empty non-terminal: NODATA");

    ql = mkq(q, "x.y.wild.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && s.an == 1 && (s.flags & DNS_F_AA), "wildcard: synthesized");
    ok(resp[ql] == 0xC0 && resp[ql + 1] == 12, "wildcard: owner is the qname");

    ql = mkq(q, "host.wild.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && s.an == 0 && s.ns == 1,
       "wildcard: an existing name is not synthesized (NODATA)");

    ql = mkq(q, "c1.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.an == 4 && s.first_type[0] == DNS_T_CNAME, "CNAME chain: 2 CNAMEs + 2 A");

    ql = mkq(q, "c1.example.test.", DNS_T_CNAME, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.an == 1 && s.first_type[0] == DNS_T_CNAME, "qtype CNAME: the CNAME itself");

    ql = mkq(q, "l1.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && s.an == 2, "CNAME loop: stops after each link once");

    ql = mkq(q, "out.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && s.an == 1 && s.ns == 0, "out-of-zone CNAME: CNAME only");

    /* DNAME (RFC 6672); t_dname_knot.sh compares every case with Knot */
    ql = mkq(q, "x.y.dn.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && (s.flags & DNS_F_AA) && s.an == 3 &&
           s.first_type[0] == DNS_T_DNAME && s.first_ttl[0] == 300,
       "below a DNAME: DNAME, synthesized CNAME, then the wildcard's A");
    ql = mkq(q, "x.y.dn.example.test.", DNS_T_CNAME, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && s.an == 2, "below a DNAME, qtype CNAME: DNAME + CNAME only");
    ql = mkq(q, "dn.example.test.", DNS_T_DNAME, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && s.an == 1 && s.first_type[0] == DNS_T_DNAME,
       "DNAME at its owner: plain data");
    ql = mkq(q, "dn.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && s.an == 0 && s.ns == 1, "A at a DNAME's owner: NODATA");
    ql = mkq(q, "x.dnloop.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && s.an == 2, "DNAME loop: the DNAME and its CNAME once");
    ql = mkq(q, "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij.dnlong.example.test.",
             DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_YXDOMAIN && (s.flags & DNS_F_AA) && s.an == 1 && s.ns == 0 &&
           s.first_type[0] == DNS_T_DNAME,
       "DNAME result over 255 octets: YXDOMAIN, the DNAME alone");
    ql = mkq(q, "a.dnlong.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, true); /* over 512 bytes */
    ok(s.rcode == DNS_R_NXDOMAIN && s.an == 2 && s.ns == 1,
       "DNAME result that fits: DNAME + CNAME, then the new name's NXDOMAIN");

    ql = mkq(q, "host.sub.example.test.", DNS_T_A, DNS_F_RD, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && !(s.flags & DNS_F_AA) && s.an == 0 && s.ns == 1 &&
           s.first_type[1] == DNS_T_NS && s.ar == 1 && s.first_type[2] == DNS_T_A,
       "referral: no AA, NS in authority, glue in additional");

    ql = mkq(q, "sub.example.test.", DNS_T_DS, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok((s.flags & DNS_F_AA) && s.an == 0 && s.ns == 1 && s.first_type[1] == DNS_T_SOA,
       "DS at the cut: the parent answers NODATA");

    ql = mkq(q, "example.test.", DNS_T_MX, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.an == 1 && s.ar == 1 && s.first_type[2] == DNS_T_A, "MX: target address in additional");

    ql = mkq(q, "example.test.", DNS_T_NS, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.an == 1 && s.ar == 1, "NS: in-zone target address in additional");

    ql = mkq(q, "www.other.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    is_int(s.rcode, DNS_R_REFUSED, "no zone: REFUSED");
    ok(!(s.flags & DNS_F_AA), "no zone: no AA");

    ql = mkq(q, "nope.deep.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NXDOMAIN && s.ns == 1, "nested zone: NXDOMAIN from deep.example.test");
    ql = mkq(q, "host.deep.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && s.an == 1, "nested zone: data of the longest zone");

    ql = mkq(q, "example.test.", DNS_T_ANY, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok(s.rcode == DNS_R_NOERROR && s.an == 1, "ANY over UDP: one RRset (RFC 8482)");
    s = ask(&a, q, ql, true);
    ok(s.an >= 3, "ANY over TCP: every RRset");

    ql = mkq(q, "www.example.test.", DNS_T_A, 0, 1400, 0);
    s = ask(&a, q, ql, false);
    ok(s.opt && s.opt_udp == 1232 && s.an == 2, "EDNS: OPT echoed with our payload size");

    ql = mkq(q, "www.example.test.", DNS_T_A, 0, 1400, 1);
    s = ask(&a, q, ql, false);
    ok(s.opt && s.rcode == DNS_R_BADVERS && s.an == 0, "EDNS version 1: BADVERS with OPT");

    ql = mkq(q, "big.example.test.", 16, 0, 0, 0);
    s = ask(&a, q, ql, false);
    ok((s.flags & DNS_F_TC) && s.an == 0 && s.len <= 512, "no EDNS, > 512 bytes: TC=1");
    ql = mkq(q, "big.example.test.", 16, 0, 1232, 0);
    s = ask(&a, q, ql, false);
    ok((s.flags & DNS_F_TC) && s.opt && s.len <= 1232, "EDNS 1232, > 1232 bytes: TC=1 with OPT");
    s = ask(&a, q, ql, true);
    ok(!(s.flags & DNS_F_TC) && s.an == 20, "TCP: the full answer");

    ql = mkq(q, "www.example.test.", DNS_T_A, 0, 0, 0);
    put16(q + 4, 2);
    s = ask(&a, q, ql, false);
    is_int(s.rcode, DNS_R_FORMERR, "QDCOUNT 2: FORMERR");

    ql = mkq(q, "www.example.test.", DNS_T_A, 5 << 11, 0, 0);
    s = ask(&a, q, ql, false);
    is_int(s.rcode, DNS_R_NOTIMP, "opcode UPDATE: NOTIMP");

    ql = mkq(q, "www.example.test.", DNS_T_A, DNS_F_QR, 0, 0);
    s = ask(&a, q, ql, false);
    is_int(s.len, 0, "a response (QR=1) is not answered");

    ql = mkq(q, "www.example.test.", DNS_T_A, 0, 1232, 0);
    memcpy(q + ql, q + ql - 11, 11); /* a second OPT */
    put16(q + 10, 2);
    s = ask(&a, q, ql + 11, false);
    ok(s.rcode == DNS_R_FORMERR && !s.opt, "two OPT records: FORMERR without OPT");

    ql = mkq(q, "www.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql - 3, false);
    is_int(s.rcode, DNS_R_FORMERR, "truncated question: FORMERR");

    /* EDNS Client Subnet (RFC 7871): a table of options, one named case per row */
    static const struct {
        const char *name;
        const char *opt; /* option data: FAMILY SOURCE SCOPE ADDRESS */
        size_t len;
        int rcode;
    } ecs[] = {
        {"v4 /24", "\x00\x01\x18\x00\xc0\x00\x02", 7, DNS_R_NOERROR},
        {"v4 /0 (no client information)", "\x00\x01\x00\x00", 4, DNS_R_NOERROR},
        {"v6 /56", "\x00\x02\x38\x00\x20\x01\x0d\xb8\x00\x00\x01", 11, DNS_R_NOERROR},
        {"v4 source 33 > 32", "\x00\x01\x21\x00\xc0\x00\x02\x01\x00", 9, DNS_R_FORMERR},
        {"v6 source 129 > 128", "\x00\x02\x81\x00", 4, DNS_R_FORMERR},
        {"family 3", "\x00\x03\x18\x00\xc0\x00\x02", 7, DNS_R_FORMERR},
        {"v4 /24 with 4 address bytes", "\x00\x01\x18\x00\xc0\x00\x02\x00", 8, DNS_R_FORMERR},
        {"v4 /24 with 2 address bytes", "\x00\x01\x18\x00\xc0\x00", 6, DNS_R_FORMERR},
        {"v4 /23 with a bit past the prefix", "\x00\x01\x17\x00\xc0\x00\x03", 7, DNS_R_FORMERR},
        {"option shorter than its header", "\x00\x01\x18", 3, DNS_R_FORMERR},
    };
    for (size_t i = 0; i < sizeof(ecs) / sizeof(ecs[0]); i++) {
        ql = mkq(q, "www.example.test.", DNS_T_A, 0, 1232, 0);
        put16(q + ql - 2, (uint16_t)(4 + ecs[i].len)); /* OPT rdlen */
        put16(q + ql, EDNS_OPT_ECS);
        put16(q + ql + 2, (uint16_t)ecs[i].len);
        memcpy(q + ql + 4, ecs[i].opt, ecs[i].len);
        size_t n = ql + 4 + ecs[i].len;
        s = ask(&a, q, n, false);
        is_int(s.rcode, ecs[i].rcode, "ECS %s: %s", ecs[i].name,
               ecs[i].rcode ? "FORMERR" : "NOERROR");
        if (ecs[i].rcode == DNS_R_NOERROR) {
            /* the OPT is last: its ECS option must echo family/source/address, scope 0 */
            const uint8_t *o = resp + s.len - (4 + ecs[i].len);
            ok(get16(o) == EDNS_OPT_ECS && get16(o + 2) == ecs[i].len &&
                   memcmp(o + 4, ecs[i].opt, 3) == 0 && o[7] == 0 &&
                   memcmp(o + 8, ecs[i].opt + 4, ecs[i].len - 4) == 0,
               "ECS %s: echoed with scope 0 (name not geographic)", ecs[i].name);
        }
    }
    ql = mkq(q, "www.example.test.", DNS_T_A, 0, 1232, 0);
    put16(q + ql - 2, 22);
    memcpy(q + ql, "\x00\x08\x00\x07\x00\x01\x18\x00\xc0\x00\x02", 11);
    memcpy(q + ql + 11, q + ql, 11);
    s = ask(&a, q, ql + 22, false);
    is_int(s.rcode, DNS_R_FORMERR, "two ECS options: FORMERR");

    /* damage the stored www/A value: SERVFAIL, not a crash or a lie */
    /* The caller's buffer size is a hard bound, also for the short replies
     * (TC=1, errors): what does not fit is left out, the question first
     * (the OPT carries the extended rcode: BADVERS needs it), then the OPT;
     * below a header, nothing is sent. Bytes past the size must stay
     * untouched. */
    {
        static const struct {
            const char *what;
            int edns_ver;     /* 1: BADVERS, an error reply */
            size_t cap;       /* 0: header + question + extra */
            size_t extra;
            size_t want_len;  /* 2: header + question + OPT */
            int want_qd;      /* -1: no header to look at */
        } cases[] = {
            {"cap 11: not even a header, nothing sent", 0, 11, 0, 0, -1},
            {"cap 12: the header alone, QDCOUNT 0", 0, 12, 0, 12, 0},
            {"cap 22: header alone (OPT is 11)", 0, 22, 0, 12, 0},
            {"cap 40: the question does not fit, header + OPT", 0, 40, 0, 23, 0},
            {"cap = header + question: the OPT first, no question", 0, 0, 0, 23, 0},
            {"cap = header + question + 10: still no room for both", 0, 0, 10, 23, 0},
            {"cap = header + question + OPT: TC reply with both", 0, 0, 11, 2, 1},
            {"BADVERS, cap 40: header + OPT (rcode 16 needs it)", 1, 40, 0, 23, 0},
            {"BADVERS, cap = header + question + OPT: all", 1, 0, 11, 2, 1},
        };
        const char *name = "a-long-first-label-to-make-the-question-big.nothere.example.test.";
        static uint8_t buf[600];
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            ql = mkq(q, name, DNS_T_A, 0, 1232, cases[i].edns_ver);
            size_t qsec = ql - 12 - 11; /* the question section */
            size_t cap = cases[i].cap ? cases[i].cap : 12 + qsec + cases[i].extra;
            size_t want = cases[i].want_len == 2 ? 12 + qsec + 11 : cases[i].want_len;
            memset(buf, 0xA5, sizeof(buf));
            a.rd_ok = zr_begin(a.rd) == 0;
            size_t len = answer_query(&a, q, ql, buf, cap, false, NULL);
            zr_end(a.rd);
            bool intact = true;
            for (size_t j = cap; j < sizeof(buf); j++) {
                intact = intact && buf[j] == 0xA5;
            }
            char what[160];
            snprintf(what, sizeof(what), "%s: nothing written past the size", cases[i].what);
            ok(intact && len <= cap, "%s", what);
            snprintf(what, sizeof(what), "%s: length %zu", cases[i].what, want);
            is_int((int)len, (int)want, "%s", what);
            if (cases[i].want_qd >= 0 && len >= 12) {
                snprintf(what, sizeof(what), "%s: QDCOUNT %d, TC or an error", cases[i].what,
                         cases[i].want_qd);
                ok(get16(buf + 4) == cases[i].want_qd &&
                       ((get16(buf + 2) & DNS_F_TC) || cases[i].edns_ver),
                   "%s", what);
            }
        }
    }

    {
        zw_t w;
        zw_zone_t z;
        uint8_t apex[64], own[64];
        tz_wire("example.test.", apex);
        tz_wire("www.example.test.", own);
        zw_begin(store, &w);
        zw_zone_get(store, w.txn, apex, &z);
        dname_key_t k;
        dname_key_build(own, &k);
        uint8_t kb[ZS_RRKEY_MAX];
        MDB_val key = {zs_rrset_key(z.id, &k, z.apex_labels, DNS_T_A, 0, kb), kb};
        uint8_t junk[] = {1, 0, 0, 0, 1, 44, 0, 9, 0, 4, 1, 2};
        MDB_val val = {sizeof(junk), junk};
        mdb_put(w.txn, store->rrsets, &key, &val, 0);
        zw_commit(&w, NULL);
    }
    ql = mkq(q, "www.example.test.", DNS_T_A, 0, 0, 0);
    s = ask(&a, q, ql, false);
    is_int(s.rcode, DNS_R_SERVFAIL, "damaged stored value: SERVFAIL");

    zr_fini(&rd);
    zs_close(store);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        return 1;
    }
    return done_testing();
}
