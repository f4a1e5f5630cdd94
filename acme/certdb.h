/* SPDX-License-Identifier: MIT */
/*
 * certdb.h -- ACME state in the store's "certs" sub-database: accounts,
 * certificate requests and their orders, issued certificates with keys.
 * Used by dnsd's ACME thread and by `dnsctl cert`/`dnsctl acme`. Slow path.
 *
 * DESIGN. Values are JSON objects (jansson): this state is small, read
 * rarely, and grows fields with every feature (shards, rollout), so a
 * self-describing format that `mdb_dump` shows legibly beats a packed one.
 * A value that is not a JSON object, or lacks what its kind needs, is
 * DNSD_ESTORE: damage, never trusted.
 *
 *   "cert:<id>" -> {"req": {...}, "state": {...}}
 *     req   -- written by dnsctl only:
 *              names [..], key ("ec256"...), directory (URL or absent: dnsd's
 *              default), reuse_key (bool), seq (u: +1 per request/renew; the
 *              worker issues while state.seq_done < req.seq), created (time),
 *              revoke {seq, reason} when asked to revoke,
 *              challenge "dns-01" (absent: dns-01) or "http-01",
 *              via {zone: "<name in a zone we serve>.", targets: {"<identifier
 *              without *.>": "<unguessable label>.<via zone>."}} when DNS-01 is
 *              proven through the customer's _acme-challenge CNAME (delegate.h)
 *     state -- written by dnsd only:
 *              status pending|ordering|valid|failed|revoked, seq_done,
 *              revoked_seq, failures, next_try (time), last_error,
 *              order {...} while one is in flight (order.c), cert {pem, key,
 *              serial, issuer, not_before, not_after, key_type, order_url,
 *              issued}, history [{serial, issuer, not_before, not_after,
 *              outcome, at}]
 *   "account:<directory URL>" -> {"key": PEM, "kid": URL, "contact": [..],
 *              "created": time}
 *   "deploy:<id>:<node>" -> cluster mode only, written by that node's dnsd:
 *              what it deployed of certificate <id> on its site {node,
 *              serial, at, ok, hook, error, probe_at, health {checked,
 *              healthy, lbs_ok, lbs [{lb, serial, ok, error}]} (shards)}
 *   "http01:<token>" -> an HTTP-01 key authorization while its order is in
 *              flight (acme/http01.h)
 *   "delegate:secret" -> {"secret": base64url of 32 random bytes, "created":
 *              time}: made once, by the first `cert request --challenge-via`;
 *              the key of every CNAME target (delegate.h)
 *   "ca:<directory URL>" -> cluster mode only: {"backoff_until": time,
 *              "error": text}: no new order at that CA before then, on any node
 *
 * Each side replaces only its own half inside one write transaction
 * (acme_db_put_half), so dnsctl's requests and dnsd's progress never
 * overwrite each other. Every write goes through zw_begin/zw_commit, so the
 * generation counter moves and a running dnsd notices new requests.
 * Private keys live here (the store is 0700/0600) and in 0600 files; they
 * are never logged.
 */
#ifndef DNSD_ACME_CERTDB_H
#define DNSD_ACME_CERTDB_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>

#include "zones/store.h"

#define ACME_DB_CERT    "cert:"
#define ACME_DB_ACCOUNT "account:"
#define ACME_DB_DEPLOY  "deploy:"
#define ACME_DB_CA      "ca:"
#define ACME_CERT_ID_MAX 255

/** Get the value at @p key. @return 0 and a new reference, DNSD_ENOTFOUND or DNSD_ESTORE. */
int acme_db_get(zs_store_t *s, MDB_txn *txn, const char *key, json_t **out);
/** Store @p v (an object) at @p key in write txn @p txn. */
int acme_db_put(zs_store_t *s, MDB_txn *txn, const char *key, json_t *v);
/** Delete @p key. @return 0 or DNSD_ENOTFOUND. */
int acme_db_del(zs_store_t *s, MDB_txn *txn, const char *key);
/**
 * Replace member @p half ("req" or "state") of the object at @p key with
 * @p v (a new object is made when absent and @p create). DNSD_ENOTFOUND when
 * the key is gone and not @p create.
 */
int acme_db_put_half(zs_store_t *s, MDB_txn *txn, const char *key, const char *half, json_t *v,
                     bool create);

/** Visit every value whose key starts with @p prefix, in key order; cb != 0 stops. */
typedef int (*acme_db_cb)(const char *key, json_t *v, void *arg);
int acme_db_foreach(zs_store_t *s, MDB_txn *txn, const char *prefix, acme_db_cb cb, void *arg);

/**
 * A read-only txn for the calls above, begun through the store's map gate
 * (zs_read_begin: -EAGAIN while another process's map growth is adopted);
 * end it with acme_db_read_end.
 */
int acme_db_read_begin(zs_store_t *s, MDB_txn **out);
void acme_db_read_end(zs_store_t *s, MDB_txn *txn);

/**
 * Every "deploy:<id>:<node>" record of certificate @p id, as a new JSON
 * array (empty when none: standalone, or nothing deployed yet).
 */
json_t *acme_db_sites(zs_store_t *s, MDB_txn *txn, const char *id);
/** Delete every "deploy:<id>:<node>" record of certificate @p id (with the certificate). */
int acme_db_sites_del(zs_store_t *s, MDB_txn *txn, const char *id);

/** Is @p id a valid certificate id (1..255 of [A-Za-z0-9._-], not starting with '.')? */
bool acme_cert_id_ok(const char *id);

/** Small JSON helpers: the value or a default. */
const char *acme_js(json_t *o, const char *k);           /* "" when absent */
long long acme_ji(json_t *o, const char *k);             /* 0 when absent */

#endif
