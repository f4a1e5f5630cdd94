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
#include <sys/socket.h>

#include "acme/order.h"
#include "dnsd/geo.h"
#include "zones/base/diag.h"

#define CONF_LISTEN_MAX 16

typedef struct conf_listen {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[80];
} conf_listen_t;

typedef struct config {
    char store[4096];
    conf_listen_t listen[CONF_LISTEN_MAX];
    int nlisten;
    int workers;                  /* 0: one per CPU */
    unsigned tcp_idle_timeout_s;  /* close a TCP connection idle this long */
    unsigned tcp_max_connections; /* whole server, shared out per worker */
    unsigned tcp_max_queries;     /* per connection; 0: no limit */
    unsigned udp_payload;         /* EDNS payload we advertise and max UDP reply */
    int log_level;
    char port_file[4096];
    char pid_file[4096];
    char geo_db[4096];            /* MaxMind DB for client locations; "" = none */
    unsigned geo_check_ms;        /* how often store regions are checked for edits */
    bool have_geo_paths;          /* geo-paths given: fields of the DB records */
    geo_paths_buf_t geo_paths;
    size_t map_size;
    acme_cfg_t acme;              /* certificate settings (dnsd/certs.h) */
} config_t;

void config_defaults(config_t *c);

/**
 * Apply one setting. @return 0, or DNSD_ECONFIG with @p d->text set (the
 * caller fills file and line).
 */
int config_set(config_t *c, const char *key, const char *value, diag_t *d);

/** Read a config file; errors name FILE:LINE in @p d. */
int config_load(config_t *c, const char *file, diag_t *d);

/** Parse "1.2.3.4:53", "[::1]:53", "1.2.3.4" or "::1" (port 53 by default). */
int config_parse_addr(const char *s, conf_listen_t *out);

#endif
