/* SPDX-License-Identifier: MIT */
/*
 * tlsprobe.c -- see tlsprobe.h. Each probe builds its own SSL_CTX: a probe
 * every few seconds per load balancer and profile is far from where that
 * costs, and nothing is shared between the evidence thread's probes and the
 * ACME thread's.
 */
#include "config.h"

#include "acme/tlsprobe.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zones/base/clock.h"

const char *const tlsprobe_profiles[TLSPROBE_NPROFILES] = {"tls13", "tls12", "ecdsa",
                                                           "rsa",   "nosni", "old"};

int tlsprobe_handshake(const struct sockaddr_storage *lb, SSL *ssl, int timeout_ms, char *why,
                       size_t whycap)
{
    long long deadline = clock_mono_ms() + timeout_ms;
    int fd = socket(lb->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    socklen_t len = lb->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                             : sizeof(struct sockaddr_in6);
    if (fd < 0) {
        snprintf(why, whycap, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)lb, len) != 0 && errno != EINPROGRESS) {
        snprintf(why, whycap, "connect: %s", strerror(errno));
        close(fd);
        return -1;
    }
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (clock_wait_fd(fd, POLLOUT, deadline) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
        snprintf(why, whycap, "connect: %s", soerr ? strerror(soerr) : "timed out");
        close(fd);
        return -1;
    }
    SSL_set_fd(ssl, fd);
    ERR_clear_error();
    /* the handshake on the non-blocking socket, bounded by the same deadline */
    for (;;) {
        int r = SSL_connect(ssl);
        if (r == 1) {
            return fd;
        }
        int e = SSL_get_error(ssl, r);
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (ev && clock_wait_fd(fd, ev, deadline) == 0) {
            continue;
        }
        unsigned long le = ERR_get_error();
        const char *reason = le ? ERR_reason_error_string(le) : NULL;
        snprintf(why, whycap, "TLS handshake: %s",
                 ev ? "timed out" : reason ? reason : e == SSL_ERROR_SYSCALL ? "connection closed"
                                                                              : "failed");
        ERR_clear_error();
        SSL_set_fd(ssl, -1);
        close(fd);
        return -1;
    }
}

/* the profile's settings on a fresh context; -1 for an unknown name */
static int profile_ctx(SSL_CTX *ctx, const char *p, int *sni)
{
    *sni = 1;
    if (strcmp(p, "tls13") == 0) {
        return SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 ? 0 : -2;
    }
    if (strcmp(p, "tls12") == 0) {
        return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
                       SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) == 1
                   ? 0
                   : -2;
    }
    if (strcmp(p, "ecdsa") == 0) {
        return SSL_CTX_set1_sigalgs_list(ctx, "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512") == 1 ? 0 : -2;
    }
    if (strcmp(p, "rsa") == 0) {
        return SSL_CTX_set1_sigalgs_list(ctx, "RSA-PSS+SHA256:RSA-PSS+SHA384:RSA-PSS+SHA512:"
                                              "RSA+SHA256:RSA+SHA384:RSA+SHA512") == 1
                   ? 0
                   : -2;
    }
    if (strcmp(p, "nosni") == 0) {
        *sni = 0;
        return 0;
    }
    if (strcmp(p, "old") == 0) {
        return SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) == 1 &&
                       SSL_CTX_set_cipher_list(ctx, "@SECLEVEL=1:ECDHE-RSA-AES128-SHA:"
                                                    "ECDHE-RSA-AES256-SHA:AES128-SHA:AES256-SHA:"
                                                    "AES128-SHA256:AES128-GCM-SHA256") == 1 &&
                       SSL_CTX_set1_sigalgs_list(ctx, "RSA+SHA256:RSA+SHA1:RSA+SHA384") == 1
                   ? 0
                   : -2;
    }
    return -1;
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int tlsprobe_run(const struct sockaddr_storage *lb, const char *sni, const char *profile,
                 const char *cafile, int timeout_ms, rev_sample_t *out)
{
    memset(out, 0, sizeof(*out));
    out->source = REV_SRC_PROBE;
    out->lb = *lb;
    snprintf(out->profile, sizeof(out->profile), "%s", profile);
    snprintf(out->sni, sizeof(out->sni), "%s", sni ? sni : "");
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    int send_sni = 1, fd = -1;
    char why[160] = "";
    if (!ctx) {
        snprintf(out->err, sizeof(out->err), "cannot set up TLS");
        return 0;
    }
    int pr = profile_ctx(ctx, profile, &send_sni);
    if (pr == -1) {
        SSL_CTX_free(ctx);
        return -1;
    }
    if (pr != 0) {
        snprintf(out->err, sizeof(out->err), "profile %s: not supported by this OpenSSL", profile);
        SSL_CTX_free(ctx);
        return 0;
    }
    int ca_ok = cafile && *cafile ? SSL_CTX_load_verify_locations(ctx, cafile, NULL)
                                  : SSL_CTX_set_default_verify_paths(ctx);
    ssl = ca_ok == 1 ? SSL_new(ctx) : NULL;
    if (!ssl) {
        snprintf(out->err, sizeof(out->err), "cannot set up TLS%s%s", ca_ok == 1 ? "" : ": CA file ",
                 ca_ok == 1 ? "" : cafile);
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return 0;
    }
    /* verification after the handshake (SSL_get_verify_result), not inside it: the
       handshake completes, so proto, cipher and serial are known for a bad certificate too */
    SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
    if (sni && *sni) {
        SSL_set1_host(ssl, sni);
        if (send_sni) {
            SSL_set_tlsext_host_name(ssl, sni);
        }
    }
    long long t0 = now_us();
    fd = tlsprobe_handshake(lb, ssl, timeout_ms, why, sizeof(why));
    if (fd < 0) {
        /* "TLS handshake: no shared cipher" -> "no shared cipher" (HAProxy's lines give the reason) */
        const char *w = strncmp(why, "TLS handshake: ", 15) == 0 ? why + 15 : why;
        snprintf(out->err, sizeof(out->err), "%.*s", (int)sizeof(out->err) - 1, w);
        goto done;
    }
    long long dt = now_us() - t0;
    out->hs_us = dt < 0 ? 0 : dt > 0xffffffffLL ? 0xffffffffu : (uint32_t)dt;
    out->proto = rev_proto_parse(SSL_get_version(ssl));
    snprintf(out->cipher, sizeof(out->cipher), "%s", SSL_get_cipher_name(ssl));
    out->resumed = SSL_session_reused(ssl) == 1;
    X509 *peer = SSL_get1_peer_certificate(ssl);
    if (peer) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer), NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        snprintf(out->serial, sizeof(out->serial), "%s", hex ? hex : "");
        OPENSSL_free(hex);
        BN_free(bn);
        X509_free(peer);
    }
    long vr = SSL_get_verify_result(ssl);
    if (!peer) {
        snprintf(out->err, sizeof(out->err), "no certificate presented");
    } else if (vr != X509_V_OK) {
        snprintf(out->err, sizeof(out->err), "%s", X509_verify_cert_error_string(vr));
    } else {
        out->ok = true;
    }
done:
    SSL_set_quiet_shutdown(ssl, 1); /* no close_notify wait on a non-blocking socket */
    SSL_shutdown(ssl);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0) {
        close(fd);
    }
    ERR_clear_error();
    return 0;
}
