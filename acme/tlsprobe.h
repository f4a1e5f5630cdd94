/* SPDX-License-Identifier: MIT */
/*
 * tlsprobe.h -- dnsd's own TLS handshakes to a load balancer (issue 15,
 * evidence source (c)): one handshake with a client profile, the outcome
 * as a rollout evidence sample (acme/rollout_ev.h). The bounded
 * non-blocking connect + handshake is shared with acme_tls_probe (shard
 * deployment checks, acme/shard.c). Slow path: dnsd's evidence thread and
 * the ACME thread; never a query worker.
 */
#ifndef DNSD_ACME_TLSPROBE_H
#define DNSD_ACME_TLSPROBE_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/socket.h>

#include "acme/rollout_ev.h"

/*
 * The client profiles, each a kind of client a new certificate may break:
 *   tls13  TLS 1.3 only                 tls12  TLS 1.2 only
 *   ecdsa  ECDSA signatures only        rsa    RSA (PKCS#1 and PSS) signatures only
 *   nosni  no server name sent (the load balancer's default certificate)
 *   old    TLS 1.2 at most, RSA signatures, the ciphers of pre-2015 clients
 *          (ECDHE-RSA and RSA key exchange, CBC; no ECDHE-ECDSA), security level 1
 */
#define TLSPROBE_NPROFILES 6
extern const char *const tlsprobe_profiles[TLSPROBE_NPROFILES];

/**
 * Connect to @p lb and complete a TLS handshake on @p ssl (made from the
 * caller's context, SNI and verification already set), connect and
 * handshake within @p timeout_ms together (non-blocking socket, one
 * deadline). @return the connected socket (the caller closes it after
 * SSL_free), or -1 with @p why set ("connect: ...", "TLS handshake: REASON").
 */
int tlsprobe_handshake(const struct sockaddr_storage *lb, SSL *ssl, int timeout_ms, char *why,
                       size_t whycap);

/**
 * One probe of @p lb with profile @p profile (a name of tlsprobe_profiles),
 * server name @p sni (also the name the certificate must carry), the chain
 * verified against @p cafile (NULL: the system's trust store). Fills @p out
 * (source REV_SRC_PROBE, profile, lb, sni, t_ms 0): ok when the handshake
 * completed AND the certificate verified; hs_us from connect to the end of
 * the handshake; proto, cipher and the leaf's serial whenever the handshake
 * completed; err the verify error (e.g. "certificate has expired",
 * "hostname mismatch") or OpenSSL's reason for a failed handshake ("no
 * shared cipher", "sslv3 alert handshake failure") or the connect error.
 * @return 0 (a sample, ok or not), or -1 for an unknown profile.
 */
int tlsprobe_run(const struct sockaddr_storage *lb, const char *sni, const char *profile,
                 const char *cafile, int timeout_ms, rev_sample_t *out);

#endif
