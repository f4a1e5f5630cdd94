/* SPDX-License-Identifier: MIT */
/* privs.c -- chroot and privilege drop (see privs.h). Slow path, main thread. */
#include "dnsd/privs.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

#include "zones/base/err.h"

int privs_drop(const config_t *c, diag_t *d)
{
    if (c->chroot[0]) {
        if (chroot(c->chroot) != 0) {
            diag_set(d, "", 0, "cannot chroot to %s: %s", c->chroot, strerror(errno));
            return DNSD_ECONFIG;
        }
        if (chdir("/") != 0) {
            diag_set(d, "", 0, "cannot chdir to / in chroot %s: %s", c->chroot, strerror(errno));
            return DNSD_ECONFIG;
        }
    }
    if (!c->user[0]) {
        return 0;
    }
    /* groups first: once the uid is gone, so is the right to change them */
    if (setgroups(1, &c->gid) != 0) {
        diag_set(d, "", 0, "cannot drop privileges to user %s: setgroups: %s%s", c->user,
                 strerror(errno), errno == EPERM ? " (dnsd must start as root to change user)" : "");
        return DNSD_ECONFIG;
    }
    if (setresgid(c->gid, c->gid, c->gid) != 0) {
        diag_set(d, "", 0, "cannot drop privileges: setresgid(%u): %s", (unsigned)c->gid,
                 strerror(errno));
        return DNSD_ECONFIG;
    }
    if (setresuid(c->uid, c->uid, c->uid) != 0) {
        diag_set(d, "", 0, "cannot drop privileges: setresuid(%u): %s", (unsigned)c->uid,
                 strerror(errno));
        return DNSD_ECONFIG;
    }
    /* trust, but verify: every id is the new one, and root is out of reach */
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    gid_t groups[2];
    int ng = getgroups(2, groups);
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != c->uid ||
        eu != c->uid || su != c->uid || rg != c->gid || eg != c->gid || sg != c->gid ||
        ng != 1 || groups[0] != c->gid) {
        diag_set(d, "", 0, "dropping privileges to %s did not take", c->user);
        return DNSD_ECONFIG;
    }
    if (c->uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
        diag_set(d, "", 0, "dropped privileges to %s, but root could be regained", c->user);
        return DNSD_ECONFIG;
    }
    if (c->gid != 0 && setgid(0) != -1) {
        diag_set(d, "", 0, "dropped privileges to %s, but group 0 could be regained", c->user);
        return DNSD_ECONFIG;
    }
    return 0;
}
