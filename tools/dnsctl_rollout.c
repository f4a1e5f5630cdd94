/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_rollout.c -- `dnsctl rollout SUBCOMMAND` (issue #15): certificate
 * rollouts of shards with a canary pool. The subcommands are the rows of
 * one table; `simulate` (tools/dnsctl_rollout_sim.c) runs the analyzer and
 * decision rule of acme/rollout_stats.h on a simulated client population
 * and needs no store.
 */
#include "tools/dnsctl.h"

#include <string.h>

static const struct {
    const char *verb;
    int (*fn)(ctl_t *c);
    /* the subcommand parses every argument after its verb itself (dnsctl's
     * own options must come before "rollout") */
    bool own_options;
} rollout_cmds[] = {
    {"simulate", ctl_rollout_simulate, true},
};

bool ctl_rollout_own_options(const char *cmd, const char *verb)
{
    if (strcmp(cmd, "rollout") != 0) {
        return false;
    }
    for (size_t i = 0; i < sizeof(rollout_cmds) / sizeof(rollout_cmds[0]); i++) {
        if (strcmp(verb, rollout_cmds[i].verb) == 0) {
            return rollout_cmds[i].own_options;
        }
    }
    return false;
}

int ctl_rollout(ctl_t *c, const char *verb)
{
    for (size_t i = 0; i < sizeof(rollout_cmds) / sizeof(rollout_cmds[0]); i++) {
        if (strcmp(verb, rollout_cmds[i].verb) == 0) {
            return rollout_cmds[i].fn(c);
        }
    }
    return ctl_usage("rollout: unknown subcommand \"%s\"", verb);
}
