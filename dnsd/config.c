/* SPDX-License-Identifier: MIT */
/* config.c -- see config.h. Slow path. */
#include "dnsd/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsd/answer.h"
#include "dnsd/certs.h"
#include "dnsd/xfrout.h"
#include "zones/base/err.h"
#include "zones/base/line.h"
#include "zones/base/parse.h"
#include "zones/base/log.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

void config_defaults(config_t *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->store, sizeof(c->store), "%s/lib/dnsd", LOCALSTATEDIR);
    zc_cfg_defaults(&c->cluster);
    c->workers = 0;
    c->tcp_idle_timeout_s = 10;
    c->tcp_max_conn_time_s = 120;
    c->tcp_max_connections = 1024;
    c->xfr_max_transfers = XFROUT_THREADS_DEFAULT;
    c->tcp_max_queries = 0;
    c->udp_payload = ANSWER_UDP_MAX_DEFAULT;
    c->rrl_rate = 200; /* as NSD as Debian builds it: see README, "Rate limiting" */
    c->rrl_slip = 2;
    c->rrl_ipv4_prefix = 24;
    c->rrl_ipv6_prefix = 56;
    c->rrl_table_size = 262144;
    c->stats_interval_s = 60;
    c->log_level = LOG_LVL_INFO;
    c->geo_check_ms = 1000;
    c->dnssec_check_ms = 60000;
    acme_cfg_defaults(&c->acme);
    c->control_socket_mode = 0660;
    c->dnstap_log_queries = true;
    c->dnstap_log_responses = true;
    c->dnstap_sample = 1;
    c->rollout_probe_interval_s = 10;
}

int config_parse_addr(const char *s, conf_listen_t *out)
{
    return config_parse_addr_port(s, 53, out);
}

int config_parse_addr_port(const char *s, uint16_t dflt_port, conf_listen_t *out)
{
    memset(out, 0, sizeof(*out));
    if (parse_hostport(s, dflt_port, 0, &out->ss, &out->len) != 0) {
        return DNSD_ECONFIG;
    }
    snprintf(out->text, sizeof(out->text), "%s", s);
    return 0;
}

/* set only the text: the caller has put the file and line in @p d */
__attribute__((format(printf, 2, 3)))
static void diag_text(diag_t *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->text, sizeof(d->text), fmt, ap);
    va_end(ap);
}

static int parse_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
    long long n;
    if (parse_num(v, (long long)min, (long long)max, &n) != 0) {
        return DNSD_ECONFIG;
    }
    *out = (unsigned long)n;
    return 0;
}

/* cluster-* settings (zones/cluster.h); README "Cluster" lists them */
static int cluster_set(config_t *c, const char *key, const char *value, diag_t *d)
{
    zc_cfg_t *z = &c->cluster;
    unsigned long n;
    if (strcmp(key, "cluster-etcd") == 0) {
        char buf[ETCD_MAX_URLS * 256];
        if (strlen(value) >= sizeof(buf)) {
            diag_text(d, "%s: too long", key);
            return DNSD_ECONFIG;
        }
        snprintf(buf, sizeof(buf), "%s", value);
        z->nurls = 0;
        for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
            if (z->nurls == ETCD_MAX_URLS) {
                diag_text(d, "%s: more than %d URLs", key, ETCD_MAX_URLS);
                return DNSD_ECONFIG;
            }
            if ((strncmp(t, "http://", 7) != 0 && strncmp(t, "https://", 8) != 0) ||
                strlen(t) >= sizeof(z->urls[0])) {
                diag_text(d, "%s: \"%s\" is not an http:// or https:// URL", key, t);
                return DNSD_ECONFIG;
            }
            snprintf(z->urls[z->nurls++], sizeof(z->urls[0]), "%s", t);
        }
        c->cluster_on = z->nurls > 0;
        return 0;
    }
    struct {
        const char *key;
        char *dst;
        size_t cap;
    } strs[] = {
        {"cluster-prefix", z->prefix, sizeof(z->prefix)},
        {"cluster-node", z->node, sizeof(z->node)},
        {"cluster-key-file", z->key_file, sizeof(z->key_file)},
        {"cluster-etcd-cacert", z->cacert, sizeof(z->cacert)},
        {"cluster-etcd-cert", z->cert, sizeof(z->cert)},
        {"cluster-etcd-key", z->key, sizeof(z->key)},
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (strcmp(key, strs[i].key) != 0) {
            continue;
        }
        if (!value[0] || strlen(value) >= strs[i].cap) {
            diag_text(d, "%s: empty or longer than %zu bytes", key, strs[i].cap - 1);
            return DNSD_ECONFIG;
        }
        if (strcmp(key, "cluster-prefix") == 0 &&
            (value[0] != '/' || value[strlen(value) - 1] != '/')) {
            diag_text(d, "%s: \"%s\" must start and end with '/' (e.g. /dnsd/)", key, value);
            return DNSD_ECONFIG;
        }
        if (strcmp(key, "cluster-node") == 0) {
            for (const char *p = value; *p; p++) {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')) {
                    diag_text(d, "%s: \"%s\": use letters, digits, '-', '_' and '.'", key,
                              value);
                    return DNSD_ECONFIG;
                }
            }
        }
        snprintf(strs[i].dst, strs[i].cap, "%s", value);
        return 0;
    }
    struct {
        const char *key;
        unsigned long min, max;
    } nums[] = {
        {"cluster-lease-ttl", 2, 3600},
        {"cluster-timeout", 100, 60000},
        {"cluster-log-keep", 0, 100000000},
        {"cluster-snapshot-every", 0, 100000000},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (strcmp(key, nums[i].key) != 0) {
            continue;
        }
        if (parse_uint(value, nums[i].min, nums[i].max, &n) != 0) {
            diag_text(d, "%s: \"%s\" is not a number from %lu to %lu", key, value, nums[i].min,
                      nums[i].max);
            return DNSD_ECONFIG;
        }
        if (i == 0) {
            z->lease_ttl_s = (int)n;
        } else if (i == 1) {
            z->timeout_ms = (long)n;
        } else if (i == 2) {
            z->log_keep = n;
        } else {
            z->snapshot_every = n;
        }
        return 0;
    }
    diag_text(d, "unknown setting \"%s\"", key);
    return DNSD_ECONFIG;
}

int config_set(config_t *c, const char *key, const char *value, diag_t *d)
{
    unsigned long n;
#define UINT_KEY(name, field, min, max)                                                       \
    if (strcmp(key, name) == 0) {                                                           \
        if (parse_uint(value, min, max, &n) != 0) {                                         \
            diag_text(d, "%s: \"%s\" is not a number from %lu to %lu", key, \
                     value, (unsigned long)(min), (unsigned long)(max));                    \
            return DNSD_ECONFIG;                                                            \
        }                                                                                   \
        c->field = n;                                                                       \
        return 0;                                                                           \
    }
    UINT_KEY("workers", workers, 0, 256)
    UINT_KEY("tcp-idle-timeout", tcp_idle_timeout_s, 1, 86400)
    UINT_KEY("tcp-max-connection-time", tcp_max_conn_time_s, 0, 86400)
    UINT_KEY("tcp-max-connections", tcp_max_connections, 1, 1000000)
    UINT_KEY("tcp-max-queries", tcp_max_queries, 0, UINT_MAX)
    UINT_KEY("xfr-max-transfers", xfr_max_transfers, 1, 64)
    UINT_KEY("udp-payload", udp_payload, 512, 4096)
    UINT_KEY("rrl-rate", rrl_rate, 0, 1000000)
    UINT_KEY("rrl-slip", rrl_slip, 0, 100)
    UINT_KEY("rrl-ipv4-prefix", rrl_ipv4_prefix, 8, 32)
    UINT_KEY("rrl-ipv6-prefix", rrl_ipv6_prefix, 16, 128)
    UINT_KEY("rrl-table-size", rrl_table_size, 1024, 1u << 26)
    UINT_KEY("stats-interval", stats_interval_s, 0, 86400)
    UINT_KEY("geo-check-interval-ms", geo_check_ms, 10, 3600000)
    UINT_KEY("dnssec-check-interval-ms", dnssec_check_ms, 10, 3600000)
    UINT_KEY("dnstap-sample", dnstap_sample, 1, 1000000)
    UINT_KEY("rollout-probe-interval", rollout_probe_interval_s, 0, 86400)
#undef UINT_KEY
    if (strncmp(key, "cluster-", 8) == 0) {
        return cluster_set(c, key, value, d);
    }
    if (strcmp(key, "user") == 0) {
        if (strlen(value) >= sizeof(c->user)) {
            diag_text(d, "user: \"%s\" is too long", value);
            return DNSD_ECONFIG;
        }
        if (!c->no_id_lookup) {
            errno = 0;
            struct passwd *pw = getpwnam(value);
            if (!pw) {
                diag_text(d, "user: \"%s\" %s", value,
                          errno ? strerror(errno) : "is not a user on this system");
                return DNSD_ECONFIG;
            }
            c->uid = pw->pw_uid;
            if (!c->group[0]) {
                c->gid = pw->pw_gid;
            }
        }
        snprintf(c->user, sizeof(c->user), "%s", value);
        return 0;
    }
    if (strcmp(key, "group") == 0) {
        if (strlen(value) >= sizeof(c->group)) {
            diag_text(d, "group: \"%s\" is too long", value);
            return DNSD_ECONFIG;
        }
        if (!c->no_id_lookup) {
            errno = 0;
            struct group *gr = getgrnam(value);
            if (!gr) {
                diag_text(d, "group: \"%s\" %s", value,
                          errno ? strerror(errno) : "is not a group on this system");
                return DNSD_ECONFIG;
            }
            c->gid = gr->gr_gid;
        }
        snprintf(c->group, sizeof(c->group), "%s", value);
        return 0;
    }
    if (strcmp(key, "store-map-size") == 0) {
        if (parse_uint(value, 1, 1UL << 20, &n) != 0) {
            diag_text(d, "%s: \"%s\" is not a size in MiB (1..1048576)", key,
                     value);
            return DNSD_ECONFIG;
        }
        c->map_size = (size_t)n << 20;
        return 0;
    }
    if (strcmp(key, "listen") == 0) {
        if (c->nlisten == CONF_LISTEN_MAX) {
            diag_text(d, "listen: at most %d addresses", CONF_LISTEN_MAX);
            return DNSD_ECONFIG;
        }
        if (config_parse_addr(value, &c->listen[c->nlisten]) != 0) {
            diag_set(d, d->file, d->line,
                     "listen: \"%s\" is not an address (1.2.3.4:53, [::1]:53)", value);
            return DNSD_ECONFIG;
        }
        c->nlisten++;
        return 0;
    }
    if (strcmp(key, "http01-listen") == 0) {
        if (c->nhttp01_listen == CONF_LISTEN_MAX) {
            diag_text(d, "http01-listen: at most %d addresses", CONF_LISTEN_MAX);
            return DNSD_ECONFIG;
        }
        if (config_parse_addr_port(value, 80, &c->http01_listen[c->nhttp01_listen]) != 0) {
            diag_text(d, "http01-listen: \"%s\" is not an address (1.2.3.4:80, [::1]:80)", value);
            return DNSD_ECONFIG;
        }
        c->nhttp01_listen++;
        return 0;
    }
    if (strcmp(key, "log-level") == 0) {
        int l = log_level_parse(value);
        if (l < 0) {
            diag_text(d, "log-level: \"%s\" is not error|warning|info|debug",
                     value);
            return DNSD_ECONFIG;
        }
        c->log_level = l;
        return 0;
    }
    if (certs_config_key(key)) {
        return certs_config_set(&c->acme, key, value, d);
    }
    /* issue 16, metrics */
    if (strcmp(key, "metrics-listen") == 0) {
        if (c->nmetrics_listen == CONF_LISTEN_MAX) {
            diag_text(d, "metrics-listen: at most %d addresses", CONF_LISTEN_MAX);
            return DNSD_ECONFIG;
        }
        if (config_parse_addr_port(value, CONF_METRICS_PORT,
                                   &c->metrics_listen[c->nmetrics_listen]) != 0) {
            diag_text(d, "metrics-listen: \"%s\" is not an address (127.0.0.1:%u, [::1]:%u)",
                      value, CONF_METRICS_PORT, CONF_METRICS_PORT);
            return DNSD_ECONFIG;
        }
        c->nmetrics_listen++;
        return 0;
    }
    /* issue 15: HAProxy's handshake lines over UDP syslog (dnsd/evidence.c) */
    if (strcmp(key, "rollout-syslog-listen") == 0) {
        if (c->nrollout_syslog_listen == CONF_LISTEN_MAX) {
            diag_text(d, "rollout-syslog-listen: at most %d addresses", CONF_LISTEN_MAX);
            return DNSD_ECONFIG;
        }
        if (config_parse_addr_port(value, CONF_ROLLOUT_SYSLOG_PORT,
                                   &c->rollout_syslog_listen[c->nrollout_syslog_listen]) != 0) {
            diag_text(d, "rollout-syslog-listen: \"%s\" is not an address (127.0.0.1:%u, [::1]:%u)",
                      value, CONF_ROLLOUT_SYSLOG_PORT, CONF_ROLLOUT_SYSLOG_PORT);
            return DNSD_ECONFIG;
        }
        c->nrollout_syslog_listen++;
        return 0;
    }
    if (strcmp(key, "rollout-evidence-socket") == 0) {
        if (strcmp(value, "none") == 0) {
            c->rollout_evidence_socket[0] = '\0';
            return 0;
        }
        if (value[0] != '/' || strlen(value) >= sizeof(c->rollout_evidence_socket)) {
            diag_text(d, "rollout-evidence-socket: \"%s\" is not an absolute path of at most %zu "
                         "bytes (or none)", value, sizeof(c->rollout_evidence_socket) - 1);
            return DNSD_ECONFIG;
        }
        snprintf(c->rollout_evidence_socket, sizeof(c->rollout_evidence_socket), "%s", value);
        return 0;
    }
    if (strcmp(key, "geo-paths") == 0) {
        char err[256];
        if (geo_paths_parse(value, &c->geo_paths, err, sizeof(err)) != 0) {
            diag_text(d, "geo-paths: %s", err);
            return DNSD_ECONFIG;
        }
        c->have_geo_paths = true;
        snprintf(c->geo_paths_spec, sizeof(c->geo_paths_spec), "%s", value);
        return 0;
    }
    if (strcmp(key, "control-socket") == 0) {
        /* "none" turns it off (the default), e.g. --control-socket none over a file's path */
        if (strcmp(value, "none") == 0) {
            c->control_socket[0] = '\0';
            return 0;
        }
        if (value[0] != '/' || strlen(value) >= sizeof(c->control_socket)) {
            diag_text(d, "control-socket: \"%s\" is not an absolute path of at most %zu bytes "
                         "(or none)", value, sizeof(c->control_socket) - 1);
            return DNSD_ECONFIG;
        }
        snprintf(c->control_socket, sizeof(c->control_socket), "%s", value);
        return 0;
    }
    if (strcmp(key, "control-socket-mode") == 0) {
        char *end;
        errno = 0;
        unsigned long m = strtoul(value, &end, 8);
        if (errno || *end || end == value || value[0] == '-' || m > 0777) {
            diag_text(d, "control-socket-mode: \"%s\" is not an octal mode (0660)", value);
            return DNSD_ECONFIG;
        }
        c->control_socket_mode = (unsigned)m;
        return 0;
    }
    if (strcmp(key, "control-socket-owner") == 0 || strcmp(key, "control-socket-group") == 0) {
        bool owner = strcmp(key, "control-socket-owner") == 0;
        char *f = owner ? c->control_socket_owner : c->control_socket_group;
        size_t fcap = owner ? sizeof(c->control_socket_owner) : sizeof(c->control_socket_group);
        if (strlen(value) >= fcap) {
            diag_text(d, "%s: too long", key);
            return DNSD_ECONFIG;
        }
        snprintf(f, fcap, "%s", value); /* looked up when the socket is made (ctl_bind) */
        return 0;
    }
    if (strcmp(key, "dnstap-log-queries") == 0 || strcmp(key, "dnstap-log-responses") == 0) {
        bool *b = key[11] == 'q' ? &c->dnstap_log_queries : &c->dnstap_log_responses;
        if (strcmp(value, "yes") == 0) {
            *b = true;
        } else if (strcmp(value, "no") == 0) {
            *b = false;
        } else {
            diag_text(d, "%s: \"%s\" is not yes or no", key, value);
            return DNSD_ECONFIG;
        }
        return 0;
    }
    if (strcmp(key, "dnstap-identity") == 0 || strcmp(key, "dnstap-version") == 0) {
        char *f = key[7] == 'i' ? c->dnstap_identity : c->dnstap_version;
        if (strlen(value) >= sizeof(c->dnstap_identity)) {
            diag_text(d, "%s: longer than %zu bytes", key, sizeof(c->dnstap_identity) - 1);
            return DNSD_ECONFIG;
        }
        snprintf(f, sizeof(c->dnstap_identity), "%s", value);
        return 0;
    }
    char *dst = NULL;
    size_t cap = 0;
    if (strcmp(key, "store") == 0) {
        dst = c->store;
        cap = sizeof(c->store);
    } else if (strcmp(key, "port-file") == 0) {
        dst = c->port_file;
        cap = sizeof(c->port_file);
    } else if (strcmp(key, "pid-file") == 0) {
        dst = c->pid_file;
        cap = sizeof(c->pid_file);
    } else if (strcmp(key, "geo-database") == 0) {
        dst = c->geo_db;
        cap = sizeof(c->geo_db);
    } else if (strcmp(key, "stats-file") == 0) {
        dst = c->stats_file;
        cap = sizeof(c->stats_file);
    } else if (strcmp(key, "chroot") == 0) {
        dst = c->chroot;
        cap = sizeof(c->chroot);
    } else if (strcmp(key, "dnstap-socket") == 0) {
        dst = c->dnstap_socket;
        cap = sizeof(c->dnstap_socket);
    } else if (strcmp(key, "dnstap-file") == 0) {
        dst = c->dnstap_file;
        cap = sizeof(c->dnstap_file);
    } else if (strcmp(key, "rollout-probe-ca") == 0) {
        dst = c->rollout_probe_ca;
        cap = sizeof(c->rollout_probe_ca);
    }
    if (!dst) {
        diag_text(d, "unknown setting \"%s\"", key);
        return DNSD_ECONFIG;
    }
    if (!value[0] || strlen(value) >= cap) {
        diag_text(d, "%s: bad path", key);
        return DNSD_ECONFIG;
    }
    snprintf(dst, cap, "%s", value);
    return 0;
}

int config_load(config_t *c, const char *file, diag_t *d)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        diag_set(d, file, 0, "cannot open config file: %s", strerror(errno));
        return DNSD_ECONFIG;
    }
    /* whole lines: a long one is refused, never split (its tail read as a setting) */
    line_buf_t lb = {0};
    int ln = 0, err = 0;
    bool cleared_listen = false;
    for (;;) {
        ssize_t n = line_read(f, &lb, LINE_LEN_MAX);
        if (n <= 0) {
            if (n == DNSD_ELIMIT) {
                diag_set(d, file, ln + 1, "line longer than %zu bytes", LINE_LEN_MAX);
                err = DNSD_ECONFIG;
            } else if (n < 0) {
                diag_set(d, file, ln + 1, "cannot read config file: %s", dnsd_strerror((int)n));
                err = DNSD_ECONFIG;
            }
            break;
        }
        char *line = lb.buf;
        ln++;
        if (memchr(line, 0, (size_t)n)) {
            diag_set(d, file, ln, "NUL byte in the line");
            err = DNSD_ECONFIG;
            break;
        }
        char *h = strchr(line, '#');
        if (h) {
            *h = 0;
        }
        char *key = line;
        while (isspace((unsigned char)*key)) {
            key++;
        }
        if (!*key) {
            continue;
        }
        char *e = key;
        while (*e && !isspace((unsigned char)*e)) {
            e++;
        }
        char *val = e;
        if (*val) {
            *val++ = 0;
        }
        while (isspace((unsigned char)*val)) {
            val++;
        }
        size_t vl = strlen(val);
        while (vl > 0 && isspace((unsigned char)val[vl - 1])) {
            val[--vl] = 0;
        }
        diag_set(d, file, ln, "%s", "");
        if (!*val) {
            diag_set(d, file, ln, "\"%s\" needs a value", key);
            err = DNSD_ECONFIG;
            break;
        }
        if (strcmp(key, "listen") == 0 && !cleared_listen) {
            c->nlisten = 0; /* the file's listen lines replace the default */
            cleared_listen = true;
        }
        if ((err = config_set(c, key, val, d)) != 0) {
            break;
        }
    }
    line_buf_fini(&lb);
    fclose(f);
    return err;
}

/* does @p path lie inside the directory @p dir? (textually: dnsd resolves no links) */
static bool path_inside(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') {
        n--;
    }
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

int config_build(config_t *c, const char *file, const config_cli_t *cli, diag_t *d,
                 bool *cli_err)
{
    bool no_lookup = c->no_id_lookup;
    config_defaults(c);
    c->no_id_lookup = no_lookup;
    *cli_err = false;
    if (file && config_load(c, file, d) != 0) {
        return DNSD_ECONFIG;
    }
    bool cli_listen = false, cli_http01 = false, cli_metrics = false, cli_rsyslog = false;
    for (int i = 0; cli && i < cli->n; i++) {
        if (strcmp(cli->key[i], "listen") == 0 && !cli_listen) {
            c->nlisten = 0; /* --listen replaces the file's addresses */
            cli_listen = true;
        }
        if (strcmp(cli->key[i], "http01-listen") == 0 && !cli_http01) {
            c->nhttp01_listen = 0; /* so does --http01-listen */
            cli_http01 = true;
        }
        if (strcmp(cli->key[i], "metrics-listen") == 0 && !cli_metrics) {
            c->nmetrics_listen = 0; /* and --metrics-listen */
            cli_metrics = true;
        }
        if (strcmp(cli->key[i], "rollout-syslog-listen") == 0 && !cli_rsyslog) {
            c->nrollout_syslog_listen = 0; /* and --rollout-syslog-listen */
            cli_rsyslog = true;
        }
        diag_set(d, "", 0, "%s", "");
        if (config_set(c, cli->key[i], cli->val[i], d) != 0) {
            char text[sizeof(d->text)];
            snprintf(text, sizeof(text), "--%.500s", d->text);
            diag_set(d, "", 0, "%s", text);
            *cli_err = true;
            return DNSD_ECONFIG;
        }
    }
    if (c->nlisten == 0) {
        config_parse_addr("0.0.0.0:53", &c->listen[c->nlisten++]);
        config_parse_addr("[::]:53", &c->listen[c->nlisten++]);
    }
    if (c->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->workers = n > 0 ? (int)n : 1;
    }
    /* checks across keys: no line of their own, so the file is named */
    const char *where = file ? file : "";
    if (c->group[0] && !c->user[0]) {
        diag_set(d, where, 0, "group \"%s\" needs a user to run as (user)", c->group);
        return DNSD_ECONFIG;
    }
    if (c->dnstap_socket[0] && c->dnstap_file[0]) {
        diag_set(d, where, 0, "dnstap-socket and dnstap-file are both set: dnstap writes to one");
        return DNSD_ECONFIG;
    }
    if (c->cluster_on && !c->cluster.key_file[0]) {
        diag_set(d, where, 0, "cluster-etcd needs cluster-key-file (make one with "
                              "`dnsctl cluster keygen FILE` and copy it to every node)");
        return DNSD_ECONFIG;
    }
    if (c->cluster_on && zc_keys_check(c->cluster.key_file, d) != 0) {
        return DNSD_ECONFIG;
    }
    if (c->chroot[0]) {
        if (c->chroot[0] != '/') {
            diag_set(d, where, 0, "chroot: \"%s\" is not an absolute path", c->chroot);
            return DNSD_ECONFIG;
        }
        /* opened after the chroot (reloads, the file watch, stats): they
         * must be inside it; dnsd strips the prefix (NSD's rule) */
        const struct {
            const char *key, *path;
        } in[] = {{"geo-database", c->geo_db},
                  {"stats-file", c->stats_file},
                  {"dnstap-socket", c->dnstap_socket},
                  {"dnstap-file", c->dnstap_file},
                  {"rollout-probe-ca", c->rollout_probe_ca}};
        for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
            if (in[i].path[0] && !path_inside(in[i].path, c->chroot)) {
                diag_set(d, where, 0, "%s %s is outside chroot %s (it is opened after the chroot)",
                         in[i].key, in[i].path, c->chroot);
                return DNSD_ECONFIG;
            }
        }
        /* the ACME thread starts after the chroot and is the only user of
         * these: they must be inside it, and are kept as seen from inside
         * (the prefix stripped), which a reload computes the same way */
        const struct {
            const char *key;
            char *path;
        } acme_in[] = {{"acme-ca-bundle", c->acme.ca_bundle}, {"cert-dir", c->acme.cert_dir}};
        for (size_t i = 0; i < sizeof(acme_in) / sizeof(acme_in[0]); i++) {
            char *p = acme_in[i].path;
            if (!p[0]) {
                continue;
            }
            if (!path_inside(p, c->chroot)) {
                diag_set(d, where, 0, "%s %s is outside chroot %s (it is used after the chroot)",
                         acme_in[i].key, p, c->chroot);
                return DNSD_ECONFIG;
            }
            const char *inside = config_in_chroot(c, p);
            memmove(p, inside, strlen(inside) + 1);
        }
    }
    return 0;
}

const char *config_in_chroot(const config_t *c, const char *path)
{
    if (!c->chroot[0] || !path_inside(path, c->chroot)) {
        return path;
    }
    size_t n = strlen(c->chroot);
    while (n > 1 && c->chroot[n - 1] == '/') {
        n--;
    }
    return path + n;
}
