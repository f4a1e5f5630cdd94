/* SPDX-License-Identifier: MIT */
/*
 * fuzz_xfracl.c -- libFuzzer target for the transfer ACL and NOTIFY target
 * parser (zones/xfracl.c: `dnsctl zone set --allow-transfer SPEC` and
 * `--notify TARGET`). The first byte picks the list (even: ACL, odd:
 * notify), the rest is the text. Checks what must hold for any input:
 *  - an error always has a message;
 *  - a parsed entry is sane (family 0/4/6, prefix within the family, no
 *    address bits past it, a key name that is a valid wire name, a notify
 *    target with an address and a port);
 *  - the text xacl_format() prints for it parses back to the same entry;
 *  - the store encoding round-trips (xacl_put/xacl_get are exercised by
 *    t_xfr_acl.sh; here the matcher: an address entry matches its own
 *    address, and a key entry does not match an unsigned request).
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "tests/fuzz/fuzz_util.h"
#include "zones/base/err.h"
#include "zones/xfracl.h"

#define INPUT_MAX 2048

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > INPUT_MAX) {
        return 0;
    }
    xacl_list_t which = (data[0] & 1) ? XACL_NOTIFY : XACL_TRANSFER;
    char text[INPUT_MAX + 1];
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    xacl_ent_t e, e2;
    diag_t d = {0};
    if (xacl_parse(which, text, &e, &d) != 0) {
        if (!d.text[0]) {
            fz_fail("error without a message for \"%s\"", text);
        }
        return 0;
    }
    unsigned max = e.family == AF_INET ? 32 : 128;
    if (e.family != 0 && e.family != AF_INET && e.family != AF_INET6) {
        fz_fail("family %u", e.family);
    }
    if (e.family && e.prefix > max) {
        fz_fail("prefix %u > %u", e.prefix, max);
    }
    for (unsigned b = e.prefix; e.family && b < max; b++) {
        if (e.addr[b / 8] & (0x80u >> (b % 8))) {
            fz_fail("address bit %u set past /%u", b, e.prefix);
        }
    }
    if (e.key_len && dname_wire_len(e.key, e.key_len) != (int)e.key_len) {
        fz_fail("key name is not a wire name");
    }
    if (which == XACL_NOTIFY && (!e.family || e.port == 0 || e.prefix != max)) {
        fz_fail("notify target without an address/port");
    }
    if (!e.family && !e.key_len) {
        fz_fail("an entry that matches nothing in particular");
    }
    char out[XACL_TEXT_MAX];
    xacl_format(which, &e, out, sizeof(out));
    if (xacl_parse(which, out, &e2, &d) != 0) {
        fz_fail("\"%s\" printed as \"%s\", which does not parse: %s", text, out, d.text);
    }
    if (memcmp(&e, &e2, sizeof(e)) != 0) {
        fz_fail("\"%s\" printed as \"%s\" parses to another entry", text, out);
    }
    xacl_t l = {.n = 1};
    l.e[0] = e;
    if (e.family) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        if (e.family == AF_INET) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            s4->sin_family = AF_INET;
            memcpy(&s4->sin_addr, e.addr, 4);
        } else {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            s6->sin6_family = AF_INET6;
            memcpy(&s6->sin6_addr, e.addr, 16);
        }
        bool allowed = xacl_allows(&l, (struct sockaddr *)&ss, e.key_len ? e.key : NULL);
        if (!allowed) {
            fz_fail("\"%s\" does not allow its own address and key", out);
        }
        if (e.key_len && xacl_allows(&l, (struct sockaddr *)&ss, NULL)) {
            fz_fail("\"%s\" allows an unsigned request", out);
        }
    }
    return 0;
}
