/* SPDX-License-Identifier: MIT */
/*
 * backup.c -- the store's hot copy (backup.h). Called by dnsctl (`store
 * backup`) on its main thread; slow path. It only reads the store it
 * copies (one read txn, no writer lock: dnsd and writers go on), and on
 * any error removes what it wrote.
 *
 * DESIGN. mdb_env_copy2() writes the copy itself but says nothing until it
 * is done. To show progress, LMDB writes the compacted copy into a pipe
 * (mdb_env_copyfd2(), the way `mdb_copy -c` writes to stdout) from a
 * helper thread, and this thread moves the bytes from the pipe into
 * DIR/data.mdb, counting them. When the file cannot be written, the pipe
 * is still drained to its end, so LMDB's writer never meets a closed pipe
 * (SIGPIPE) and the helper thread always finishes.
 */
#include "zones/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"

#define BACKUP_CHUNK (256u * 1024u)

typedef struct copier {
    MDB_env *env;
    int fd; /* the pipe's write end, closed by the thread when LMDB is done */
    int rc; /* mdb_env_copyfd2's result */
} copier_t;

static void *copy_thread(void *arg)
{
    copier_t *cp = arg;
    /* should the reader ever close the pipe early, LMDB's write fails with
     * EPIPE instead of SIGPIPE killing dnsctl; LMDB's own writer thread,
     * started from this one, inherits the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    cp->rc = mdb_env_copyfd2(cp->env, cp->fd, MDB_CP_COMPACT);
    close(cp->fd);
    cp->fd = -1;
    return NULL;
}

/* 0 when @p dir is an empty directory, -EEXIST when it holds anything, else -errno */
static int dir_empty(const char *dir)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        return -errno;
    }
    int err = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(dh)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            err = -EEXIST;
            break;
        }
    }
    if (!de && errno) {
        err = -errno;
    }
    closedir(dh);
    return err;
}

/* write all of @p buf to @p fd: 0 or -errno */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int zs_backup(zs_store_t *s, const char *dir, zs_backup_progress_cb progress, void *arg,
              diag_t *d)
{
    char path[4200];
    char *buf = NULL;
    bool made_dir = false, made_file = false;
    int out = -1, dfd, pfd[2] = {-1, -1};
    int err = 0, werr = 0, rc;
    uint64_t done = 0, total;
    MDB_envinfo info;
    MDB_stat ms;
    copier_t cp = {s->env, -1, 0};
    pthread_t th;
    struct stat st;

    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            diag_set(d, dir, 0, "not a directory");
            return -ENOTDIR;
        }
        if ((err = dir_empty(dir)) == -EEXIST) {
            diag_set(d, dir, 0, "the backup directory is not empty (give a new or empty "
                     "directory: a backup never overwrites anything)");
            return err;
        }
        if (err) {
            diag_set(d, dir, 0, "cannot read the backup directory: %s", strerror(-err));
            return err;
        }
    } else if (errno != ENOENT) {
        err = -errno;
        diag_set(d, dir, 0, "cannot use the backup directory: %s", strerror(errno));
        return err;
    } else if (mkdir(dir, 0700) != 0) {
        err = -errno;
        diag_set(d, dir, 0, "cannot create the backup directory: %s", strerror(errno));
        return err;
    } else {
        made_dir = true;
    }
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        err = -errno;
        diag_set(d, dir, 0, "cannot write the backup: %s", strerror(errno));
        goto out;
    }
    made_file = true;

    mdb_env_info(s->env, &info);
    mdb_env_stat(s->env, &ms);
    total = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;

    if (pipe2(pfd, O_CLOEXEC) != 0) {
        err = -errno;
        diag_set(d, dir, 0, "cannot make a pipe: %s", strerror(errno));
        goto out;
    }
    cp.fd = pfd[1];
    pfd[1] = -1; /* the thread's now */
    if ((rc = pthread_create(&th, NULL, copy_thread, &cp)) != 0) {
        pfd[1] = cp.fd;
        err = -rc;
        diag_set(d, dir, 0, "cannot start the copy: %s", strerror(rc));
        goto out;
    }
    buf = xmalloc(BACKUP_CHUNK);
    for (;;) {
        ssize_t n = read(pfd[0], buf, BACKUP_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            werr = werr ? werr : n < 0 ? -errno : 0;
            break; /* n == 0: LMDB is done and closed its end */
        }
        if (werr) {
            continue; /* the file failed: drain the pipe, discarded, so LMDB finishes */
        }
        if ((werr = write_all(out, buf, (size_t)n)) == 0) {
            done += (uint64_t)n;
            if (progress) {
                progress(done, total > done ? total : done, arg);
            }
        }
    }
    /* after a read error (never seen on a pipe but EINTR) LMDB could block
     * on a full pipe: closing the read end makes its write fail (EPIPE) */
    close(pfd[0]);
    pfd[0] = -1;
    pthread_join(th, NULL);
    if (cp.rc != 0) {
        err = zs_mdb_err(cp.rc);
        diag_set(d, s->path, 0, "cannot copy the store: %s", mdb_strerror(cp.rc));
        goto out;
    }
    if (werr) {
        err = werr;
        diag_set(d, dir, 0, "cannot write the backup: %s", strerror(-werr));
        goto out;
    }
    if (done == 0) {
        err = DNSD_ESTORE;
        diag_set(d, s->path, 0, "cannot copy the store: LMDB wrote nothing");
        goto out;
    }
    if (fsync(out) != 0) {
        err = -errno;
        diag_set(d, dir, 0, "cannot flush the backup to disk: %s", strerror(errno));
        goto out;
    }
    if (close(out) != 0) {
        out = -1;
        err = -errno;
        diag_set(d, dir, 0, "cannot write the backup: %s", strerror(errno));
        goto out;
    }
    out = -1;
    /* the new directory entry too */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    if (progress) {
        progress(done, done, arg);
    }
out:
    free(buf);
    if (pfd[0] >= 0) {
        close(pfd[0]);
    }
    if (pfd[1] >= 0) {
        close(pfd[1]);
    }
    if (out >= 0) {
        close(out);
    }
    if (err && made_file) {
        unlink(path);
    }
    if (err && made_dir) {
        rmdir(dir);
    }
    return err;
}
