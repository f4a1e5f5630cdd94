/* SPDX-License-Identifier: MIT */
/*
 * delegate.h -- DNS-01 through a delegated "_acme-challenge" CNAME (the
 * acme-dns pattern), for names whose DNS is served elsewhere. The customer
 * adds once "_acme-challenge.<name>. CNAME <label>.<via>." where <via> lies
 * in a zone this store serves; the ACME worker then writes the TXT value at
 * that target, in its own store, and the CA follows the CNAME.
 *
 * Called by `dnsctl cert request --challenge-via` (target derivation and
 * the preflight before the request is stored) and by the ACME worker
 * (order.c: the preflight before every new order, the TXT owner of each
 * challenge; worker.c: stored owners parsed back). Slow path only: the
 * preflight makes blocking DNS queries, each bounded by its timeout; never
 * call it on a query worker or with a write transaction open.
 *
 * DESIGN. A target label is base32 (RFC 4648, lower case, no padding) of
 * the first 20 bytes of HMAC-SHA256(secret, "<cert id>\n<name>"), where
 * secret is 32 random bytes made once per store ("delegate:secret" in the
 * certs sub-database). So it is stable: a refused request prints the exact
 * record to add and the same record is right on the next try; it differs
 * per certificate and per name; and without the secret nobody can compute
 * another certificate's target, so one customer cannot aim a CNAME at a
 * target that proves someone else's name.
 *
 * The preflight asks the configured recursive resolver (RD=1) for the NS
 * set of the closest enclosing zone of "_acme-challenge.<name>" (NS queries
 * up the tree from the name's parent: a CNAME owner is never a zone apex)
 * and for the addresses of those NS hosts, then asks every address directly
 * (RD=0, the delegation NS port) for the CNAME. Every server that answers
 * must answer authoritatively with exactly the target; each NS host must
 * have at least one address that answers. A wrong or missing CNAME is named
 * with the server that said so and the record to add.
 *
 *   "delegate:secret" -> {"secret": "<base64url of 32 bytes>", "created": time}
 */
#ifndef DNSD_ACME_DELEGATE_H
#define DNSD_ACME_DELEGATE_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "zones/names.h"
#include "zones/store.h"

#define ACME_DB_DELEGATE_SECRET "delegate:secret"
#define ACME_DELEGATE_SECRET_LEN 32
#define ACME_DELEGATE_LABEL_LEN 32 /* 160 bits of base32 */
#define ACME_DELEGATE_NS_MAX 13    /* NS hosts asked per zone */
#define ACME_DELEGATE_ADDR_MAX 8   /* addresses asked per NS host */

/**
 * The store's target secret into @p out. With @p create (write txn from
 * zw_begin) one is made and stored when there is none.
 * @return 0; DNSD_ENOTFOUND (none and not @p create); DNSD_ESTORE (damaged);
 * a store error.
 */
int acme_delegate_secret(zs_store_t *s, MDB_txn *txn, bool create,
                         uint8_t out[ACME_DELEGATE_SECRET_LEN]);

/**
 * The CNAME target "<label>.<via>." for identifier @p name (acme_name_check'ed;
 * a leading "*." is ignored: a wildcard and its base share one owner) of
 * certificate @p cert_id, under @p secret. @p via is a host name with or
 * without the final dot (acme_name_check rules). @return 0 and @p out
 * (cap >= 256), or DNSD_EMALFORMED (via malformed, or the target too long).
 * Pure.
 */
int acme_delegate_target(const uint8_t secret[ACME_DELEGATE_SECRET_LEN], const char *cert_id,
                         const char *name, const char *via, char *out, size_t cap);

/**
 * Parse the presentation name @p text (final dot optional; labels of
 * letters, digits, '-' and '_', 1..63 bytes, 255 in all) into lower-case
 * wire form. @return its wire length, or DNSD_EMALFORMED. Pure.
 */
int acme_owner_parse(const char *text, uint8_t out[DNAME_MAXLEN + 1]);

/** The line to add, "_acme-challenge.<name without *.>. CNAME <target>", into @p out. */
void acme_delegate_record(const char *name, const char *target, char *out, size_t cap);

/* what one authoritative answer says about the CNAME */
enum {
    ACME_DELEG_OK = 0,  /* authoritative, CNAME to exactly the target */
    ACME_DELEG_MISSING, /* authoritative, no CNAME at the name (NXDOMAIN, NODATA, other data) */
    ACME_DELEG_WRONG,   /* authoritative, CNAME to another name (in @p found) */
    ACME_DELEG_BAD,     /* not usable: not authoritative, an error rcode, malformed (@p why) */
};

/**
 * Judge response @p pkt (@p len bytes, as received) to the question
 * "@p qname CNAME" against target @p want (wire, lower case). @p found
 * (cap >= 256) receives the CNAME's target when there is one; @p why says
 * what was wrong for ACME_DELEG_BAD. @return an ACME_DELEG_* verdict.
 * Pure, allocates only through ldns; bytes from the network (fuzzed).
 */
int acme_delegate_verdict(const uint8_t *pkt, size_t len, const uint8_t *qname,
                          const uint8_t *want, char *found, size_t fcap, char *why, size_t wcap);

/**
 * The NS hosts of @p zone in resolver response @p pkt to "@p zone NS":
 * the targets of NS records owned by @p zone in the answer section (none
 * when @p zone has a CNAME, or no NS: not a zone apex). @return how many
 * were written to @p ns (at most @p max), or DNSD_EMALFORMED / DNSD_ENET
 * (malformed, or an rcode other than NOERROR/NXDOMAIN, with @p why). Pure.
 */
int acme_delegate_ns_answer(const uint8_t *pkt, size_t len, const uint8_t *zone,
                            uint8_t ns[][DNAME_MAXLEN + 1], int max, char *why, size_t wcap);

/**
 * The addresses (A or AAAA, @p qtype 1 or 28) of @p host in resolver
 * response @p pkt, following a CNAME chain inside the answer, with port
 * @p port. @return how many were written to @p out (at most @p max), or
 * DNSD_EMALFORMED. Pure.
 */
int acme_delegate_addr_answer(const uint8_t *pkt, size_t len, const uint8_t *host, uint16_t qtype,
                              uint16_t port, struct sockaddr_storage *out, int max);

/**
 * The resolver to use: @p cfg when its family is set, else the first
 * "nameserver" of /etc/resolv.conf, port 53. @return 0 or DNSD_ECONFIG (@p why).
 */
int acme_delegate_resolver(const struct sockaddr_storage *cfg, struct sockaddr_storage *out,
                           char *why, size_t wcap);

/**
 * The preflight (see DESIGN): is "_acme-challenge.<@p name>" a CNAME to
 * @p target on every authoritative server of its zone, asked on port
 * @p ns_port (0: 53), found through @p resolver? Each query waits at most
 * @p timeout_ms (one retry over UDP, TCP on truncation).
 * @return 0; DNSD_ENOTFOUND when a server says the CNAME is missing or
 * points elsewhere (@p why names the server, what it answered and the
 * record to add); DNSD_ENET when the servers or the resolver could not be
 * asked (@p why says which). Blocking; any thread but a query worker.
 */
int acme_delegate_preflight(const struct sockaddr_storage *resolver, unsigned ns_port,
                            int timeout_ms, const char *name, const char *target, char *why,
                            size_t wcap);

/**
 * The TXT owner of identifier @p name's DNS-01 challenge under request
 * @p req (certdb.h): the CNAME target req.via.targets[name without "*."]
 * when the request has "via", else "_acme-challenge.<name>". Wire form in
 * @p owner, presentation (final dot) in @p text (cap >= 256).
 * @return the wire length; DNSD_ENOTFOUND (via without a target for the
 * name); DNSD_EMALFORMED. Pure.
 */
int acme_challenge_owner(json_t *req, const char *name, uint8_t owner[DNAME_MAXLEN + 1],
                         char *text, size_t cap);

/**
 * The preflight for every name of request @p req that has "via" (nothing
 * to do without: 0). Resolver and port as acme_delegate_preflight (the
 * resolver through acme_delegate_resolver). @return 0, or the first
 * failure (DNSD_ENOTFOUND, DNSD_ENET, DNSD_ECONFIG, DNSD_EMALFORMED) with
 * @p why "<name>: ...". Blocking, as acme_delegate_preflight.
 */
int acme_delegate_check_request(json_t *req, const struct sockaddr_storage *resolver,
                                unsigned ns_port, int timeout_ms, char *why, size_t wcap);

#endif
