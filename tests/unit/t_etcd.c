/* SPDX-License-Identifier: MIT */
/*
 * t_etcd.c -- the etcd gateway client (zones/etcd.c) against a real
 * single-member etcd (3.4, Debian etcd-server) that this test starts itself
 * on kernel-picked loopback ports in a temp dir and stops by PID: kv,
 * compare-and-swap txns, leases (keep-alive, revoke, expiry), compaction,
 * status, the watch (order, progress notifications, stop flag, compacted
 * start), endpoint failover, a silent endpoint (timeout) and one that
 * answers 503; then the watch stream parser on hand-made input.
 * Skips when etcd is not installed (REQUIRE_ALL=1: fails). Every wait is
 * bounded in count; alarm() fails the test if any call hangs.
 */
#include "zones/etcd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/tap.h"
#include "zones/base/err.h"

static char tmpdir[256];
static pid_t etcd_pid = -1, tls_pid = -1;
static char url[64];

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* a TCP port on 127.0.0.1 the kernel finds free (released at once) */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &al) < 0) {
        if (s >= 0) {
            close(s);
        }
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

/* a socket listening on 127.0.0.1 that never accepts: connects succeed
 * (the kernel's backlog), nothing ever answers. *port set. */
static int silent_listener(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &al) < 0) {
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

static void stop_pid(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        int st;
        for (int i = 0; i < 100 && waitpid(*pid, &st, WNOHANG) == 0; i++) {
            msleep(50);
        }
        if (waitpid(*pid, &st, WNOHANG) == 0) {
            kill(*pid, SIGKILL);
            waitpid(*pid, &st, 0);
        }
        *pid = -1;
    }
}

static void rm_tmpdir(void)
{
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) {
            fprintf(stderr, "cannot remove %s\n", tmpdir);
        }
        tmpdir[0] = '\0';
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "Bail out! t_etcd: a call hung (alarm)\n";
    if (write(1, m, sizeof(m) - 1) < 0) {
        _exit(2);
    }
    if (etcd_pid > 0) {
        kill(etcd_pid, SIGKILL);
    }
    if (tls_pid > 0) {
        kill(tls_pid, SIGKILL);
    }
    _exit(2);
}

/*
 * Start an etcd named @p name on two free ports; progress notifications
 * every 300 ms; @p tls: https with tmpdir's srv.pem, client certificates
 * required (ca.pem). Sets *@p pid and @p u (its client URL). @return 0
 */
static int start_etcd(const char *name, bool tls, pid_t *pid, char *u, size_t ucap)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        int cport = free_port(), pport = free_port();
        if (cport < 0 || pport < 0 || cport == pport) {
            continue;
        }
        char data[300], curl[64], purl[64], cluster[96], logf[300], crt[300], key[300], ca[300];
        snprintf(data, sizeof(data), "%s/%s-data%d", tmpdir, name, attempt);
        snprintf(logf, sizeof(logf), "%s/%s.log", tmpdir, name);
        snprintf(crt, sizeof(crt), "%s/srv.pem", tmpdir);
        snprintf(key, sizeof(key), "%s/srv.key", tmpdir);
        snprintf(ca, sizeof(ca), "%s/ca.pem", tmpdir);
        snprintf(curl, sizeof(curl), "%s://127.0.0.1:%d", tls ? "https" : "http", cport);
        snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", pport);
        snprintf(cluster, sizeof(cluster), "%s=%s", name, purl);
        pid_t p = fork();
        if (p < 0) {
            return -1;
        }
        if (p == 0) {
            int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            const char *argv[40] = {"etcd", "--name", name, "--data-dir", data,
                                    "--listen-client-urls", curl, "--advertise-client-urls", curl,
                                    "--listen-peer-urls", purl, "--initial-advertise-peer-urls",
                                    purl, "--initial-cluster", cluster,
                                    "--experimental-watch-progress-notify-interval", "300ms",
                                    "--log-level", "warn"};
            int n = 19;
            if (tls) {
                argv[n++] = "--cert-file";
                argv[n++] = crt;
                argv[n++] = "--key-file";
                argv[n++] = key;
                argv[n++] = "--client-cert-auth";
                argv[n++] = "--trusted-ca-file";
                argv[n++] = ca;
            }
            argv[n] = NULL;
            execvp("etcd", (char *const *)argv);
            _exit(127);
        }
        *pid = p;
        snprintf(u, ucap, "%s", curl);
        char cli[300], clikey[300];
        snprintf(cli, sizeof(cli), "%s/cli.pem", tmpdir);
        snprintf(clikey, sizeof(clikey), "%s/cli.key", tmpdir);
        etcd_cfg_t cfg = {.urls = {u}, .nurls = 1, .timeout_ms = 1000};
        if (tls) {
            cfg.cacert = ca;
            cfg.cert = cli;
            cfg.key = clikey;
        }
        etcd_t *e = etcd_new(&cfg, NULL);
        for (int i = 0; i < 200; i++) {
            int64_t rev;
            diag_t d;
            if (etcd_status(e, &rev, NULL, &d) == 0) {
                etcd_free(e);
                return 0;
            }
            if (waitpid(p, NULL, WNOHANG) == p) {
                *pid = -1;
                break; /* it died (port taken?): try other ports */
            }
            msleep(50);
        }
        etcd_free(e);
        if (*pid > 0) {
            kill(*pid, SIGKILL);
            waitpid(*pid, NULL, 0);
            *pid = -1;
        }
    }
    return -1;
}

static etcd_t *handle(const char *u1, const char *u2, long timeout_ms)
{
    etcd_cfg_t cfg = {.urls = {u1, u2}, .nurls = u2 ? 2 : 1, .timeout_ms = timeout_ms};
    diag_t d;
    etcd_t *e = etcd_new(&cfg, &d);
    if (!e) {
        printf("# etcd_new: %s\n", d.text);
    }
    return e;
}

static int put_s(etcd_t *e, const char *k, const char *v, int64_t *rev)
{
    diag_t d;
    int rc = etcd_put(e, k, strlen(k), v, strlen(v), 0, rev, &d);
    if (rc < 0) {
        printf("# put %s: %s\n", k, d.text);
    }
    return rc;
}

static bool kv_is(const etcd_kv_t *kv, const char *k, const char *v)
{
    return kv->klen == strlen(k) && memcmp(kv->key, k, kv->klen) == 0 && kv->vlen == strlen(v) &&
           memcmp(kv->val, v, kv->vlen) == 0 && kv->val[kv->vlen] == '\0';
}

static void test_config(void)
{
    diag_t d = {0};
    etcd_cfg_t none = {.nurls = 0};
    ok(etcd_new(&none, &d) == NULL && strstr(d.text, "endpoint"), "no URL: refused (%s)", d.text);
    etcd_cfg_t bad = {.urls = {"127.0.0.1:2379"}, .nurls = 1};
    ok(etcd_new(&bad, &d) == NULL && strstr(d.text, "127.0.0.1:2379"),
       "URL without a scheme: refused naming it (%s)", d.text);
    etcd_cfg_t slash = {.urls = {url}, .nurls = 1};
    char u[80];
    snprintf(u, sizeof(u), "%s/", url);
    slash.urls[0] = u;
    etcd_t *e = etcd_new(&slash, &d);
    int64_t rev = 0;
    ok(e && etcd_status(e, &rev, NULL, &d) == 0 && rev >= 1, "a trailing slash in a URL is fine");
    etcd_free(e);
    etcd_free(NULL);
    etcd_kv_free(NULL);
    etcd_kvs_free(NULL, 0);

    uint8_t out[8];
    size_t n = etcd_prefix_end("abc", 3, out);
    ok(n == 3 && memcmp(out, "abd", 3) == 0, "prefix end of abc is abd");
    n = etcd_prefix_end("a\xff", 2, out);
    ok(n == 1 && out[0] == 'b', "prefix end of a\\xff is b");
    n = etcd_prefix_end("\xff\xff", 2, out);
    ok(n == 1 && out[0] == 0, "prefix end of \\xff\\xff is \\0 (every key from it on)");
    n = etcd_prefix_end("", 0, out);
    ok(n == 1 && out[0] == 0, "prefix end of the empty prefix is \\0");
}

static void test_kv(etcd_t *e)
{
    diag_t d;
    int64_t rev1 = 0, rev2 = 0, hrev = 0;
    is_int(put_s(e, "t/k1", "v1", &rev1), 0, "put t/k1");
    ok(rev1 > 1, "put returns its revision (%" PRId64 ")", rev1);
    etcd_kv_t kv;
    is_int(etcd_get(e, "t/k1", 4, &kv, &hrev, &d), 0, "get t/k1");
    ok(kv_is(&kv, "t/k1", "v1"), "get returns key and value, value NUL-terminated");
    ok(kv.mod_rev == rev1 && kv.create_rev == rev1 && kv.version == 1 && kv.lease == 0,
       "revisions and version as put");
    ok(hrev >= rev1, "header revision %" PRId64 " >= %" PRId64, hrev, rev1);
    etcd_kv_free(&kv);
    is_int(put_s(e, "t/k1", "v1b", &rev2), 0, "put t/k1 again");
    is_int(etcd_get(e, "t/k1", 4, &kv, NULL, &d), 0, "get t/k1 again");
    ok(kv_is(&kv, "t/k1", "v1b") && kv.create_rev == rev1 && kv.mod_rev == rev2 && kv.version == 2,
       "second put: new value, same create_revision, version 2");
    etcd_kv_free(&kv);

    is_int(etcd_get(e, "t/nope", 6, &kv, NULL, &d), DNSD_ENOTFOUND, "get of a missing key");

    /* bytes that need base64: NUL, 0xff, every padding length, empty value */
    static const char *vals[] = {"", "\x00", "\xff\x00", "a\x00\xff", "abcd", "\x01\x02\x03\x04\xfe"};
    static const size_t lens[] = {0, 1, 2, 3, 4, 5};
    for (size_t i = 0; i < 6; i++) {
        uint8_t key[4] = {'b', 0, 0xff, (uint8_t)i};
        int rc = etcd_put(e, key, sizeof(key), vals[i], lens[i], 0, NULL, &d);
        etcd_kv_t g;
        int rc2 = rc == 0 ? etcd_get(e, key, sizeof(key), &g, NULL, &d) : rc;
        ok(rc == 0 && rc2 == 0 && g.klen == 4 && memcmp(g.key, key, 4) == 0 &&
               g.vlen == lens[i] && memcmp(g.val, vals[i], lens[i]) == 0 && g.val[g.vlen] == 0,
           "binary key and a %zu-byte binary value round-trip", lens[i]);
        if (rc2 == 0) {
            etcd_kv_free(&g);
        }
    }

    /* range: prefix, limit, more, at an older revision */
    static const char *ks[] = {"r/e", "r/a", "r/d", "r/b", "r/c"};
    int64_t revs[5];
    for (int i = 0; i < 5; i++) {
        put_s(e, ks[i], ks[i] + 2, &revs[i]);
    }
    uint8_t end[8];
    size_t elen = etcd_prefix_end("r/", 2, end);
    etcd_kv_t *kvs;
    size_t n;
    bool more;
    is_int(etcd_range(e, "r/", 2, end, elen, 2, 0, &kvs, &n, &more, &hrev, &d), 0,
           "range r/ limit 2");
    ok(n == 2 && more && kv_is(&kvs[0], "r/a", "a") && kv_is(&kvs[1], "r/b", "b"),
       "limit 2: the first two keys in key order, more set");
    ok(hrev >= revs[4], "range header revision is current");
    etcd_kvs_free(kvs, n);
    is_int(etcd_range(e, "r/", 2, end, elen, 0, 0, &kvs, &n, &more, NULL, &d), 0, "range r/ all");
    ok(n == 5 && !more && kv_is(&kvs[4], "r/e", "e"), "all five, more not set");
    etcd_kvs_free(kvs, n);
    is_int(etcd_range(e, "r/", 2, end, elen, 0, revs[1], &kvs, &n, &more, NULL, &d), 0,
           "range r/ at the revision of the second put");
    ok(n == 2 && kv_is(&kvs[0], "r/a", "a") && kv_is(&kvs[1], "r/e", "e"),
       "the store as it was then: r/a and r/e");
    etcd_kvs_free(kvs, n);
    is_int(etcd_range(e, "r/x", 3, NULL, 0, 0, 0, &kvs, &n, &more, NULL, &d), 0,
           "range of a missing key");
    ok(n == 0 && kvs == NULL, "no keys");

    int64_t deleted = -1;
    is_int(etcd_del(e, "r/a", 3, NULL, 0, &deleted, &d), 0, "del r/a");
    is_int(deleted, 1, "one deleted");
    is_int(etcd_del(e, "r/", 2, end, elen, &deleted, &d), 0, "del the rest of r/");
    is_int(deleted, 4, "four deleted");
    is_int(etcd_del(e, "r/", 2, end, elen, &deleted, &d), 0, "del of nothing");
    is_int(deleted, 0, "none deleted");

    /* an etcd error answer becomes a message naming the endpoint */
    int rc = etcd_put(e, "", 0, "x", 1, 0, NULL, &d);
    ok(rc == DNSD_ENET && strstr(d.text, url) && strstr(d.text, "key is not provided"),
       "empty key: DNSD_ENET with etcd's text and the URL (%s)", d.text);
    rc = etcd_put(e, "t/l", 3, "x", 1, 12345, NULL, &d);
    ok(rc == DNSD_ENET && strstr(d.text, "lease not found"), "put under an unknown lease (%s)",
       d.text);
}

static void test_txn(etcd_t *e)
{
    diag_t d;
    int64_t rev = 0, rev2 = 0;
    is_int(etcd_put_if_absent(e, "c/a", 3, "one", 3, 0, &rev, &d), 0, "put_if_absent: new key");
    ok(rev > 0, "put_if_absent returns the revision");
    int rc = etcd_put_if_absent(e, "c/a", 3, "two", 3, 0, &rev2, &d);
    ok(rc == DNSD_EEXIST && strstr(d.text, "c/a"), "put_if_absent again: DNSD_EEXIST (%s)", d.text);
    etcd_kv_t kv;
    etcd_get(e, "c/a", 3, &kv, NULL, &d);
    ok(kv_is(&kv, "c/a", "one") && kv.mod_rev == rev, "the value is the first one");
    etcd_kv_free(&kv);

    is_int(etcd_put_if_rev(e, "c/a", 3, "three", 5, 0, rev, &rev2, &d), 0,
           "put_if_rev with its mod_revision");
    ok(rev2 > rev, "a new revision");
    is_int(etcd_put_if_rev(e, "c/a", 3, "four", 4, 0, rev, NULL, &d), DNSD_EEXIST,
           "put_if_rev with a stale mod_revision fails");
    is_int(etcd_put_if_rev(e, "c/a", 3, "four", 4, 0, 0, NULL, &d), DNSD_EEXIST,
           "put_if_rev 0 on an existing key fails");
    is_int(etcd_put_if_rev(e, "c/b", 3, "new", 3, 0, 0, NULL, &d), 0,
           "put_if_rev 0 on an absent key");
    etcd_get(e, "c/a", 3, &kv, NULL, &d);
    ok(kv_is(&kv, "c/a", "three") && kv.mod_rev == rev2, "the failed compares changed nothing");
    etcd_kv_free(&kv);

    is_int(etcd_del_if_rev(e, "c/a", 3, rev, &d), DNSD_EEXIST, "del_if_rev stale: refused");
    is_int(etcd_get(e, "c/a", 3, &kv, NULL, &d), 0, "the key is still there");
    etcd_kv_free(&kv);
    is_int(etcd_del_if_rev(e, "c/a", 3, rev2, &d), 0, "del_if_rev with its mod_revision");
    is_int(etcd_get(e, "c/a", 3, &kv, NULL, &d), DNSD_ENOTFOUND, "the key is gone");
}

static void test_lease(etcd_t *e)
{
    diag_t d;
    int64_t id = 0, ttl = 0;
    is_int(etcd_lease_grant(e, 30, &id, &d), 0, "lease grant");
    ok(id != 0, "a lease ID");
    is_int(etcd_put(e, "l/a", 3, "x", 1, id, NULL, &d), 0, "put under the lease");
    etcd_kv_t kv;
    etcd_get(e, "l/a", 3, &kv, NULL, &d);
    is_int(kv.lease, id, "the key carries the lease");
    etcd_kv_free(&kv);
    is_int(etcd_lease_keepalive(e, id, &ttl, &d), 0, "keepalive");
    ok(ttl > 0 && ttl <= 30, "TTL left %" PRId64, ttl);
    is_int(etcd_lease_revoke(e, id, &d), 0, "revoke");
    is_int(etcd_get(e, "l/a", 3, &kv, NULL, &d), DNSD_ENOTFOUND, "its key went with it");
    is_int(etcd_lease_revoke(e, id, &d), DNSD_ENOTFOUND, "revoke again: DNSD_ENOTFOUND");
    is_int(etcd_lease_keepalive(e, id, &ttl, &d), DNSD_ENOTFOUND,
           "keepalive of a revoked lease: DNSD_ENOTFOUND");

    /* expiry: a short lease nobody keeps alive takes its key away */
    is_int(etcd_lease_grant(e, 1, &id, &d), 0, "grant a 1 s lease");
    is_int(etcd_put(e, "l/b", 3, "x", 1, id, NULL, &d), 0, "put under it");
    int rc = 0;
    for (int i = 0; i < 200 && (rc = etcd_get(e, "l/b", 3, &kv, NULL, &d)) == 0; i++) {
        etcd_kv_free(&kv);
        msleep(100);
    }
    is_int(rc, DNSD_ENOTFOUND, "the key goes when the lease expires");
    is_int(etcd_lease_keepalive(e, id, &ttl, &d), DNSD_ENOTFOUND,
           "keepalive of an expired lease: DNSD_ENOTFOUND (%s)", d.text);
}

/* ---- watch ---- */

typedef struct wseen {
    etcd_t *e;
    atomic_int events, progress, calls;
    int64_t last_rev;
    bool ordered;
    int types[64];
    char keys[64][16];
    int end_after; /* return 7 once this many events were seen (0: never) */
    atomic_bool stop;
    int rc;
    int64_t start_rev, compact_rev;
    diag_t d;
} wseen_t;

static int on_events(void *arg, const etcd_event_t *ev, size_t n, int64_t header_rev)
{
    wseen_t *w = arg;
    atomic_fetch_add(&w->calls, 1);
    if (n == 0) {
        atomic_fetch_add(&w->progress, 1);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int k = atomic_load(&w->events);
        if (ev[i].kv.mod_rev <= w->last_rev || ev[i].kv.mod_rev > header_rev) {
            w->ordered = false;
        }
        w->last_rev = ev[i].kv.mod_rev;
        if (k < 64) {
            w->types[k] = ev[i].type;
            snprintf(w->keys[k], sizeof(w->keys[k]), "%.*s", (int)ev[i].kv.klen,
                     (const char *)ev[i].kv.key);
        }
        atomic_fetch_add(&w->events, 1);
    }
    if (w->end_after && atomic_load(&w->events) >= w->end_after) {
        return 7;
    }
    return 0;
}

static void *watch_thread(void *arg)
{
    wseen_t *w = arg;
    uint8_t end[8];
    size_t elen = etcd_prefix_end("w/", 2, end);
    w->rc = etcd_watch(w->e, "w/", 2, end, elen, w->start_rev, on_events, w, &w->stop,
                       &w->compact_rev, &w->d);
    return NULL;
}

static void test_watch(etcd_t *e)
{
    diag_t d;
    /* history first, then a watch from its start: events in revision order */
    int64_t r0 = 0, r;
    put_s(e, "w/1", "a", &r0);
    put_s(e, "w/2", "b", &r);
    put_s(e, "x/other", "z", &r); /* outside the range */
    etcd_del(e, "w/1", 3, NULL, 0, NULL, &d);
    wseen_t *w = calloc(1, sizeof(*w));
    w->ordered = true;
    w->end_after = 3;
    w->start_rev = r0;
    uint8_t end[8];
    size_t elen = etcd_prefix_end("w/", 2, end);
    int rc = etcd_watch(e, "w/", 2, end, elen, r0, on_events, w, &w->stop, NULL, &d);
    is_int(rc, 7, "the watch returns the callback's non-0");
    is_int(atomic_load(&w->events), 3, "three events in the range");
    ok(w->ordered, "in revision order, none above its header revision");
    ok(strcmp(w->keys[0], "w/1") == 0 && w->types[0] == 0 && strcmp(w->keys[1], "w/2") == 0 &&
           w->types[1] == 0 && strcmp(w->keys[2], "w/1") == 0 && w->types[2] == 1,
       "put w/1, put w/2, delete w/1");
    free(w);

    /* a live watch on its own thread: sees new puts, progress, ends on stop */
    etcd_t *e2 = handle(url, NULL, 1000);
    w = calloc(1, sizeof(*w));
    w->e = e2;
    w->ordered = true;
    pthread_t th;
    pthread_create(&th, NULL, watch_thread, w);
    for (int i = 0; i < 200 && atomic_load(&w->calls) == 0; i++) {
        msleep(50); /* the first progress notification says the watch is up */
    }
    for (int i = 0; i < 20; i++) {
        char k[16], v[16];
        snprintf(k, sizeof(k), "w/n%02d", i);
        snprintf(v, sizeof(v), "%d", i);
        put_s(e, k, v, NULL);
    }
    for (int i = 0; i < 200 && (atomic_load(&w->events) < 20 || atomic_load(&w->progress) < 2);
         i++) {
        msleep(50);
    }
    atomic_store(&w->stop, true);
    pthread_join(th, NULL);
    is_int(w->rc, 0, "a stopped watch returns 0 (%s)", w->rc ? w->d.text : "");
    is_int(atomic_load(&w->events), 20, "it saw the 20 puts made while it ran");
    ok(w->ordered && strcmp(w->keys[0], "w/n00") == 0 && strcmp(w->keys[19], "w/n19") == 0,
       "in order");
    ok(atomic_load(&w->progress) >= 1, "progress notifications come with n == 0 (%d)",
       atomic_load(&w->progress));
    free(w);

    /* a stop flag already set: no request at all */
    atomic_bool st = true;
    is_int(etcd_watch(e2, "w/", 2, end, elen, 0, on_events, NULL, &st, NULL, &d), 0,
           "stop already set: returns 0 at once");
    etcd_free(e2);

    /* a compacted start revision */
    int64_t now = 0;
    put_s(e, "w/c", "c", &now);
    is_int(etcd_compact(e, now, &d), 0, "compact to the current revision");
    is_int(etcd_compact(e, now, &d), 0, "compact there again: 0");
    is_int(etcd_compact(e, r0, &d), 0, "compact an older revision: 0");
    rc = etcd_compact(e, now + 1000, &d);
    ok(rc == DNSD_ENET && strstr(d.text, "future"), "compact a future revision: refused (%s)",
       d.text);
    w = calloc(1, sizeof(*w));
    int64_t crev = 0;
    rc = etcd_watch(e, "w/", 2, end, elen, r0, on_events, w, &w->stop, &crev, &d);
    ok(rc == DNSD_ERANGE && strstr(d.text, url), "watch from a compacted revision: DNSD_ERANGE (%s)",
       d.text);
    is_int(crev, now, "compact_rev is where etcd's history starts");
    is_int(atomic_load(&w->calls), 0, "no callback");
    free(w);
    etcd_kv_t *kvs;
    size_t n;
    is_int(etcd_range(e, "w/", 2, end, elen, 0, r0, &kvs, &n, NULL, NULL, &d), DNSD_ERANGE,
           "range at a compacted revision: DNSD_ERANGE");

    int64_t srev = 0, dbsize = 0;
    is_int(etcd_status(e, &srev, &dbsize, &d), 0, "status");
    ok(srev == now && dbsize > 0, "status: revision %" PRId64 " (want %" PRId64 "), db size %" PRId64,
       srev, now, dbsize);
}

/* ---- endpoints that do not work ---- */

/* a canned HTTP server: answers each of its connections with one status and body */
typedef struct canned {
    int s;
    const char *status; /* "503 Service Unavailable" */
    const char *body;
    int n; /* connections to serve */
} canned_t;

static void *canned_serve(void *arg)
{
    canned_t *c = arg;
    for (int i = 0; i < c->n; i++) {
        int fd = accept(c->s, NULL, NULL);
        if (fd < 0) {
            break;
        }
        char buf[4096];
        if (read(fd, buf, sizeof(buf)) <= 0) {
            close(fd);
            continue;
        }
        char r[1024];
        int rl = snprintf(r, sizeof(r),
                          "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                          c->status, strlen(c->body), c->body);
        if (write(fd, r, (size_t)rl) < 0) {
            close(fd);
            continue;
        }
        close(fd);
    }
    return NULL;
}

/* one call against a canned answer: its result, @p d filled */
static int canned_put(const char *status, const char *body, diag_t *d)
{
    int port;
    canned_t c = {.s = silent_listener(&port), .status = status, .body = body, .n = 1};
    char u[64];
    snprintf(u, sizeof(u), "http://127.0.0.1:%d", port);
    pthread_t th;
    pthread_create(&th, NULL, canned_serve, &c);
    etcd_t *e = handle(u, NULL, 3000);
    int rc = etcd_put(e, "k", 1, "v", 1, 0, NULL, d);
    etcd_free(e);
    shutdown(c.s, SHUT_RDWR);
    pthread_join(th, NULL);
    close(c.s);
    return rc;
}

static void *set_stop_later(void *arg)
{
    msleep(300);
    atomic_store((atomic_bool *)arg, true);
    return NULL;
}

static void test_endpoints(void)
{
    diag_t d;
    char dead[64], dead2[64];
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", free_port());
    snprintf(dead2, sizeof(dead2), "http://127.0.0.1:%d", free_port());

    etcd_t *e = handle(dead, url, 1000);
    int64_t rev = 0;
    is_int(put_s(e, "f/a", "x", &rev), 0, "first URL dead: the second answers");
    is_str(etcd_url(e), url, "the handle remembers the one that answered");
    etcd_free(e);

    e = handle(dead, dead2, 1000);
    int rc = etcd_put(e, "f/a", 3, "x", 1, 0, NULL, &d);
    ok(rc == DNSD_ENET && strstr(d.text, dead) && strstr(d.text, dead2) &&
           strstr(d.text, "no quorum or unreachable"),
       "both dead: DNSD_ENET naming both (%s)", d.text);
    atomic_bool st = false;
    rc = etcd_watch(e, "f/", 2, NULL, 0, 0, on_events, NULL, &st, NULL, &d);
    ok(rc == DNSD_ENET && strstr(d.text, dead2), "watch, both dead: DNSD_ENET (%s)", d.text);
    etcd_free(e);

    /* an endpoint that accepts and never answers: bounded by the timeout */
    int sport;
    int s = silent_listener(&sport);
    char silent[64];
    snprintf(silent, sizeof(silent), "http://127.0.0.1:%d", sport);
    e = handle(silent, NULL, 300);
    rc = etcd_put(e, "f/a", 3, "x", 1, 0, NULL, &d);
    ok(rc == DNSD_ENET && strstr(d.text, "no answer within 300 ms") && strstr(d.text, silent),
       "a silent endpoint: DNSD_ENET after the timeout (%s)", d.text);
    etcd_free(e);
    e = handle(silent, url, 300);
    is_int(put_s(e, "f/b", "y", NULL), 0, "silent first, live second: the call succeeds");
    etcd_free(e);
    /* a watch must be answered within the timeout too */
    e = handle(silent, NULL, 300);
    st = false;
    rc = etcd_watch(e, "f/", 2, NULL, 0, 0, on_events, NULL, &st, NULL, &d);
    ok(rc == DNSD_ENET && strstr(d.text, "no answer within 300 ms") && strstr(d.text, silent),
       "a watch on a silent endpoint: DNSD_ENET after the timeout (%s)", d.text);
    etcd_free(e);
    e = handle(silent, url, 300);
    wseen_t *w = calloc(1, sizeof(*w));
    w->end_after = 1;
    int64_t frev = 0;
    put_s(e, "f/w", "1", &frev);
    rc = etcd_watch(e, "f/w", 3, NULL, 0, frev, on_events, w, &w->stop, NULL, &d);
    ok(rc == 7 && strcmp(w->keys[0], "f/w") == 0,
       "a watch with a silent first endpoint runs on the second");
    free(w);
    etcd_free(e);
    /* waiting for a slow first answer, the stop flag still ends it */
    e = handle(silent, NULL, 60000);
    st = false;
    pthread_t th;
    pthread_create(&th, NULL, set_stop_later, &st);
    rc = etcd_watch(e, "f/", 2, NULL, 0, 0, on_events, NULL, &st, NULL, &d);
    pthread_join(th, NULL);
    is_int(rc, 0, "a watch waiting for its first answer ends on its stop flag");
    etcd_free(e);
    close(s);

    /* a 503 answer: the next endpoint is tried */
    canned_t c = {.s = silent_listener(&sport), .status = "503 Service Unavailable",
                  .body = "{\"error\":\"no leader\",\"message\":\"no leader\",\"code\":14}",
                  .n = 2};
    char u503[64];
    snprintf(u503, sizeof(u503), "http://127.0.0.1:%d", sport);
    pthread_create(&th, NULL, canned_serve, &c);
    e = handle(u503, url, 2000);
    is_int(put_s(e, "f/c", "z", NULL), 0, "503 from the first: the second answers");
    is_str(etcd_url(e), url, "and is remembered");
    etcd_free(e);
    e = handle(u503, NULL, 2000);
    rc = etcd_put(e, "f/c", 3, "z", 1, 0, NULL, &d);
    ok(rc == DNSD_ENET && strstr(d.text, "HTTP 503") && strstr(d.text, "no leader"),
       "503 alone: DNSD_ENET with the status and etcd's text (%s)", d.text);
    etcd_free(e);
    shutdown(c.s, SHUT_RDWR);
    pthread_join(th, NULL);
    close(c.s);

    /* answers that are not what etcd sends: refused with a message, no crash */
    rc = canned_put("200 OK", "hello", &d);
    ok(rc == DNSD_ENET && strstr(d.text, "non-JSON HTTP 200 answer \"hello\""),
       "a 200 that is not JSON (%s)", d.text);
    rc = canned_put("404 Not Found", "<html>nope</html>", &d);
    ok(rc == DNSD_ENET && strstr(d.text, "HTTP 404") && strstr(d.text, "nope"),
       "a 404 page (%s)", d.text);
    rc = canned_put("200 OK", "{\"header\":{\"revision\":\"12x\"}}", &d);
    ok(rc == DNSD_ENET && strstr(d.text, "malformed answer: header.revision"),
       "a revision that is not a number (%s)", d.text);
    rc = canned_put("200 OK", "{\"header\":{\"revision\":[]}}", &d);
    ok(rc == DNSD_ENET && strstr(d.text, "malformed answer"), "a revision that is an array (%s)",
       d.text);
    rc = canned_put("200 OK", "{\"error\":\"etcdserver: too many requests\",\"code\":8}", &d);
    ok(rc == DNSD_ENET && strstr(d.text, "too many requests (code 8)"),
       "an error object in a 200 (%s)", d.text);
}

/* ---- the stream parser on its own ---- */

static const char stream[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"1\",\"revision\":\"9\"},\"created\":true}}\n"
    "{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":[{\"kv\":{\"key\":\"dzE=\","
    "\"create_revision\":\"6\",\"mod_revision\":\"6\",\"version\":\"1\",\"value\":\"djE=\"}},"
    "{\"type\":\"DELETE\",\"kv\":{\"key\":\"dzE=\",\"mod_revision\":\"9\"}}]}}\n"
    "\n"
    "{\"result\":{\"header\":{\"revision\":\"10\"}}}\r\n";

static int parse_all(const char *in, size_t len, size_t chunk, wseen_t *w, int64_t *crev,
                     diag_t *d)
{
    etcd_wparse_t *p = etcd_wparse_new(on_events, w);
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = etcd_wparse_feed(p, in + off, n, crev, d);
    }
    etcd_wparse_free(p);
    return rc;
}

static void test_wparse(void)
{
    diag_t d;
    int64_t crev = 0;
    size_t chunks[] = {1, 2, 7, 64, sizeof(stream)};
    for (size_t c = 0; c < 5; c++) {
        wseen_t *w = calloc(1, sizeof(*w));
        w->ordered = true;
        int rc = parse_all(stream, sizeof(stream) - 1, chunks[c], w, &crev, &d);
        ok(rc == 0 && atomic_load(&w->events) == 2 && atomic_load(&w->progress) == 1 &&
               w->types[0] == 0 && w->types[1] == 1 && strcmp(w->keys[0], "w1") == 0 &&
               w->ordered,
           "stream in %zu-byte chunks: 2 events (put, delete), 1 progress", chunks[c]);
        free(w);
    }
    static const struct {
        const char *name, *in;
        int want;
        const char *text;
    } cases[] = {
        {"compacted", "{\"result\":{\"header\":{},\"canceled\":true,\"compact_revision\":\"7\"}}\n",
         DNSD_ERANGE, "compacted"},
        {"canceled", "{\"result\":{\"canceled\":true,\"cancel_reason\":\"gone\"}}\n", DNSD_ENET,
         "gone"},
        {"stream error", "{\"error\":\"x\",\"message\":\"bad thing\",\"code\":2}\n", DNSD_ENET,
         "bad thing"},
        {"not JSON", "{\"result\":\n", DNSD_EMALFORMED, "not a JSON object"},
        {"an array", "[1]\n", DNSD_EMALFORMED, "not a JSON object"},
        {"no result", "{\"x\":1}\n", DNSD_EMALFORMED, "neither"},
        {"revision not a number", "{\"result\":{\"header\":{\"revision\":\"9x\"}}}\n",
         DNSD_EMALFORMED, "wrong type"},
        {"revision a float", "{\"result\":{\"header\":{\"revision\":1.5}}}\n", DNSD_EMALFORMED,
         "wrong type"},
        {"events not an array", "{\"result\":{\"events\":{}}}\n", DNSD_EMALFORMED, "events"},
        {"bad base64", "{\"result\":{\"events\":[{\"kv\":{\"key\":\"d=E=\"}}]}}\n",
         DNSD_EMALFORMED, "base64"},
        {"base64 length", "{\"result\":{\"events\":[{\"kv\":{\"key\":\"dzE\"}}]}}\n",
         DNSD_EMALFORMED, "base64"},
        {"unknown type", "{\"result\":{\"events\":[{\"type\":\"MOVE\",\"kv\":{}}]}}\n",
         DNSD_EMALFORMED, "type"},
        {"kv not an object", "{\"result\":{\"events\":[{\"kv\":3}]}}\n", DNSD_EMALFORMED, "kv"},
        {"created flag a string", "{\"result\":{\"created\":\"yes\"}}\n", DNSD_EMALFORMED,
         "wrong type"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wseen_t *w = calloc(1, sizeof(*w));
        memset(&d, 0, sizeof(d));
        crev = 0;
        int rc = parse_all(cases[i].in, strlen(cases[i].in), 3, w, &crev, &d);
        ok(rc == cases[i].want && strstr(d.text, cases[i].text) && atomic_load(&w->calls) == 0,
           "%s: %d (%s)", cases[i].name, rc, d.text);
        free(w);
    }
    is_int(crev, 0, "crev untouched by a non-compaction error");
    wseen_t *w = calloc(1, sizeof(*w));
    crev = 0;
    parse_all(cases[0].in, strlen(cases[0].in), 5, w, &crev, &d);
    is_int(crev, 7, "compact_revision read");
    free(w);

    /* after a final result, later input is ignored and the result repeats */
    w = calloc(1, sizeof(*w));
    etcd_wparse_t *p = etcd_wparse_new(on_events, w);
    int rc1 = etcd_wparse_feed(p, "[]\n", 3, NULL, &d);
    int rc2 = etcd_wparse_feed(p, stream, sizeof(stream) - 1, NULL, &d);
    ok(rc1 == DNSD_EMALFORMED && rc2 == DNSD_EMALFORMED && atomic_load(&w->calls) == 0,
       "a parser that failed stays failed");
    etcd_wparse_free(p);
    /* an incomplete last message is not delivered */
    p = etcd_wparse_new(on_events, w);
    rc1 = etcd_wparse_feed(p, stream, sizeof(stream) - 10, NULL, &d);
    ok(rc1 == 0 && atomic_load(&w->events) == 2 && atomic_load(&w->progress) == 0,
       "a message without its newline waits for the rest");
    etcd_wparse_free(p);
    free(w);
}

/* ---- https with a client certificate ---- */

/* a CA, a server certificate for 127.0.0.1 and a client certificate, and a
 * second CA the server does not know, by the openssl CLI in tmpdir */
static int make_certs(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && exec >certs.log 2>&1 && set -e && "
             "for ca in ca other; do openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:P-256 -nodes -keyout $ca.key -out $ca.pem -days 2 "
             "-subj /CN=t-$ca; done && "
             "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' "
             ">srv.ext && printf 'extendedKeyUsage=clientAuth\\n' >cli.ext && "
             "for c in srv:ca cli:ca bad:other; do n=${c%%:*}; ca=${c#*:}; "
             "ext=$n.ext; [ $n = bad ] && ext=cli.ext; "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key "
             "-out $n.csr -subj /CN=t-$n && openssl x509 -req -in $n.csr -CA $ca.pem "
             "-CAkey $ca.key -CAcreateserial -out $n.pem -days 2 -extfile $ext; done",
             tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_tls(void)
{
    if (make_certs() < 0) {
        ok(0, "make test certificates (see %s/certs.log)", tmpdir);
        return;
    }
    char u[64];
    if (start_etcd("tls", true, &tls_pid, u, sizeof(u)) < 0) {
        ok(0, "start an etcd with https and client certificates (see %s/tls.log)", tmpdir);
        return;
    }
    char ca[300], cli[300], clikey[300], bad[300], badkey[300], other[300];
    snprintf(ca, sizeof(ca), "%s/ca.pem", tmpdir);
    snprintf(cli, sizeof(cli), "%s/cli.pem", tmpdir);
    snprintf(clikey, sizeof(clikey), "%s/cli.key", tmpdir);
    snprintf(bad, sizeof(bad), "%s/bad.pem", tmpdir);
    snprintf(badkey, sizeof(badkey), "%s/bad.key", tmpdir);
    snprintf(other, sizeof(other), "%s/other.pem", tmpdir);
    diag_t d;
    etcd_cfg_t cfg = {.urls = {u}, .nurls = 1, .cacert = ca, .cert = cli, .key = clikey,
                      .timeout_ms = 3000};
    etcd_t *e = etcd_new(&cfg, &d);
    int64_t rev = 0;
    is_int(etcd_put(e, "s/a", 3, "tls", 3, 0, &rev, &d), 0, "https with a client certificate: put");
    etcd_kv_t kv;
    int rc = etcd_get(e, "s/a", 3, &kv, NULL, &d);
    ok(rc == 0 && kv_is(&kv, "s/a", "tls") && kv.mod_rev == rev, "and get");
    if (rc == 0) {
        etcd_kv_free(&kv);
    }
    wseen_t *w = calloc(1, sizeof(*w));
    w->end_after = 1;
    w->ordered = true;
    rc = etcd_watch(e, "s/a", 3, NULL, 0, rev, on_events, w, &w->stop, NULL, &d);
    ok(rc == 7 && strcmp(w->keys[0], "s/a") == 0, "a watch over https");
    free(w);
    etcd_free(e);

    cfg.cert = cfg.key = NULL;
    e = etcd_new(&cfg, &d);
    rc = etcd_put(e, "s/a", 3, "x", 1, 0, NULL, &d);
    ok(rc == DNSD_ENET && strstr(d.text, u), "no client certificate: refused (%s)", d.text);
    etcd_free(e);
    cfg.cert = bad;
    cfg.key = badkey;
    e = etcd_new(&cfg, &d);
    rc = etcd_put(e, "s/a", 3, "x", 1, 0, NULL, &d);
    ok(rc == DNSD_ENET && strstr(d.text, u), "a client certificate from another CA: refused (%s)",
       d.text);
    etcd_free(e);
    cfg.cert = cli;
    cfg.key = clikey;
    cfg.cacert = other;
    e = etcd_new(&cfg, &d);
    rc = etcd_put(e, "s/a", 3, "x", 1, 0, NULL, &d);
    ok(rc == DNSD_ENET && strstr(d.text, "certificate"),
       "a server certificate the CA file does not vouch for: refused (%s)", d.text);
    etcd_free(e);
    stop_pid(&tls_pid);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_wparse();
    if (system("command -v etcd >/dev/null 2>&1") != 0) {
        if (getenv("REQUIRE_ALL") && strcmp(getenv("REQUIRE_ALL"), "1") == 0) {
            printf("Bail out! etcd is required (apt-get install etcd-server)\n");
            return 1;
        }
        printf("# etcd not installed: the tests against a live etcd are skipped\n");
        return done_testing();
    }
    signal(SIGALRM, on_alarm);
    alarm(240);
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/dnsd-etcd.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! mkdtemp %s\n", tmpdir);
        return 1;
    }
    if (start_etcd("t", false, &etcd_pid, url, sizeof(url)) < 0) {
        printf("Bail out! etcd did not start (see %s/t.log)\n", tmpdir);
        return 1;
    }
    printf("# etcd at %s (pid %d)\n", url, (int)etcd_pid);
    test_config();
    etcd_t *e = handle(url, NULL, 3000);
    test_kv(e);
    test_txn(e);
    test_lease(e);
    test_watch(e);
    etcd_free(e);
    test_endpoints();
    stop_pid(&etcd_pid);
    test_tls();
    rm_tmpdir();
    return done_testing();
}
