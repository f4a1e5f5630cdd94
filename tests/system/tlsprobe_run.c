/* SPDX-License-Identifier: MIT */
/*
 * tlsprobe_run.c -- test helper for t_tlsprobe.sh: dnsd's rollout probes
 * (acme/tlsprobe.c) against one load balancer, every client profile, one
 * line each:
 *   tlsprobe_run ADDR[:PORT] SNI CAFILE|- TIMEOUT_MS
 *   -> PROFILE ok|fail PROTO CIPHER|- SERIAL|- HS_US "ERR"
 * Exit 0, or 2 on bad arguments.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/tlsprobe.h"
#include "zones/base/parse.h"

int main(int argc, char **argv)
{
    struct sockaddr_storage lb;
    if (argc != 5 || parse_hostport(argv[1], 443, 1, &lb, NULL) != 0) {
        fprintf(stderr, "usage: tlsprobe_run ADDR[:PORT] SNI CAFILE|- TIMEOUT_MS\n");
        return 2;
    }
    const char *ca = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
    for (int i = 0; i < TLSPROBE_NPROFILES; i++) {
        rev_sample_t s;
        if (tlsprobe_run(&lb, argv[2], tlsprobe_profiles[i], ca, atoi(argv[4]), &s) != 0) {
            printf("%s unknown-profile\n", tlsprobe_profiles[i]);
            continue;
        }
        printf("%s %s %s %s %s %u \"%s\"\n", s.profile, s.ok ? "ok" : "fail", rev_proto_name(s.proto),
               s.cipher[0] ? s.cipher : "-", s.serial[0] ? s.serial : "-", (unsigned)s.hs_us, s.err);
    }
    rev_sample_t s;
    printf("bogus-profile %d\n", tlsprobe_run(&lb, argv[2], "bogus", ca, 10, &s));
    return 0;
}
