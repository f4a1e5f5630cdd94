/* SPDX-License-Identifier: MIT */
/* file.c -- see file.h. Only libc. */
#include "zones/base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        return -ENAMETOOLONG;
    }
    unlink(tmp); /* a stale one from a crash: O_EXCL below gets a fresh inode */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return -errno;
    }
    int err = 0;
    const char *p = data;
    for (size_t off = 0; off < len && !err;) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno != EINTR) {
            err = -errno;
        } else if (n > 0) {
            off += (size_t)n;
        }
    }
    if (!err && (fchmod(fd, mode) != 0 || fsync(fd) != 0)) {
        err = -errno;
    }
    if (close(fd) != 0 && !err) {
        err = -errno;
    }
    if (!err && rename(tmp, path) != 0) {
        err = -errno;
    }
    if (err) {
        unlink(tmp);
    }
    return err;
}
