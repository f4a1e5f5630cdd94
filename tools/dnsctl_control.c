/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_control.c -- `dnsctl status|stats|reload|log-level`: questions to
 * the running dnsd over its control socket (dnsd/ctl.h; the request
 * language is dnsd/ctl_proto.h: one line out, one JSON object back). The
 * socket is --socket PATH, else $DNSD_CONTROL_SOCKET, else control-socket in
 * --config FILE, else CTL_SOCKET_DEFAULT. It never opens the store; every
 * socket call is bounded (CTL_CONTROL_TIMEOUT_MS). Errors name the socket and, for
 * a refused permission, its owner, group and mode.
 */
#include "tools/dnsctl.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "zones/base/line.h"
#include "zones/base/xalloc.h"

#define CTL_SOCKET_DEFAULT "/run/dnsd/dnsd.sock" /* the Debian package's, RuntimeDirectory=dnsd */
#define CTL_CONTROL_TIMEOUT_MS 10000
#define CTL_ANSWER_MAX (1 << 20)

bool ctl_control_cmd(const char *cmd)
{
    return strcmp(cmd, "status") == 0 || strcmp(cmd, "stats") == 0 ||
           strcmp(cmd, "reload") == 0 || strcmp(cmd, "log-level") == 0;
}

/* control-socket in dnsd's config file @p file: copied to @p out */
static int socket_from_config(const char *file, char *out, size_t cap)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        return ctl_err("--config %s: %s", file, strerror(errno));
    }
    line_buf_t lb = {0};
    int rc = CTL_FAIL, ln = 0;
    out[0] = '\0';
    for (;;) {
        ssize_t n = line_read(f, &lb, LINE_LEN_MAX);
        if (n <= 0) {
            break;
        }
        ln++;
        char *line = lb.buf, *h = strchr(line, '#');
        if (h) {
            *h = '\0';
        }
        while (isspace((unsigned char)*line)) {
            line++;
        }
        const char *key = "control-socket";
        size_t kl = strlen(key);
        if (strncmp(line, key, kl) != 0 || !isspace((unsigned char)line[kl])) {
            continue;
        }
        char *v = line + kl;
        while (isspace((unsigned char)*v)) {
            v++;
        }
        size_t vl = strlen(v);
        while (vl > 0 && isspace((unsigned char)v[vl - 1])) {
            v[--vl] = '\0';
        }
        if (vl >= cap) {
            rc = ctl_err("%s:%d: control-socket: path too long", file, ln);
            goto out;
        }
        snprintf(out, cap, "%s", v); /* the last one counts, as in dnsd */
    }
    if (!out[0] || strcmp(out, "none") == 0) {
        rc = ctl_err("%s sets no control-socket: that dnsd has none (give --socket PATH if it "
                     "was started with --control-socket)", file);
        goto out;
    }
    rc = CTL_OK;
out:
    line_buf_fini(&lb);
    fclose(f);
    return rc;
}

static const char *user_name(uid_t u, char *buf, size_t cap)
{
    struct passwd *pw = getpwuid(u);
    if (pw) {
        snprintf(buf, cap, "%s", pw->pw_name);
    } else {
        snprintf(buf, cap, "%u", (unsigned)u);
    }
    return buf;
}

static const char *group_name(gid_t g, char *buf, size_t cap)
{
    struct group *gr = getgrgid(g);
    if (gr) {
        snprintf(buf, cap, "%s", gr->gr_name);
    } else {
        snprintf(buf, cap, "%u", (unsigned)g);
    }
    return buf;
}

/* why connect(2) failed, in the operator's words */
static int connect_error(const char *path, int e)
{
    if (e == ENOENT || e == ECONNREFUSED) {
        return ctl_err("no dnsd listening on %s (%s)", path, strerror(e));
    }
    if (e == EACCES || e == EPERM) {
        struct stat st;
        if (stat(path, &st) != 0) {
            return ctl_err("permission denied on %s (its directory: %s)", path, strerror(errno));
        }
        char u[64], g[64];
        return ctl_err("permission denied on %s (owner %s, group %s, mode %04o)", path,
                       user_name(st.st_uid, u, sizeof(u)), group_name(st.st_gid, g, sizeof(g)),
                       (unsigned)(st.st_mode & 07777));
    }
    return ctl_err("cannot connect to %s: %s", path, strerror(e));
}

/* send @p req, read the answer (one JSON object) into *@p out. A blocking
 * socket with send and receive timeouts: connect(2) on a Unix socket whose
 * backlog is full waits for room (a non-blocking one would fail with EAGAIN
 * and not retry), and every call is bounded by CTL_CONTROL_TIMEOUT_MS */
static int ask(const char *path, const char *req, json_t **out)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        return ctl_err("control socket path %s is longer than %zu bytes", path,
                       sizeof(sa.sun_path) - 1);
    }
    memcpy(sa.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return ctl_err("socket: %s", strerror(errno));
    }
    int rc = CTL_FAIL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    const int secs = CTL_CONTROL_TIMEOUT_MS / 1000;
    struct timeval tv = {secs, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        if (e == EINTR) {
            continue;
        }
        if (e == EAGAIN || e == EINPROGRESS) {
            rc = ctl_err("%s: dnsd did not take the connection within %d s", path, secs);
        } else {
            rc = connect_error(path, e);
        }
        goto out;
    }
    size_t rl = strlen(req), off = 0;
    while (off < rl) {
        ssize_t n = send(fd, req + off, rl - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = ctl_err("%s: cannot send the request: %s", path,
                         errno == EAGAIN ? "timed out" : strerror(errno));
            goto out;
        }
        off += (size_t)n;
    }
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = xrealloc(buf, cap);
        }
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            rc = ctl_err("%s: no answer from dnsd within %d s", path, secs);
            goto out;
        }
        if (n < 0) {
            rc = ctl_err("%s: cannot read the answer: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
        if (len > CTL_ANSWER_MAX) {
            rc = ctl_err("%s: answer longer than %d bytes", path, CTL_ANSWER_MAX);
            goto out;
        }
    }
    json_error_t je;
    *out = buf ? json_loadb(buf, len, 0, &je) : NULL;
    if (!*out || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        rc = ctl_err("%s: dnsd's answer is not a JSON object (%zu bytes)", path, len);
        goto out;
    }
    rc = CTL_OK;
out:
    free(buf);
    close(fd);
    return rc;
}

static long long ji(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static const char *js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* "3d 4h", "2h 5m", "5m 3s", "7s" */
static const char *span(long long s, char *buf, size_t cap)
{
    bool neg = s < 0;
    if (neg) {
        s = -s;
    }
    if (s >= 86400) {
        snprintf(buf, cap, "%s%lldd %lldh", neg ? "-" : "", s / 86400, s % 86400 / 3600);
    } else if (s >= 3600) {
        snprintf(buf, cap, "%s%lldh %lldm", neg ? "-" : "", s / 3600, s % 3600 / 60);
    } else if (s >= 60) {
        snprintf(buf, cap, "%s%lldm %llds", neg ? "-" : "", s / 60, s % 60);
    } else {
        snprintf(buf, cap, "%s%llds", neg ? "-" : "", s);
    }
    return buf;
}

static const char *utc(long long t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

static void print_status(json_t *a)
{
    char b1[64], b2[64];
    double up = json_number_value(json_object_get(a, "uptime_s"));
    printf("dnsd %s, pid %lld, up %s (since %s)\n", js(a, "version"), ji(a, "pid"),
           span((long long)up, b1, sizeof(b1)), utc(ji(a, "started"), b2, sizeof(b2)));
    long long nz = ji(a, "zones");
    printf("store         %s (generation %lld, %lld zone%s)\n", js(a, "store"),
           ji(a, "store_generation"), nz, nz == 1 ? "" : "s");
    if (json_object_get(a, "store_error")) {
        printf("store error   %s\n", js(a, "store_error"));
    }
    printf("workers       %lld\n", ji(a, "workers"));
    printf("user          %s\n", js(a, "user")[0] ? js(a, "user") : "(not changed)");
    if (json_is_string(json_object_get(a, "cluster"))) {
        printf("cluster node  %s\n", js(a, "cluster"));
    }
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(a, "listen"), i, l) {
        printf("listen        %s %s (port %lld)\n", js(l, "kind"), js(l, "address"), ji(l, "port"));
    }
    json_t *g = json_object_get(a, "geo");
    long long nr = ji(g, "regions");
    if (json_is_string(json_object_get(g, "database"))) {
        printf("geo database  %s", js(g, "database"));
        if (json_object_get(g, "build_epoch")) {
            printf(", built %s (%s ago)", utc(ji(g, "build_epoch"), b1, sizeof(b1)),
                   span(ji(g, "build_age_s"), b2, sizeof(b2)));
        }
        if (json_object_get(g, "file_age_s")) {
            printf(", file changed %s ago", span(ji(g, "file_age_s"), b1, sizeof(b1)));
        }
        printf("\n");
    } else {
        printf("geo database  none\n");
    }
    printf("regions       %lld", nr);
    if (json_object_get(g, "ipv4_ranges")) {
        printf(" (%lld IPv4 and %lld IPv6 ranges)", ji(g, "ipv4_ranges"), ji(g, "ipv6_ranges"));
    }
    printf("\n");
    json_t *c = json_object_get(a, "certificates");
    printf("certificates  %lld (%lld valid, %lld failed, %lld pending)", ji(c, "count"),
           ji(c, "valid"), ji(c, "failed"), ji(c, "pending"));
    if (json_object_get(c, "next_expiry")) {
        printf("; next expiry: %s at %s (in %s)", js(c, "next_expiry_id"),
               utc(ji(c, "next_expiry"), b1, sizeof(b1)),
               span(ji(c, "next_expiry_in_s"), b2, sizeof(b2)));
    }
    printf("\n");
    printf("log level     %s\n", js(a, "log_level"));
    printf("control       %s\n", js(a, "control_socket"));
}

static void print_stats(json_t *a)
{
    printf("uptime %.0f\n", json_number_value(json_object_get(a, "uptime_s")));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(a, "counters"), k, v) {
        printf("%s %lld\n", k, (long long)json_integer_value(v));
    }
}

int ctl_control(ctl_t *c, const char *cmd)
{
    bool log_level = strcmp(cmd, "log-level") == 0;
    bool json_ok = strcmp(cmd, "status") == 0 || strcmp(cmd, "stats") == 0;
    int rc = ctl_check_args(c, cmd, CTL_OPT_SOCKET | CTL_OPT_CONFIG | (json_ok ? CTL_OPT_JSON : 0),
                            log_level ? 1 : 0, log_level ? 1 : 0);
    if (rc != CTL_OK) {
        return rc;
    }
    char req[128];
    if (log_level) {
        const char *l = c->argv[0];
        if (strspn(l, "abcdefghijklmnopqrstuvwxyz") != strlen(l) || strlen(l) > 16) {
            return ctl_usage("log-level: \"%s\" is not error|warning|info|debug", l);
        }
        snprintf(req, sizeof(req), "log-level %s\n", l);
    } else {
        snprintf(req, sizeof(req), "%s\n", cmd);
    }
    char from_conf[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
    const char *path = c->socket;
    if (!path || !*path) {
        path = getenv("DNSD_CONTROL_SOCKET");
    }
    if ((!path || !*path) && c->config) {
        if (socket_from_config(c->config, from_conf, sizeof(from_conf)) != CTL_OK) {
            return CTL_FAIL;
        }
        path = from_conf;
    }
    if (!path || !*path) {
        path = CTL_SOCKET_DEFAULT;
    }
    json_t *a = NULL;
    if (ask(path, req, &a) != CTL_OK) {
        return CTL_FAIL;
    }
    if (!json_is_true(json_object_get(a, "ok"))) {
        const char *e = js(a, "error");
        size_t cl = strlen(cmd);
        bool named = strncmp(e, cmd, cl) == 0 && e[cl] == ':'; /* "log-level: ..." already */
        rc = named ? ctl_err("%s", e) : ctl_err("%s: %s", cmd, e);
        goto out;
    }
    if (c->json) {
        json_object_del(a, "ok");
        json_dumpf(a, stdout, JSON_INDENT(2));
        printf("\n");
    } else if (strcmp(cmd, "status") == 0) {
        print_status(a);
    } else if (strcmp(cmd, "stats") == 0) {
        print_stats(a);
    } else if (strcmp(cmd, "reload") == 0) {
        printf("%s\n", js(a, "message"));
    } else {
        printf("log level: %s -> %s\n", js(a, "old"), js(a, "new"));
    }
    rc = CTL_OK;
out:
    json_decref(a);
    return rc;
}
