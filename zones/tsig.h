/* SPDX-License-Identifier: MIT */
/*
 * tsig.h -- TSIG (RFC 8945): transaction signatures with shared HMAC keys,
 * and the key store (the "tsig" sub-database). Server side (verify a
 * request, sign the response or every message of a transfer), client side
 * (sign a request, verify the responses of a transfer), and the cheap
 * tsig_find() a query worker may call. HMAC comes from OpenSSL (never
 * hand-rolled); MACs are compared in constant time.
 *
 * Callers: dnsd's transfer, update and secondary threads (slow path: the
 * verify/sign functions may allocate an OpenSSL MAC context), dnsctl
 * (`dnsctl tsig`, the key store), tests and the fuzz target. A query worker
 * calls only tsig_find(), which allocates nothing and takes no lock.
 * Nothing here ever logs a secret or a MAC.
 *
 * DESIGN. A tsig_key_t is plain data (name, algorithm, secret: no pointers),
 * so a thread can copy keys out of the store into its own table. A
 * tsig_ctx_t carries one exchange: the key, the last MAC (the request's,
 * then each signed response's) and the message count, so a multi-message
 * answer (AXFR/IXFR) is chained per RFC 8945 5.3.1: the first response
 * digests request MAC | message | all TSIG variables, each later one prior
 * MAC | message(s) | timers (time signed, fudge). The server signs every
 * message; the client accepts up to 99 unsigned messages between signed
 * ones (they are digested into the next signed one) and requires the last
 * to be signed (tsig_ctx_complete()). A ctx holds an OpenSSL MAC context
 * once used: always release it with tsig_ctx_fini().
 *
 * Return values of the verify functions: 0 (verified), a positive TSIG
 * error (TSIG_BADSIG, TSIG_BADKEY, TSIG_BADTIME, TSIG_BADTRUNC: answer it
 * with tsig_answer_error()), or a negative DNSD_E* (DNSD_EMALFORMED: the
 * message or its TSIG RR is malformed, answer FORMERR; DNSD_ENOTFOUND: the
 * message has no TSIG RR at all).
 */
#ifndef DNSD_TSIG_H
#define DNSD_TSIG_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/names.h"
#include "zones/store.h"

#define TSIG_RRTYPE 250u /* TYPE of the TSIG RR */
#define TSIG_CLASS  255u /* CLASS ANY */

/* TSIG errors (RFC 8945 3, the RR's Error field; the RCODE is then NOTAUTH) */
#define TSIG_NOERROR  0
#define TSIG_BADSIG   16
#define TSIG_BADKEY   17
#define TSIG_BADTIME  18
#define TSIG_BADTRUNC 22

#define TSIG_RCODE_FORMERR 1
#define TSIG_RCODE_NOTAUTH 9

#define TSIG_FUDGE_DEFAULT 300u /* seconds, RFC 8945 10 */
#define TSIG_SECRET_MAX    256u /* bytes of secret a key may have */
#define TSIG_MAC_MAX       64u  /* the longest MAC (SHA-512) */
#define TSIG_UNSIGNED_MAX  99u  /* unsigned messages allowed between signed ones (5.3.1) */
#define TSIG_REF_MAX       64u  /* bytes of a reference label (tsig_ref_add) */
/* room a signed message needs after its last record: the TSIG RR with a
 * maximal key name and algorithm name, a full MAC and 6 bytes of other data */
#define TSIG_RR_MAX (255 + 10 + 14 + 6 + 2 + 2 + TSIG_MAC_MAX + 2 + 2 + 2 + 6 + 14)

/** The algorithms; the enum values are stored in the key store: never renumber. */
typedef enum tsig_alg {
    TSIG_ALG_NONE = 0,
    TSIG_HMAC_SHA1 = 1,   /* accepted for old clients; not the default */
    TSIG_HMAC_SHA224 = 2, /* optional in RFC 8945; supported */
    TSIG_HMAC_SHA256 = 3, /* the default */
    TSIG_HMAC_SHA384 = 4,
    TSIG_HMAC_SHA512 = 5,
} tsig_alg_t;

/** A key: plain data, copy it freely. The secret is raw bytes (not base64). */
typedef struct tsig_key {
    uint8_t name[DNAME_MAXLEN + 1]; /* absolute wire name, lower case */
    uint16_t name_len;
    tsig_alg_t alg;
    uint16_t secret_len; /* 1 .. TSIG_SECRET_MAX */
    uint8_t secret[TSIG_SECRET_MAX];
} tsig_key_t;

/**
 * Find the key named @p name (a lower-cased absolute wire name) and copy it
 * to @p out. @return 0, or DNSD_ENOTFOUND (the verifier answers BADKEY).
 * Called once per verified request, on the caller's thread.
 */
typedef int (*tsig_lookup_fn)(const uint8_t *name, void *arg, tsig_key_t *out);

/** One TSIG exchange (server or client side); tsig_ctx_init() it first. */
typedef struct tsig_ctx {
    tsig_key_t key;       /* the key in use (for an unknown key: name/alg only) */
    uint8_t alg_wire[DNAME_MAXLEN + 1]; /* algorithm name as the request gave it (echoed
                                         * in an error answer, even when unknown) */
    bool have_key;        /* key found and algorithm matched */
    bool is_client;
    uint16_t orig_id;     /* Original ID of the exchange */
    uint16_t fudge;       /* fudge we send (default TSIG_FUDGE_DEFAULT) */
    uint16_t mac_len;     /* MAC length we send (0: full); set from a truncated request */
    uint16_t min_mac_len; /* local policy: shortest MAC accepted (0: RFC minimum, see .c) */
    uint8_t prior[TSIG_MAC_MAX]; /* last MAC (request's, then each signed message's) */
    uint16_t prior_len;   /* 0 before any */
    uint16_t error;       /* TSIG error of the last verification (0, TSIG_BAD*) */
    uint16_t peer_error;  /* client: Error field the server sent (0 if none) */
    uint64_t time_signed; /* Time Signed of the last verified/signed message */
    uint32_t nmsg;        /* messages signed or verified so far in this exchange */
    uint32_t unsigned_run; /* client: unsigned messages since the last signed one */
    bool last_signed;     /* client: the last message verified carried a valid TSIG */
    void *mac;            /* OpenSSL EVP_MAC_CTX (running digest), owned; NULL before use */
} tsig_ctx_t;

/* ---------------------------------------------------------------- algorithms */

/**
 * Algorithm from its name: "hmac-sha256" or "hmac-sha256." (any case).
 * @return the algorithm, or TSIG_ALG_NONE (unknown, or hmac-md5, which this
 * server refuses: see tsig_alg_error()).
 */
tsig_alg_t tsig_alg_from_name(const char *name);
/** Why @p name is not accepted, as one line for an error message ("hmac-md5 is refused ..."). */
const char *tsig_alg_error(const char *name);
/** Algorithm from the wire name in a TSIG RR (case-insensitive); TSIG_ALG_NONE if unknown. */
tsig_alg_t tsig_alg_from_wire(const uint8_t *wire);
/** Presentation name without the trailing dot ("hmac-sha256"); "" for NONE. Static. */
const char *tsig_alg_name(tsig_alg_t alg);
/** Wire name ("\x0bhmac-sha256\x00"); NULL for NONE. Static. */
const uint8_t *tsig_alg_wire(tsig_alg_t alg);
/** Full MAC length in bytes (20, 28, 32, 48, 64); 0 for NONE. */
unsigned tsig_alg_mac_len(tsig_alg_t alg);

/**
 * Build a key from text: @p name a domain name ("xfr.example." or without
 * the final dot), @p alg an algorithm name, @p secret_b64 the base64 secret.
 * @return 0, or DNSD_EMALFORMED with @p d saying which argument is wrong
 * (hmac-md5 is refused here). Slow path.
 */
int tsig_key_parse(const char *name, const char *alg, const char *secret_b64, tsig_key_t *out,
                   diag_t *d);
/** Base64 of the secret into @p out (NUL-terminated). @return length, or DNSD_ESPACE. */
int tsig_secret_b64(const tsig_key_t *key, char *out, size_t cap);

/* ----------------------------------------------------------------- key store */

/**
 * The "tsig" sub-database (layout in zones/schema.h): keys by name, and
 * references (who uses a key). @p name is an absolute wire name, any case.
 * get: @return 0 and a copy in @p out, DNSD_ENOTFOUND, or DNSD_ESTORE.
 * put: creates or replaces (validated: known algorithm, 1..TSIG_SECRET_MAX
 *      bytes of secret); @return 0 or an error. Bumps nothing: the caller's
 *      write txn (zs_write_begin + the generation bump, see tools/dnsctl_tsig.c)
 *      decides.
 * del: @return 0, DNSD_ENOTFOUND, or DNSD_EEXIST if references remain (the
 *      key is still in use: tsig_ref_foreach() names the users).
 * foreach: every key in canonical name order; a non-zero return of @p cb
 *      stops the walk and is returned.
 * Slow path; any thread with a txn of its own. A store opened read-only
 * before the sub-database existed reads as empty.
 */
int tsig_key_get(zs_store_t *s, MDB_txn *txn, const uint8_t *name, tsig_key_t *out);
int tsig_key_put(zs_store_t *s, MDB_txn *txn, const tsig_key_t *key);
int tsig_key_del(zs_store_t *s, MDB_txn *txn, const uint8_t *name);
typedef int (*tsig_key_cb)(const tsig_key_t *key, void *arg);
int tsig_key_foreach(zs_store_t *s, MDB_txn *txn, tsig_key_cb cb, void *arg);

/**
 * References: a feature that binds a key (a transfer ACL, a secondary's
 * primary, an update policy) records it here, in its own write txn, with a
 * label naming itself and what uses it, e.g. "xfrout example.com." or
 * "update-policy example.com. 3" (at most TSIG_REF_MAX bytes, printable).
 * `dnsctl tsig del` refuses a key that still has references.
 * add: @return 0 (also if already recorded), DNSD_ENOTFOUND if no such key
 *      (use this to validate a `--tsig KEY` argument), DNSD_EMALFORMED.
 * del: @return 0 (also if absent). Remove your references when the binding
 *      goes (including on `dnsctl zone del`).
 * foreach: every label recorded for @p name, in order.
 */
int tsig_ref_add(zs_store_t *s, MDB_txn *txn, const uint8_t *name, const char *label);
int tsig_ref_del(zs_store_t *s, MDB_txn *txn, const uint8_t *name, const char *label);
typedef int (*tsig_ref_cb)(const char *label, void *arg);
int tsig_ref_foreach(zs_store_t *s, MDB_txn *txn, const uint8_t *name, tsig_ref_cb cb,
                     void *arg);

/**
 * A tsig_lookup_fn reading the store: @p arg is a tsig_store_lookup_t with
 * a live read txn. For a table copied into a thread, write your own.
 */
typedef struct tsig_store_lookup {
    zs_store_t *s;
    MDB_txn *txn;
} tsig_store_lookup_t;
int tsig_store_lookup(const uint8_t *name, void *arg, tsig_key_t *out);

/* --------------------------------------------------------------- the wire */

/**
 * Does @p msg carry a TSIG RR as its last additional record? Walks the
 * message (bounds-checked, compression pointers allowed in owner names).
 * @return true and *@p off = offset of that RR's owner name; false if
 * there is none or the message is malformed before it. Hot-path safe:
 * no allocation, no lock, no log.
 */
bool tsig_find(const uint8_t *msg, size_t len, size_t *off);

/** Set up @p ctx (zeroes it; fudge TSIG_FUDGE_DEFAULT). */
void tsig_ctx_init(tsig_ctx_t *ctx);
/** Release what @p ctx holds (the MAC context); the key is wiped. NULL is fine. */
void tsig_ctx_fini(tsig_ctx_t *ctx);

/* ------------------------------------------------------------- server side */

/**
 * Verify a signed request @p msg (RFC 8945 5.2: key, MAC, time, truncation,
 * in that order), looking the key up with @p lookup. @p now is the server's
 * time (seconds since the epoch). Fills @p ctx (tsig_ctx_init() it first)
 * for the answer, and *@p len_without_tsig: the message length with the
 * TSIG RR cut off (ARCOUNT in @p msg is NOT changed: parse the request with
 * one additional record less, or copy and patch it).
 * @return 0, TSIG_BADKEY (unknown key or algorithm mismatch), TSIG_BADSIG
 * (MAC wrong), TSIG_BADTIME (outside the fudge), TSIG_BADTRUNC (MAC shorter
 * than local policy), DNSD_EMALFORMED (bad TSIG RR, MAC size outside RFC
 * 8945 5.2.2.1 bounds, TSIG not last: answer FORMERR), DNSD_ENOTFOUND (no
 * TSIG RR). On any positive return @p ctx is ready for tsig_answer_error()
 * or tsig_sign_response(..., ctx->error). Slow path.
 */
int tsig_verify_request(const uint8_t *msg, size_t len, tsig_lookup_fn lookup, void *arg,
                        uint64_t now, tsig_ctx_t *ctx, size_t *len_without_tsig);

/**
 * Append a TSIG RR to the response in @p buf (*@p len bytes used, @p cap
 * bytes of room: keep TSIG_RR_MAX free) and add one to its ARCOUNT. The
 * first call of an exchange digests the request's MAC and all TSIG
 * variables; each later call chains the previous response's MAC and the
 * timers only (RFC 8945 5.3.1): call it on EVERY message of a transfer, in
 * order. @p tsig_error: 0, or the error tsig_verify_request() returned:
 * BADKEY/BADSIG give an unsigned TSIG (MAC size 0, RFC 8945 5.3.2), BADTIME
 * a signed one whose Other Data is the server time @p now, BADTRUNC a
 * signed one. The header's RCODE is left to the caller (NOTAUTH for a TSIG
 * error: tsig_answer_error() does all of it).
 * @return 0, DNSD_ESPACE (no room; @p buf unchanged), DNSD_ECRYPTO.
 */
int tsig_sign_response(tsig_ctx_t *ctx, uint8_t *buf, size_t *len, size_t cap, uint64_t now,
                       int tsig_error);

/**
 * Build the whole answer to a request that failed TSIG verification with
 * @p tsig_error (the positive return of tsig_verify_request()): the
 * request's header (QR set, RCODE NOTAUTH, other sections empty) and
 * question, then the TSIG RR as tsig_sign_response() makes it.
 * @return 0 and *@p len, DNSD_ESPACE, or DNSD_EMALFORMED (no question to copy:
 * the answer is then header-only).
 */
int tsig_answer_error(tsig_ctx_t *ctx, const uint8_t *req, size_t req_len, uint8_t *buf,
                      size_t *len, size_t cap, uint64_t now, int tsig_error);

/* ------------------------------------------------------------- client side */

/**
 * Sign a request (a query, a NOTIFY, an UPDATE) in @p buf with @p key: the
 * key is copied into @p ctx (tsig_ctx_init() it first), the TSIG RR is
 * appended and ARCOUNT bumped. Keep @p ctx for the responses.
 * @return 0, DNSD_ESPACE, DNSD_EMALFORMED (@p buf is not a DNS message),
 * DNSD_ECRYPTO. Slow path.
 */
int tsig_sign_request(tsig_ctx_t *ctx, const tsig_key_t *key, uint8_t *buf, size_t *len,
                      size_t cap, uint64_t now);

/**
 * Verify one response of the exchange begun by tsig_sign_request(), in
 * order. An unsigned message after the first is accepted (ctx->last_signed
 * false) and digested into the next signed one, at most TSIG_UNSIGNED_MAX in
 * a row; the first response must be signed. *@p len_without_tsig as for
 * tsig_verify_request() (== @p len for an unsigned message).
 * @return 0; TSIG_BADKEY/BADSIG/BADTIME/BADTRUNC when the response fails
 * our checks (ctx->peer_error 0) or carries that Error from the server
 * (ctx->peer_error set; the message is then unsigned or signed as RFC 8945
 * 5.3.2 says); TSIG_BADSIG also for an unsigned first response or a 100th
 * unsigned message in a row; DNSD_EMALFORMED. Slow path.
 */
int tsig_verify_response(tsig_ctx_t *ctx, const uint8_t *msg, size_t len, uint64_t now,
                         size_t *len_without_tsig);

/**
 * At the end of a transfer: was the last message signed and verified?
 * (RFC 8945 5.3.1: the client must not accept a transfer whose last
 * message is unsigned.)
 */
bool tsig_ctx_complete(const tsig_ctx_t *ctx);

/** Name of a TSIG error ("BADSIG", ...), or "NOERROR"/"TSIG error N". Static. */
const char *tsig_error_name(int tsig_error);

#endif
