/* SPDX-License-Identifier: MIT */
/*
 * client.h -- the RFC 8555 protocol layer: the directory, a nonce pool,
 * signed requests (JWS with the account key; POST-as-GET), badNonce retried
 * with the fresh nonce the error carries, problem documents (RFC 7807 /
 * RFC 8555 6.7, with subproblems) kept for the caller, and the account
 * operations (newAccount with contact, terms agreement and External
 * Account Binding; key rollover; deactivation) and revocation.
 * The order machine (order.c) is built on it. One client per CA directory;
 * not thread-safe (one thread uses it). Blocking, bounded by the transport's
 * timeouts.
 */
#ifndef DNSD_ACME_CLIENT_H
#define DNSD_ACME_CLIENT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>

#include "acme/http.h"

#define ACME_NONCE_POOL 8
#define ACME_BADNONCE_RETRIES 10

#define ACME_ERR_BADNONCE "urn:ietf:params:acme:error:badNonce"
#define ACME_ERR_RATELIMITED "urn:ietf:params:acme:error:rateLimited"
#define ACME_ERR_NOACCOUNT "urn:ietf:params:acme:error:accountDoesNotExist"
#define ACME_ERR_UNAUTHORIZED "urn:ietf:params:acme:error:unauthorized"
#define ACME_ERR_MALFORMED "urn:ietf:params:acme:error:malformed"

typedef struct acme_problem {
    long status;        /* HTTP status of the answer (0: no answer) */
    char type[160];     /* e.g. urn:ietf:params:acme:error:rateLimited; "" if none */
    char detail[512];
    char sub[1024];     /* subproblems, "identifier: type: detail; ..." */
} acme_problem_t;

typedef struct acme_client {
    acme_http_t *http;
    char *dir_url;
    json_t *dir;        /* the directory, once fetched */
    char *nonces[ACME_NONCE_POOL];
    int nnonces;
    EVP_PKEY *key;      /* account key (borrowed) */
    char *kid;          /* account URL, once registered */
    acme_problem_t prob; /* the last failure */
    long retry_after_s; /* Retry-After of the last answer, -1 if none */
    char err[1600];     /* the last failure as one line for logs and the store */
    unsigned long requests, bad_nonces; /* counters */
} acme_client_t;

/** A client for the CA at @p dir_url; nothing is fetched yet. */
acme_client_t *acme_client_new(const char *dir_url, const char *ca_bundle, long timeout_s);
void acme_client_free(acme_client_t *c);

/** Fetch the directory if not yet done. @return 0, DNSD_ENET or DNSD_EACME (c->err says). */
int acme_client_directory(acme_client_t *c);
/** A directory URL ("newOrder", "revokeCert", ...) or NULL. */
const char *acme_client_url(acme_client_t *c, const char *name);
/** meta.termsOfService, or NULL. */
const char *acme_client_tos(acme_client_t *c);
/** meta.externalAccountRequired. */
bool acme_client_eab_required(acme_client_t *c);

/** Use @p key (borrowed) and account URL @p kid (copied; NULL: not registered yet). */
void acme_client_set_account(acme_client_t *c, EVP_PKEY *key, const char *kid);

/**
 * A signed request to @p url: @p payload is JSON text, or NULL for
 * POST-as-GET. Signed with the jwk when no account URL is known yet (or
 * @p use_jwk), else with kid. On badNonce, retried with the nonce of the
 * error answer (up to ACME_BADNONCE_RETRIES times).
 * @return 0 for a 2xx answer in @p r (free with acme_resp_fini); DNSD_EACME
 * with c->prob/c->err/c->retry_after_s for an error answer (r freed);
 * DNSD_ENET when no answer came (c->err); DNSD_ECRYPTO if signing failed.
 */
int acme_client_post(acme_client_t *c, const char *url, const char *payload, bool use_jwk,
                     acme_resp_t *r);

/** The same, with the 2xx body parsed as JSON into *@p out (DNSD_EACME if it is not JSON). */
int acme_client_post_json(acme_client_t *c, const char *url, const char *payload, json_t **out,
                          acme_resp_t *r);

/**
 * newAccount (RFC 8555 7.3): @p contacts (JSON array of "mailto:" URIs, may
 * be NULL), terms agreed if @p agree_tos, EAB when @p eab_kid is set. An
 * existing account for the key is returned as well (200). Sets c->kid.
 * @return 0 or an error as above.
 */
int acme_client_register(acme_client_t *c, json_t *contacts, bool agree_tos, const char *eab_kid,
                         const char *eab_hmac);

/**
 * Find the account of the client's key without creating one: newAccount
 * with onlyReturnExisting (7.3.1). Sets c->kid. @return 0 or an error
 * (accountDoesNotExist when the CA has none for the key).
 */
int acme_client_lookup(acme_client_t *c);

/** revokeCert (7.6) for leaf DER @p der with @p reason (RFC 5280 5.3.1 code). */
int acme_client_revoke(acme_client_t *c, const uint8_t *der, size_t len, int reason);

/** keyChange (7.3.5): roll the account over to @p newkey; on success the client uses it. */
int acme_client_key_change(acme_client_t *c, EVP_PKEY *newkey);

/** Deactivate the account (7.3.6). */
int acme_client_deactivate(acme_client_t *c);

/** Record a local failure in c->err (for errors that are not the CA's). */
void acme_client_fail(acme_client_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Parse a problem document (JSON text) into @p p; for callers holding an object's "error". */
void acme_problem_from_json(json_t *j, long status, acme_problem_t *p);
/** Format @p p as one line into @p buf. */
void acme_problem_format(const acme_problem_t *p, char *buf, size_t cap);

#endif
