/* SPDX-License-Identifier: MIT */
/*
 * config.h -- dnsd's settings: defaults, the config file (one "key value"
 * per line, '#' comments; errors name FILE:LINE) and command-line overrides
 * (the same keys as long options). Slow path, main thread only.
 */
#ifndef DNSD_CONFIG_H
#define DNSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "acme/order.h"
#include "geo/geo.h"
#include "zones/base/diag.h"
#include "zones/cluster.h"

#define CONF_LISTEN_MAX 16
#define CONF_METRICS_PORT 9153 /* metrics-listen's default port */
#define CONF_ROLLOUT_SYSLOG_PORT 5514 /* rollout-syslog-listen's default port */

typedef struct conf_listen {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[80];
} conf_listen_t;

typedef struct config {
    char store[4096];
    conf_listen_t listen[CONF_LISTEN_MAX];
    int nlisten;
    conf_listen_t http01_listen[CONF_LISTEN_MAX]; /* HTTP-01 endpoint (httpd.h); none: off */
    int nhttp01_listen;
    int workers;                  /* 0: one per CPU */
    unsigned tcp_idle_timeout_s;  /* close a TCP connection idle this long */
    unsigned tcp_max_conn_time_s; /* close any TCP connection open this long; 0: never */
    unsigned tcp_max_connections; /* whole server, shared out per worker */
    unsigned tcp_max_queries;     /* per connection; 0: no limit */
    unsigned xfr_max_transfers;   /* transfer threads (xfrout.h): transfers served at once */
    unsigned udp_payload;         /* EDNS payload we advertise and max UDP reply */
    unsigned rrl_rate;            /* responses per second per flow; 0: no rate limiting */
    unsigned rrl_slip;            /* every slip-th limited response goes out TC=1; 0: none */
    unsigned rrl_ipv4_prefix;     /* clients grouped by this many bits */
    unsigned rrl_ipv6_prefix;
    unsigned rrl_table_size;      /* buckets */
    int log_level;
    char port_file[4096];
    char pid_file[4096];
    char stats_file[4096];        /* counters written here; "" = none */
    unsigned stats_interval_s;    /* stats file and rate-limit log period; 0: on demand */
    char geo_db[4096];            /* MaxMind DB for client locations; "" = none */
    unsigned geo_check_ms;        /* how often store regions are checked for edits */
    unsigned dnssec_check_ms;     /* how often signed zones get rollover steps and re-signing */
    bool have_geo_paths;          /* geo-paths given: fields of the DB records */
    geo_paths_buf_t geo_paths;    /* points into itself: never copy a config_t */
    char geo_paths_spec[512];     /* geo-paths as given, to compare on reload */
    size_t map_size;
    acme_cfg_t acme;              /* certificate settings (dnsd/certs.h) */
    bool cluster_on;              /* cluster-etcd given (zones/cluster.h) */
    zc_cfg_t cluster;
    /* privileges: drop to user/group after binding (config_set looks them up) */
    char user[64];                /* "" = stay who we are */
    char group[64];               /* "" = the user's primary group */
    uid_t uid;
    gid_t gid;
    char chroot[4096];            /* "" = none */
    bool no_id_lookup;            /* reload inside a chroot: keep names, skip getpwnam */
    /* the control socket (ctl.h; README "Control socket"); all need a restart */
    char control_socket[108];     /* "" = none (the default); fits sun_path */
    unsigned control_socket_mode; /* default 0660 */
    char control_socket_owner[64]; /* user name or uid; "" = the user dnsd runs as */
    char control_socket_group[64]; /* group name or gid; "" = the group dnsd runs as */
    /* issue 16, metrics: the Prometheus endpoint (httpd.h, metrics.h); none: off */
    conf_listen_t metrics_listen[CONF_LISTEN_MAX];
    int nmetrics_listen;
    /* dnstap query logging (dnstap.h); off unless a socket or a file is given */
    char dnstap_socket[108];      /* Unix socket path (sun_path's size); "" = none */
    char dnstap_file[4096];       /* file path; "" = none */
    char dnstap_identity[256];    /* "" = the host name */
    char dnstap_version[256];     /* "" = "dnsd VERSION" */
    bool dnstap_log_queries;      /* AUTH_QUERY messages */
    bool dnstap_log_responses;    /* AUTH_RESPONSE messages */
    unsigned dnstap_sample;       /* log one query (and its response) in this many */
    /* issue 15: rollout evidence (evidence.h); all need a restart */
    conf_listen_t rollout_syslog_listen[CONF_LISTEN_MAX]; /* HAProxy's syslog (UDP); none: off */
    int nrollout_syslog_listen;
    char rollout_evidence_socket[108]; /* JSON lines (Unix stream); "" = none */
    unsigned rollout_probe_interval_s; /* dnsd's own TLS probes; 0: off */
    char rollout_probe_ca[4096];       /* the probes' trust anchors; "" = the system's */
} config_t;

/* Command-line settings, kept so a reload applies them over the file again. */
#define CONF_CLI_MAX 64
typedef struct config_cli {
    int n;
    const char *key[CONF_CLI_MAX]; /* borrowed from argv: live as long as the process */
    const char *val[CONF_CLI_MAX];
} config_cli_t;

void config_defaults(config_t *c);

/**
 * Apply one setting. @return 0, or DNSD_ECONFIG with @p d->text set (the
 * caller fills file and line).
 */
int config_set(config_t *c, const char *key, const char *value, diag_t *d);

/** Read a config file; errors name FILE:LINE in @p d. */
int config_load(config_t *c, const char *file, diag_t *d);

/**
 * The whole configuration as dnsd runs with it: defaults, then @p file
 * (NULL: none), then @p cli over it (a --listen there replaces the file's
 * addresses), the default addresses when none is given, workers 0 resolved
 * to the CPU count, and the checks that span keys. @return 0, or
 * DNSD_ECONFIG with @p d naming FILE:LINE (file errors) or the option
 * (*@p cli_err set). Main thread, slow path (start-up and SIGHUP).
 */
int config_build(config_t *c, const char *file, const config_cli_t *cli, diag_t *d,
                 bool *cli_err);

/**
 * @p path as seen from inside the chroot: without the chroot prefix when it
 * has it (NSD's rule: give full paths, they work before and after), else
 * unchanged. Points into @p path.
 */
const char *config_in_chroot(const config_t *c, const char *path);

/** Parse "1.2.3.4:53", "[::1]:53", "1.2.3.4" or "::1" (port 53 by default). */
int config_parse_addr(const char *s, conf_listen_t *out);
/** The same with port @p dflt_port by default (http01-listen: 80, metrics-listen:
 * CONF_METRICS_PORT). */
int config_parse_addr_port(const char *s, uint16_t dflt_port, conf_listen_t *out);

#endif
