/* SPDX-License-Identifier: MIT */
/* err.c -- text for the codes in err.h. Only libc. */
#include "zones/base/err.h"

#include <string.h>

const char *dnsd_strerror(int err)
{
    switch (err) {
    case 0:               return "success";
    case DNSD_EMALFORMED: return "malformed input";
    case DNSD_ESTORE:     return "damaged value in the store";
    case DNSD_ESCHEMA:    return "store has an unsupported schema version";
    case DNSD_ENOZONE:    return "no such zone";
    case DNSD_ENOTFOUND:  return "not found";
    case DNSD_EEXIST:     return "already exists";
    case DNSD_EOUTOFZONE: return "name is outside the zone";
    case DNSD_ECNAME:     return "CNAME and other data at the same name";
    case DNSD_EAPEX:      return "zone apex must have exactly one SOA and at least one NS";
    case DNSD_ESPACE:     return "no space left (buffer or store map full)";
    case DNSD_ELMDB:      return "LMDB error";
    case DNSD_ECONFIG:    return "configuration error";
    case DNSD_ELIMIT:     return "implementation limit reached";
    case DNSD_EACME:      return "the ACME server reported a problem";
    case DNSD_ENET:       return "network or HTTP failure";
    case DNSD_ECRYPTO:    return "key, signature or certificate operation failed";
    case DNSD_ERANGE:     return "the journal no longer holds those changes (use the whole zone)";
    case DNSD_ESECONDARY:
        return "the zone is a secondary: its default view is a copy of the primary's "
               "(edit it there, or a regional overlay here)";
    case DNSD_EDNSSEC:
        return "the zone is signed: dnsd makes its RRSIG, NSEC, DNSKEY, CDS and CDNSKEY "
               "records itself (see dnsctl dnssec)";
    case DNSD_ECONFLICT:
        return "another edit reached the cluster first; nothing changed (retry)";
    case DNSD_ECLUSTER:
        return "the cluster did not take the edit (etcd unreachable or without quorum); "
               "nothing changed";
    default:
        if (err < 0 && err > -1000) {
            return strerror(-err); /* glibc strerror is MT-safe for valid codes */
        }
        return "unknown error";
    }
}
