/* SPDX-License-Identifier: MIT */
/*
 * fuzz_delegate.c -- what the CNAME-delegation preflight (acme/delegate.c)
 * reads from the network and the store: a customer's authoritative answer
 * to "_acme-challenge.www.customer.example CNAME" judged against a target,
 * a resolver's NS answer, a resolver's A/AAAA answer, and an owner name in
 * presentation form. The first byte picks the reader; the rest is the
 * input. Invariants: a verdict is one of ACME_DELEG_*, OK only with the
 * target found, strings NUL-terminated within their buffers, counts within
 * their arrays and every NS host a well-formed name, a parsed owner's wire
 * length what dname_wire_len() says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme/delegate.h"
#include "tests/fuzz/fuzz_util.h"
#include "zones/rrtype.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void terminated(const char *s, size_t cap, const char *what)
{
    if (memchr(s, 0, cap) == NULL) {
        fz_fail("%s is not NUL-terminated", what);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t sel = data[0] % 4;
    data++;
    size--;
    uint8_t qn[DNAME_MAXLEN + 1], want[DNAME_MAXLEN + 1], zone[DNAME_MAXLEN + 1];
    acme_owner_parse("_acme-challenge.www.customer.example.", qn);
    acme_owner_parse("abc.acme.example.net.", want);
    acme_owner_parse("customer.example.", zone);
    if (sel == 0) {
        char found[300], why[300];
        int v = acme_delegate_verdict(data, size, qn, want, found, sizeof(found), why,
                                      sizeof(why));
        terminated(found, sizeof(found), "found");
        terminated(why, sizeof(why), "why");
        if (v < ACME_DELEG_OK || v > ACME_DELEG_BAD) {
            fz_fail("verdict %d", v);
        }
        if (v == ACME_DELEG_OK && strcmp(found, "abc.acme.example.net.") != 0) {
            fz_fail("OK with target \"%s\"", found);
        }
    } else if (sel == 1) {
        uint8_t ns[4][DNAME_MAXLEN + 1];
        char why[300] = "";
        int n = acme_delegate_ns_answer(data, size, zone, ns, 4, why, sizeof(why));
        terminated(why, sizeof(why), "why");
        if (n > 4) {
            fz_fail("%d NS hosts in an array of 4", n);
        }
        for (int i = 0; i < n; i++) {
            if (dname_wire_len(ns[i], DNAME_MAXLEN + 1) <= 0) {
                fz_fail("NS host %d is not a name", i);
            }
        }
    } else if (sel == 2) {
        uint8_t host[DNAME_MAXLEN + 1];
        struct sockaddr_storage a[3];
        acme_owner_parse("ns1.customer.example.", host);
        int n = acme_delegate_addr_answer(data, size, host, size % 2 ? DNS_T_A : DNS_T_AAAA, 53,
                                          a, 3);
        if (n > 3) {
            fz_fail("%d addresses in an array of 3", n);
        }
        for (int i = 0; i < n; i++) {
            if (a[i].ss_family != AF_INET && a[i].ss_family != AF_INET6) {
                fz_fail("address %d of family %d", i, a[i].ss_family);
            }
        }
    } else {
        char *text = malloc(size + 1);
        memcpy(text, data, size);
        text[size] = 0;
        uint8_t w[DNAME_MAXLEN + 1];
        int n = acme_owner_parse(text, w);
        if (n > 0 && dname_wire_len(w, DNAME_MAXLEN + 1) != n) {
            fz_fail("owner parse length %d, wire length %d", n,
                    dname_wire_len(w, DNAME_MAXLEN + 1));
        }
        free(text);
    }
    return 0;
}
