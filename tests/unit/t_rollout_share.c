/* SPDX-License-Identifier: MIT */
/*
 * t_rollout_share.c -- the evidence batches of acme/rollout_share.h that the
 * nodes of a cluster exchange through etcd: a full batch and an empty one
 * round trip field by field; the decoder refuses every kind of damage with
 * a reason naming it (version, epoch, candidate, too many samples, seq not
 * increasing, each field out of range, err and ok disagreeing, control
 * bytes, trailing garbage, over-long values).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/rollout_share.h"
#include "tests/tap.h"

static rsh_batch_t a, b;

/* decode @p text; @return the result, the reason in why */
static int dec(const char *text, char *why)
{
    why[0] = 0;
    return rsh_decode(text, strlen(text), &b, why, 200);
}

int main(void)
{
    char why[200] = "";
    /* ---- round trip: a full batch ---- */
    a.epoch = 9007199254740991ULL; /* 2^53 - 1 */
    snprintf(a.cand, sizeof(a.cand), "7C9D908B7DB5DB6D4ECBEFC9213BCE1DFE3409FE");
    a.n = RSH_MAX;
    for (size_t i = 0; i < RSH_MAX; i++) {
        rsh_entry_t *e = &a.e[i];
        e->seq = 1000 + 3 * i;
        e->pool = i % 2;
        e->s.ok = i % 3 != 0;
        e->s.hs_us = i == 5 ? 4294967295u : (uint32_t)(i * 1234);
        e->s.proto = (uint8_t)(i % 5);
        e->s.source = (uint8_t)(1 + i % 4);
        snprintf(e->s.serial, sizeof(e->s.serial), "%s", i % 7 ? a.cand : "");
        if (!e->s.ok) {
            /* the longest text the field holds, with quotes and backslashes */
            memset(e->s.err, 'x', sizeof(e->s.err) - 1);
            e->s.err[sizeof(e->s.err) - 1] = 0;
            e->s.err[0] = '"';
            e->s.err[1] = '\\';
        }
    }
    size_t len = 0;
    char *t = rsh_encode(&a, &len);
    ok(t && len == strlen(t), "a full batch encodes (%zu bytes)", len);
    ok(len <= RSH_VALUE_MAX, "within RSH_VALUE_MAX (%d)", RSH_VALUE_MAX);
    is_int(rsh_decode(t, len, &b, why, sizeof(why)), 0, "it decodes (%s)", why);
    is_int(b.n, RSH_MAX, "all %d samples", RSH_MAX);
    ok(b.epoch == a.epoch && strcmp(b.cand, a.cand) == 0, "epoch and candidate kept");
    int same = 1;
    for (size_t i = 0; i < RSH_MAX; i++) {
        const rsh_entry_t *x = &a.e[i], *y = &b.e[i];
        if (x->seq != y->seq || x->pool != y->pool || x->s.ok != y->s.ok ||
            x->s.hs_us != y->s.hs_us || x->s.proto != y->s.proto || x->s.source != y->s.source ||
            strcmp(x->s.serial, y->s.serial) != 0 || strcmp(x->s.err, y->s.err) != 0) {
            printf("# sample %zu differs\n", i);
            same = 0;
            break;
        }
    }
    ok(same, "every sample's seq, pool, ok, hs_us, proto, source, serial and err kept");
    /* bytes past the value, as etcd hands them (the length bounds it) */
    char *t2 = malloc(len + 8);
    memcpy(t2, t, len);
    memcpy(t2 + len, "garbage", 8);
    is_int(rsh_decode(t2, len, &b, why, sizeof(why)), 0, "the length bounds the value");
    is_int(rsh_decode(t2, len + 7, &b, why, sizeof(why)), -1, "trailing garbage refused");
    free(t2);
    free(t);

    /* ---- an empty batch ---- */
    a.n = 0;
    t = rsh_encode(&a, &len);
    is_str(t, "{\"v\":1,\"epoch\":9007199254740991,\"cand\":\"7C9D908B7DB5DB6D4ECBEFC9213BCE1DFE3409FE\","
              "\"s\":[]}",
           "an empty batch, as documented");
    is_int(rsh_decode(t, len, &b, why, sizeof(why)), 0, "decodes");
    is_int(b.n, 0, "no samples");
    free(t);

    /* ---- damage ---- */
    static const struct {
        const char *text, *reason;
    } bad[] = {
        {"", "not a JSON object"},
        {"[1]", "not a JSON object"},
        {"{\"v\":2,\"epoch\":1,\"cand\":\"AB\",\"s\":[]}", "\"v\" is not 1"},
        {"{\"epoch\":1,\"cand\":\"AB\",\"s\":[]}", "\"v\" is not 1"},
        {"{\"v\":1,\"epoch\":0,\"cand\":\"AB\",\"s\":[]}", "\"epoch\""},
        {"{\"v\":1,\"epoch\":\"1\",\"cand\":\"AB\",\"s\":[]}", "\"epoch\""},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"ab\",\"s\":[]}", "\"cand\""},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"\",\"s\":[]}", "\"cand\""},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\"}", "\"s\""},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[[1,0,1,5,4,2,\"AB\",\"\"],[1,0,1,5,4,2,\"AB\",\"\"]]}",
         "sample 1: seq not above"},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[[0,0,1,5,4,2,\"AB\",\"\"]]}", "seq not above"},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[[1,2,1,5,4,2,\"AB\",\"\"]]}", "out of range"},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[[1,0,true,5,4,2,\"AB\",\"\"]]}", "out of range"},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[[1,0,1,4294967296,4,2,\"AB\",\"\"]]}", "out of range"},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[[1,0,1,5,5,2,\"AB\",\"\"]]}", "out of range"},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[[1,0,1,5,4,0,\"AB\",\"\"]]}", "out of range"},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[[1,0,1,5,4,2,\"xy\",\"\"]]}", "serial"},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[[1,0,1,5,4,2,\"AB\",\"boom\"]]}", "empty exactly when ok"},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[[1,0,0,5,4,2,\"AB\",\"\"]]}", "empty exactly when ok"},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[[1,0,0,5,4,2,\"AB\",\"a\\nb\"]]}", "control byte"},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[[1,0,1,5,4,2,\"AB\"]]}", "array of 8"},
        {"{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[{}]}", "array of 8"},
        {"{\"v\":1,\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[]}", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = dec(bad[i].text, why);
        ok(rc == -1 && strstr(why, bad[i].reason) && b.n == 0, "refused: %s -> %s", bad[i].text,
           why);
    }
    /* too many samples, and too many bytes */
    size_t cap = RSH_VALUE_MAX + 100;
    char *big = malloc(cap);
    int n = snprintf(big, cap, "{\"v\":1,\"epoch\":1,\"cand\":\"AB\",\"s\":[");
    for (int i = 1; i <= RSH_MAX + 1; i++) {
        n += snprintf(big + n, cap - (size_t)n, "%s[%d,0,1,5,4,2,\"\",\"\"]", i > 1 ? "," : "", i);
    }
    n += snprintf(big + n, cap - (size_t)n, "]}");
    ok(dec(big, why) == -1 && strstr(why, "at most 512 samples"), "%d samples refused: %s",
       RSH_MAX + 1, why);
    memset(big, ' ', cap - 1);
    big[cap - 1] = 0;
    ok(dec(big, why) == -1 && strstr(why, "bytes (at most"), "an over-long value refused: %s", why);
    free(big);
    return done_testing();
}
