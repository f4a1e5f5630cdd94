/* SPDX-License-Identifier: MIT */
/*
 * backup.h -- a hot copy of the store (`dnsctl store backup DIR`): one LMDB
 * read txn copied, compacted, into a new directory while dnsd serves and
 * writers go on. Slow path; dnsctl and tests call it. It never writes to
 * the store it copies and never leaves a partial copy behind it.
 */
#ifndef DNSD_BACKUP_H
#define DNSD_BACKUP_H

#include <stdint.h>

#include "zones/base/diag.h"
#include "zones/store.h"

/**
 * Progress of a copy: @p done bytes written so far, of at most @p total
 * (the source's used pages: a compacted copy is often smaller). Called on
 * the caller's thread after each chunk and once at the end.
 */
typedef void (*zs_backup_progress_cb)(uint64_t done, uint64_t total, void *arg);

/**
 * Copy store @p s into directory @p dir as a consistent snapshot (the state
 * of one read txn: every sub-database, the journal, the certificates, the
 * DNSSEC keys, the generation and, on a cluster node, the applied log
 * position), compacted (mdb_env_copyfd2 with MDB_CP_COMPACT: free pages left
 * out, pages renumbered). @p dir is created (0700) when missing; an existing
 * one must be an empty directory. The copy is @p dir/data.mdb (0600),
 * flushed to disk before this returns; zs_open() opens it as a store.
 * @p s may be read-only. @p progress may be NULL.
 * @return 0, or an error with @p d saying what was wrong (file @p dir):
 * -EEXIST (not empty), -ENOTDIR, -errno from the file system (EACCES:
 * not writable), or an LMDB error. On error nothing of the copy is left:
 * data.mdb is removed, and @p dir too when this call created it.
 */
int zs_backup(zs_store_t *s, const char *dir, zs_backup_progress_cb progress, void *arg,
              diag_t *d);

#endif
