/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_rrargs.h -- the arguments of `dnsctl record add|del` turned into
 * wire form: no store, no output, so tests/fuzz/fuzz_record.c links exactly
 * the code dnsctl runs. The callers (tools/dnsctl_record.c) open the store,
 * find the zone's apex, print the message and decide. Slow path: allocates
 * (xmalloc aborts on OOM).
 */
#ifndef DNSD_DNSCTL_RRARGS_H
#define DNSD_DNSCTL_RRARGS_H

#include <stdint.h>

#include "zones/base/diag.h"
#include "zones/import.h"
#include "zones/names.h"

/* the TTL of an added record that gives none and joins no RRset */
#define CTL_DEFAULT_TTL 3600u

/** Join argv[from..] with single spaces (xmalloc'd). */
char *ctl_join(int argc, char **argv, int from);

/**
 * `record add ZONE RECORD...`: @p text (the arguments after ZONE, joined)
 * is one record in presentation format, relative names against @p apex,
 * CTL_DEFAULT_TTL when it has no TTL. @return 0 and @p rr (zf_rr_fini()
 * it, on error too), or DNSD_EMALFORMED with @p d->text set.
 */
int ctl_rr_parse_add(const char *text, const uint8_t *apex, zf_rr_t *rr, diag_t *d);

/** `record del ZONE NAME [TTL] [IN] [TYPE [RDATA...]]`, split and parsed. */
typedef struct ctl_rr_del {
    char *rec;     /* the arguments as one logical record (zf_join_record(); owned) */
    char *name;    /* the NAME token (owned) */
    char *type;    /* the TYPE token, or NULL: every type (owned) */
    const char *rdata_text; /* what follows TYPE, blanks skipped (points into rec) */
    char *full;    /* "NAME TYPE RDATA" when RDATA was given (owned), else NULL */
    uint8_t owner[DNAME_MAXLEN + 1]; /* NAME in wire form, case as written */
    uint16_t qtype;                  /* 0: every type */
    zf_rr_t rr;    /* the one record when RDATA was given (rr.rdata NULL otherwise) */
    int bad;       /* after an error: CTL_RR_BAD_NAME, _TYPE or _RECORD */
} ctl_rr_del_t;

#define CTL_RR_BAD_SYNTAX 4 /* the text is not one record: "'(' not closed" */
#define CTL_RR_BAD_NAME   1 /* NAME is not a domain name */
#define CTL_RR_BAD_TYPE   2 /* TYPE is unknown or a meta type */
#define CTL_RR_BAD_RECORD 3 /* "NAME TYPE RDATA" is not a record (r->full says it) */

/**
 * Split @p text (the arguments after ZONE, joined) into NAME, an optional
 * TTL and class (skipped: a delete matches records whatever their TTL), TYPE
 * and RDATA. The text is read as `record add` reads its record (comments,
 * parentheses: zf_join_record()), so the same words name the same record.
 * Needs no store. @return 0; or DNSD_EMALFORMED with @p out->bad 0 when
 * there is no NAME (a usage error), or CTL_RR_BAD_SYNTAX and @p d->text.
 */
int ctl_rr_del_split(const char *text, ctl_rr_del_t *out, diag_t *d);

/**
 * Parse the split fields against zone apex @p apex, in this order: NAME,
 * TYPE, then "NAME TYPE RDATA" as one record (TTL 0). @return 0, or
 * DNSD_EMALFORMED with @p r->bad saying which failed and @p d->text why.
 */
int ctl_rr_del_parse(ctl_rr_del_t *r, const uint8_t *apex, diag_t *d);

/** Free what ctl_rr_del_split()/_parse() took; a zeroed struct is fine. */
void ctl_rr_del_fini(ctl_rr_del_t *r);

#endif
