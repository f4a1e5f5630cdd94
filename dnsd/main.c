/* SPDX-License-Identifier: MIT */
/*
 * main.c -- dnsd: read the configuration, open the store, bind every
 * listen address once per worker (SO_REUSEPORT, UDP and TCP on the same
 * port), start the workers, then wait for signals on the main thread.
 * Start-up problems are fatal with one clear line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnsd/certs.h"
#include "dnsd/config.h"
#include "dnsd/ctl.h"
#include "dnsd/dnstap.h"
#include "dnsd/evidence.h"
#include "dnsd/handoff.h"
#include "dnsd/httpd.h"
#include "dnsd/metrics.h"
#include "dnsd/notify.h"
#include "dnsd/orch.h"
#include "dnsd/privs.h"
#include "dnsd/sdnotify.h"
#include "dnsd/stats.h"
#include "dnsd/update.h"
#include "dnsd/worker.h"
#include "dnsd/xfrin.h"
#include "dnsd/xfrout.h"
#include "zones/base/err.h"
#include "zones/base/file.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: dnsd [-c FILE] [--store DIR] [--listen ADDR[:PORT]]... [--workers N]\n"
            "            [--port-file FILE] [--pid-file FILE] [--log-level LEVEL]\n"
            "            [--tcp-idle-timeout S] [--tcp-max-connection-time S]\n"
            "            [--tcp-max-connections N] [--tcp-max-queries N] [--udp-payload N]\n"
            "            [--xfr-max-transfers N]\n"
            "            [--rrl-rate N] [--rrl-slip N] [--rrl-ipv4-prefix BITS]\n"
            "            [--rrl-ipv6-prefix BITS] [--rrl-table-size N]\n"
            "            [--stats-file FILE] [--stats-interval S]\n"
            "            [--store-map-size MIB] [--geo-database FILE]\n"
            "            [--geo-paths FIELD=PATH,...] [--geo-check-interval-ms MS]\n"
            "            [--dnssec-check-interval-ms MS]\n"
            "            [--user USER] [--group GROUP] [--chroot DIR]\n"
            "            [--http01-listen ADDR[:PORT]]... [--metrics-listen ADDR[:PORT]]...\n"
            "            [--control-socket PATH|none] [--control-socket-mode MODE]\n"
            "            [--control-socket-owner USER] [--control-socket-group GROUP]\n"
            "            [--dnstap-socket PATH|--dnstap-file PATH] [--dnstap-sample N]\n"
            "            [--dnstap-identity S] [--dnstap-version S]\n"
            "            [--dnstap-log-queries yes|no] [--dnstap-log-responses yes|no]\n"
            "            [--rollout-syslog-listen ADDR[:PORT]]... [--rollout-evidence-socket PATH]\n"
            "            [--rollout-probe-interval S] [--rollout-probe-ca FILE]\n"
            "            [--acme-directory URL] [--cert-dir DIR] [--acme-*|--deploy-* ...]\n"
            "Authoritative GeoDNS server. Options override the config file (-c).\n"
            "See dnsd(8).\n");
}

static int make_socket(const conf_listen_t *l, int type, uint16_t port, bool *pktinfo)
{
    struct sockaddr_storage ss = l->ss;
    int fam = ss.ss_family;
    if (fam == AF_INET) {
        ((struct sockaddr_in *)&ss)->sin_port = htons(port);
    } else {
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
    }
    int fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    bool wildcard;
    if (fam == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        wildcard = IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
    } else {
        wildcard = ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    }
    if (type == SOCK_DGRAM) {
        if (wildcard) {
            if (fam == AF_INET) {
                setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
            } else {
                setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
            }
        }
        /* never fragment locally: oversize answers are truncated instead */
        if (fam == AF_INET) {
            int pmtu = IP_PMTUDISC_OMIT;
            setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
        }
        int rcv = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    }
    if (pktinfo) {
        *pktinfo = wildcard && type == SOCK_DGRAM;
    }
    if (bind(fd, (struct sockaddr *)&ss, l->len) != 0 ||
        (type == SOCK_STREAM && listen(fd, 1024) != 0)) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

/* the metrics endpoint's callback (httpd_metrics_fn) */
static char *metrics_serve(void *arg, size_t *len)
{
    return metrics_render(arg, len);
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &len);
    return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Is @p port free for @p type? A socket without SO_REUSEPORT cannot bind
 * where anyone holds the port, so this catches a second dnsd (same user,
 * SO_REUSEPORT too) that would otherwise silently share the traffic. */
static int probe_free(const conf_listen_t *l, int type, uint16_t port)
{
    struct sockaddr_storage ss = l->ss;
    if (ss.ss_family == AF_INET) {
        ((struct sockaddr_in *)&ss)->sin_port = htons(port);
    } else {
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
    }
    int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    if (type == SOCK_STREAM) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* TIME_WAIT is fine */
    }
    if (ss.ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    int rc = bind(fd, (struct sockaddr *)&ss, l->len) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* Bind one listen address for every worker; UDP and TCP share the port,
 * which the kernel picks when the configured one is 0. */
static int bind_address(server_t *srv, int li, uint16_t *port_out)
{
    const conf_listen_t *l = &srv->cfg->listen[li];
    uint16_t want = ntohs(l->ss.ss_family == AF_INET ? ((struct sockaddr_in *)&l->ss)->sin_port
                                                      : ((struct sockaddr_in6 *)&l->ss)->sin6_port);
    for (int attempt = 0; attempt < 20; attempt++) {
        int err = 0, n = 0;
        uint16_t port = want;
        if (want != 0 && ((err = probe_free(l, SOCK_STREAM, want)) != 0 ||
                          (err = probe_free(l, SOCK_DGRAM, want)) != 0)) {
            return err;
        }
        for (n = 0; n < srv->nworkers; n++) {
            worker_t *w = srv->w[n];
            bool pi = false;
            int t = make_socket(l, SOCK_STREAM, port, NULL);
            if (t < 0) {
                err = t;
                break;
            }
            if (port == 0) {
                port = bound_port(t);
                if ((err = probe_free(l, SOCK_DGRAM, port)) != 0) {
                    close(t);
                    break; /* someone has UDP on the kernel's TCP port: try again */
                }
            }
            int u = make_socket(l, SOCK_DGRAM, port, &pi);
            if (u < 0) {
                close(t);
                err = u;
                break;
            }
            w->tcp[li].fd = t;
            w->udp[li].fd = u;
            w->udp[li].pktinfo = pi;
            w->udp[li].family = w->tcp[li].family = l->ss.ss_family;
        }
        if (!err) {
            *port_out = port;
            for (n = 0; n < srv->nworkers; n++) {
                srv->w[n]->nsock = li + 1;
            }
            return 0;
        }
        for (int j = 0; j < n; j++) {
            close(srv->w[j]->tcp[li].fd);
            close(srv->w[j]->udp[li].fd);
        }
        if (want != 0 || err != -EADDRINUSE) {
            return err; /* a fixed port that is taken, or another error */
        }
        /* the kernel's TCP port was taken for UDP: try another */
    }
    return -EADDRINUSE;
}

/* files written before a fatal exit are removed again (best effort):
 * the pid file, the port file, the control socket */
static const char *written[3];

static int fatal_exit(void)
{
    for (int i = 0; i < 3; i++) {
        if (written[i]) {
            unlink(written[i]);
        }
    }
    return 1;
}

int main(int argc, char **argv)
{
    /* Every asynchronous signal is blocked first, before anything else:
     * a SIGHUP that came before its handler existed used to kill dnsd. The
     * threads started later inherit this mask and never take signals; the
     * main thread's libev watchers (signalfd) pick up those that arrived
     * meanwhile, and orch_run() unblocks the others there. */
    sigset_t all;
    orch_sigset_async(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    signal(SIGPIPE, SIG_IGN);

    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, 1},
        {"listen", required_argument, NULL, 1},
        {"workers", required_argument, NULL, 1},
        {"port-file", required_argument, NULL, 1},
        {"pid-file", required_argument, NULL, 1},
        {"log-level", required_argument, NULL, 1},
        {"tcp-idle-timeout", required_argument, NULL, 1},
        {"tcp-max-connection-time", required_argument, NULL, 1},
        {"tcp-max-connections", required_argument, NULL, 1},
        {"tcp-max-queries", required_argument, NULL, 1},
        {"xfr-max-transfers", required_argument, NULL, 1},
        {"udp-payload", required_argument, NULL, 1},
        {"rrl-rate", required_argument, NULL, 1},
        {"rrl-slip", required_argument, NULL, 1},
        {"rrl-ipv4-prefix", required_argument, NULL, 1},
        {"rrl-ipv6-prefix", required_argument, NULL, 1},
        {"rrl-table-size", required_argument, NULL, 1},
        {"stats-file", required_argument, NULL, 1},
        {"stats-interval", required_argument, NULL, 1},
        {"store-map-size", required_argument, NULL, 1},
        {"geo-database", required_argument, NULL, 1},
        {"geo-check-interval-ms", required_argument, NULL, 1},
        {"dnssec-check-interval-ms", required_argument, NULL, 1},
        {"geo-paths", required_argument, NULL, 1},
        {"user", required_argument, NULL, 1},
        {"group", required_argument, NULL, 1},
        {"chroot", required_argument, NULL, 1},
        /* the HTTP-01 endpoint (dnsd/httpd.c) */
        {"http01-listen", required_argument, NULL, 1},
        /* cluster (zones/cluster.h) */
        {"cluster-etcd", required_argument, NULL, 1},
        {"cluster-prefix", required_argument, NULL, 1},
        {"cluster-node", required_argument, NULL, 1},
        {"cluster-key-file", required_argument, NULL, 1},
        {"cluster-etcd-cacert", required_argument, NULL, 1},
        {"cluster-etcd-cert", required_argument, NULL, 1},
        {"cluster-etcd-key", required_argument, NULL, 1},
        {"cluster-lease-ttl", required_argument, NULL, 1},
        {"cluster-timeout", required_argument, NULL, 1},
        {"cluster-log-keep", required_argument, NULL, 1},
        {"cluster-snapshot-every", required_argument, NULL, 1},
        /* certificates (dnsd/certs.c) */
        {"acme-directory", required_argument, NULL, 1},
        {"acme-ca-bundle", required_argument, NULL, 1},
        {"acme-contact", required_argument, NULL, 1},
        {"acme-agree-tos", required_argument, NULL, 1},
        {"acme-eab-kid", required_argument, NULL, 1},
        {"acme-eab-hmac-key", required_argument, NULL, 1},
        {"acme-account-key", required_argument, NULL, 1},
        {"acme-cert-key", required_argument, NULL, 1},
        {"acme-preferred-chain", required_argument, NULL, 1},
        {"acme-backoff-min", required_argument, NULL, 1},
        {"acme-backoff-max", required_argument, NULL, 1},
        {"acme-propagation-timeout", required_argument, NULL, 1},
        {"acme-challenge-delay", required_argument, NULL, 1},
        {"acme-http-timeout", required_argument, NULL, 1},
        {"acme-check-ns", required_argument, NULL, 1},
        {"acme-renew-fraction", required_argument, NULL, 1},
        {"acme-resolver", required_argument, NULL, 1},
        {"acme-delegation-ns-port", required_argument, NULL, 1},
        {"cert-dir", required_argument, NULL, 1},
        {"deploy-hook", required_argument, NULL, 1},
        {"deploy-timeout", required_argument, NULL, 1},
        {"clock-offset", required_argument, NULL, 1},
        {"acme-max-orders", required_argument, NULL, 1},
        {"shard-alert", required_argument, NULL, 1},
        {"shard-probe-interval", required_argument, NULL, 1},
        /* the control socket (dnsd/ctl.c) */
        {"control-socket", required_argument, NULL, 1},
        {"control-socket-mode", required_argument, NULL, 1},
        {"control-socket-owner", required_argument, NULL, 1},
        {"control-socket-group", required_argument, NULL, 1},
        /* issue 16, metrics: the Prometheus endpoint (dnsd/metrics.c) */
        {"metrics-listen", required_argument, NULL, 1},
        /* dnstap query logging (dnsd/dnstap.c) */
        {"dnstap-socket", required_argument, NULL, 1},
        {"dnstap-file", required_argument, NULL, 1},
        {"dnstap-identity", required_argument, NULL, 1},
        {"dnstap-version", required_argument, NULL, 1},
        {"dnstap-log-queries", required_argument, NULL, 1},
        {"dnstap-log-responses", required_argument, NULL, 1},
        {"dnstap-sample", required_argument, NULL, 1},
        /* issue 15: rollout evidence (dnsd/evidence.c) */
        {"rollout-syslog-listen", required_argument, NULL, 1},
        {"rollout-evidence-socket", required_argument, NULL, 1},
        {"rollout-probe-interval", required_argument, NULL, 1},
        {"rollout-probe-ca", required_argument, NULL, 1},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    /* static: they live as long as the process (early exits leak nothing);
     * two configs, so a SIGHUP reload is built beside the running one */
    static config_t cfg_store[2];
    static config_cli_t cli;
    config_t *cfg = &cfg_store[0];
    diag_t d = {{0}, 0, {0}};

    /* pass 1: -c and the informational options; pass 2: the settings,
     * kept so a reload applies them over the file again */
    const char *conf_file = NULL;
    int c, idx;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:hV", opts, &idx)) != -1) {
        if (c == 'c') {
            conf_file = optarg;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else if (c == 'V') {
            printf("dnsd %s\n", PACKAGE_VERSION);
            return 0;
        } else if (c == '?') {
            fprintf(stderr, "dnsd: unknown option or missing value: %s\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        } else if (c == 1) {
            if (cli.n == CONF_CLI_MAX) {
                fprintf(stderr, "dnsd: more than %d options\n", CONF_CLI_MAX);
                return 2;
            }
            cli.key[cli.n] = opts[idx].name;
            cli.val[cli.n++] = optarg;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dnsd: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    bool cli_err = false;
    if (config_build(cfg, conf_file, &cli, &d, &cli_err) != 0) {
        fprintf(stderr, "dnsd: ");
        diag_print(&d, stderr);
        return cli_err ? 2 : 1;
    }
    log_level = cfg->log_level;
    log_journal_detect(); /* under systemd: <N> level prefixes instead of time stamps */
    if (cfg->chroot[0] && !cfg->user[0]) {
        log_warn("chroot %s without user: root can leave a chroot; set user too", cfg->chroot);
    }
    if (conf_file && cfg->chroot[0] && config_in_chroot(cfg, conf_file) == conf_file) {
        log_warn("config file %s is outside chroot %s: SIGHUP will not find it", conf_file,
                 cfg->chroot);
    }

    tcp_fd_limit_raise(cfg->tcp_max_connections); /* before any descriptor is taken */

    server_t srv;
    memset(&srv, 0, sizeof(srv));
    srv.cfg = cfg;
    srv.nworkers = cfg->workers;
    /* as root: the store may be root's (0700), and is created 0700/0600 */
    if (zs_open(cfg->store, ZS_OPEN_CREATE, cfg->map_size, &srv.store, &d) != 0) {
        fprintf(stderr, "dnsd: ");
        diag_print(&d, stderr);
        return 1;
    }
    /* the cluster: before anything reads the store for serving, so a joining
     * node's first answers already come from the cluster's state when etcd
     * answers; when it does not, the node serves its last state */
    zc_t *cluster = NULL;
    if (cfg->cluster_on) {
        cfg->cluster.join_later = true;
        if (zc_cfg_save(srv.store, &cfg->cluster, &d) != 0 ||
            zc_open(srv.store, &cfg->cluster, &cluster, &d) != 0) {
            fprintf(stderr, "dnsd: ");
            diag_print(&d, stderr);
            return 1;
        }
    } else {
        zc_cfg_t old;
        bool was = false;
        if (zc_cfg_load(srv.store, &old, &was, &d) == 0 && was) {
            log_warn("store %s was a node of a cluster (%s under %s): dnsd runs without "
                     "cluster-etcd now, so its edits stay local",
                     cfg->store, old.urls[0], old.prefix);
            zc_cfg_save(srv.store, NULL, &d);
        }
    }
    srv.cluster = cluster;
    /* store-map-size unset (0): the store's own size is used, nothing to say */
    if (cfg->map_size && zs_map_size(srv.store) > cfg->map_size) {
        log_info("store map: %zu MiB, the size the store records (store-map-size is %zu MiB)",
                 zs_map_size(srv.store) >> 20, cfg->map_size >> 20);
    }
    /* the control socket: as root, before the drop and the chroot (ctl.h);
     * early, so a second dnsd on the same socket stops before it binds ports */
    ctl_sock_t *ctl = NULL;
    if (ctl_bind(cfg, &ctl, &d) != 0) {
        fprintf(stderr, "dnsd: ");
        diag_print(&d, stderr);
        return 1;
    }
    written[2] = ctl ? ctl_path(ctl) : NULL;
    worker_snaps_init(&srv);
    srv.w = xcalloc((size_t)srv.nworkers, sizeof(*srv.w));
    for (int i = 0; i < srv.nworkers; i++) {
        srv.w[i] = worker_new(&srv, i);
    }
    /* DNS, http01, metrics, rollout-syslog */
    char ports[CONF_LISTEN_MAX * 8 + CONF_LISTEN_MAX * 16 * 2 + CONF_LISTEN_MAX * 24] = "";
    for (int li = 0; li < cfg->nlisten; li++) {
        uint16_t port = 0;
        int err = bind_address(&srv, li, &port);
        if (err) {
            fprintf(stderr, "dnsd: cannot listen on %s: %s\n", cfg->listen[li].text,
                    dnsd_strerror(err));
            return fatal_exit();
        }
        ctl_note_listen(ctl, "dns", cfg->listen[li].text, port);
        size_t pl = strlen(ports);
        snprintf(ports + pl, sizeof(ports) - pl, "%u\n", port);
        if (cfg->acme.nself < ACME_SELF_MAX) {
            /* the ACME worker checks challenge records on what we really bound */
            struct sockaddr_storage *self = &cfg->acme.self[cfg->acme.nself++];
            *self = cfg->listen[li].ss;
            if (self->ss_family == AF_INET) {
                ((struct sockaddr_in *)self)->sin_port = htons(port);
            } else {
                ((struct sockaddr_in6 *)self)->sin6_port = htons(port);
            }
        }
        log_info("listening on %s (UDP and TCP port %u), %d workers", cfg->listen[li].text,
                 port, srv.nworkers);
    }
    /* the HTTP-01 endpoint: bound here, as root, like the DNS sockets;
     * served after the privilege drop */
    httpd_t *httpd = NULL;
    if (cfg->nhttp01_listen > 0) {
        if (httpd_bind(cfg->http01_listen, cfg->nhttp01_listen, HTTPD_ROLE_HTTP01, &httpd, &d) !=
            0) {
            fprintf(stderr, "dnsd: ");
            diag_print(&d, stderr);
            return fatal_exit();
        }
        for (int i = 0; i < cfg->nhttp01_listen; i++) {
            uint16_t port = httpd_port(httpd, i);
            ctl_note_listen(ctl, "http01", cfg->http01_listen[i].text, port);
            size_t pl = strlen(ports);
            snprintf(ports + pl, sizeof(ports) - pl, "http01 %u\n", port);
            if (cfg->acme.nhttp01_self < ACME_SELF_MAX) {
                /* the ACME worker's self-check asks what we really bound */
                struct sockaddr_storage *self = &cfg->acme.http01_self[cfg->acme.nhttp01_self++];
                *self = cfg->http01_listen[i].ss;
                if (self->ss_family == AF_INET) {
                    ((struct sockaddr_in *)self)->sin_port = htons(port);
                } else {
                    ((struct sockaddr_in6 *)self)->sin6_port = htons(port);
                }
            }
        }
    }

    /* issue 16: the metrics endpoint, bound here too; its own sockets, so the
     * internet-facing HTTP-01 listener never serves /metrics */
    httpd_t *mhttpd = NULL;
    metrics_t *metrics = NULL;
    if (cfg->nmetrics_listen > 0) {
        if (httpd_bind(cfg->metrics_listen, cfg->nmetrics_listen, HTTPD_ROLE_METRICS, &mhttpd,
                       &d) != 0) {
            fprintf(stderr, "dnsd: ");
            diag_print(&d, stderr);
            return fatal_exit();
        }
        for (int i = 0; i < cfg->nmetrics_listen; i++) {
            uint16_t port = httpd_port(mhttpd, i);
            ctl_note_listen(ctl, "metrics", cfg->metrics_listen[i].text, port);
            size_t pl = strlen(ports);
            snprintf(ports + pl, sizeof(ports) - pl, "metrics %u\n", port);
        }
        metrics = metrics_new(&srv); /* opens /proc files: before the chroot */
        httpd_set_metrics(mhttpd, metrics_serve, metrics);
    }

    /* issue 15: rollout evidence -- its sockets bound here too, as root (the
     * evidence socket before the drop and the chroot, like the control socket) */
    evidence_t *evidence = NULL;
    if (evidence_bind(cfg, &evidence, &d) != 0) {
        fprintf(stderr, "dnsd: ");
        diag_print(&d, stderr);
        return fatal_exit();
    }
    for (int i = 0; i < cfg->nrollout_syslog_listen; i++) {
        uint16_t port = evidence_syslog_port(evidence, i);
        ctl_note_listen(ctl, "rollout-syslog", cfg->rollout_syslog_listen[i].text, port);
        size_t pl = strlen(ports);
        snprintf(ports + pl, sizeof(ports) - pl, "rollout-syslog %u\n", port);
    }
    if (evidence) {
        /* the rollout controller on the ACME thread reads it (acme/rollout.h) */
        cfg->acme.evidence = evidence_fn;
        cfg->acme.evidence_arg = evidence;
    }

    orch_t orch;
    memset(&orch, 0, sizeof(orch));
    orch.srv = &srv;
    /* not libev's default loop: that one reaps every child on SIGCHLD
     * (waitpid(-1)), and deploy hooks are reaped by the ACME thread alone */
    orch.loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_SIGNALFD);
    orch.conf_file = conf_file;
    orch.cli = &cli;
    orch.cfg_spare = &cfg_store[1];
    snap_publish(&srv.settings, settings_build(cfg, srv.nworkers, NULL));
    geo_state_t *g0 = geo_state_build(srv.store, cfg->geo_db,
                                      cfg->have_geo_paths ? &cfg->geo_paths.paths : NULL, &d);
    if (!g0) {
        fprintf(stderr, "dnsd: geo: ");
        diag_print(&d, stderr);
        return fatal_exit();
    }
    orch_publish(&orch, g0, "start");

    /* the pid and port files are written while still root (so they may
     * live in root's directories, e.g. /run), owned by root, mode 0644 */
    if (cfg->pid_file[0]) {
        char pid[32];
        snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        int err = file_write_atomic(cfg->pid_file, pid, strlen(pid), 0644);
        if (err) {
            fprintf(stderr, "dnsd: cannot write pid file %s: %s\n", cfg->pid_file,
                    dnsd_strerror(err));
            return fatal_exit();
        }
        written[0] = cfg->pid_file;
    }
    if (cfg->port_file[0]) {
        int err = file_write_atomic(cfg->port_file, ports, strlen(ports), 0644);
        if (err) {
            fprintf(stderr, "dnsd: cannot write port file %s: %s\n", cfg->port_file,
                    dnsd_strerror(err));
            return fatal_exit();
        }
        written[1] = cfg->port_file;
    }
    /* leave root before any worker thread exists */
    if (privs_drop(cfg, &d) != 0) {
        fprintf(stderr, "dnsd: ");
        diag_print(&d, stderr);
        return fatal_exit();
    }
    if (cfg->user[0]) {
        log_info("running as user %s (uid %u, gid %u)%s%s", cfg->user, (unsigned)cfg->uid,
                 (unsigned)cfg->gid, cfg->chroot[0] ? ", chroot " : "", cfg->chroot);
    }
    if (cfg->chroot[0]) {
        /* config_build() checked they are inside and stripped the prefix */
        if (cfg->acme.cert_dir[0]) {
            log_info("chroot %s: cert-dir is %s inside it", cfg->chroot, cfg->acme.cert_dir);
        }
        if (cfg->acme.ca_bundle[0]) {
            log_info("chroot %s: acme-ca-bundle is %s inside it", cfg->chroot,
                     cfg->acme.ca_bundle);
        }
        if (cfg->acme.deploy_hook[0]) {
            log_warn("chroot %s: deploy-hook runs inside it: /bin/sh and the command must be "
                     "there", cfg->chroot);
        }
    }

    /* dnstap: after the drop, so its socket or file is reached as the user
     * (inside the chroot); before the workers, which fill its rings */
    bool dt_err = false;
    dnstap_t *dnstap = dnstap_start(cfg, srv.nworkers, &d, &dt_err);
    if (dt_err) {
        fprintf(stderr, "dnsd: ");
        diag_print(&d, stderr);
        return fatal_exit();
    }
    if (dnstap) {
        srv.dnstap_st = dnstap_counters(dnstap);
        for (int i = 0; i < srv.nworkers; i++) {
            worker_set_tap(srv.w[i], dnstap_tap(dnstap, i));
        }
        log_info("dnstap: logging %s%s%s to %s %s, one query in %u",
                 cfg->dnstap_log_queries ? "queries" : "",
                 cfg->dnstap_log_queries && cfg->dnstap_log_responses ? " and " : "",
                 cfg->dnstap_log_responses ? "responses" : "",
                 cfg->dnstap_socket[0] ? "socket" : "file",
                 cfg->dnstap_socket[0] ? cfg->dnstap_socket : cfg->dnstap_file,
                 cfg->dnstap_sample);
    }
    for (int i = 0; i < srv.nworkers; i++) {
        int err = worker_start(srv.w[i]);
        if (err) {
            fprintf(stderr, "dnsd: cannot start worker %d: %s\n", i, dnsd_strerror(err));
            return fatal_exit();
        }
    }
    const settings_t *s0 = snap_current(&srv.settings);
    if (s0->rrl) {
        log_info("rate limit: %u responses/s per flow, slip %u, IPv4 /%u, IPv6 /%u, %zu buckets",
                 s0->rrl_rate, s0->rrl_slip, cfg->rrl_ipv4_prefix, cfg->rrl_ipv6_prefix,
                 rrl_buckets(s0->rrl));
    }
    log_info("dnsd %s serving store %s", PACKAGE_VERSION, cfg->store);
    if (httpd && httpd_start(httpd, srv.store, cfg->cluster_on ? cfg->cluster.node : NULL,
                             &d) != 0) {
        fprintf(stderr, "dnsd: ");
        diag_print(&d, stderr);
        return fatal_exit();
    }
    if (mhttpd && httpd_start(mhttpd, srv.store, NULL, &d) != 0) {
        fprintf(stderr, "dnsd: ");
        diag_print(&d, stderr);
        return fatal_exit();
    }
    if (cluster && zc_start(cluster, &d) != 0) { /* after the privilege drop */
        fprintf(stderr, "dnsd: ");
        diag_print(&d, stderr);
        return fatal_exit();
    }
    if (evidence_start(evidence, srv.store, &d) != 0) { /* after the drop */
        fprintf(stderr, "dnsd: ");
        diag_print(&d, stderr);
        return fatal_exit();
    }
    /* cluster: one node orders each certificate, every node deploys it */
    certs_t *certs = certs_start(srv.store, &cfg->acme, cluster);
    if (!certs) {
        log_err("cannot start the ACME thread: certificates will not be issued");
    }
    orch.certs = certs;
    xfrout_t *xfr = xfrout_start(srv.store, cfg->xfr_max_transfers);
    orch.notify = notify_new(orch.loop, srv.store);
    xfrin_t *xfrin = xfrin_start(srv.store); /* secondary zones: transfers in, NOTIFY in */
    update_thread_t *upd = update_start(srv.store); /* RFC 2136 UPDATE */
    /* systemd (Type=notify): sockets bound, store open, workers answering */
    char status[sizeof(cfg->store) + 32];
    snprintf(status, sizeof(status), "serving store %s", cfg->store);
    ctl_start(ctl, &orch);
    sdn_ready(status);
    orch_run(&orch);
    sdn_stopping();
    ctl_free(ctl); /* no more requests: what follows tears down what they read */
    /* the hand-off consumers end before the workers: a connection they
     * hold gives its slot back to a worker's pool (handoff.h) */
    ho_shutdown();
    httpd_free(httpd); /* reads the store: before it closes */
    httpd_free(mhttpd); /* reads the workers' counters too: before they are freed */
    metrics_free(metrics);
    update_stop(upd);
    xfrin_stop(xfrin);
    xfrout_stop(xfr);
    notify_free(orch.notify);
    orch.notify = NULL;
    certs_stop(certs);
    evidence_free(evidence); /* after the ACME thread, its reader */
    zc_close(cluster); /* every writer thread has ended; revokes the node's lease */
    srv.cluster = NULL;
    for (int i = 0; i < srv.nworkers; i++) {
        worker_stop(srv.w[i]); /* all at once: they drain in parallel */
    }
    for (int i = 0; i < srv.nworkers; i++) {
        worker_join(srv.w[i]);
    }
    dnstap_stop(dnstap); /* the workers' last messages, then fstrm flushes and closes */
    stats_total_t tot;
    stats_collect(&srv, &tot);
    stats_log("stopped", &tot);
    orch_write_stats(&orch, &tot);
    for (int i = 0; i < srv.nworkers; i++) {
        worker_free(srv.w[i]);
    }
    cfg = (config_t *)srv.cfg; /* a reload may have swapped it */
    if (cfg->pid_file[0]) {
        /* written as root before the drop: removable only if the user may */
        const char *pf = config_in_chroot(cfg, cfg->pid_file);
        if (cfg->chroot[0] && pf == cfg->pid_file) {
            log_info("pid file %s is outside chroot %s: not removed", pf, cfg->chroot);
        } else if (unlink(pf) != 0 && errno != ENOENT) {
            log_info("cannot remove pid file %s: %s", cfg->pid_file, strerror(errno));
        }
    }
    orch_fini(&orch);
    srv.dnstap_st = NULL;
    dnstap_free(dnstap);
    free(srv.w);
    zs_close(srv.store);
    log_info("store closed; exiting");
    return 0;
}
