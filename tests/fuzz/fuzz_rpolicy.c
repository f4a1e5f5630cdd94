/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rpolicy.c -- libFuzzer target for a rollout policy's two parsers
 * (acme/rollout_stats.c): rs_policy_set, fed an operator's KEY=VALUE
 * (`dnsctl rollout policy`, `rollout simulate`), and rs_policy_from_json,
 * fed the JSON stored in a shard request (any node or tool may have
 * written it). The first byte picks the parser; the rest is the input
 * (KEY=VALUE: split at the first '='). Checks what must hold for any input:
 *  - the result is 0 or -1; on -1 the reason is NUL-ended printable ASCII
 *    and the policy is exactly as it was;
 *  - an accepted policy obeys the rules (1..RS_STEPS_MAX steps, strictly
 *    ascending, above 0, the last 10000; window, alpha and margins in
 *    range), and its JSON (rs_policy_json) reads back as the same policy.
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "acme/rollout_stats.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void check_text(const char *why, size_t cap)
{
    size_t n = strnlen(why, cap);
    if (n == cap || n == 0) {
        fz_fail("reason empty or not NUL-ended");
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)why[i] < 0x20 || (unsigned char)why[i] > 0x7e) {
            fz_fail("reason holds byte 0x%02x at %zu", (unsigned char)why[i], i);
        }
    }
}

static void check_policy(const rs_policy_t *p)
{
    if (p->nsteps < 1 || p->nsteps > RS_STEPS_MAX || p->steps[p->nsteps - 1] != 10000) {
        fz_fail("accepted %d steps, last %u", p->nsteps, p->nsteps > 0 ? p->steps[p->nsteps - 1] : 0);
    }
    for (int i = 0; i < p->nsteps; i++) {
        if (p->steps[i] == 0 || (i && p->steps[i] <= p->steps[i - 1])) {
            fz_fail("accepted steps not strictly ascending above 0");
        }
    }
    if (p->window_s < 1 || !(p->alpha > 0 && p->alpha <= 0.5) || !(p->fail_margin >= 0 && p->fail_margin <= 1) ||
        !(p->time_margin >= 0 && p->time_margin <= 10) || p->min_samples < 1 || p->ttl < 1 ||
        p->max_duration_s < 1) {
        fz_fail("accepted a value out of range");
    }
    char why[256];
    rs_policy_t back;
    memset(&back, 0, sizeof(back)); /* padding: both sides zero (rs_policy_default memsets) */
    json_t *j = rs_policy_json(p);
    if (!j || rs_policy_from_json(&back, j, why, sizeof(why)) != 0) {
        fz_fail("an accepted policy's JSON does not read back: %s", j ? why : "no JSON");
    }
    json_decref(j);
    if (memcmp(&back, p, sizeof(back)) != 0) {
        fz_fail("an accepted policy's JSON reads back as another policy");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    rs_policy_t p, before;
    rs_policy_default(&p);
    before = p;
    char why[256];
    memset(why, 0x7f, sizeof(why));
    int rc;
    if (data[0] & 1) {
        json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
        if (!j) {
            return 0; /* not JSON: jansson's business, not ours */
        }
        rc = rs_policy_from_json(&p, j, why, sizeof(why));
        json_decref(j);
    } else {
        /* KEY=VALUE as C strings: NUL-terminated copies */
        char *buf = malloc(size);
        if (!buf) {
            abort();
        }
        memcpy(buf, data + 1, size - 1);
        buf[size - 1] = 0;
        char *eq = strchr(buf, '=');
        if (!eq) {
            free(buf);
            return 0;
        }
        *eq = 0;
        rc = rs_policy_set(&p, buf, eq + 1, why, sizeof(why));
        free(buf);
    }
    if (rc != 0) {
        if (rc != -1) {
            fz_fail("result %d is neither 0 nor -1", rc);
        }
        check_text(why, sizeof(why));
        if (memcmp(&p, &before, sizeof(p)) != 0) {
            fz_fail("a refused input changed the policy");
        }
        return 0;
    }
    check_policy(&p);
    return 0;
}
