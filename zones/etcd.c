/* SPDX-License-Identifier: MIT */
/*
 * etcd.c -- the etcd v3 JSON gateway client (see etcd.h). Called by the
 * cluster (zones/cluster.c) on dnsd's orchestration threads and by dnsctl;
 * never by a query worker. It must never block beyond the handle's timeout
 * (a watch: beyond its stop flag), never retry an endpoint twice in one
 * call, and never trust what comes back: every answer is capped in size
 * and checked field by field.
 *
 * DESIGN. The gateway (etcd 3.4, grpc-gateway) maps each gRPC call to a POST
 * of a JSON object to /v3/<service>/<method>. What it sends, checked against
 * a live etcd 3.4.23:
 *  - bytes (keys, values) are standard base64 with padding; int64 fields are
 *    JSON strings ("revision":"12"); fields with their zero value (0, "",
 *    false, the PUT event type) are left out, so a missing field means 0;
 *  - a failed call is an HTTP 4xx/5xx with {"error":"text","message":"text",
 *    "code":N}, N the gRPC code (11 OUT_OF_RANGE: "required revision has
 *    been compacted" or "... is a future revision"; 5 NOT_FOUND: "requested
 *    lease not found"; 14 UNAVAILABLE -> 503 when there is no leader);
 *  - the streaming calls (/v3/watch, /v3/lease/keepalive) answer 200 with
 *    one JSON object per line, {"result":{...}}\n, or an {"error":...} line;
 *    a watch is {"result":{"header":..,"created":true}} first, then event
 *    batches ("events":[{"type":"DELETE"?,"kv":{...}}]), progress
 *    notifications (a header alone), and a compacted start revision as
 *    {"result":{"canceled":true,"compact_revision":"N"}}.
 * Unary calls use one curl easy handle per etcd_t (connections are kept);
 * the watch drives the same handle through a multi handle, polled every
 * 100 ms so the stop flag is seen quickly whatever the network does.
 */
#include "zones/etcd.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"

#define BODY_MAX (256u << 20)   /* an answer or one watch message (1.5 MiB values, batched) */
#define ERRBODY_MAX (64u << 10) /* an error answer: only its text is wanted */
#define POLL_MS 100             /* how often a watch looks at its stop flag */

struct etcd {
    char *urls[ETCD_MAX_URLS];
    int nurls;
    int cur; /* the endpoint that answered last */
    char *cacert, *cert, *key;
    long timeout_ms;
    CURL *curl;
    CURLM *multi;            /* for the watch, made on first use */
    struct curl_slist *hdrs; /* Content-Type, no Expect: 100-continue */
    char *buf;               /* the answer being read */
    size_t len, cap;
    size_t max;        /* cap of this answer */
    bool over;         /* the answer went over max */
    int grpc_code;     /* of the last error answer, -1 none */
    char emsg[256];    /* its text */
    char cerr[CURL_ERROR_SIZE]; /* curl's own text for a failed transfer */
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- base64 (RFC 4648 standard alphabet, padded), strict ---- */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const uint8_t *p, size_t n, size_t *olen)
{
    char *o = xmalloc((n + 2) / 3 * 4 + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)p[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= p[i + 2];
        }
        o[j++] = b64_chars[v >> 18 & 63];
        o[j++] = b64_chars[v >> 12 & 63];
        o[j++] = i + 1 < n ? b64_chars[v >> 6 & 63] : '=';
        o[j++] = i + 2 < n ? b64_chars[v & 63] : '=';
    }
    o[j] = '\0';
    *olen = j;
    return o;
}

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* decode into a fresh buffer of *olen + 1 bytes (NUL-terminated); -1 if not base64 */
static int b64_decode(const char *s, size_t n, uint8_t **out, size_t *olen)
{
    if (n % 4 != 0) {
        return -1;
    }
    size_t pad = 0;
    if (n >= 1 && s[n - 1] == '=') {
        pad++;
        if (n >= 2 && s[n - 2] == '=') {
            pad++;
        }
    }
    uint8_t *o = xmalloc(n / 4 * 3 + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int v[4];
        for (int k = 0; k < 4; k++) {
            if (last && k >= 4 - (int)pad) {
                v[k] = 0;
            } else if ((v[k] = b64_val((unsigned char)s[i + k])) < 0) {
                free(o);
                return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        o[j++] = (uint8_t)(w >> 16);
        if (!last || pad < 2) {
            o[j++] = (uint8_t)(w >> 8);
        }
        if (!last || pad < 1) {
            o[j++] = (uint8_t)w;
        }
    }
    o[j] = '\0';
    *out = o;
    *olen = j;
    return 0;
}

/* ---- JSON helpers ---- */

static void j_set_b64(json_t *o, const char *k, const void *p, size_t n)
{
    size_t len;
    char *s = b64_encode(p, n, &len);
    json_object_set_new(o, k, json_stringn(s, len));
    free(s);
}

static void j_set_i64(json_t *o, const char *k, int64_t v)
{
    char s[24];
    snprintf(s, sizeof(s), "%" PRId64, v);
    json_object_set_new(o, k, json_string(s));
}

/* an int64 field: a decimal string (what the gateway sends) or a JSON
 * integer; missing or null is 0. @return 0, -1 when it is something else */
static int j_i64(const json_t *o, const char *k, int64_t *v)
{
    *v = 0;
    const json_t *x = json_is_object(o) ? json_object_get(o, k) : NULL;
    if (!x || json_is_null(x)) {
        return 0;
    }
    if (json_is_integer(x)) {
        *v = (int64_t)json_integer_value(x);
        return 0;
    }
    if (!json_is_string(x)) {
        return -1;
    }
    const char *s = json_string_value(x);
    if (json_string_length(x) == 0 || json_string_length(x) > 20 || strlen(s) != json_string_length(x)) {
        return -1;
    }
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))) {
        return -1;
    }
    *v = (int64_t)n;
    return 0;
}

/* a bool field: missing is false; -1 when not a boolean */
static int j_bool(const json_t *o, const char *k, bool *v)
{
    *v = false;
    const json_t *x = json_object_get(o, k);
    if (!x || json_is_null(x)) {
        return 0;
    }
    if (!json_is_boolean(x)) {
        return -1;
    }
    *v = json_is_true(x);
    return 0;
}

/* a bytes field (base64): missing is empty; always a malloc'd NUL-terminated buffer */
static int j_bytes(const json_t *o, const char *k, uint8_t **p, size_t *n)
{
    const json_t *x = json_object_get(o, k);
    if (!x || json_is_null(x)) {
        *p = xcalloc(1, 1);
        *n = 0;
        return 0;
    }
    if (!json_is_string(x)) {
        return -1;
    }
    return b64_decode(json_string_value(x), json_string_length(x), p, n);
}

void etcd_kv_free(etcd_kv_t *kv)
{
    if (!kv) {
        return;
    }
    free(kv->key);
    free(kv->val);
    memset(kv, 0, sizeof(*kv));
}

void etcd_kvs_free(etcd_kv_t *kvs, size_t n)
{
    if (!kvs) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        etcd_kv_free(&kvs[i]);
    }
    free(kvs);
}

/* mvccpb.KeyValue -> *kv; on error *kv holds nothing. @return 0, -1 (what in *what) */
static int kv_decode(const json_t *o, etcd_kv_t *kv, const char **what)
{
    memset(kv, 0, sizeof(*kv));
    if (!json_is_object(o)) {
        *what = "kv is not an object";
        return -1;
    }
    if (j_bytes(o, "key", &kv->key, &kv->klen) < 0) {
        *what = "key is not base64";
        goto fail;
    }
    if (j_bytes(o, "value", &kv->val, &kv->vlen) < 0) {
        *what = "value is not base64";
        goto fail;
    }
    if (j_i64(o, "create_revision", &kv->create_rev) < 0 ||
        j_i64(o, "mod_revision", &kv->mod_rev) < 0 || j_i64(o, "version", &kv->version) < 0 ||
        j_i64(o, "lease", &kv->lease) < 0) {
        *what = "a revision, version or lease is not an integer";
        goto fail;
    }
    return 0;
fail:
    etcd_kv_free(kv);
    return -1;
}

/* ---- the handle ---- */

etcd_t *etcd_new(const etcd_cfg_t *cfg, diag_t *d)
{
    pthread_once(&curl_once, curl_init_once);
    if (!cfg || cfg->nurls < 1 || cfg->nurls > ETCD_MAX_URLS) {
        diag_set(d, "etcd", 0, "between 1 and %d endpoint URLs are needed", ETCD_MAX_URLS);
        return NULL;
    }
    for (int i = 0; i < cfg->nurls; i++) {
        const char *u = cfg->urls[i];
        if (!u || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) ||
            strlen(u) > 512) {
            diag_set(d, "etcd", 0, "bad endpoint URL \"%.200s\" (want http://HOST:PORT or https://...)",
                     u ? u : "");
            return NULL;
        }
    }
    etcd_t *e = xcalloc(1, sizeof(*e));
    e->curl = curl_easy_init();
    if (!e->curl) {
        free(e);
        diag_set(d, "etcd", 0, "curl_easy_init failed");
        return NULL;
    }
    for (int i = 0; i < cfg->nurls; i++) {
        /* drop trailing slashes: paths are appended as /v3/... */
        size_t n = strlen(cfg->urls[i]);
        while (n > 0 && cfg->urls[i][n - 1] == '/') {
            n--;
        }
        e->urls[i] = xmalloc(n + 1);
        memcpy(e->urls[i], cfg->urls[i], n);
        e->urls[i][n] = '\0';
    }
    e->nurls = cfg->nurls;
    e->cacert = cfg->cacert ? xstrdup(cfg->cacert) : NULL;
    e->cert = cfg->cert ? xstrdup(cfg->cert) : NULL;
    e->key = cfg->key ? xstrdup(cfg->key) : NULL;
    e->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 3000;
    e->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    e->hdrs = curl_slist_append(e->hdrs, "Expect:");
    e->grpc_code = -1;
    return e;
}

void etcd_free(etcd_t *e)
{
    if (!e) {
        return;
    }
    if (e->multi) {
        curl_multi_cleanup(e->multi);
    }
    curl_easy_cleanup(e->curl);
    curl_slist_free_all(e->hdrs);
    for (int i = 0; i < e->nurls; i++) {
        free(e->urls[i]);
    }
    free(e->cacert);
    free(e->cert);
    free(e->key);
    free(e->buf);
    free(e);
}

const char *etcd_url(const etcd_t *e)
{
    return e->urls[e->cur];
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    etcd_t *e = arg;
    size_t len = size * n;
    if (e->len + len > e->max) {
        e->over = true;
        return 0; /* curl fails the transfer: CURLE_WRITE_ERROR */
    }
    if (e->len + len + 1 > e->cap) {
        size_t cap = e->cap ? e->cap : 4096;
        while (cap < e->len + len + 1) {
            cap *= 2;
        }
        e->buf = xrealloc(e->buf, cap);
        e->cap = cap;
    }
    memcpy(e->buf + e->len, p, len);
    e->len += len;
    e->buf[e->len] = '\0';
    return len;
}

/* the options every request shares; @p url the endpoint + path */
static void setup(etcd_t *e, const char *url)
{
    CURL *c = e->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->timeout_ms);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "dnsd-etcd");
    if (e->cacert) {
        curl_easy_setopt(c, CURLOPT_CAINFO, e->cacert);
    }
    if (e->cert) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
    }
    if (e->key) {
        curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
    }
    e->cerr[0] = '\0';
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->cerr);
    e->len = 0;
    e->over = false;
    if (e->buf) {
        e->buf[0] = '\0';
    }
}

/*
 * An error answer {"error": "...", "message": "...", "code": N} (or, in a
 * stream, the same as one line): its text into e->emsg and e->grpc_code.
 * @return true when @p j is one.
 */
static bool error_json(etcd_t *e, const json_t *j)
{
    if (!json_is_object(j)) {
        return false;
    }
    const json_t *err = json_object_get(j, "error");
    const json_t *msg = json_object_get(j, "message");
    const json_t *code = json_object_get(j, "code");
    const char *text = json_is_string(msg) && json_string_length(msg) > 0 ? json_string_value(msg)
                       : json_is_string(err) && json_string_length(err) > 0
                           ? json_string_value(err)
                           : NULL;
    if (!text && !json_is_integer(code)) {
        return false;
    }
    snprintf(e->emsg, sizeof(e->emsg), "%s", text ? text : "(no message)");
    e->grpc_code = json_is_integer(code) ? (int)json_integer_value(code) : -1;
    return true;
}

/* the same for the answer in e->buf */
static bool parse_error(etcd_t *e)
{
    json_t *j = json_loadb(e->buf ? e->buf : "", e->len, JSON_DISABLE_EOF_CHECK, NULL);
    bool is = error_json(e, j);
    json_decref(j);
    return is;
}

/* the start of a body that is not JSON, printable, for a message */
static void body_excerpt(const char *body, size_t len, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < cap && i < 120; i++) {
        unsigned char c = (unsigned char)body[i];
        out[j++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
    }
    out[j] = '\0';
}

/*
 * POST @p req to @p path on each endpoint in turn, starting with the one
 * that answered last, until one answers: an endpoint that cannot be
 * reached, times out or answers 5xx is skipped (its error remembered for
 * the message). @return 0 and *@p out (the parsed body; the caller frees
 * it); DNSD_ENET with @p d naming the endpoint(s), and for an etcd error
 * answer e->grpc_code/e->emsg set.
 */
static int call(etcd_t *e, const char *path, json_t *req, json_t **out, diag_t *d)
{
    *out = NULL;
    e->grpc_code = -1;
    e->emsg[0] = '\0';
    char *body = json_dumps(req, JSON_COMPACT);
    if (!body) {
        diag_set(d, "etcd", 0, "%s: cannot encode the request", path);
        return DNSD_ENET;
    }
    char fails[400] = "";
    size_t flen = 0;
    int rc = DNSD_ENET;
    for (int k = 0; k < e->nurls; k++) {
        int i = (e->cur + k) % e->nurls;
        char url[600];
        snprintf(url, sizeof(url), "%s%s", e->urls[i], path);
        setup(e, url);
        e->max = BODY_MAX;
        curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, e->timeout_ms);
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, e);
        CURLcode cc = curl_easy_perform(e->curl);
        long status = 0;
        curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
        char why[200];
        if (cc != CURLE_OK) {
            if (e->over) {
                snprintf(why, sizeof(why), "answer over %u MiB", BODY_MAX >> 20);
            } else if (cc == CURLE_OPERATION_TIMEDOUT) {
                snprintf(why, sizeof(why), "no answer within %ld ms", e->timeout_ms);
            } else {
                snprintf(why, sizeof(why), "%.190s", e->cerr[0] ? e->cerr : curl_easy_strerror(cc));
            }
        } else if (status >= 500 || status < 200) {
            if (parse_error(e)) {
                snprintf(why, sizeof(why), "HTTP %ld: %.150s (code %d)", status, e->emsg,
                         e->grpc_code);
            } else {
                snprintf(why, sizeof(why), "HTTP %ld", status);
            }
        } else {
            /* an answer: this endpoint is the one to use from now on */
            e->cur = i;
            json_error_t je;
            json_t *j = json_loadb(e->buf ? e->buf : "", e->len, JSON_DISABLE_EOF_CHECK, &je);
            if (error_json(e, j)) {
                diag_set(d, "", 0, "etcd %s: %s: %s (code %d)", e->urls[i], path, e->emsg,
                         e->grpc_code);
                json_decref(j);
                rc = DNSD_ENET;
                goto out;
            }
            if (status >= 300 || !json_is_object(j)) {
                char ex[128];
                body_excerpt(e->buf ? e->buf : "", e->len, ex, sizeof(ex));
                diag_set(d, "", 0, "etcd %s: %s: %s HTTP %ld answer \"%s\"", e->urls[i], path,
                         json_is_object(j) ? "an" : "a non-JSON", status, ex);
                json_decref(j);
                rc = DNSD_ENET;
                goto out;
            }
            *out = j;
            rc = 0;
            goto out;
        }
        int w = snprintf(fails + flen, sizeof(fails) - flen, "%s%s: %s", flen ? "; " : "",
                         e->urls[i], why);
        if (w > 0) {
            flen = flen + (size_t)w < sizeof(fails) ? flen + (size_t)w : sizeof(fails) - 1;
        }
    }
    diag_set(d, "", 0, "etcd: no endpoint answered %s (no quorum or unreachable): %s", path, fails);
out:
    free(body);
    /* a huge answer's buffer is not kept for the life of the handle */
    if (e->cap > (1u << 20)) {
        free(e->buf);
        e->buf = NULL;
        e->cap = 0;
        e->len = 0;
    }
    return rc;
}

/* "malformed answer" for a field that failed its check */
static int malformed(etcd_t *e, const char *path, const char *what, diag_t *d)
{
    diag_set(d, "", 0, "etcd %s: %s: malformed answer: %s", e->urls[e->cur], path, what);
    return DNSD_ENET;
}

static bool is_compacted(const etcd_t *e)
{
    return e->grpc_code == 11 && strstr(e->emsg, "compacted") != NULL;
}

static int header_rev(const json_t *resp, int64_t *rev)
{
    return j_i64(json_object_get(resp, "header"), "revision", rev);
}

/* ---- kv ---- */

int etcd_range(etcd_t *e, const void *key, size_t klen, const void *range_end, size_t relen,
               int64_t limit, int64_t rev, etcd_kv_t **out, size_t *n, bool *more,
               int64_t *header_revision, diag_t *d)
{
    static const char path[] = "/v3/kv/range";
    *out = NULL;
    *n = 0;
    if (more) {
        *more = false;
    }
    json_t *req = json_object();
    j_set_b64(req, "key", key, klen);
    if (range_end) {
        j_set_b64(req, "range_end", range_end, relen);
    }
    if (limit > 0) {
        j_set_i64(req, "limit", limit);
    }
    if (rev > 0) {
        j_set_i64(req, "revision", rev);
    }
    json_t *resp = NULL;
    int rc = call(e, path, req, &resp, d);
    if (rc < 0) {
        if (is_compacted(e)) {
            rc = DNSD_ERANGE;
        }
        goto out;
    }
    int64_t hrev;
    bool m;
    if (header_rev(resp, &hrev) < 0 || j_bool(resp, "more", &m) < 0) {
        rc = malformed(e, path, "header.revision or more", d);
        goto out;
    }
    const json_t *kvs = json_object_get(resp, "kvs");
    if (kvs && !json_is_array(kvs) && !json_is_null(kvs)) {
        rc = malformed(e, path, "kvs is not an array", d);
        goto out;
    }
    size_t cnt = json_is_array(kvs) ? json_array_size(kvs) : 0;
    etcd_kv_t *arr = cnt ? xcalloc(cnt, sizeof(*arr)) : NULL;
    for (size_t i = 0; i < cnt; i++) {
        const char *what;
        if (kv_decode(json_array_get(kvs, i), &arr[i], &what) < 0) {
            etcd_kvs_free(arr, i);
            rc = malformed(e, path, what, d);
            goto out;
        }
    }
    *out = arr;
    *n = cnt;
    if (more) {
        *more = m;
    }
    if (header_revision) {
        *header_revision = hrev;
    }
out:
    json_decref(req);
    json_decref(resp);
    return rc;
}

int etcd_get(etcd_t *e, const void *key, size_t klen, etcd_kv_t *out, int64_t *header_revision,
             diag_t *d)
{
    memset(out, 0, sizeof(*out));
    etcd_kv_t *kvs;
    size_t n;
    int rc = etcd_range(e, key, klen, NULL, 0, 1, 0, &kvs, &n, NULL, header_revision, d);
    if (rc < 0) {
        return rc;
    }
    if (n == 0) {
        diag_set(d, "", 0, "etcd %s: no key \"%.*s\"", e->urls[e->cur], (int)(klen > 200 ? 200 : klen),
                 (const char *)key);
        return DNSD_ENOTFOUND;
    }
    *out = kvs[0]; /* moved: the array alone is freed */
    for (size_t i = 1; i < n; i++) {
        etcd_kv_free(&kvs[i]);
    }
    free(kvs);
    return 0;
}

static json_t *put_req(const void *key, size_t klen, const void *val, size_t vlen, int64_t lease)
{
    json_t *p = json_object();
    j_set_b64(p, "key", key, klen);
    j_set_b64(p, "value", val, vlen);
    if (lease != 0) {
        j_set_i64(p, "lease", lease);
    }
    return p;
}

int etcd_put(etcd_t *e, const void *key, size_t klen, const void *val, size_t vlen, int64_t lease,
             int64_t *rev, diag_t *d)
{
    static const char path[] = "/v3/kv/put";
    json_t *req = put_req(key, klen, val, vlen, lease);
    json_t *resp = NULL;
    int rc = call(e, path, req, &resp, d);
    if (rc == 0) {
        int64_t r;
        if (header_rev(resp, &r) < 0) {
            rc = malformed(e, path, "header.revision", d);
        } else if (rev) {
            *rev = r;
        }
    }
    json_decref(req);
    json_decref(resp);
    return rc;
}

/*
 * One txn: if the key's @p target ("CREATE" or "MOD") revision equals
 * @p cmp_rev, run @p op (its one request, "request_put" or
 * "request_delete_range"). @return 0 and *@p rev (the txn's revision),
 * DNSD_EEXIST when the compare failed, DNSD_ENET.
 */
/* A compare "@p key's @p target ("CREATE" or "MOD") revision EQUALs @p rev". */
static json_t *cmp_eq(const void *key, size_t klen, const char *target, int64_t rev)
{
    json_t *cmp = json_object();
    json_object_set_new(cmp, "target", json_string(target));
    json_object_set_new(cmp, "result", json_string("EQUAL"));
    j_set_b64(cmp, "key", key, klen);
    j_set_i64(cmp, strcmp(target, "CREATE") == 0 ? "create_revision" : "mod_revision", rev);
    return cmp;
}

/*
 * Run txn @p req ({compare, success}; consumed). @return 0 and *@p rev (the
 * txn's revision), DNSD_EEXIST when a compare failed (the diag names the
 * endpoint and @p why), DNSD_ENET.
 */
static int txn_run(etcd_t *e, json_t *req, int64_t *rev, diag_t *d, const char *why)
{
    static const char path[] = "/v3/kv/txn";
    json_t *resp = NULL;
    int rc = call(e, path, req, &resp, d);
    if (rc < 0) {
        goto out;
    }
    bool ok;
    int64_t r;
    if (j_bool(resp, "succeeded", &ok) < 0 || header_rev(resp, &r) < 0) {
        rc = malformed(e, path, "succeeded or header.revision", d);
        goto out;
    }
    if (!ok) {
        diag_set(d, "", 0, "etcd %s: %s", e->urls[e->cur], why);
        rc = DNSD_EEXIST;
        goto out;
    }
    if (rev) {
        *rev = r;
    }
out:
    json_decref(req);
    json_decref(resp);
    return rc;
}

static int txn_if(etcd_t *e, const void *key, size_t klen, const char *target, int64_t cmp_rev,
                  const char *op, json_t *op_req, int64_t *rev, diag_t *d)
{
    json_t *succ = json_object();
    json_object_set_new(succ, op, op_req);
    json_t *req = json_object();
    json_object_set_new(req, "compare", json_pack("[o]", cmp_eq(key, klen, target, cmp_rev)));
    json_object_set_new(req, "success", json_pack("[o]", succ));
    char why[300];
    snprintf(why, sizeof(why), "the key \"%.*s\" %s", (int)(klen > 200 ? 200 : klen),
             (const char *)key,
             strcmp(target, "CREATE") == 0 || cmp_rev == 0
                 ? "exists"
                 : "changed (its mod_revision is not the one expected)");
    return txn_run(e, req, rev, d, why);
}

int etcd_put_if_absent(etcd_t *e, const void *key, size_t klen, const void *val, size_t vlen,
                       int64_t lease, int64_t *rev, diag_t *d)
{
    return txn_if(e, key, klen, "CREATE", 0, "request_put", put_req(key, klen, val, vlen, lease),
                  rev, d);
}

int etcd_put_if_rev(etcd_t *e, const void *key, size_t klen, const void *val, size_t vlen,
                    int64_t lease, int64_t mod_rev, int64_t *rev, diag_t *d)
{
    /* an absent key's mod_revision is 0, so 0 means "only if absent" */
    return txn_if(e, key, klen, "MOD", mod_rev, "request_put",
                  put_req(key, klen, val, vlen, lease), rev, d);
}

int etcd_del_if_rev(etcd_t *e, const void *key, size_t klen, int64_t mod_rev, diag_t *d)
{
    json_t *del = json_object();
    j_set_b64(del, "key", key, klen);
    return txn_if(e, key, klen, "MOD", mod_rev, "request_delete_range", del, NULL, d);
}

int etcd_put_guarded(etcd_t *e, const void *key, size_t klen, const void *val, size_t vlen,
                     const void *guard, size_t glen, int64_t guard_rev, bool del_guard,
                     int64_t *rev, diag_t *d)
{
    json_t *ops = json_array(), *put = json_object();
    json_object_set_new(put, "request_put", put_req(key, klen, val, vlen, 0));
    json_array_append_new(ops, put);
    if (del_guard) {
        json_t *del = json_object(), *dr = json_object();
        j_set_b64(dr, "key", guard, glen);
        json_object_set_new(del, "request_delete_range", dr);
        json_array_append_new(ops, del);
    }
    json_t *req = json_object();
    json_object_set_new(req, "compare", json_pack("[o,o]", cmp_eq(key, klen, "CREATE", 0),
                                                  cmp_eq(guard, glen, "MOD", guard_rev)));
    json_object_set_new(req, "success", ops);
    char why[450];
    snprintf(why, sizeof(why), "the key \"%.*s\" exists or \"%.*s\" changed",
             (int)(klen > 200 ? 200 : klen), (const char *)key, (int)(glen > 200 ? 200 : glen),
             (const char *)guard);
    return txn_run(e, req, rev, d, why);
}

int etcd_del(etcd_t *e, const void *key, size_t klen, const void *range_end, size_t relen,
             int64_t *deleted, diag_t *d)
{
    static const char path[] = "/v3/kv/deleterange";
    json_t *req = json_object();
    j_set_b64(req, "key", key, klen);
    if (range_end) {
        j_set_b64(req, "range_end", range_end, relen);
    }
    json_t *resp = NULL;
    int rc = call(e, path, req, &resp, d);
    if (rc == 0) {
        int64_t n;
        if (j_i64(resp, "deleted", &n) < 0) {
            rc = malformed(e, path, "deleted", d);
        } else if (deleted) {
            *deleted = n;
        }
    }
    json_decref(req);
    json_decref(resp);
    return rc;
}

/* ---- leases ---- */

int etcd_lease_grant(etcd_t *e, int64_t ttl_s, int64_t *id, diag_t *d)
{
    static const char path[] = "/v3/lease/grant";
    json_t *req = json_object();
    j_set_i64(req, "TTL", ttl_s);
    json_t *resp = NULL;
    int rc = call(e, path, req, &resp, d);
    if (rc < 0) {
        goto out;
    }
    const json_t *err = json_object_get(resp, "error");
    if (json_is_string(err) && json_string_length(err) > 0) {
        diag_set(d, "", 0, "etcd %s: %s: %s", e->urls[e->cur], path, json_string_value(err));
        rc = DNSD_ENET;
        goto out;
    }
    int64_t v;
    if (j_i64(resp, "ID", &v) < 0 || v == 0) {
        rc = malformed(e, path, "ID", d);
        goto out;
    }
    *id = v;
out:
    json_decref(req);
    json_decref(resp);
    return rc;
}

int etcd_lease_keepalive(etcd_t *e, int64_t id, int64_t *ttl_left, diag_t *d)
{
    static const char path[] = "/v3/lease/keepalive";
    json_t *req = json_object();
    j_set_i64(req, "ID", id);
    json_t *resp = NULL;
    int rc = call(e, path, req, &resp, d);
    if (rc < 0) {
        goto out;
    }
    /* a stream of one message: {"result": {"ID": .., "TTL": ..}} */
    const json_t *res = json_object_get(resp, "result");
    int64_t ttl;
    if (!json_is_object(res) || j_i64(res, "TTL", &ttl) < 0) {
        rc = malformed(e, path, "result.TTL", d);
        goto out;
    }
    if (ttl <= 0) {
        diag_set(d, "", 0, "etcd %s: lease %" PRId64 " has expired", e->urls[e->cur], id);
        rc = DNSD_ENOTFOUND;
        goto out;
    }
    if (ttl_left) {
        *ttl_left = ttl;
    }
out:
    json_decref(req);
    json_decref(resp);
    return rc;
}

int etcd_lease_revoke(etcd_t *e, int64_t id, diag_t *d)
{
    json_t *req = json_object();
    j_set_i64(req, "ID", id);
    json_t *resp = NULL;
    int rc = call(e, "/v3/lease/revoke", req, &resp, d);
    if (rc < 0 && e->grpc_code == 5) {
        rc = DNSD_ENOTFOUND; /* "requested lease not found" */
    }
    json_decref(req);
    json_decref(resp);
    return rc;
}

/* ---- maintenance ---- */

int etcd_compact(etcd_t *e, int64_t rev, diag_t *d)
{
    json_t *req = json_object();
    j_set_i64(req, "revision", rev);
    json_t *resp = NULL;
    int rc = call(e, "/v3/kv/compaction", req, &resp, d);
    if (rc < 0 && is_compacted(e)) {
        rc = 0; /* already compacted that far */
    }
    json_decref(req);
    json_decref(resp);
    return rc;
}

int etcd_status(etcd_t *e, int64_t *revision, int64_t *db_size, diag_t *d)
{
    static const char path[] = "/v3/maintenance/status";
    json_t *req = json_object();
    json_t *resp = NULL;
    int rc = call(e, path, req, &resp, d);
    if (rc == 0) {
        int64_t r, s;
        if (header_rev(resp, &r) < 0 || j_i64(resp, "dbSize", &s) < 0) {
            rc = malformed(e, path, "header.revision or dbSize", d);
        } else {
            if (revision) {
                *revision = r;
            }
            if (db_size) {
                *db_size = s;
            }
        }
    }
    json_decref(req);
    json_decref(resp);
    return rc;
}

size_t etcd_prefix_end(const void *prefix, size_t len, uint8_t *out)
{
    /* etcd's clientv3.GetPrefixRangeEnd: increment the last byte below
     * 0xff and cut there; no such byte: "\0", every key from the prefix on */
    const uint8_t *p = prefix;
    for (size_t i = len; i > 0; i--) {
        if (p[i - 1] < 0xff) {
            memcpy(out, p, i - 1);
            out[i - 1] = (uint8_t)(p[i - 1] + 1);
            return i;
        }
    }
    out[0] = 0;
    return 1;
}

/* ---- the watch stream parser ---- */

struct etcd_wparse {
    etcd_watch_cb cb;
    void *arg;
    char *buf; /* the incomplete line */
    size_t len, cap;
    size_t scanned; /* buf[0..scanned) holds no newline */
    int done;       /* a final result (non-0): returned again by later feeds */
    int64_t compact_rev;
    diag_t diag; /* the final result's text */
    etcd_t *e;   /* for error texts (NULL: fuzzing) */
};

etcd_wparse_t *etcd_wparse_new(etcd_watch_cb cb, void *arg)
{
    etcd_wparse_t *p = xcalloc(1, sizeof(*p));
    p->cb = cb;
    p->arg = arg;
    return p;
}

void etcd_wparse_free(etcd_wparse_t *p)
{
    if (!p) {
        return;
    }
    free(p->buf);
    free(p);
}

__attribute__((format(printf, 3, 4)))
static int wp_fail(etcd_wparse_t *p, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    p->diag.file[0] = '\0';
    p->diag.line = 0;
    vsnprintf(p->diag.text, sizeof(p->diag.text), fmt, ap);
    va_end(ap);
    return rc;
}

/* one message (a line without its newline). @return 0 or a final result */
static int wp_message(etcd_wparse_t *p, const char *s, size_t n)
{
    json_error_t je;
    json_t *j = json_loadb(s, n, 0, &je);
    etcd_event_t *ev = NULL;
    size_t nev = 0;
    int rc = 0;
    if (!json_is_object(j)) {
        rc = wp_fail(p, DNSD_EMALFORMED, "watch: a message is not a JSON object (%s)",
                     j ? "another JSON value" : je.text);
        goto out;
    }
    const json_t *res = json_object_get(j, "result");
    if (!res) {
        /* {"error": "...", "message": ..., "code": N} (a stream error) */
        const json_t *msg = json_object_get(j, "message");
        const json_t *err = json_object_get(j, "error");
        const char *text = json_is_string(msg) ? json_string_value(msg)
                           : json_is_string(err) ? json_string_value(err) : NULL;
        if (text) {
            rc = wp_fail(p, DNSD_ENET, "watch: etcd says: %s", text);
        } else if (json_is_object(err) && json_is_string(json_object_get(err, "message"))) {
            rc = wp_fail(p, DNSD_ENET, "watch: etcd says: %s",
                         json_string_value(json_object_get(err, "message")));
        } else {
            rc = wp_fail(p, DNSD_EMALFORMED, "watch: a message has neither %s nor error", "result");
        }
        goto out;
    }
    if (!json_is_object(res)) {
        rc = wp_fail(p, DNSD_EMALFORMED, "watch: %s is not an object", "result");
        goto out;
    }
    int64_t hrev, crev;
    bool created, canceled;
    if (j_i64(json_object_get(res, "header"), "revision", &hrev) < 0 ||
        j_i64(res, "compact_revision", &crev) < 0 || j_bool(res, "created", &created) < 0 ||
        j_bool(res, "canceled", &canceled) < 0) {
        rc = wp_fail(p, DNSD_EMALFORMED, "watch: %s has a field of the wrong type", "result");
        goto out;
    }
    if (crev > 0) {
        /* the start revision is compacted: the watch is canceled */
        p->compact_rev = crev;
        diag_set(&p->diag, "", 0,
                 "watch: the start revision is compacted (etcd keeps revisions from %" PRId64 ")",
                 crev);
        rc = DNSD_ERANGE;
        goto out;
    }
    if (canceled) {
        const json_t *why = json_object_get(res, "cancel_reason");
        rc = wp_fail(p, DNSD_ENET, "watch: etcd canceled the watch: %s",
                     json_is_string(why) ? json_string_value(why) : "(no reason given)");
        goto out;
    }
    const json_t *evs = json_object_get(res, "events");
    if (evs && !json_is_array(evs) && !json_is_null(evs)) {
        rc = wp_fail(p, DNSD_EMALFORMED, "watch: %s is not an array", "events");
        goto out;
    }
    size_t cnt = json_is_array(evs) ? json_array_size(evs) : 0;
    if (cnt == 0 && created) {
        goto out; /* the watch is set up: nothing to report yet */
    }
    if (cnt > 0) {
        ev = xcalloc(cnt, sizeof(*ev));
    }
    for (size_t i = 0; i < cnt; i++) {
        const json_t *x = json_array_get(evs, i);
        const json_t *type = json_object_get(x, "type");
        if (!json_is_object(x)) {
            rc = wp_fail(p, DNSD_EMALFORMED, "watch: %s is not an object", "an event");
            goto out;
        }
        if (!type || json_is_null(type) ||
            (json_is_string(type) && strcmp(json_string_value(type), "PUT") == 0) ||
            (json_is_integer(type) && json_integer_value(type) == 0)) {
            ev[i].type = 0;
        } else if ((json_is_string(type) && strcmp(json_string_value(type), "DELETE") == 0) ||
                   (json_is_integer(type) && json_integer_value(type) == 1)) {
            ev[i].type = 1;
        } else {
            rc = wp_fail(p, DNSD_EMALFORMED, "watch: %s has an unknown type", "an event");
            goto out;
        }
        const char *what;
        if (kv_decode(json_object_get(x, "kv"), &ev[i].kv, &what) < 0) {
            rc = wp_fail(p, DNSD_EMALFORMED, "watch: an event's %s", what);
            goto out;
        }
        nev = i + 1;
    }
    rc = p->cb(p->arg, ev, cnt, hrev);
    if (rc != 0) {
        diag_set(&p->diag, "", 0, "watch: ended by its callback (%d)", rc);
    }
out:
    for (size_t i = 0; i < nev; i++) {
        etcd_kv_free(&ev[i].kv);
    }
    free(ev);
    json_decref(j);
    return rc;
}

int etcd_wparse_feed(etcd_wparse_t *p, const char *data, size_t len, int64_t *compact_rev,
                     diag_t *d)
{
    if (p->done == 0) {
        if (p->len + len > BODY_MAX) {
            p->done = wp_fail(p, DNSD_EMALFORMED, "watch: a message is over %s", "256 MiB");
        } else {
            if (p->len + len + 1 > p->cap) {
                size_t cap = p->cap ? p->cap : 4096;
                while (cap < p->len + len + 1) {
                    cap *= 2;
                }
                p->buf = xrealloc(p->buf, cap);
                p->cap = cap;
            }
            if (len > 0) {
                memcpy(p->buf + p->len, data, len);
            }
            p->len += len;
        }
    }
    /* every complete line is one message; blank lines (keep-alives) are skipped */
    size_t start = 0;
    while (p->done == 0) {
        char *nl = memchr(p->buf + p->scanned, '\n', p->len - p->scanned);
        if (!nl) {
            p->scanned = p->len;
            break;
        }
        size_t end = (size_t)(nl - p->buf);
        size_t a = start, b = end;
        while (a < b && (p->buf[a] == ' ' || p->buf[a] == '\r' || p->buf[a] == '\t')) {
            a++;
        }
        while (b > a && (p->buf[b - 1] == ' ' || p->buf[b - 1] == '\r' || p->buf[b - 1] == '\t')) {
            b--;
        }
        if (b > a) {
            p->done = wp_message(p, p->buf + a, b - a);
        }
        start = end + 1;
        p->scanned = start;
    }
    if (p->done == 0 && start > 0) {
        memmove(p->buf, p->buf + start, p->len - start);
        p->len -= start;
        p->scanned -= start;
    }
    if (p->done != 0) {
        if (p->done == DNSD_ERANGE && compact_rev) {
            *compact_rev = p->compact_rev;
        }
        if (d) {
            *d = p->diag;
        }
    }
    return p->done;
}

/* ---- the watch ---- */

typedef struct wctx {
    etcd_t *e;
    etcd_wparse_t *p;
    int rc;         /* the parser's final result */
    long status;    /* HTTP status, once known */
    bool answered;  /* a 200 came: the stream is up */
    int64_t *compact_rev;
    diag_t *d;
} wctx_t;

static size_t on_watch(char *data, size_t size, size_t n, void *arg)
{
    wctx_t *w = arg;
    size_t len = size * n;
    if (w->status == 0) {
        curl_easy_getinfo(w->e->curl, CURLINFO_RESPONSE_CODE, &w->status);
        w->answered = w->status == 200;
    }
    if (!w->answered) {
        /* an error answer: keep its start for the message, drop the rest */
        if (w->e->len + len <= ERRBODY_MAX) {
            on_body(data, size, n, w->e);
        }
        return len;
    }
    w->rc = etcd_wparse_feed(w->p, data, len, w->compact_rev, w->d);
    return w->rc != 0 ? 0 : len;
}

int etcd_watch(etcd_t *e, const void *key, size_t klen, const void *range_end, size_t relen,
               int64_t start_rev, etcd_watch_cb cb, void *arg, atomic_bool *stop,
               int64_t *compact_rev, diag_t *d)
{
    if (stop && atomic_load(stop)) {
        return 0;
    }
    if (!e->multi) {
        e->multi = curl_multi_init();
        if (!e->multi) {
            diag_set(d, "", 0, "etcd: curl_multi_init failed");
            return DNSD_ENET;
        }
    }
    json_t *cr = json_object();
    j_set_b64(cr, "key", key, klen);
    if (range_end) {
        j_set_b64(cr, "range_end", range_end, relen);
    }
    if (start_rev > 0) {
        j_set_i64(cr, "start_revision", start_rev);
    }
    json_object_set_new(cr, "progress_notify", json_true());
    json_t *req = json_object();
    json_object_set_new(req, "create_request", cr);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);

    char fails[400] = "";
    size_t flen = 0;
    int rc = DNSD_ENET;
    bool tried_all = true;
    for (int k = 0; k < e->nurls; k++) {
        int i = (e->cur + k) % e->nurls;
        char url[600];
        snprintf(url, sizeof(url), "%s/v3/watch", e->urls[i]);
        setup(e, url);
        e->max = ERRBODY_MAX;
        etcd_wparse_t *p = etcd_wparse_new(cb, arg);
        wctx_t w = {.e = e, .p = p, .compact_rev = compact_rev, .d = d};
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, on_watch);
        curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &w);
        /* no request timeout: the stream lives until stopped; a dead
         * peer behind a silent network is found by TCP keep-alives */
        curl_easy_setopt(e->curl, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(e->curl, CURLOPT_TCP_KEEPIDLE, 10L);
        curl_easy_setopt(e->curl, CURLOPT_TCP_KEEPINTVL, 5L);
        curl_multi_add_handle(e->multi, e->curl);
        CURLcode cc = CURLE_OK;
        bool finished = false, stopped = false, silent = false;
        /* etcd answers a watch at once ({"created":true}): an endpoint
         * that accepts and stays silent (a frozen member) is skipped */
        long long first_by = mono_ms() + e->timeout_ms;
        for (;;) {
            int running = 0;
            if (curl_multi_perform(e->multi, &running) != CURLM_OK) {
                cc = CURLE_RECV_ERROR;
                finished = true;
            }
            CURLMsg *m;
            int left;
            while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
                if (m->msg == CURLMSG_DONE) {
                    cc = m->data.result;
                    finished = true;
                }
            }
            if (finished || running == 0) {
                break;
            }
            if (w.status == 0 && mono_ms() > first_by) {
                silent = true;
                break;
            }
            if (stop && atomic_load(stop)) {
                stopped = true;
                break;
            }
            curl_multi_poll(e->multi, NULL, 0, POLL_MS, NULL);
            if (stop && atomic_load(stop)) {
                stopped = true;
                break;
            }
        }
        curl_multi_remove_handle(e->multi, e->curl);
        etcd_wparse_free(p);
        if (w.answered) {
            e->cur = i;
        }
        if (w.rc != 0) {
            /* the parser or the callback ended it: d already says why */
            rc = w.rc;
            if (d) {
                char t[sizeof(d->text)];
                snprintf(t, sizeof(t), "%s", d->text);
                diag_set(d, "", 0, "etcd %s: %s", e->urls[i], t);
            }
            tried_all = false;
            break;
        }
        if (stopped) {
            rc = 0;
            tried_all = false;
            break;
        }
        char why[200];
        if (w.answered) {
            /* the stream was up and ended or broke: the caller resumes */
            diag_set(d, "", 0, "etcd %s: the watch stream %s", e->urls[i],
                     cc == CURLE_OK ? "ended" : e->cerr[0] ? e->cerr : curl_easy_strerror(cc));
            rc = DNSD_ENET;
            tried_all = false;
            break;
        }
        if (w.status >= 300 && w.status < 500) {
            /* etcd refused the request itself: no other endpoint will take it */
            if (parse_error(e)) {
                diag_set(d, "", 0, "etcd %s: /v3/watch: %s (code %d)", e->urls[i], e->emsg,
                         e->grpc_code);
            } else {
                diag_set(d, "", 0, "etcd %s: /v3/watch: HTTP %ld", e->urls[i], w.status);
            }
            rc = DNSD_ENET;
            tried_all = false;
            break;
        }
        if (w.status != 0 && parse_error(e)) {
            snprintf(why, sizeof(why), "HTTP %ld: %.150s (code %d)", w.status, e->emsg,
                     e->grpc_code);
        } else if (w.status != 0) {
            snprintf(why, sizeof(why), "HTTP %ld", w.status);
        } else if (silent || cc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(why, sizeof(why), "no answer within %ld ms", e->timeout_ms);
        } else {
            snprintf(why, sizeof(why), "%.190s", e->cerr[0] ? e->cerr : curl_easy_strerror(cc));
        }
        int wn = snprintf(fails + flen, sizeof(fails) - flen, "%s%s: %s", flen ? "; " : "",
                          e->urls[i], why);
        if (wn > 0) {
            flen = flen + (size_t)wn < sizeof(fails) ? flen + (size_t)wn : sizeof(fails) - 1;
        }
    }
    if (tried_all) {
        diag_set(d, "", 0, "etcd: no endpoint answered /v3/watch (no quorum or unreachable): %s",
                 fails);
    }
    free(body);
    return rc;
}
