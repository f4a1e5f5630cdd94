/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_store.c -- `dnsctl store backup DIR`: a hot copy of the whole store
 * (zones/backup.h) while dnsd serves and writers go on, then the copy opened
 * as a store to prove it reads. Opens the store read-only; never writes to
 * it. The restore is an operator's procedure (stop dnsd, move the copy in
 * place, start it), documented in dnsctl(1) and the README.
 */
#include "tools/dnsctl.h"

#include <string.h>

#include "zones/backup.h"
#include "zones/base/err.h"

static void backup_progress(uint64_t done, uint64_t total, void *arg)
{
    ctl_progress_bytes(arg, done, total);
}

static int count_zone(const zw_zone_t *z, void *arg)
{
    (void)z;
    (*(unsigned long *)arg)++;
    return 0;
}

static int store_backup(ctl_t *c)
{
    zs_store_t *s = NULL, *copy = NULL;
    MDB_txn *txn = NULL;
    diag_t d = {0};
    ctl_progress_t pg;
    unsigned long zones = 0;
    uint64_t gen = 0;
    int rc, err;

    if ((rc = ctl_check_args(c, "store backup", 0, 1, 1))) {
        return rc;
    }
    const char *dir = c->argv[0];
    rc = CTL_FAIL;
    if (ctl_open(c, false, false, &s) != CTL_OK) {
        goto out;
    }
    ctl_progress_begin(&pg, c, "backup", true);
    err = zs_backup(s, dir, backup_progress, &pg, &d);
    ctl_progress_end(&pg, err == 0);
    if (err) {
        ctl_diag(NULL, &d);
        goto out;
    }
    /* the copy must open as a store: read it back (read-write, so LMDB
     * makes its lock file; nothing is written) */
    if (zs_open(dir, 0, 0, &copy, &d) != 0) {
        ctl_err("the copy in %s does not open as a store: %s", dir, d.text);
        goto out;
    }
    if ((err = zs_read_begin(copy, &txn)) != 0 || (err = zs_generation(copy, txn, &gen)) != 0 ||
        (err = zw_foreach_zone(copy, txn, count_zone, &zones)) != 0) {
        ctl_err("the copy in %s does not read: %s", dir, dnsd_strerror(err));
        goto out;
    }
    MDB_envinfo info;
    MDB_stat ms;
    mdb_env_info(copy->env, &info);
    mdb_env_stat(copy->env, &ms);
    printf("backup of %s in %s: %lu zone%s, generation %llu, %llu bytes\n", c->store, dir, zones,
           zones == 1 ? "" : "s", (unsigned long long)gen,
           (unsigned long long)(info.me_last_pgno + 1) * ms.ms_psize);
    rc = CTL_OK;
out:
    zs_read_end(copy, txn);
    zs_close(copy);
    zs_close(s);
    return rc;
}

int ctl_store(ctl_t *c, const char *verb)
{
    if (strcmp(verb, "backup") == 0) {
        return store_backup(c);
    }
    return ctl_usage("unknown command \"store %s\" (backup)", verb);
}
