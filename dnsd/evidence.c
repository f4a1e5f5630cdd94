/* SPDX-License-Identifier: MIT */
/*
 * evidence.c -- see evidence.h. Two threads: the receiver (when a syslog
 * port or the evidence socket is set) polls them and the socket's
 * connections; the prober (from the first running rollout on) runs the TLS
 * probes of acme/tlsprobe.h every rollout-probe-interval, one at a time,
 * each bounded, so a dead load balancer costs it time but never the
 * receiver. Both append through evidence_add(); one mutex guards the
 * load-balancer map and the rings (the ACME thread's evidence_fn takes it
 * too; no query worker ever does).
 */
#include "config.h"

#include "dnsd/evidence.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "acme/certdb.h"
#include "acme/shard.h"
#include "acme/tlsprobe.h"
#include "zones/base/clock.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"

#define PROBE_TIMEOUT_MS 3000
#define MALFORMED_LOG_MS 10000 /* at most one log line about bad input per 10 s */
#define MATCH_MAX        64

_Atomic uint64_t evidence_counts[REV_SRC_PROBE + 1][EV_R_N];
const char *const evidence_source_names[REV_SRC_PROBE + 1] = {"", "syslog", "json", "beacon",
                                                              "probe"};
const char *const evidence_result_names[EV_R_N] = {"ok", "fail", "malformed", "unmatched"};

/* one load balancer of one shard's pool */
typedef struct lbent {
    struct sockaddr_storage lb;
    char id[2 * ACME_CERT_ID_MAX + 2];
    int pool;
    char **names; /* the shard's names (SNI match when several shards share the address) */
    int nnames;
} lbent_t;

/* a probe of the current round: a load balancer of a running rollout */
typedef struct target {
    struct sockaddr_storage lb;
    char sni[256];
} target_t;

typedef struct ring {
    char id[2 * ACME_CERT_ID_MAX + 2];
    int pool;
    rev_sample_t *buf; /* EVIDENCE_RING */
    size_t head, n;
    uint64_t nok, nfail; /* appended since the ring was made (metrics) */
} ring_t;

typedef struct client {
    int fd;
    bool skipping; /* inside an over-long line: dropped up to its newline */
    size_t len;
    char buf[REV_LINE_MAX + 1];
} client_t;

struct evidence {
    int udp[CONF_LISTEN_MAX];
    uint16_t udp_port[CONF_LISTEN_MAX];
    int nudp;
    int lfd; /* the evidence socket; -1: none */
    char path[108];
    const char *unlink_path;
    client_t cl[EVIDENCE_CLIENTS];
    int wake[2];
    unsigned probe_interval_s;
    char probe_ca[4096];
    zs_store_t *store;
    pthread_t rx, pr;
    bool rx_on, pr_on;
    atomic_bool stop;
    char dgram[65536];

    pthread_mutex_t mu; /* everything below */
    bool have_gen;
    uint64_t gen;
    lbent_t *map;
    int nmap;
    target_t *targets;
    int ntargets;
    ring_t *rings;
    int nrings;
    int64_t last_t;
    long long bad_log_ms;
    unsigned bad_suppressed;
};

/* ---- the load-balancer map, from the store's shard requests ---- */

static void map_free(lbent_t *m, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < m[i].nnames; k++) {
            free(m[i].names[k]);
        }
        free(m[i].names);
    }
    free(m);
}

typedef struct build {
    zs_store_t *s;
    MDB_txn *txn;
    lbent_t *map;
    int nmap, capmap;
    target_t *t;
    int nt, capt;
} build_t;

static void add_pool(build_t *b, const char *id, json_t *names, json_t *lbs, int pool, bool probe,
                     const char *sni)
{
    size_t i;
    json_t *x;
    json_array_foreach(lbs, i, x)
    {
        struct sockaddr_storage ss;
        if (!json_is_string(x) || acme_shard_lb_parse(json_string_value(x), &ss) != 0) {
            continue; /* dnsctl checked them; a damaged entry maps nothing */
        }
        if (b->nmap == b->capmap) {
            b->capmap = b->capmap ? 2 * b->capmap : 16;
            b->map = xrealloc(b->map, (size_t)b->capmap * sizeof(*b->map));
        }
        lbent_t *e = &b->map[b->nmap++];
        memset(e, 0, sizeof(*e));
        e->lb = ss;
        snprintf(e->id, sizeof(e->id), "%s", id);
        e->pool = pool;
        size_t nn = json_array_size(names);
        e->names = xcalloc(nn ? nn : 1, sizeof(char *));
        for (size_t k = 0; k < nn; k++) {
            const char *n = json_string_value(json_array_get(names, k));
            if (n) {
                e->names[e->nnames++] = xstrdup(n);
            }
        }
        if (probe) {
            if (b->nt == b->capt) {
                b->capt = b->capt ? 2 * b->capt : 16;
                b->t = xrealloc(b->t, (size_t)b->capt * sizeof(*b->t));
            }
            b->t[b->nt].lb = ss;
            snprintf(b->t[b->nt].sni, sizeof(b->t[b->nt].sni), "%s", sni);
            b->nt++;
        }
    }
}

static int build_cb(const char *key, json_t *v, void *arg)
{
    build_t *b = arg;
    const char *id = key + strlen(ACME_DB_CERT);
    json_t *req = json_object_get(v, "req");
    json_t *sh = acme_shard_of(req);
    if (!sh) {
        return 0;
    }
    json_t *names = json_object_get(req, "names");
    /* probes only while the shard's rollout runs (acme/rollout.h) */
    bool running = false;
    char rkey[sizeof(ACME_DB_ROLLOUT) + 2 * ACME_CERT_ID_MAX + 2];
    snprintf(rkey, sizeof(rkey), "%s%s", ACME_DB_ROLLOUT, id);
    json_t *ro = NULL;
    if (acme_db_get(b->s, b->txn, rkey, &ro) == 0) {
        running = strcmp(acme_js(json_object_get(ro, "state"), "status"), "running") == 0;
        json_decref(ro);
    }
    /* SNI: the first name; a wildcard's with a label of ours */
    char sni[256] = "";
    const char *first = json_string_value(json_array_get(names, 0));
    if (first) {
        snprintf(sni, sizeof(sni), "%s%s", strncmp(first, "*.", 2) == 0 ? "dnsd-probe" : "",
                 strncmp(first, "*.", 2) == 0 ? first + 1 : first);
    }
    add_pool(b, id, names, json_object_get(sh, "lb"), ACME_POOL_STABLE, running, sni);
    add_pool(b, id, names, json_object_get(sh, "canary_lb"), ACME_POOL_CANARY, running, sni);
    return 0;
}

static void *pr_main(void *arg);

/*
 * The prober thread starts with the first running rollout a refresh finds
 * (the controller's evidence_fn calls, a sample, the receiver's tick): a
 * dnsd without rollouts has no thread for them. Called with mu held.
 */
static void start_prober(evidence_t *ev)
{
    if (ev->pr_on || ev->ntargets == 0 || ev->probe_interval_s == 0 || atomic_load(&ev->stop)) {
        return;
    }
    int e = pthread_create(&ev->pr, NULL, pr_main, ev);
    if (e) {
        log_err("rollout evidence: cannot start the prober: %s", strerror(e));
        ev->probe_interval_s = 0; /* said once */
        return;
    }
    ev->pr_on = true;
    log_info("rollout evidence: probing the load balancers of running rollouts every %u s",
             ev->probe_interval_s);
}

/* rebuild the map when the store's generation moved; called with mu held */
static void refresh(evidence_t *ev)
{
    MDB_txn *txn = NULL;
    if (!ev->store || zs_read_begin(ev->store, &txn) != 0) {
        return; /* a resize under way: next time */
    }
    uint64_t gen = 0;
    if (zs_generation(ev->store, txn, &gen) != 0 || (ev->have_gen && gen == ev->gen)) {
        zs_read_end(ev->store, txn);
        return;
    }
    build_t b = {ev->store, txn, NULL, 0, 0, NULL, 0, 0};
    acme_db_foreach(ev->store, txn, ACME_DB_CERT, build_cb, &b);
    zs_read_end(ev->store, txn);
    map_free(ev->map, ev->nmap);
    free(ev->targets);
    ev->map = b.map;
    ev->nmap = b.nmap;
    ev->targets = b.t;
    ev->ntargets = b.nt;
    ev->gen = gen;
    ev->have_gen = true;
    start_prober(ev);
    /* the rings of shards and pools that are gone go too */
    for (int r = 0; r < ev->nrings;) {
        bool keep = false;
        for (int i = 0; i < ev->nmap && !keep; i++) {
            keep = ev->map[i].pool == ev->rings[r].pool && strcmp(ev->map[i].id, ev->rings[r].id) == 0;
        }
        if (keep) {
            r++;
            continue;
        }
        free(ev->rings[r].buf);
        ev->rings[r] = ev->rings[--ev->nrings];
    }
}

static bool same_lb(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) {
        return false;
    }
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

/* a TLS server name against a shard name ("*.example.com" covers one label) */
static bool name_match(const char *name, const char *sni)
{
    if (strcasecmp(name, sni) == 0) {
        return true;
    }
    if (strncmp(name, "*.", 2) == 0) {
        const char *dot = strchr(sni, '.');
        return dot && dot != sni && strcasecmp(dot + 1, name + 2) == 0;
    }
    return false;
}

static ring_t *ring_of(evidence_t *ev, const char *id, int pool, bool create)
{
    for (int r = 0; r < ev->nrings; r++) {
        if (ev->rings[r].pool == pool && strcmp(ev->rings[r].id, id) == 0) {
            return &ev->rings[r];
        }
    }
    if (!create) {
        return NULL;
    }
    ev->rings = xrealloc(ev->rings, (size_t)(ev->nrings + 1) * sizeof(*ev->rings));
    ring_t *r = &ev->rings[ev->nrings++];
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->pool = pool;
    r->buf = xcalloc(EVIDENCE_RING, sizeof(*r->buf));
    return r;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void evidence_add(evidence_t *ev, rev_sample_t *s)
{
    uint8_t src = s->source <= REV_SRC_PROBE ? s->source : REV_SRC_JSON;
    pthread_mutex_lock(&ev->mu);
    refresh(ev);
    /* strictly increasing stamps: "after since_ms" never loses or repeats a sample */
    int64_t now = wall_ms();
    s->t_ms = now > ev->last_t ? now : ev->last_t + 1;
    ev->last_t = s->t_ms;
    int m[MATCH_MAX], nm = 0;
    for (int i = 0; i < ev->nmap && nm < MATCH_MAX; i++) {
        if (same_lb(&ev->map[i].lb, &s->lb)) {
            m[nm++] = i;
        }
    }
    if (nm > 1 && s->sni[0]) {
        /* one load balancer in several shards: the server name picks */
        int k = 0;
        for (int j = 0; j < nm; j++) {
            const lbent_t *e = &ev->map[m[j]];
            bool hit = false;
            for (int x = 0; x < e->nnames && !hit; x++) {
                hit = name_match(e->names[x], s->sni);
            }
            if (hit) {
                m[k++] = m[j];
            }
        }
        nm = k;
    }
    for (int j = 0; j < nm; j++) {
        ring_t *r = ring_of(ev, ev->map[m[j]].id, ev->map[m[j]].pool, true);
        if (r->n == EVIDENCE_RING) {
            r->head = (r->head + 1) % EVIDENCE_RING; /* the oldest goes */
            r->n--;
        }
        r->buf[(r->head + r->n) % EVIDENCE_RING] = *s;
        r->n++;
        *(s->ok ? &r->nok : &r->nfail) += 1;
    }
    pthread_mutex_unlock(&ev->mu);
    int res = nm == 0 ? EV_R_UNMATCHED : s->ok ? EV_R_OK : EV_R_FAIL;
    atomic_fetch_add_explicit(&evidence_counts[src][res], 1, memory_order_relaxed);
}

size_t evidence_fn(void *arg, const char *shard_id, int pool, int64_t since_ms, rev_sample_t *out,
                   size_t max)
{
    evidence_t *ev = arg;
    size_t n = 0;
    if (!ev) {
        return 0;
    }
    pthread_mutex_lock(&ev->mu);
    refresh(ev);
    ring_t *r = ring_of(ev, shard_id, pool, false);
    for (size_t i = 0; r && i < r->n && n < max; i++) {
        const rev_sample_t *s = &r->buf[(r->head + i) % EVIDENCE_RING];
        if (s->t_ms > since_ms) {
            out[n++] = *s;
        }
    }
    pthread_mutex_unlock(&ev->mu);
    return n;
}

static evidence_t *running; /* the one evidence_start()ed, for the metrics */
static pthread_mutex_t running_mu = PTHREAD_MUTEX_INITIALIZER;

void evidence_rings(void (*cb)(void *arg, const char *id, int pool, uint64_t ok, uint64_t fail),
                    void *arg)
{
    pthread_mutex_lock(&running_mu);
    evidence_t *ev = running;
    if (ev) {
        pthread_mutex_lock(&ev->mu);
        for (int r = 0; r < ev->nrings; r++) {
            cb(arg, ev->rings[r].id, ev->rings[r].pool, ev->rings[r].nok, ev->rings[r].nfail);
        }
        pthread_mutex_unlock(&ev->mu);
    }
    pthread_mutex_unlock(&running_mu);
}

/* ---- the receiver ---- */

static void bad_input(evidence_t *ev, uint8_t src, const char *what, const char *why)
{
    atomic_fetch_add_explicit(&evidence_counts[src][EV_R_MALFORMED], 1, memory_order_relaxed);
    pthread_mutex_lock(&ev->mu);
    long long now = clock_mono_ms();
    bool say = ev->bad_log_ms == 0 || now - ev->bad_log_ms >= MALFORMED_LOG_MS;
    unsigned before = ev->bad_suppressed;
    if (say) {
        ev->bad_log_ms = now;
        ev->bad_suppressed = 0;
    } else {
        ev->bad_suppressed++;
    }
    pthread_mutex_unlock(&ev->mu);
    if (say) {
        log_warn("rollout evidence: malformed %s: %s%s", what, why,
                 before ? " (and more not logged: see dnsd_rollout_evidence_total)" : "");
    }
}

static void on_syslog(evidence_t *ev, int fd)
{
    for (int k = 0; k < 256; k++) { /* bounded: the others get their turn */
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, ev->dgram, sizeof(ev->dgram), MSG_DONTWAIT,
                             (struct sockaddr *)&from, &fl);
        if (n < 0) {
            return;
        }
        rev_sample_t s;
        char why[200];
        int rc = rev_parse_syslog(ev->dgram, (size_t)n, &s, why, sizeof(why));
        if (rc == 0) {
            evidence_add(ev, &s);
        } else if (rc < 0) {
            char a[INET6_ADDRSTRLEN] = "?";
            const void *ip = from.ss_family == AF_INET
                                 ? (const void *)&((struct sockaddr_in *)&from)->sin_addr
                                 : (const void *)&((struct sockaddr_in6 *)&from)->sin6_addr;
            inet_ntop(from.ss_family, ip, a, sizeof(a));
            char what[80];
            snprintf(what, sizeof(what), "syslog datagram from %s", a);
            bad_input(ev, REV_SRC_SYSLOG, what, why);
        }
    }
}

static void on_line(evidence_t *ev, const char *line, size_t len)
{
    if (len == 0 || (len == 1 && line[0] == '\r')) {
        return; /* an empty line: nothing said */
    }
    rev_sample_t s;
    char why[200];
    if (rev_parse_json(line, len, &s, why, sizeof(why)) == 0) {
        evidence_add(ev, &s);
    } else {
        bad_input(ev, REV_SRC_JSON, "evidence socket line", why);
    }
}

static void client_close(client_t *c)
{
    close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->skipping = false;
}

static void on_client(evidence_t *ev, client_t *c)
{
    ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            if (c->len && !c->skipping) {
                on_line(ev, c->buf, c->len); /* a last line without its newline */
            }
            client_close(c);
        }
        return;
    }
    c->len += (size_t)n;
    size_t start = 0;
    for (size_t i = 0; i < c->len; i++) {
        if (c->buf[i] != '\n') {
            continue;
        }
        if (!c->skipping) {
            on_line(ev, c->buf + start, i - start);
        }
        c->skipping = false;
        start = i + 1;
    }
    memmove(c->buf, c->buf + start, c->len - start);
    c->len -= start;
    if (c->len == sizeof(c->buf)) {
        /* REV_LINE_MAX + 1 bytes and no newline: refused, the rest of it dropped */
        if (!c->skipping) {
            char why[80];
            snprintf(why, sizeof(why), "line longer than %d bytes", REV_LINE_MAX);
            bad_input(ev, REV_SRC_JSON, "evidence socket line", why);
        }
        c->skipping = true;
        c->len = 0;
    }
}

static void *rx_main(void *arg)
{
    evidence_t *ev = arg;
    struct pollfd p[1 + CONF_LISTEN_MAX + 1 + EVIDENCE_CLIENTS];
    int who[sizeof(p) / sizeof(p[0])]; /* -1 wake, 0..: udp, 100: listen, 200+: client */
    while (!atomic_load(&ev->stop)) {
        int n = 0;
        p[n] = (struct pollfd){ev->wake[0], POLLIN, 0};
        who[n++] = -1;
        for (int i = 0; i < ev->nudp; i++) {
            p[n] = (struct pollfd){ev->udp[i], POLLIN, 0};
            who[n++] = i;
        }
        if (ev->lfd >= 0) {
            p[n] = (struct pollfd){ev->lfd, POLLIN, 0};
            who[n++] = 100;
        }
        for (int i = 0; i < EVIDENCE_CLIENTS; i++) {
            if (ev->cl[i].fd >= 0) {
                p[n] = (struct pollfd){ev->cl[i].fd, POLLIN, 0};
                who[n++] = 200 + i;
            }
        }
        int pr = poll(p, (nfds_t)n, 1000);
        if (pr < 0 && errno != EINTR) {
            log_err("rollout evidence: poll: %s", strerror(errno));
            clock_sleep_ms(100);
            continue;
        }
        if (pr == 0) {
            /* a quiet second: follow the store (a rollout started: the prober) */
            pthread_mutex_lock(&ev->mu);
            refresh(ev);
            pthread_mutex_unlock(&ev->mu);
        }
        for (int i = 0; i < n; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)) || who[i] < 0) {
                continue;
            }
            if (who[i] < 100) {
                on_syslog(ev, ev->udp[who[i]]);
            } else if (who[i] == 100) {
                int fd = accept4(ev->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                int slot = -1;
                for (int k = 0; k < EVIDENCE_CLIENTS && slot < 0 && fd >= 0; k++) {
                    slot = ev->cl[k].fd < 0 ? k : -1;
                }
                if (fd >= 0 && slot < 0) {
                    log_warn("rollout evidence: %d connections already: one refused",
                             EVIDENCE_CLIENTS);
                    close(fd);
                } else if (fd >= 0) {
                    ev->cl[slot].fd = fd;
                }
            } else {
                on_client(ev, &ev->cl[who[i] - 200]);
            }
        }
    }
    return NULL;
}

/* ---- the prober ---- */

static void *pr_main(void *arg)
{
    evidence_t *ev = arg;
    long long next = clock_mono_ms(); /* a rollout has just started: its first round now */
    while (!atomic_load(&ev->stop)) {
        long long left = next - clock_mono_ms();
        if (left > 0) {
            struct pollfd p = {ev->wake[0], POLLIN, 0};
            poll(&p, 1, left > 1000 ? 1000 : (int)left);
            continue;
        }
        next += (long long)ev->probe_interval_s * 1000;
        pthread_mutex_lock(&ev->mu);
        refresh(ev);
        int nt = ev->ntargets;
        target_t *t = nt ? xmalloc((size_t)nt * sizeof(*t)) : NULL;
        if (nt) {
            memcpy(t, ev->targets, (size_t)nt * sizeof(*t));
        }
        pthread_mutex_unlock(&ev->mu);
        for (int i = 0; i < nt && !atomic_load(&ev->stop); i++) {
            for (int k = 0; k < TLSPROBE_NPROFILES && !atomic_load(&ev->stop); k++) {
                rev_sample_t s;
                if (tlsprobe_run(&t[i].lb, t[i].sni, tlsprobe_profiles[k],
                                 ev->probe_ca[0] ? ev->probe_ca : NULL, PROBE_TIMEOUT_MS, &s) == 0) {
                    evidence_add(ev, &s);
                }
            }
        }
        free(t);
        if (next < clock_mono_ms()) {
            next = clock_mono_ms() + (long long)ev->probe_interval_s * 1000; /* a long round */
        }
    }
    return NULL;
}

/* ---- set-up ---- */

static int bind_socket(const config_t *c, evidence_t *ev, diag_t *d)
{
    const char *path = c->rollout_evidence_socket;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            diag_set(d, "", 0, "rollout-evidence-socket %s exists and is not a socket: not removing it",
                     path);
            return DNSD_ECONFIG;
        }
        int t = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int rc = t >= 0 ? connect(t, (struct sockaddr *)&sa, sizeof(sa)) : -1;
        int e = errno;
        if (t >= 0) {
            close(t);
        }
        if (rc == 0) {
            diag_set(d, "", 0, "rollout-evidence-socket %s is in use (another process listens on it): "
                               "not starting", path);
            return DNSD_ECONFIG;
        }
        if (e != ECONNREFUSED) {
            diag_set(d, "", 0, "rollout-evidence-socket %s: cannot tell whether it is in use: %s", path,
                     strerror(e));
            return DNSD_ECONFIG;
        }
        unlink(path); /* stale: a dnsd that ended without removing it */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        diag_set(d, "", 0, "rollout-evidence-socket %s: socket: %s", path, strerror(errno));
        return DNSD_ECONFIG;
    }
    /* no permission at all until owner and mode are right */
    mode_t old = umask(0777);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = errno;
    umask(old);
    uid_t uid = c->user[0] ? c->uid : geteuid();
    gid_t gid = c->user[0] ? c->gid : getegid();
    const char *step = "bind";
    if (rc != 0 || (step = "chown", (uid != geteuid() || gid != getegid()) && chown(path, uid, gid) != 0) ||
        (step = "chmod", chmod(path, 0660) != 0) || (step = "listen", listen(fd, 16) != 0)) {
        e = rc != 0 ? e : errno;
        diag_set(d, "", 0, "rollout-evidence-socket %s: %s: %s", path, step, strerror(e));
        if (rc == 0) {
            unlink(path);
        }
        close(fd);
        return DNSD_ECONFIG;
    }
    ev->lfd = fd;
    snprintf(ev->path, sizeof(ev->path), "%s", path);
    const char *inside = config_in_chroot(c, ev->path);
    ev->unlink_path = c->chroot[0] && inside == ev->path ? NULL : inside;
    log_info("rollout evidence: JSON lines on %s (mode 0660)", path);
    return 0;
}

int evidence_bind(const config_t *c, evidence_t **out, diag_t *d)
{
    *out = NULL;
    if (c->nrollout_syslog_listen == 0 && !c->rollout_evidence_socket[0] &&
        c->rollout_probe_interval_s == 0) {
        return 0;
    }
    evidence_t *ev = xcalloc(1, sizeof(*ev));
    ev->lfd = -1;
    ev->wake[0] = ev->wake[1] = -1;
    for (int i = 0; i < EVIDENCE_CLIENTS; i++) {
        ev->cl[i].fd = -1;
    }
    pthread_mutex_init(&ev->mu, NULL);
    ev->probe_interval_s = c->rollout_probe_interval_s;
    snprintf(ev->probe_ca, sizeof(ev->probe_ca), "%s", config_in_chroot(c, c->rollout_probe_ca));
    for (int i = 0; i < c->nrollout_syslog_listen; i++) {
        const conf_listen_t *l = &c->rollout_syslog_listen[i];
        int fd = socket(l->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd >= 0 && l->ss.ss_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        }
        /* bursts of handshakes arrive faster than one thread may read them for a moment */
        int rcv = 4 << 20;
        if (fd >= 0) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
        }
        if (fd < 0 || bind(fd, (const struct sockaddr *)&l->ss, l->len) != 0) {
            diag_set(d, "", 0, "cannot listen for rollout evidence (syslog) on %s: %s", l->text,
                     strerror(errno));
            if (fd >= 0) {
                close(fd);
            }
            evidence_free(ev);
            return DNSD_ECONFIG;
        }
        struct sockaddr_storage got;
        socklen_t gl = sizeof(got);
        getsockname(fd, (struct sockaddr *)&got, &gl);
        ev->udp_port[i] = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                                         : ((struct sockaddr_in6 *)&got)->sin6_port);
        ev->udp[ev->nudp++] = fd;
        log_info("rollout evidence: HAProxy syslog on %s (UDP port %u)", l->text, ev->udp_port[i]);
    }
    if (c->rollout_evidence_socket[0] && bind_socket(c, ev, d) != 0) {
        evidence_free(ev);
        return DNSD_ECONFIG;
    }
    if (pipe2(ev->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        diag_set(d, "", 0, "rollout evidence: pipe: %s", strerror(errno));
        evidence_free(ev);
        return DNSD_ECONFIG;
    }
    *out = ev;
    return 0;
}

uint16_t evidence_syslog_port(const evidence_t *ev, int i)
{
    return ev && i >= 0 && i < ev->nudp ? ev->udp_port[i] : 0;
}

int evidence_start(evidence_t *ev, zs_store_t *store, diag_t *d)
{
    if (!ev) {
        return 0;
    }
    ev->store = store;
    pthread_mutex_lock(&running_mu);
    running = ev;
    pthread_mutex_unlock(&running_mu);
    if ((ev->nudp > 0 || ev->lfd >= 0)) {
        int e = pthread_create(&ev->rx, NULL, rx_main, ev);
        if (e) {
            diag_set(d, "", 0, "rollout evidence: cannot start its thread: %s", strerror(e));
            return DNSD_ECONFIG;
        }
        ev->rx_on = true;
    }
    /* the prober: with the first running rollout (start_prober); look now */
    pthread_mutex_lock(&ev->mu);
    refresh(ev);
    pthread_mutex_unlock(&ev->mu);
    return 0;
}

void evidence_free(evidence_t *ev)
{
    if (!ev) {
        return;
    }
    pthread_mutex_lock(&running_mu);
    if (running == ev) {
        running = NULL;
    }
    pthread_mutex_unlock(&running_mu);
    atomic_store(&ev->stop, true);
    if (ev->wake[1] >= 0 && write(ev->wake[1], "x", 1) < 0) {
        /* full: the threads wake anyway */
    }
    if (ev->rx_on) {
        pthread_join(ev->rx, NULL);
    }
    pthread_mutex_lock(&ev->mu); /* start_prober checks stop under it: no thread after this */
    bool pr_on = ev->pr_on;
    pthread_mutex_unlock(&ev->mu);
    if (pr_on) {
        pthread_join(ev->pr, NULL); /* a probe under way ends within its timeout */
    }
    for (int i = 0; i < ev->nudp; i++) {
        close(ev->udp[i]);
    }
    for (int i = 0; i < EVIDENCE_CLIENTS; i++) {
        if (ev->cl[i].fd >= 0) {
            close(ev->cl[i].fd);
        }
    }
    if (ev->lfd >= 0) {
        close(ev->lfd);
        if (ev->unlink_path && unlink(ev->unlink_path) != 0 && errno != ENOENT) {
            log_info("cannot remove rollout-evidence-socket %s: %s", ev->path, strerror(errno));
        }
    }
    for (int i = 0; i < 2; i++) {
        if (ev->wake[i] >= 0) {
            close(ev->wake[i]);
        }
    }
    map_free(ev->map, ev->nmap);
    free(ev->targets);
    for (int r = 0; r < ev->nrings; r++) {
        free(ev->rings[r].buf);
    }
    free(ev->rings);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}
