/* SPDX-License-Identifier: MIT */
/*
 * import.h -- RFC 1035 master files (zone files) and single records in
 * presentation format, parsed through ldns and written to the store with the
 * writer, inside the caller's write transaction. Slow path only: dnsctl and
 * tests link it (zones/libzonefile.a); dnsd's query path never does, so ldns
 * stays out of it.
 *
 * Accepted syntax: $ORIGIN, $TTL, $INCLUDE file [origin], "@", relative
 * names, an omitted owner (a record starting with a blank repeats the last
 * owner), TTL and class in either order, TTLs with units (1h30m, 2d, 1w),
 * multi-line records in parentheses, ";" comments, quoted strings, every RR
 * type ldns knows plus RFC 3597 unknown types and generic rdata
 * ("TYPE65000 \# 3 abcdef"). Only class IN. Every error names a location
 * ("example.zone:12: bad TTL \"1h30x\"", the line where the record starts).
 *
 * One directive is dnsd's own: "$REGION name" sends the records that follow
 * to that region (defined in the store, see regions.h) until the next
 * $REGION or the end of the file; "$REGION default" goes back to the
 * default region. zf_export_all() writes it, so a zone with regional
 * records round-trips through one file. Other servers do not know it.
 */
#ifndef DNSD_IMPORT_H
#define DNSD_IMPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "zones/base/diag.h"
#include "zones/names.h"
#include "zones/writer.h"

#define ZF_TTL_MAX           2147483647u /* RFC 2181 8: TTLs are 31-bit */
#define ZF_INCLUDE_DEPTH_MAX 16          /* files open at once, the top file included */
#define ZF_RECORD_MAX        (1u << 20)  /* bytes in one logical record (a runaway "(") */

#define ZF_NO_INCLUDE 0x1u /* refuse $INCLUDE (input from a less trusted source) */
#define ZF_NO_REGION  0x2u /* refuse $REGION (the whole file goes to o->region) */
#define ZF_ANY_REGION 0x4u /* define a $REGION name the store lacks (falling back to default):
                            * `dnsctl check` reads a file into a scratch store with no regions */
#define ZF_PROGRESS_EVERY 1024 /* records between calls of zf_import_opts_t.progress */

typedef struct zf_import_opts {
    uint16_t region;      /* region the records go to first (ZS_REGION_DEFAULT) */
    uint32_t default_ttl; /* TTL of a record with none, before any $TTL or explicit TTL */
    unsigned flags;       /* ZF_NO_INCLUDE, ZF_NO_REGION */
    FILE *warn;           /* warnings ("file:line: ...") go here; NULL drops them */
    /* progress (NULL: none): called every ZF_PROGRESS_EVERY records with the
     * records read so far, the bytes read of the top file and its size (0
     * when it has none: a pipe); included files are in the record count only */
    void (*progress)(void *arg, unsigned long records, uint64_t done, uint64_t total);
    void *progress_arg;
} zf_import_opts_t;

typedef struct zf_import_stats {
    unsigned long records;    /* records read */
    unsigned long added;      /* records stored (duplicates not counted) */
    unsigned long duplicates; /* records identical to one already read, merged */
    unsigned long warnings;   /* warnings written */
    unsigned files;           /* files read, $INCLUDEs counted */
} zf_import_stats_t;

/**
 * Read master file @p file into zone @p z through @p w (a write txn), the
 * initial $ORIGIN being the apex. Relative $INCLUDE paths are resolved
 * against the including file's directory; an included file inherits the
 * $ORIGIN (or gets the one given), the $TTL and the last owner, and its own
 * changes to them end with it (RFC 1035 5.1). Nesting beyond
 * ZF_INCLUDE_DEPTH_MAX, include loops and an included file that is not a
 * regular file (a device, a FIFO: opened without blocking, then refused)
 * are errors. Lines are at most LINE_LEN_MAX (64 KiB) bytes; a longer one,
 * or a read error (EIO, ENOMEM), is an error at its line, never an end of
 * file.
 *
 * Rules checked per record, with file:line: class IN only, owner at or below
 * the apex, SOA only at the apex and only one, no CNAME at the apex, no CNAME
 * beside other data of its region (RRSIG/NSEC excepted) and at most one
 * CNAME per name, no meta types (OPT, ANY, AXFR...), no SOA or apex NS in a
 * region other than default. Identical records are merged silently. A
 * record whose TTL differs from its RRset's (same region) gets the RRset's
 * (the first one read; RFC 2181 5.2) with a warning to @p o->warn.
 *
 * Records go to @p o->region, then to the region of each "$REGION name"
 * line (unknown name: an error at that line; ZF_NO_REGION: refused). An
 * included file starts in the includer's region and its own $REGION ends
 * with it, like $ORIGIN. The zone's @p o->region should be empty
 * (zw_zone_clear() first): records already stored are merged but escape the
 * per-line checks. Every other region is emptied in this zone when a
 * $REGION line first names it: a region's section replaces its records,
 * and regions the file does not name keep theirs. The caller still runs
 * zw_check_zone() (it finds a missing SOA or NS, and a CNAME that meets
 * other data through a fallback chain) and commits or aborts.
 * @return 0, or an error with @p d filled ("file", line, text): DNSD_EMALFORMED
 * for syntax, DNSD_EOUTOFZONE, DNSD_ECNAME, DNSD_EAPEX, DNSD_ELIMIT,
 * DNSD_ENOTFOUND (unknown region), -errno for files, or a store error.
 * Allocates; slow path.
 */
int zf_import(zw_t *w, const zw_zone_t *z, const char *file, const zf_import_opts_t *o,
              zf_import_stats_t *st, diag_t *d);

/** One record in wire form, as parsed by zf_parse_rr(). */
typedef struct zf_rr {
    uint8_t owner[DNAME_MAXLEN + 1]; /* wire name, absolute, case as written */
    int owner_len;
    uint16_t type;
    uint32_t ttl;
    bool ttl_set;   /* the text gave a TTL (else ttl is @p default_ttl) */
    uint8_t *rdata; /* uncompressed wire rdata, case as written; xmalloc'd */
    uint16_t rdlen;
} zf_rr_t;

/**
 * Parse one record in presentation format ("www 300 IN A 192.0.2.1"; TTL and
 * class optional, parentheses and comments allowed; relative names and "@"
 * are relative to @p origin, a wire name). @p out is filled and owns its
 * rdata (zf_rr_fini). No zone rules are checked here (the owner may be
 * outside any zone). @return 0, or DNSD_EMALFORMED with @p d->text set
 * (@p d->file "" and line 0: the caller says which argument it was).
 */
int zf_parse_rr(const char *text, const uint8_t *origin, uint32_t default_ttl, zf_rr_t *out,
                diag_t *d);
void zf_rr_fini(zf_rr_t *rr);

/**
 * The logical record in @p text as a zone file reads it (the first step of
 * zf_parse_rr()): ";" comments dropped, lines inside parentheses joined, the
 * parentheses and \r \v \f made blanks; quoted strings and backslash
 * escapes kept as written. @p text holds at most one record.
 * @return 0 and *@p rec (xmalloc'd; "" when @p text has no record), or
 * DNSD_EMALFORMED with @p d->text set ("'(' not closed", "more than one
 * record", ...) and *@p rec NULL.
 */
int zf_join_record(const char *text, char **rec, diag_t *d);

/**
 * Parse a domain name in presentation form into wire form @p out
 * (DNAME_MAXLEN+1 bytes): "@" is @p origin, a name without a final dot is
 * relative to @p origin, or absolute if @p origin is NULL ("example.com" and
 * "example.com." are the same then). Case is kept.
 * @return the wire length, or DNSD_EMALFORMED with @p d->text set.
 */
int zf_name_parse(const char *s, const uint8_t *origin, uint8_t *out, diag_t *d);

/**
 * Parse a TTL: seconds ("3600") or units s/m/h/d/w ("1h30m", "2D"), at most
 * ZF_TTL_MAX. @return 0 or DNSD_EMALFORMED (bad text) / DNSD_ELIMIT (too big).
 */
int zf_ttl_parse(const char *s, uint32_t *out);

/**
 * Parse an RR type mnemonic ("A", "aaaa", "TYPE65000"). Meta and query types
 * (0, OPT, 128-255: TSIG, AXFR, ANY...) are refused. @return 0 or
 * DNSD_EMALFORMED with @p d->text set.
 */
int zf_type_parse(const char *s, uint16_t *out, diag_t *d);

/** Type mnemonic ("A", "TYPE65000") into @p buf; returns @p buf. */
const char *zf_type_str(uint16_t type, char *buf, size_t cap);

#endif
