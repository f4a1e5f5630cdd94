/* SPDX-License-Identifier: MIT */
/*
 * file.h -- whole-file writes that a reader never sees half done. Only libc.
 * Slow path (pid/port files, stats, certificates), any thread.
 */
#ifndef DNSD_FILE_H
#define DNSD_FILE_H

#include <stddef.h>
#include <sys/types.h>

/**
 * Write @p len bytes to @p path atomically: a fresh "PATH.tmp" created with
 * @p mode (and chmod'ed to it, whatever the umask), written, fsync'ed,
 * renamed over @p path. @return 0 or a negated errno (the temporary file
 * is removed).
 */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
