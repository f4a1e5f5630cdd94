/* SPDX-License-Identifier: MIT */
/*
 * err.h -- the project's error codes. Functions that can fail return 0 or a
 * negative code: a negated errno value where one fits, or one of ours below
 * -1000. dnsd_strerror() names either kind. Only libc.
 */
#ifndef DNSD_ERR_H
#define DNSD_ERR_H

#define DNSD_EMALFORMED (-1001) /* input (packet, zone text, argument) is malformed */
#define DNSD_ESTORE     (-1002) /* a stored value failed validation: damage, not trusted */
#define DNSD_ESCHEMA    (-1003) /* the store has another schema version */
#define DNSD_ENOZONE    (-1004) /* no such zone */
#define DNSD_ENOTFOUND  (-1005) /* no such name / RRset / record */
#define DNSD_EEXIST     (-1006) /* already exists */
#define DNSD_EOUTOFZONE (-1007) /* a name is not at or below the zone apex */
#define DNSD_ECNAME     (-1008) /* CNAME beside other data (RFC 1034 3.6.2, RFC 2181 10.1) */
#define DNSD_EAPEX      (-1009) /* the apex lacks SOA or NS, or has two SOA records */
#define DNSD_ESPACE     (-1010) /* a buffer or the store map is full */
#define DNSD_ELMDB      (-1011) /* LMDB reported an error (logged with its text) */
#define DNSD_ECONFIG    (-1012) /* configuration error */
#define DNSD_ELIMIT     (-1013) /* an implementation limit was reached */
#define DNSD_EACME      (-1014) /* the ACME server answered with a problem document */
#define DNSD_ENET       (-1015) /* network or HTTP failure (no usable answer) */
#define DNSD_ECRYPTO    (-1016) /* a key, signature, CSR or certificate operation failed */
#define DNSD_ERANGE     (-1017) /* the journal no longer holds the changes asked for */
#define DNSD_ESECONDARY (-1025) /* the default view of a secondary zone: only transfers edit it */
#define DNSD_ECLUSTER   (-1026) /* the cluster (etcd) refused the edit or has no quorum */
#define DNSD_ECONFLICT  (-1027) /* another node's edit took the cluster's log first: retry */
#define DNSD_EDNSSEC    (-1028) /* a DNSSEC record of a signed zone: dnsd makes those itself */

/** Text for an error code from this header or a negated errno. Static storage; any thread. */
const char *dnsd_strerror(int err);

#endif
