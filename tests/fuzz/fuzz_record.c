/* SPDX-License-Identifier: MIT */
/*
 * fuzz_record.c -- libFuzzer target for dnsctl's record arguments
 * (tools/dnsctl_rrargs.c): the input is the argument list after the zone of
 * `dnsctl record add|del example.test. ...`, one argument per NUL-separated
 * piece, joined by ctl_join() as dnsctl does. Both parsers run on it.
 * Checks what must hold for any input:
 *
 *  - add: a parsed record has a valid wire owner of the length given, a
 *    storable type (no meta type), a TTL of at most 2^31-1; and the text
 *    dnsctl prints for it (zf_rr_text(): "added OWNER TTL IN TYPE RDATA")
 *    parses back to the same owner, type, TTL and rdata bytes;
 *  - del: a parsed NAME is a valid wire name; with RDATA, the record's type
 *    is the TYPE given; and when `record add` accepts the same text, the
 *    delete means the same owner (case aside), type and rdata: a delete
 *    finds what an add of the same words stored;
 *  - an error always has a message.
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_util.h"
#include "tools/dnsctl_rrargs.h"
#include "zones/base/err.h"
#include "zones/export.h"
#include "zones/import.h"

#define INPUT_MAX 8192
#define ARGS_MAX  64

static const uint8_t apex[] = "\x07" "example" "\x04" "test";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void check_owner(const uint8_t *owner, int len, const char *what)
{
    if (len < 1 || len > DNAME_MAXLEN || dname_wire_len(owner, (size_t)len) != len) {
        fz_fail("%s: owner of length %d is not a wire name", what, len);
    }
}

/* @p added: the record add parsed, else NULL */
static void check_add(const char *text, zf_rr_t *rr_out, bool *added)
{
    zf_rr_t rr, back;
    diag_t d = {0};
    if (ctl_rr_parse_add(text, apex, &rr, &d) != 0) {
        if (!d.text[0]) {
            fz_fail("add: an error without a message");
        }
        zf_rr_fini(&rr);
        return;
    }
    check_owner(rr.owner, rr.owner_len, "add");
    if (rr.type == 0 || rr.type == 41 || (rr.type >= 128 && rr.type <= 255) ||
        rr.ttl > ZF_TTL_MAX || (rr.rdlen && !rr.rdata)) {
        fz_fail("add: type %u ttl %u rdlen %u", rr.type, rr.ttl, rr.rdlen);
    }
    /* what dnsctl prints reads back to the same record */
    zf_rr_text_t t;
    if (zf_rr_text(rr.owner, rr.type, rr.rdata, rr.rdlen, &t) != 0) {
        abort();
    }
    size_t n = strlen(t.owner) + strlen(t.type) + strlen(t.rdata) + 32;
    char *line = malloc(n);
    if (!line) {
        abort();
    }
    snprintf(line, n, "%s %u IN %s %s", t.owner, rr.ttl, t.type, t.rdata);
    memset(&d, 0, sizeof(d));
    if (ctl_rr_parse_add(line, apex, &back, &d) != 0) {
        fz_fail("add: printed record \"%s\" does not parse back: %s", line, d.text);
    }
    if (back.owner_len != rr.owner_len || memcmp(back.owner, rr.owner, (size_t)rr.owner_len) ||
        back.type != rr.type || back.ttl != rr.ttl || back.rdlen != rr.rdlen ||
        (rr.rdlen && memcmp(back.rdata, rr.rdata, rr.rdlen))) {
        fz_fail("add: \"%s\" printed as \"%s\", which parses to another record", text, line);
    }
    free(line);
    zf_rr_text_fini(&t);
    zf_rr_fini(&back);
    *rr_out = rr;
    *added = true;
}

static void check_del(const char *text, const zf_rr_t *added)
{
    ctl_rr_del_t a;
    diag_t d = {0};
    if (ctl_rr_del_split(text, &a, &d) != 0) {
        if (a.bad == CTL_RR_BAD_SYNTAX && !d.text[0]) {
            fz_fail("del: a syntax error without a message");
        }
        ctl_rr_del_fini(&a);
        return;
    }
    if (ctl_rr_del_parse(&a, apex, &d) != 0) {
        if (!d.text[0] || a.bad < CTL_RR_BAD_NAME || a.bad > CTL_RR_BAD_RECORD ||
            (a.bad == CTL_RR_BAD_RECORD && !a.full)) {
            fz_fail("del: error %d without a message", a.bad);
        }
        ctl_rr_del_fini(&a);
        return;
    }
    check_owner(a.owner, dname_wire_len(a.owner, DNAME_MAXLEN + 1), "del");
    if (a.full && a.rr.type != a.qtype) {
        fz_fail("del: TYPE %u but the record has type %u", a.qtype, a.rr.type);
    }
    if (a.full && added &&
        (!dname_eq(a.owner, added->owner) || a.qtype != added->type ||
         a.rr.rdlen != added->rdlen ||
         (added->rdlen && memcmp(a.rr.rdata, added->rdata, added->rdlen)))) {
        char on[4 * DNAME_MAXLEN + 2], an[4 * DNAME_MAXLEN + 2];
        dname_to_str(a.owner, on, sizeof(on));
        dname_to_str(added->owner, an, sizeof(an));
        fz_fail("\"%s\": record del means %s type %u, record add %s type %u", text, on,
                a.qtype, an, added->type);
    }
    ctl_rr_del_fini(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_MAX) {
        return 0;
    }
    /* argv: NUL-separated pieces (a command line cannot hold a NUL) */
    char *buf = malloc(size + 1), *args[ARGS_MAX];
    int argc = 0;
    if (!buf) {
        abort();
    }
    memcpy(buf, data, size);
    buf[size] = 0;
    for (char *p = buf; p <= buf + size && argc < ARGS_MAX; p += strlen(p) + 1) {
        args[argc++] = p;
    }
    char *text = ctl_join(argc, args, 0);
    zf_rr_t rr = {0};
    bool added = false;
    check_add(text, &rr, &added);
    check_del(text, added ? &rr : NULL);
    zf_rr_fini(&rr);
    free(text);
    free(buf);
    return 0;
}
