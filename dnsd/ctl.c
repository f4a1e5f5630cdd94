/* SPDX-License-Identifier: MIT */
/* ctl.c -- the control socket (see ctl.h). Main thread only; never blocks. */
#include "dnsd/ctl.h"

#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <maxminddb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "acme/certdb.h"
#include "dnsd/ctl_proto.h"
#include "dnsd/stats.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/parse.h"
#include "zones/base/xalloc.h"

#define CTL_NOTES_MAX (3 * CONF_LISTEN_MAX) /* dns, http01, metrics */
#define CTL_ACCEPT_BATCH 32 /* connections taken per wake-up: the loop stays fair */
#define CTL_DRAIN_MAX 65536 /* bytes read and dropped after the answer, at most */

typedef struct ctl_conn {
    ctl_sock_t *cs;
    int fd;                /* -1: a free slot */
    ev_io io;
    ev_timer deadline;
    ev_tstamp opened;
    char in[CTL_REQ_MAX];
    size_t inlen;
    char *out;             /* the answer (xmalloc'd), NULL while reading */
    size_t outlen, outoff;
    bool draining;         /* answered: reading what is left until the client closes */
    size_t drained;
    struct ucred peer;     /* who connected (SO_PEERCRED), for the log */
} ctl_conn_t;

typedef struct ctl_note {
    char kind[16];
    char text[80];
    uint16_t port;
} ctl_note_t;

struct ctl_sock {
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    const char *unlink_path; /* path as seen after the chroot; NULL: leave it */
    orch_t *orch;
    ev_io accept_io;
    ctl_conn_t conn[CTL_CLIENTS_MAX];
    ctl_note_t notes[CTL_NOTES_MAX];
    int nnotes;
};

/* ---- binding ---- */

static int lookup_uid(const char *s, uid_t *out)
{
    long long n;
    if (parse_num(s, 0, 0x7fffffff, &n) == 0) {
        *out = (uid_t)n;
        return 0;
    }
    struct passwd *pw = getpwnam(s);
    if (!pw) {
        return DNSD_ENOTFOUND;
    }
    *out = pw->pw_uid;
    return 0;
}

static int lookup_gid(const char *s, gid_t *out)
{
    long long n;
    if (parse_num(s, 0, 0x7fffffff, &n) == 0) {
        *out = (gid_t)n;
        return 0;
    }
    struct group *gr = getgrnam(s);
    if (!gr) {
        return DNSD_ENOTFOUND;
    }
    *out = gr->gr_gid;
    return 0;
}

/* Something is at @p path: remove it if it is a socket nobody listens on
 * (a dnsd that died); refuse a live one and anything that is not a socket. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, diag_t *d)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) {
            return 0;
        }
        diag_set(d, "", 0, "control-socket %s: %s", path, strerror(errno));
        return DNSD_ECONFIG;
    }
    if (!S_ISSOCK(st.st_mode)) {
        diag_set(d, "", 0, "control-socket %s exists and is not a socket: not removing it", path);
        return DNSD_ECONFIG;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        diag_set(d, "", 0, "control-socket %s: socket: %s", path, strerror(errno));
        return DNSD_ECONFIG;
    }
    int rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    int e = errno;
    close(fd);
    if (rc == 0) {
        diag_set(d, "", 0, "another dnsd is listening on control socket %s: not starting", path);
        return DNSD_ECONFIG;
    }
    if (e != ECONNREFUSED) {
        diag_set(d, "", 0, "control-socket %s: cannot tell whether it is in use: %s", path,
                 strerror(e));
        return DNSD_ECONFIG;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        diag_set(d, "", 0, "control-socket %s: cannot remove the stale socket: %s", path,
                 strerror(errno));
        return DNSD_ECONFIG;
    }
    log_info("control socket %s: removed a stale socket (nobody answered on it)", path);
    return 0;
}

int ctl_bind(const config_t *c, ctl_sock_t **out, diag_t *d)
{
    *out = NULL;
    if (!c->control_socket[0]) {
        return 0;
    }
    const char *path = c->control_socket;
    uid_t uid = c->user[0] ? c->uid : geteuid();
    gid_t gid = c->user[0] ? c->gid : getegid();
    if (c->control_socket_owner[0] && lookup_uid(c->control_socket_owner, &uid) != 0) {
        diag_set(d, "", 0, "control-socket-owner: no user \"%s\"", c->control_socket_owner);
        return DNSD_ECONFIG;
    }
    if (c->control_socket_group[0] && lookup_gid(c->control_socket_group, &gid) != 0) {
        diag_set(d, "", 0, "control-socket-group: no group \"%s\"", c->control_socket_group);
        return DNSD_ECONFIG;
    }
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path); /* config.c checked the length */
    if (clear_stale(path, &sa, d) != 0) {
        return DNSD_ECONFIG;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        diag_set(d, "", 0, "control-socket %s: socket: %s", path, strerror(errno));
        return DNSD_ECONFIG;
    }
    /* made with no permission at all, then opened up once owner and group
     * are right: nobody else gets in between bind and chmod */
    mode_t old = umask(0777);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = errno;
    umask(old);
    if (rc != 0) {
        diag_set(d, "", 0, "cannot bind control socket %s: %s%s", path, strerror(e),
                 e == ENOENT ? " (make its directory first; under systemd: RuntimeDirectory=dnsd)"
                             : "");
        close(fd);
        return DNSD_ECONFIG;
    }
    const char *step = "chown";
    if (((uid != geteuid() || gid != getegid()) && chown(path, uid, gid) != 0) ||
        (step = "chmod", chmod(path, c->control_socket_mode) != 0) ||
        (step = "listen", listen(fd, CTL_CLIENTS_MAX) != 0)) {
        e = errno;
        diag_set(d, "", 0, "control socket %s: %s (owner %u, group %u, mode %04o): %s", path, step,
                 (unsigned)uid, (unsigned)gid, c->control_socket_mode, strerror(e));
        unlink(path);
        close(fd);
        return DNSD_ECONFIG;
    }
    ctl_sock_t *cs = xcalloc(1, sizeof(*cs));
    cs->fd = fd;
    snprintf(cs->path, sizeof(cs->path), "%s", path);
    /* removed at exit from where we then are: inside the chroot, if any */
    const char *inside = config_in_chroot(c, cs->path);
    cs->unlink_path = c->chroot[0] && inside == cs->path ? NULL : inside;
    for (int i = 0; i < CTL_CLIENTS_MAX; i++) {
        cs->conn[i].fd = -1;
        cs->conn[i].cs = cs;
    }
    log_info("control socket %s (owner %u, group %u, mode %04o)", path, (unsigned)uid,
             (unsigned)gid, c->control_socket_mode);
    *out = cs;
    return 0;
}

void ctl_note_listen(ctl_sock_t *cs, const char *kind, const char *text, uint16_t port)
{
    if (!cs || cs->nnotes == CTL_NOTES_MAX) {
        return;
    }
    ctl_note_t *n = &cs->notes[cs->nnotes++];
    snprintf(n->kind, sizeof(n->kind), "%s", kind);
    snprintf(n->text, sizeof(n->text), "%s", text);
    n->port = port;
}

const char *ctl_path(const ctl_sock_t *cs)
{
    return cs ? cs->path : "";
}

/* ---- answers ---- */

static const char *level_name(int l)
{
    static const char *const n[] = {"error", "warning", "info", "debug"};
    return n[l & 3];
}

static json_t *reply_error(const char *text)
{
    return json_pack("{s:b, s:s}", "ok", 0, "error", text);
}

/* the MMDB behind the geo snapshot: path, file age, build time and type */
static json_t *status_geo(orch_t *o, time_t now)
{
    const config_t *cfg = o->srv->cfg;
    const geo_state_t *g = snap_current(&o->srv->geo);
    json_t *geo = json_pack("{s:I}", "regions", (json_int_t)(g ? g->nregions : 0));
    if (g && g->table) {
        size_t v4 = 0, v6 = 0;
        geo_table_stats(g->table, &v4, &v6);
        json_object_set_new(geo, "ipv4_ranges", json_integer((json_int_t)v4));
        json_object_set_new(geo, "ipv6_ranges", json_integer((json_int_t)v6));
    }
    if (!cfg->geo_db[0]) {
        json_object_set_new(geo, "database", json_null());
        return geo;
    }
    const char *path = config_in_chroot(cfg, cfg->geo_db);
    json_object_set_new(geo, "database", json_string(cfg->geo_db));
    if (o->geo_seen.st_mtime) {
        /* the file the serving snapshot was built from */
        json_object_set_new(geo, "file_mtime", json_integer((json_int_t)o->geo_seen.st_mtime));
        json_object_set_new(geo, "file_age_s",
                            json_integer((json_int_t)(now - o->geo_seen.st_mtime)));
    }
    MMDB_s db;
    if (MMDB_open(path, MMDB_MODE_MMAP, &db) == MMDB_SUCCESS) {
        json_object_set_new(geo, "build_epoch", json_integer((json_int_t)db.metadata.build_epoch));
        json_object_set_new(geo, "build_age_s",
                            json_integer((json_int_t)now - (json_int_t)db.metadata.build_epoch));
        if (db.metadata.database_type) {
            json_object_set_new(geo, "type", json_string(db.metadata.database_type));
        }
        MMDB_close(&db);
    }
    return geo;
}

typedef struct cert_sum {
    long long count, valid, failed, pending;
    long long next_expiry;
    char next_id[ACME_CERT_ID_MAX + 1];
} cert_sum_t;

static int cert_cb(const char *key, json_t *v, void *arg)
{
    cert_sum_t *cs = arg;
    json_t *state = json_object_get(v, "state");
    const char *status = acme_js(state, "status");
    cs->count++;
    if (strcmp(status, "valid") == 0) {
        cs->valid++;
    } else if (strcmp(status, "failed") == 0) {
        cs->failed++;
    } else if (strcmp(status, "revoked") != 0) {
        cs->pending++; /* pending, ordering, or no state yet */
    }
    long long na = acme_ji(json_object_get(state, "cert"), "not_after");
    if (na > 0 && (cs->next_expiry == 0 || na < cs->next_expiry)) {
        cs->next_expiry = na;
        snprintf(cs->next_id, sizeof(cs->next_id), "%s", key + strlen(ACME_DB_CERT));
    }
    return 0;
}

/* store facts: generation, zones, certificates; errors become members */
static void status_store(orch_t *o, json_t *st, time_t now)
{
    zs_store_t *s = o->srv->store;
    MDB_txn *txn = NULL;
    int err = zs_read_begin(s, &txn);
    if (err) {
        json_object_set_new(st, "store_error", json_string(dnsd_strerror(err)));
        return;
    }
    uint64_t gen = 0;
    if (zs_generation(s, txn, &gen) == 0) {
        json_object_set_new(st, "store_generation", json_integer((json_int_t)gen));
    }
    MDB_stat ms;
    if (mdb_stat(txn, s->zones, &ms) == 0) {
        json_object_set_new(st, "zones", json_integer((json_int_t)ms.ms_entries));
    }
    cert_sum_t cs;
    memset(&cs, 0, sizeof(cs));
    err = acme_db_foreach(s, txn, ACME_DB_CERT, cert_cb, &cs);
    json_t *c = json_pack("{s:I, s:I, s:I, s:I}", "count", (json_int_t)cs.count, "valid",
                          (json_int_t)cs.valid, "failed", (json_int_t)cs.failed, "pending",
                          (json_int_t)cs.pending);
    if (err) {
        json_object_set_new(c, "error", json_string(dnsd_strerror(err)));
    }
    if (cs.next_expiry) {
        json_object_set_new(c, "next_expiry", json_integer((json_int_t)cs.next_expiry));
        json_object_set_new(c, "next_expiry_id", json_string(cs.next_id));
        json_object_set_new(c, "next_expiry_in_s",
                            json_integer((json_int_t)(cs.next_expiry - (long long)now)));
    }
    json_object_set_new(st, "certificates", c);
    zs_read_end(s, txn);
}

static json_t *answer_status(ctl_sock_t *cs)
{
    orch_t *o = cs->orch;
    const config_t *cfg = o->srv->cfg;
    time_t now = time(NULL);
    double up = ev_now(o->loop) - o->started;
    json_t *st = json_pack("{s:b, s:s, s:I, s:f, s:I, s:i, s:s, s:s, s:s}", "ok", 1, "version",
                           PACKAGE_VERSION, "pid", (json_int_t)getpid(), "uptime_s", up,
                           "started", (json_int_t)(now - (time_t)up), "workers",
                           o->srv->nworkers, "store", cfg->store, "log_level",
                           level_name(log_level), "control_socket", cs->path);
    json_object_set_new(st, "user", json_string(cfg->user));
    json_object_set_new(st, "cluster", cfg->cluster_on ? json_string(cfg->cluster.node)
                                                       : json_null());
    json_t *ls = json_array();
    for (int i = 0; i < cs->nnotes; i++) {
        json_array_append_new(ls, json_pack("{s:s, s:s, s:i}", "kind", cs->notes[i].kind,
                                            "address", cs->notes[i].text, "port",
                                            (int)cs->notes[i].port));
    }
    json_object_set_new(st, "listen", ls);
    json_object_set_new(st, "geo", status_geo(o, now));
    status_store(o, st, now);
    return st;
}

static json_t *answer_stats(ctl_sock_t *cs)
{
    orch_t *o = cs->orch;
    stats_total_t tot;
    stats_collect(o->srv, &tot);
    json_t *ctr = json_object();
    for (int i = 0; i < CTR_N; i++) {
        json_object_set_new(ctr, counter_defs[i].name, json_integer((json_int_t)tot.v[i]));
    }
    return json_pack("{s:b, s:f, s:o}", "ok", 1, "uptime_s", ev_now(o->loop) - o->started,
                     "counters", ctr);
}

static json_t *reply(ctl_conn_t *c, const ctl_req_t *r)
{
    ctl_sock_t *cs = c->cs;
    switch (r->cmd) {
    case CTL_CMD_STATUS:
        return answer_status(cs);
    case CTL_CMD_STATS:
        return answer_stats(cs);
    case CTL_CMD_RELOAD: {
        char msg[1200];
        log_info("control: reload asked by uid %u (pid %ld)", (unsigned)c->peer.uid,
                 (long)c->peer.pid);
        if (orch_reload(cs->orch, "dnsctl reload", msg, sizeof(msg)) != 0) {
            return reply_error(msg);
        }
        return json_pack("{s:b, s:s}", "ok", 1, "message", msg);
    }
    case CTL_CMD_LOG_LEVEL: {
        int old = log_level;
        /* a plain int every thread reads before it formats: the next line
         * anyone logs uses the new level; a reload sets log-level again */
        log_level = r->level;
        int shown = old < r->level ? old : r->level; /* seen at both levels */
        if (shown >= LOG_LVL_INFO) {
            log_info("control: log level %s -> %s (uid %u)", level_name(old),
                     level_name(r->level), (unsigned)c->peer.uid);
        } else {
            log_warn("control: log level %s -> %s (uid %u)", level_name(old),
                     level_name(r->level), (unsigned)c->peer.uid);
        }
        return json_pack("{s:b, s:s, s:s}", "ok", 1, "old", level_name(old), "new",
                         level_name(r->level));
    }
    }
    return reply_error("internal: unknown command");
}

/* ---- connections ---- */

static void conn_close(ctl_conn_t *c)
{
    struct ev_loop *loop = c->cs->orch->loop;
    ev_io_stop(loop, &c->io);
    ev_timer_stop(loop, &c->deadline);
    close(c->fd);
    c->fd = -1;
    free(c->out);
    c->out = NULL;
    c->draining = false;
}

/* The answer is out: half-close, then read and drop what the client still
 * sends until it closes (bounded by CTL_DRAIN_MAX and the deadline). Closing
 * with unread bytes would reset the connection, and the client could lose
 * the answer (an oversized request, or bytes after the newline). */
static void conn_drain(ctl_conn_t *c)
{
    if (!c->draining) {
        c->draining = true;
        c->drained = 0;
        shutdown(c->fd, SHUT_WR);
        struct ev_loop *loop = c->cs->orch->loop;
        ev_io_stop(loop, &c->io);
        ev_io_set(&c->io, c->fd, EV_READ);
        ev_io_start(loop, &c->io);
    }
    char junk[4096];
    for (;;) {
        ssize_t n = recv(c->fd, junk, sizeof(junk), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n <= 0 || (c->drained += (size_t)n) > CTL_DRAIN_MAX) {
            conn_close(c);
            return;
        }
    }
}

static void conn_write(ctl_conn_t *c)
{
    while (c->outoff < c->outlen) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return; /* the watcher waits for room */
            }
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        c->outoff += (size_t)n;
    }
    if (c->outoff < c->outlen) {
        conn_close(c); /* the client went away */
    } else {
        conn_drain(c);
    }
}

/* the answer to the request in c->in[0..len): switch the connection to writing */
static void conn_answer(ctl_conn_t *c, size_t len, bool cut)
{
    ctl_req_t r;
    char err[256];
    json_t *a;
    if (cut) {
        snprintf(err, sizeof(err), "request longer than %d bytes", CTL_REQ_MAX - 1);
        a = reply_error(err);
    } else if (ctl_req_parse(c->in, len, &r, err, sizeof(err)) != 0) {
        a = reply_error(err);
    } else {
        log_debug("control: %s from uid %u (pid %ld)", ctl_cmd_name(r.cmd), (unsigned)c->peer.uid,
                  (long)c->peer.pid);
        a = reply(c, &r);
    }
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    if (!text) {
        conn_close(c);
        return;
    }
    size_t tl = strlen(text);
    c->out = xmalloc(tl + 2);
    memcpy(c->out, text, tl);
    c->out[tl] = '\n';
    c->outlen = tl + 1;
    c->outoff = 0;
    free(text);
    struct ev_loop *loop = c->cs->orch->loop;
    ev_io_stop(loop, &c->io);
    ev_io_set(&c->io, c->fd, EV_WRITE);
    ev_io_start(loop, &c->io);
    conn_write(c);
}

static void conn_read(ctl_conn_t *c)
{
    for (;;) {
        if (c->inlen == sizeof(c->in)) {
            conn_answer(c, 0, true); /* no newline in CTL_REQ_MAX bytes */
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }
            if (errno == EINTR) {
                continue;
            }
            conn_close(c);
            return;
        }
        if (n == 0) {
            /* the client shut its side: what it sent is the request */
            if (c->inlen == 0) {
                conn_close(c);
            } else {
                conn_answer(c, c->inlen, false);
            }
            return;
        }
        char *nl = memchr(c->in + c->inlen, '\n', (size_t)n);
        c->inlen += (size_t)n;
        if (nl) {
            conn_answer(c, (size_t)(nl - c->in), false); /* bytes after it are ignored */
            return;
        }
    }
}

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    ctl_conn_t *c = w->data;
    (void)loop;
    (void)revents;
    if (c->draining) {
        conn_drain(c);
    } else if (c->out) {
        conn_write(c);
    } else {
        conn_read(c);
    }
}

static void deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    ctl_conn_t *c = t->data;
    (void)loop;
    (void)revents;
    log_debug("control: connection from uid %u closed after %.0f s", (unsigned)c->peer.uid,
              CTL_TIMEOUT_S);
    conn_close(c);
}

/* a slot for a new connection: a free one, else the oldest still reading */
static ctl_conn_t *conn_slot(ctl_sock_t *cs)
{
    ctl_conn_t *victim = NULL;
    for (int i = 0; i < CTL_CLIENTS_MAX; i++) {
        ctl_conn_t *c = &cs->conn[i];
        if (c->fd < 0) {
            return c;
        }
        bool idle = !c->out || c->draining; /* not waiting for room to write an answer */
        if (idle && (!victim || c->opened < victim->opened)) {
            victim = c;
        }
    }
    if (victim) {
        log_debug("control: %d connections open: dropping the oldest idle one (uid %u)",
                  CTL_CLIENTS_MAX, (unsigned)victim->peer.uid);
        conn_close(victim);
    }
    return victim;
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    ctl_sock_t *cs = w->data;
    (void)revents;
    for (int k = 0; k < CTL_ACCEPT_BATCH; k++) {
        int fd = accept4(cs->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED) {
                log_warn("control socket %s: accept: %s", cs->path, strerror(errno));
            }
            return;
        }
        ctl_conn_t *c = conn_slot(cs);
        if (!c) {
            close(fd); /* every slot is writing an answer: come back later */
            continue;
        }
        c->fd = fd;
        c->inlen = 0;
        c->opened = ev_now(loop);
        socklen_t pl = sizeof(c->peer);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &pl) != 0) {
            memset(&c->peer, 0, sizeof(c->peer));
            c->peer.uid = (uid_t)-1;
        }
        ev_io_init(&c->io, conn_cb, fd, EV_READ);
        c->io.data = c;
        ev_io_start(loop, &c->io);
        ev_timer_init(&c->deadline, deadline_cb, CTL_TIMEOUT_S, 0);
        c->deadline.data = c;
        ev_timer_start(loop, &c->deadline);
    }
}

void ctl_start(ctl_sock_t *cs, orch_t *o)
{
    if (!cs) {
        return;
    }
    cs->orch = o;
    ev_io_init(&cs->accept_io, accept_cb, cs->fd, EV_READ);
    cs->accept_io.data = cs;
    ev_io_start(o->loop, &cs->accept_io);
}

void ctl_free(ctl_sock_t *cs)
{
    if (!cs) {
        return;
    }
    for (int i = 0; i < CTL_CLIENTS_MAX; i++) {
        if (cs->conn[i].fd >= 0) {
            conn_close(&cs->conn[i]);
        }
    }
    if (cs->orch) {
        ev_io_stop(cs->orch->loop, &cs->accept_io);
    }
    close(cs->fd);
    if (!cs->unlink_path) {
        log_info("control socket %s is outside the chroot: not removed", cs->path);
    } else if (unlink(cs->unlink_path) != 0 && errno != ENOENT) {
        log_info("cannot remove control socket %s: %s", cs->path, strerror(errno));
    }
    free(cs);
}
