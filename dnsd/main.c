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
#include <unistd.h>

#include "dnsd/certs.h"
#include "dnsd/config.h"
#include "dnsd/orch.h"
#include "dnsd/worker.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: dnsd [-c FILE] [--store DIR] [--listen ADDR[:PORT]]... [--workers N]\n"
            "            [--port-file FILE] [--pid-file FILE] [--log-level LEVEL]\n"
            "            [--tcp-idle-timeout S] [--tcp-max-connections N] [--tcp-max-queries N]\n"
            "            [--udp-payload N] [--store-map-size MIB] [--geo-database FILE]\n"
            "            [--geo-paths FIELD=PATH,...] [--geo-check-interval-ms MS]\n"
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

static int write_file(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        return -errno;
    }
    fputs(text, f);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        return -errno;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, 1},
        {"listen", required_argument, NULL, 1},
        {"workers", required_argument, NULL, 1},
        {"port-file", required_argument, NULL, 1},
        {"pid-file", required_argument, NULL, 1},
        {"log-level", required_argument, NULL, 1},
        {"tcp-idle-timeout", required_argument, NULL, 1},
        {"tcp-max-connections", required_argument, NULL, 1},
        {"tcp-max-queries", required_argument, NULL, 1},
        {"udp-payload", required_argument, NULL, 1},
        {"store-map-size", required_argument, NULL, 1},
        {"geo-database", required_argument, NULL, 1},
        {"geo-check-interval-ms", required_argument, NULL, 1},
        {"geo-paths", required_argument, NULL, 1},
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
        {"cert-dir", required_argument, NULL, 1},
        {"deploy-hook", required_argument, NULL, 1},
        {"deploy-timeout", required_argument, NULL, 1},
        {"clock-offset", required_argument, NULL, 1},
        {"acme-max-orders", required_argument, NULL, 1},
        {"shard-alert", required_argument, NULL, 1},
        {"shard-probe-interval", required_argument, NULL, 1},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static config_t cfg_store; /* lives as long as the process: early exits leak nothing */
    config_t *cfg = &cfg_store;
    diag_t d = {{0}, 0, {0}};
    config_defaults(cfg);

    /* pass 1: the config file; pass 2: options override it */
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
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dnsd: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    bool listen_default = true;
    if (conf_file) {
        if (config_load(cfg, conf_file, &d) != 0) {
            fprintf(stderr, "dnsd: ");
            diag_print(&d, stderr);
            return 1;
        }
        listen_default = cfg->nlisten == 0;
    }
    optind = 1;
    bool cli_listen = false;
    while ((c = getopt_long(argc, argv, "c:hV", opts, &idx)) != -1) {
        if (c != 1) {
            continue;
        }
        if (strcmp(opts[idx].name, "listen") == 0 && !cli_listen) {
            cfg->nlisten = 0; /* --listen replaces the file's addresses */
            cli_listen = true;
        }
        diag_set(&d, "", 0, "%s", "");
        if (config_set(cfg, opts[idx].name, optarg, &d) != 0) {
            fprintf(stderr, "dnsd: --%s\n", d.text);
            return 2;
        }
    }
    if (cli_listen) {
        listen_default = false;
    }
    if (listen_default && cfg->nlisten == 0) {
        config_parse_addr("0.0.0.0:53", &cfg->listen[cfg->nlisten++]);
        config_parse_addr("[::]:53", &cfg->listen[cfg->nlisten++]);
    }
    log_level = cfg->log_level;
    if (cfg->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->workers = n > 0 ? (int)n : 1;
    }

    server_t srv;
    memset(&srv, 0, sizeof(srv));
    srv.cfg = cfg;
    srv.nworkers = cfg->workers;
    if (zs_open(cfg->store, ZS_OPEN_CREATE, cfg->map_size, &srv.store, &d) != 0) {
        fprintf(stderr, "dnsd: ");
        diag_print(&d, stderr);
        return 1;
    }
    srv.w = xcalloc((size_t)srv.nworkers, sizeof(*srv.w));
    for (int i = 0; i < srv.nworkers; i++) {
        srv.w[i] = worker_new(&srv, i);
    }
    char ports[CONF_LISTEN_MAX * 8] = "";
    for (int li = 0; li < cfg->nlisten; li++) {
        uint16_t port = 0;
        int err = bind_address(&srv, li, &port);
        if (err) {
            fprintf(stderr, "dnsd: cannot listen on %s: %s\n", cfg->listen[li].text,
                    dnsd_strerror(err));
            return 1;
        }
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

    /* signals go to the main thread only: block them before any thread starts */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    orch_t orch;
    memset(&orch, 0, sizeof(orch));
    orch.srv = &srv;
    orch.loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_SIGNALFD);
    geo_state_t *g0 = geo_state_build(srv.store, cfg->geo_db,
                                      cfg->have_geo_paths ? &cfg->geo_paths.paths : NULL, &d);
    if (!g0) {
        fprintf(stderr, "dnsd: geo: ");
        diag_print(&d, stderr);
        return 1;
    }
    orch_publish(&orch, g0, "start");

    for (int i = 0; i < srv.nworkers; i++) {
        int err = worker_start(srv.w[i]);
        if (err) {
            fprintf(stderr, "dnsd: cannot start worker %d: %s\n", i, dnsd_strerror(err));
            return 1;
        }
    }
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (cfg->pid_file[0]) {
        char pid[32];
        snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        if (write_file(cfg->pid_file, pid) != 0) {
            fprintf(stderr, "dnsd: cannot write pid file %s: %s\n", cfg->pid_file,
                    strerror(errno));
            return 1;
        }
    }
    if (cfg->port_file[0] && write_file(cfg->port_file, ports) != 0) {
        fprintf(stderr, "dnsd: cannot write port file %s: %s\n", cfg->port_file, strerror(errno));
        return 1;
    }
    log_info("dnsd %s serving store %s", PACKAGE_VERSION, cfg->store);
    certs_t *certs = certs_start(srv.store, &cfg->acme);
    if (!certs) {
        log_err("cannot start the ACME thread: certificates will not be issued");
    }
    orch_run(&orch);
    certs_stop(certs);
    geo_state_t *last = atomic_load(&srv.geo);
    answer_stats_t tot = {0};
    for (int i = 0; i < srv.nworkers; i++) {
        worker_stop(srv.w[i]);
        answer_stats_t *s = &srv.w[i]->actx.st;
        tot.queries += s->queries;
        tot.truncated += s->truncated;
        tot.dropped += s->dropped;
        tot.tcp += s->tcp;
        for (int r = 0; r < 17; r++) {
            tot.rcode[r] += s->rcode[r];
        }
        worker_free(srv.w[i]);
    }
    log_info("stopped: %llu queries (%llu TCP), %llu NOERROR, %llu NXDOMAIN, %llu REFUSED, "
             "%llu FORMERR, %llu SERVFAIL, %llu truncated, %llu dropped",
             (unsigned long long)tot.queries, (unsigned long long)tot.tcp,
             (unsigned long long)tot.rcode[0], (unsigned long long)tot.rcode[3],
             (unsigned long long)tot.rcode[5], (unsigned long long)tot.rcode[1],
             (unsigned long long)tot.rcode[2], (unsigned long long)tot.truncated,
             (unsigned long long)tot.dropped);
    if (cfg->pid_file[0]) {
        unlink(cfg->pid_file);
    }
    orch_fini(&orch);
    geo_state_free(last);
    free(srv.w);
    zs_close(srv.store);
    return 0;
}
