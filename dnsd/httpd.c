/* SPDX-License-Identifier: MIT */
/*
 * httpd.c -- dnsd's HTTP endpoint on libmicrohttpd (see httpd.h). main.c
 * binds (as root) and starts it (after the drop); each listen address gets
 * one libmicrohttpd daemon with its own internal polling thread. Must never
 * touch a query worker, hold a lock a worker takes, log a key authorization
 * or echo a request target (it comes from anyone).
 *
 * DESIGN. A request is routed by its path through a small table (routes[]:
 * a path prefix or exact path, the role of the listeners that serve it, the
 * methods it allows, a handler that fills a reply). Each httpd_t has one
 * role: the http01-listen sockets serve only the challenge route, the
 * metrics-listen sockets only /metrics (issue 16), so the internet-facing
 * listener never exposes metrics. Anything no route of the role claims is
 * 404; a claimed path with a method the route does not allow is 405 with
 * Allow. Handlers see the request target
 * only when it was "clean": libmicrohttpd percent-decodes the path and
 * strips the query string before the access handler sees it, so
 * uri_seen() looks at the raw target first, and a raw target holding '%'
 * or '?' never reaches a handler that asks for clean targets (the challenge
 * route: its tokens are base64url, which needs neither). The verdict rides
 * in the request's context pointer as one of two static marks: nothing is
 * allocated per request, so a request libmicrohttpd drops early (headers
 * too large, timeout) leaks nothing. The metrics text is the one body made
 * on the heap; libmicrohttpd frees it with the response. Bounds: connections, idle timeout and
 * request memory per daemon (httpd.h).
 */
#include "dnsd/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acme/http01.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"

#define HTTPD_LISTEN_MAX CONF_LISTEN_MAX
#define HTTPD_BODY_MAX   (ACME_HTTP01_KEYAUTH_MAX + 1)

typedef struct httpd_addr {
    int fd;
    uint16_t port;
    char text[80];
    struct MHD_Daemon *mhd;
} httpd_addr_t;

struct httpd {
    httpd_addr_t a[HTTPD_LISTEN_MAX];
    int n;
    httpd_role_t role;
    httpd_metrics_fn metrics;
    void *metrics_arg;
    zs_store_t *store;
    char node[128]; /* "" standalone */
};

/* what a handler answers */
typedef struct httpd_reply {
    unsigned status;
    const char *type; /* Content-Type */
    char body[HTTPD_BODY_MAX];
    size_t len;
    char *heap;       /* non-NULL: the body is this malloc'd text instead (len bytes) */
} httpd_reply_t;

typedef struct httpd_req {
    struct MHD_Connection *conn;
    const char *path; /* decoded by libmicrohttpd; equal to the raw target when clean */
    bool clean;       /* the raw target had no '%' escape and no '?' query */
    bool head;
} httpd_req_t;

typedef void (*httpd_handler_t)(httpd_t *h, const httpd_req_t *rq, httpd_reply_t *r);

/* the two request-context marks (see DESIGN) */
static const char mark_clean = 'c', mark_dirty = 'd';

static void reply_text(httpd_reply_t *r, unsigned status, const char *text)
{
    r->status = status;
    r->type = "text/plain";
    r->len = strlen(text);
    memcpy(r->body, text, r->len);
}

static void client_text(struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, cap, "?");
    if (!ci || !ci->client_addr) {
        return;
    }
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
    }
}

/* GET|HEAD /.well-known/acme-challenge/TOKEN: the key authorization, from the store */
static void serve_http01(httpd_t *h, const httpd_req_t *rq, httpd_reply_t *r)
{
    const char *tok = NULL;
    int n = rq->clean ? acme_http01_path_token(rq->path, &tok) : -1;
    if (n < 0) {
        reply_text(r, MHD_HTTP_NOT_FOUND, "not found\n");
        return;
    }
    MDB_txn *txn = NULL;
    int err = zs_read_begin(h->store, &txn);
    if (err == 0) {
        err = acme_http01_get(h->store, txn, tok, (size_t)n, r->body, sizeof(r->body));
        zs_read_end(h->store, txn);
    }
    char who[INET6_ADDRSTRLEN + 1];
    client_text(rq->conn, who, sizeof(who));
    if (err >= 0) {
        r->status = MHD_HTTP_OK;
        r->type = "text/plain";
        r->len = (size_t)err;
        /* the token's first 8 characters: enough to match the CA's log, and
         * a token is public anyway; the key authorization is never logged */
        log_info("http01: answered %s for token %.8s... to %s%s%s", rq->head ? "HEAD" : "GET",
                 tok, who, h->node[0] ? " on node " : "", h->node);
        return;
    }
    if (err == DNSD_ESTORE) {
        log_warn("http01: the record of token %.8s... is not a key authorization for it: "
                 "not served", tok);
    } else if (err != DNSD_ENOTFOUND) {
        log_warn("http01: cannot read the store: %s", dnsd_strerror(err));
        reply_text(r, MHD_HTTP_SERVICE_UNAVAILABLE, "store busy\n");
        return;
    }
    log_debug("http01: no key authorization for token %.8s... (asked by %s)", tok, who);
    reply_text(r, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* GET|HEAD /metrics: the Prometheus exposition (metrics.h), text format 0.0.4 */
static void serve_metrics(httpd_t *h, const httpd_req_t *rq, httpd_reply_t *r)
{
    (void)rq;
    if (!h->metrics) {
        reply_text(r, MHD_HTTP_NOT_FOUND, "not found\n");
        return;
    }
    r->status = MHD_HTTP_OK;
    r->type = "text/plain; version=0.0.4; charset=utf-8";
    r->heap = h->metrics(h->metrics_arg, &r->len);
}

/* the route table: first match of this listener's role wins; a path no route claims is 404 */
static const struct httpd_route {
    const char *prefix;
    bool exact;         /* the path must equal prefix (a query string is ignored) */
    httpd_role_t role;  /* served on this role's listeners only */
    bool get_head_only; /* the only kind today: GET and HEAD, else 405 */
    bool want_clean;    /* handler refuses escaped or queried targets (404) */
    httpd_handler_t fn;
} routes[] = {
    {ACME_HTTP01_PATH, false, HTTPD_ROLE_HTTP01, true, true, serve_http01},
    {"/metrics", true, HTTPD_ROLE_METRICS, true, false, serve_metrics},
};

static void route(httpd_t *h, const httpd_req_t *rq, const char *method, httpd_reply_t *r)
{
    r->heap = NULL;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct httpd_route *rt = &routes[i];
        if (rt->role != h->role) {
            continue;
        }
        if (rt->exact ? strcmp(rq->path, rt->prefix) != 0
                      : strncmp(rq->path, rt->prefix, strlen(rt->prefix)) != 0) {
            continue;
        }
        if (rt->get_head_only && strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
            strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
            reply_text(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
            return;
        }
        if (rt->want_clean && !rq->clean) {
            reply_text(r, MHD_HTTP_NOT_FOUND, "not found\n");
            return;
        }
        rt->fn(h, rq, r);
        return;
    }
    reply_text(r, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* libmicrohttpd: the raw request target, before it decodes anything */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    return (void *)(uri && !strpbrk(uri, "%?") ? &mark_clean : &mark_dirty);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **ctx)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    httpd_t *h = cls;
    /* every answer is made on the first call, before any request body is
     * read: libmicrohttpd then closes the connection instead of reading it */
    httpd_req_t rq = {conn, url ? url : "", *ctx == &mark_clean,
                      strcmp(method, MHD_HTTP_METHOD_HEAD) == 0};
    httpd_reply_t r;
    route(h, &rq, method, &r);
    struct MHD_Response *resp =
        r.heap ? MHD_create_response_from_buffer(r.len, r.heap, MHD_RESPMEM_MUST_FREE)
               : MHD_create_response_from_buffer(r.len, r.body, MHD_RESPMEM_MUST_COPY);
    if (!resp) {
        free(r.heap);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r.status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    }
    enum MHD_Result ret = MHD_queue_response(conn, r.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* libmicrohttpd's own messages (bad requests, limits): debug, they come from anyone */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (log_level >= LOG_LVL_DEBUG) {
        char msg[256];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        msg[strcspn(msg, "\n")] = '\0';
        log_debug("http: %s", msg);
    }
}

static int bind_one(const conf_listen_t *l, httpd_addr_t *a)
{
    int fam = l->ss.ss_family;
    int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fam == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, (const struct sockaddr *)&l->ss, l->len) != 0 || listen(fd, 128) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &len);
    a->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
    a->fd = fd;
    snprintf(a->text, sizeof(a->text), "%s", l->text);
    return 0;
}

static const char *role_key(httpd_role_t role)
{
    return role == HTTPD_ROLE_METRICS ? "metrics-listen" : "http01-listen";
}

int httpd_bind(const conf_listen_t *addrs, int n, httpd_role_t role, httpd_t **out, diag_t *d)
{
    *out = NULL;
    if (n > HTTPD_LISTEN_MAX) {
        diag_set(d, "", 0, "%s: at most %d addresses", role_key(role), HTTPD_LISTEN_MAX);
        return -EINVAL;
    }
    httpd_t *h = xcalloc(1, sizeof(*h));
    h->role = role;
    int err = 0;
    for (int i = 0; i < n; i++) {
        if ((err = bind_one(&addrs[i], &h->a[i])) != 0) {
            diag_set(d, "", 0, "cannot listen on %s (%s): %s", addrs[i].text, role_key(role),
                     dnsd_strerror(err));
            goto out;
        }
        h->n = i + 1;
    }
    *out = h;
out:
    if (err) {
        httpd_free(h);
    }
    return err;
}

void httpd_set_metrics(httpd_t *h, httpd_metrics_fn fn, void *arg)
{
    h->metrics = fn;
    h->metrics_arg = arg;
}

uint16_t httpd_port(const httpd_t *h, int i)
{
    return h && i >= 0 && i < h->n ? h->a[i].port : 0;
}

int httpd_start(httpd_t *h, zs_store_t *s, const char *node, diag_t *d)
{
    h->store = s;
    snprintf(h->node, sizeof(h->node), "%s", node ? node : "");
    for (int i = 0; i < h->n; i++) {
        httpd_addr_t *a = &h->a[i];
        a->mhd = MHD_start_daemon(
            MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
            MHD_OPTION_LISTEN_SOCKET, (MHD_socket)a->fd,
            MHD_OPTION_URI_LOG_CALLBACK, uri_seen, NULL,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTPD_MAX_CONNECTIONS,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTPD_TIMEOUT_S,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_MEMORY_LIMIT,
            MHD_OPTION_END);
        if (!a->mhd) {
            diag_set(d, "", 0, "cannot start the HTTP server on %s (%s)", a->text,
                     role_key(h->role));
            return DNSD_ECONFIG;
        }
        a->fd = -1; /* libmicrohttpd's now: MHD_stop_daemon closes it */
        if (h->role == HTTPD_ROLE_METRICS) {
            log_info("metrics: serving /metrics on %s (port %u)", a->text, a->port);
        } else {
            log_info("http01: serving %s on %s (port %u)", ACME_HTTP01_PATH, a->text, a->port);
        }
    }
    return 0;
}

void httpd_free(httpd_t *h)
{
    if (!h) {
        return;
    }
    for (int i = 0; i < h->n; i++) {
        if (h->a[i].mhd) {
            MHD_stop_daemon(h->a[i].mhd);
        } else if (h->a[i].fd >= 0) {
            close(h->a[i].fd);
        }
    }
    free(h);
}
