/* SPDX-License-Identifier: MIT */
/*
 * import.c -- master files and single presentation-format records into the
 * store (see import.h). Slow path, linked by dnsctl and tests only; ldns
 * does the per-type rdata parsing, never on dnsd's query path.
 *
 * DESIGN. ldns_rr_new_frm_fp_l() reads a file record by record, but it
 * returns LDNS_STATUS_SYNTAX_INCLUDE without the file name, accepts a TTL
 * such as "1h30x" (as 3630) and reports the line where a multi-line record
 * ends. So the file side is ours and small: a joiner turns physical lines
 * into one logical record (parentheses, ";" comments, quoted strings,
 * backslash escapes), remembering the line it started on; directives
 * ($ORIGIN, $TTL, $INCLUDE) are handled here with a stack of open files;
 * the owner, TTL, class and type fields are parsed here, so every message
 * names the field. Only the rdata goes to ldns_rr_new_frm_str() (as
 * "@ 0 IN <type> <rdata>" with the current origin), which knows every type,
 * RFC 3597 generic rdata and relative names in rdata; ldns_rr_rdata2buffer_wire()
 * then gives uncompressed wire rdata with the case as written.
 *
 * An import also keeps a table of the owners it wrote (an open-addressing
 * hash of lower-cased wire names, nodes in an arena dropped whole), with
 * each RRset's type, TTL and first line: so a TTL that differs inside an
 * RRset is warned about and made consistent, and CNAME conflicts and a
 * second SOA are reported at the line that causes them rather than by
 * zw_check_zone() afterwards, without a line.
 */
#include "zones/import.h"

#include <ctype.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zones/base/err.h"
#include "zones/base/line.h"
#include "zones/base/xalloc.h"
#include "zones/regions.h"
#include "zones/rollout.h"
#include "zones/rrtype.h"

#define NAME_STR_MAX (4 * DNAME_MAXLEN + 2)

/* ---- small helpers ---- */

static void name_str(const uint8_t *wire, char *buf)
{
    dname_to_str(wire, buf, NAME_STR_MAX);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_blanks(const char *p)
{
    while (is_blank(*p)) {
        p++;
    }
    return p;
}

/*
 * Next whitespace-separated token of a logical record into @p out. A
 * backslash escapes the next character (both are kept: ldns decodes them).
 * With @p quoted, a token starting with '"' runs to the closing quote and
 * is returned without the quotes (directive arguments). Returns false when
 * there is no token; *@p too_long when it did not fit.
 */
static bool next_token(const char **pp, char *out, size_t cap, bool quoted, bool *too_long)
{
    const char *p = skip_blanks(*pp);
    size_t o = 0;
    *too_long = false;
    if (!*p) {
        *pp = p;
        return false;
    }
    if (quoted && *p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1]) {
                p++;
            }
            if (o + 1 < cap) {
                out[o++] = *p;
            } else {
                *too_long = true;
            }
            p++;
        }
        if (*p == '"') {
            p++;
        }
    } else {
        while (*p && !is_blank(*p)) {
            size_t n = (*p == '\\' && p[1]) ? 2 : 1;
            if (o + n < cap) {
                memcpy(out + o, p, n);
                o += n;
            } else {
                *too_long = true;
            }
            p += n;
        }
    }
    out[o] = 0;
    *pp = p;
    return true;
}

/* "Syntax error, could not parse the RR's rdata" -> "could not parse the RR's rdata" */
static const char *ldns_err_text(ldns_status st)
{
    const char *s = ldns_get_errorstr_by_id(st);
    if (!s) {
        return "parse error";
    }
    if (strncmp(s, "Syntax error, ", 14) == 0) {
        s += 14;
    }
    return s;
}

/* ---- names, TTLs, types ---- */

/* Parse @p tok relative to @p origin (may be NULL: then absolute). *out owned by the caller. */
static int name_rdf(const char *tok, const ldns_rdf *origin, ldns_rdf **out, diag_t *d)
{
    ldns_rdf *dn = NULL;
    *out = NULL;
    if (strcmp(tok, "@") == 0) {
        if (!origin) {
            diag_set(d, "", 0, "\"@\" used with no origin");
            return DNSD_EMALFORMED;
        }
        *out = ldns_rdf_clone(origin);
        return 0;
    }
    dn = ldns_dname_new_frm_str(tok);
    if (!dn) {
        diag_set(d, "", 0, "bad domain name \"%s\"", tok);
        return DNSD_EMALFORMED;
    }
    if (origin && !ldns_dname_str_absolute(tok)) {
        if (ldns_rdf_size(dn) + ldns_rdf_size(origin) - 1 > DNAME_MAXLEN ||
            ldns_dname_cat(dn, origin) != LDNS_STATUS_OK) {
            ldns_rdf_deep_free(dn);
            diag_set(d, "", 0, "domain name \"%s\" is too long once the origin is added", tok);
            return DNSD_EMALFORMED;
        }
    }
    if (ldns_rdf_size(dn) > DNAME_MAXLEN ||
        dname_wire_len(ldns_rdf_data(dn), ldns_rdf_size(dn)) != (int)ldns_rdf_size(dn)) {
        ldns_rdf_deep_free(dn);
        diag_set(d, "", 0, "bad domain name \"%s\"", tok);
        return DNSD_EMALFORMED;
    }
    *out = dn;
    return 0;
}

int zf_name_parse(const char *s, const uint8_t *origin, uint8_t *out, diag_t *d)
{
    ldns_rdf *org = NULL, *dn = NULL;
    int err;
    if (origin) {
        org = ldns_dname_new_frm_data((uint16_t)dname_wire_len(origin, DNAME_MAXLEN + 1), origin);
    }
    err = name_rdf(s, org, &dn, d);
    if (err) {
        goto out;
    }
    memcpy(out, ldns_rdf_data(dn), ldns_rdf_size(dn));
    err = (int)ldns_rdf_size(dn);
out:
    ldns_rdf_deep_free(org);
    ldns_rdf_deep_free(dn);
    return err;
}

int zf_ttl_parse(const char *s, uint32_t *out)
{
    uint64_t total = 0, cur = 0;
    bool digits = false, units = false;
    if (!s || !*s) {
        return DNSD_EMALFORMED;
    }
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            cur = cur * 10 + (uint64_t)(*p - '0');
            if (cur > ZF_TTL_MAX) {
                return DNSD_ELIMIT;
            }
            digits = true;
            continue;
        }
        uint64_t mult;
        switch (tolower((unsigned char)*p)) {
        case 's':
            mult = 1;
            break;
        case 'm':
            mult = 60;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'd':
            mult = 86400;
            break;
        case 'w':
            mult = 604800;
            break;
        default:
            return DNSD_EMALFORMED;
        }
        if (!digits) {
            return DNSD_EMALFORMED; /* "h", "1hh" */
        }
        total += cur * mult;
        if (total > ZF_TTL_MAX) {
            return DNSD_ELIMIT;
        }
        cur = 0;
        digits = false;
        units = true;
    }
    if (!digits && !units) {
        return DNSD_EMALFORMED;
    }
    total += cur; /* "1h30": trailing bare digits are seconds */
    if (total > ZF_TTL_MAX) {
        return DNSD_ELIMIT;
    }
    *out = (uint32_t)total;
    return 0;
}

int zf_type_parse(const char *s, uint16_t *out, diag_t *d)
{
    unsigned long t;
    if (strncasecmp(s, "TYPE", 4) == 0 && s[4]) {
        char *end;
        if (!isdigit((unsigned char)s[4])) {
            goto unknown;
        }
        errno = 0;
        t = strtoul(s + 4, &end, 10);
        if (*end || errno || t > 65535) {
            diag_set(d, "", 0, "bad type \"%s\" (TYPE0 to TYPE65535)", s);
            return DNSD_EMALFORMED;
        }
    } else {
        t = (unsigned long)ldns_get_rr_type_by_name(s);
        if (t == 0 || t > 65535) {
            goto unknown;
        }
    }
    /* RFC 6895 3.1: 0, OPT and 128-255 (TKEY, TSIG, IXFR, AXFR, ANY...) are not data */
    if (t == 0 || t == DNS_T_OPT || (t >= 128 && t <= 255)) {
        diag_set(d, "", 0, "type %s cannot be stored in a zone (a meta or query type)", s);
        return DNSD_EMALFORMED;
    }
    *out = (uint16_t)t;
    return 0;
unknown:
    diag_set(d, "", 0, "unknown type \"%s\"", s);
    return DNSD_EMALFORMED;
}

const char *zf_type_str(uint16_t type, char *buf, size_t cap)
{
    char *s = ldns_rr_type2str((ldns_rr_type)type);
    snprintf(buf, cap, "%s", s ? s : "?");
    free(s);
    return buf;
}

static bool is_class(const char *s, bool *is_in)
{
    static const char *const names[] = {"IN", "CH", "CS", "HS", "NONE", "ANY"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *is_in = i == 0;
            return true;
        }
    }
    if (strncasecmp(s, "CLASS", 5) == 0 && s[5]) {
        for (const char *p = s + 5; *p; p++) {
            if (!isdigit((unsigned char)*p)) {
                return false;
            }
        }
        *is_in = strtoul(s + 5, NULL, 10) == 1;
        return true;
    }
    return false;
}

/* ---- one record ---- */

/*
 * Does ldns's wire parser take @p rdata as rdata of @p type? Its text
 * parsers accept some input that gives bytes it cannot read back (seen:
 * "HTTPS \\# 0x ..." stored a bad label length): such a record could be
 * neither answered sensibly nor exported and imported again. (The store's
 * own check, zs_rdata_ok(), is made first: ldns takes an empty A record.)
 */
static bool rdata_decodes(uint16_t type, const uint8_t *rdata, size_t rdlen)
{
    size_t wl = 11 + rdlen, pos = 0;
    uint8_t *wire = xmalloc(wl);
    ldns_rr *rr = NULL;
    wire[0] = 0; /* owner: the root */
    zs_put16(wire + 1, type);
    zs_put16(wire + 3, 1);
    zs_put32(wire + 5, 0);
    zs_put16(wire + 9, (uint16_t)rdlen);
    memcpy(wire + 11, rdata, rdlen);
    bool ok = ldns_wire2rr(&rr, wire, wl, &pos, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK &&
              pos == wl;
    if (rr) {
        ldns_rr_free(rr);
    }
    free(wire);
    return ok;
}

/*
 * Parse logical record @p text. @p prev: the owner of the record before
 * (wire) for a record starting with a blank, or NULL. @p dflt_ttl: the TTL
 * if the text has none. Fills @p out (rdata xmalloc'd). Only d->text is set.
 */
static int parse_record(const char *text, const ldns_rdf *origin, const uint8_t *prev,
                        uint32_t dflt_ttl, zf_rr_t *out, diag_t *d)
{
    char tok[1024], typetok[64];
    bool too_long;
    const char *p = text;
    ldns_rdf *owner = NULL;
    ldns_rr *rr = NULL;
    ldns_buffer *buf = NULL;
    char *line = NULL;
    bool class_set = false;
    int err = DNSD_EMALFORMED;

    memset(out, 0, sizeof(*out));
    out->ttl = dflt_ttl;
    if (is_blank(*p)) {
        if (!prev) {
            diag_set(d, "", 0, "record starts with a blank but no owner name came before it");
            goto out;
        }
        out->owner_len = dname_wire_len(prev, DNAME_MAXLEN + 1);
        memcpy(out->owner, prev, (size_t)out->owner_len);
    } else {
        next_token(&p, tok, sizeof(tok), false, &too_long);
        if (too_long) {
            diag_set(d, "", 0, "owner name too long");
            goto out;
        }
        if ((err = name_rdf(tok, origin, &owner, d)) != 0) {
            goto out;
        }
        err = DNSD_EMALFORMED;
        out->owner_len = (int)ldns_rdf_size(owner);
        memcpy(out->owner, ldns_rdf_data(owner), ldns_rdf_size(owner));
    }
    /* [TTL] [class] in either order, then the type */
    for (int i = 0; i < 2; i++) {
        const char *save = p;
        bool in;
        if (!next_token(&p, tok, sizeof(tok), false, &too_long)) {
            diag_set(d, "", 0, "missing type");
            goto out;
        }
        if (isdigit((unsigned char)tok[0]) && !out->ttl_set) {
            int e = zf_ttl_parse(tok, &out->ttl);
            if (e == DNSD_ELIMIT) {
                diag_set(d, "", 0, "TTL \"%s\" is too large (at most %u)", tok, ZF_TTL_MAX);
                goto out;
            }
            if (e) {
                diag_set(d, "", 0, "bad TTL \"%s\"", tok);
                goto out;
            }
            out->ttl_set = true;
        } else if (!class_set && is_class(tok, &in)) {
            if (!in) {
                diag_set(d, "", 0, "class %s is not supported (only IN)", tok);
                goto out;
            }
            class_set = true;
        } else {
            p = save;
            break;
        }
    }
    if (!next_token(&p, typetok, sizeof(typetok), false, &too_long)) {
        diag_set(d, "", 0, "missing type");
        goto out;
    }
    if (too_long) {
        diag_set(d, "", 0, "unknown type \"%.40s...\"", typetok);
        goto out;
    }
    if (zf_type_parse(typetok, &out->type, d) != 0) {
        goto out;
    }
    p = skip_blanks(p);
    size_t rl = strlen(p);
    while (rl > 0 && is_blank(p[rl - 1])) {
        rl--;
    }
    if (rl == 0) {
        diag_set(d, "", 0, "missing rdata for the %s record", typetok);
        goto out;
    }
    /* ldns parses the rdata only; owner, TTL and class are already ours */
    size_t ll = 16 + strlen(typetok) + rl;
    line = xmalloc(ll);
    snprintf(line, ll, "@ 0 IN %s %.*s", typetok, (int)rl, p);
    ldns_status st = ldns_rr_new_frm_str(&rr, line, 0, origin, NULL);
    if (st != LDNS_STATUS_OK) {
        diag_set(d, "", 0, "bad %s rdata \"%.*s%s\": %s", typetok, rl > 60 ? 60 : (int)rl, p,
                 rl > 60 ? "..." : "", ldns_err_text(st));
        goto out;
    }
    if ((uint16_t)ldns_rr_get_type(rr) != out->type) {
        diag_set(d, "", 0, "bad %s record (ldns read type %u)", typetok,
                 (unsigned)ldns_rr_get_type(rr));
        goto out;
    }
    buf = ldns_buffer_new(512);
    if (!buf) {
        err = -ENOMEM;
        goto out;
    }
    st = ldns_rr_rdata2buffer_wire(buf, rr);
    if (st != LDNS_STATUS_OK) {
        diag_set(d, "", 0, "bad %s rdata: %s", typetok, ldns_err_text(st));
        goto out;
    }
    size_t wl = ldns_buffer_position(buf);
    if (wl > 65535) {
        diag_set(d, "", 0, "%s rdata too long (%zu bytes; at most 65535)", typetok, wl);
        goto out;
    }
    if (!zs_rdata_ok(out->type, ldns_buffer_begin(buf), wl) ||
        !rdata_decodes(out->type, ldns_buffer_begin(buf), wl)) {
        diag_set(d, "", 0, "bad %s rdata \"%.*s%s\": not %s data once in wire form", typetok,
                 rl > 60 ? 60 : (int)rl, p, rl > 60 ? "..." : "", typetok);
        goto out;
    }
    out->rdlen = (uint16_t)wl;
    out->rdata = xmalloc(wl ? wl : 1);
    memcpy(out->rdata, ldns_buffer_begin(buf), wl);
    err = 0;
out:
    ldns_rdf_deep_free(owner);
    if (rr) {
        ldns_rr_free(rr);
    }
    ldns_buffer_free(buf);
    free(line);
    return err;
}

void zf_rr_fini(zf_rr_t *rr)
{
    if (rr) {
        free(rr->rdata);
        rr->rdata = NULL;
    }
}

/* ---- the joiner: physical lines -> one logical record ---- */

typedef struct joiner {
    char *buf;
    size_t len, cap;
    int depth;      /* open parentheses */
    int start_line; /* where the record began */
    bool active;    /* a record is open (inside parentheses) */
} joiner_t;

static void j_put(joiner_t *j, char c)
{
    if (j->len + 2 > j->cap) {
        j->cap = j->cap ? j->cap * 2 : 256;
        j->buf = xrealloc(j->buf, j->cap);
    }
    j->buf[j->len++] = c;
    j->buf[j->len] = 0;
}

/*
 * Add physical line @p line (@p n bytes, newline optional) read at @p lineno.
 * @return 1 when a logical record is complete in j->buf, 0 when it goes on
 * (open parenthesis), or DNSD_EMALFORMED with d->text set (d->line too).
 */
static int join_line(joiner_t *j, const char *line, size_t n, int lineno, diag_t *d)
{
    bool in_quote = false;
    if (!j->active) {
        j->len = 0;
        j->depth = 0;
        j->start_line = lineno;
        j->active = true;
        j_put(j, 0);
        j->len = 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = line[i];
        if (c == 0) {
            diag_set(d, "", lineno, "NUL byte in the line");
            return DNSD_EMALFORMED;
        }
        if (c == '\n') {
            break;
        }
        if (in_quote) {
            if (c == '\\' && i + 1 < n && line[i + 1] != '\n') {
                j_put(j, c);
                c = line[++i];
            } else if (c == '"') {
                in_quote = false;
            }
            j_put(j, c);
            continue;
        }
        if (c == ';') {
            break;
        }
        switch (c) {
        case '\\':
            j_put(j, c);
            if (i + 1 < n && line[i + 1] != '\n' && line[i + 1] != 0) {
                j_put(j, line[++i]);
            }
            continue;
        case '"':
            /* a quote opens a string at the start of a token only */
            if (j->len == 0 || is_blank(j->buf[j->len - 1])) {
                in_quote = true;
            }
            break;
        case '(':
            j->depth++;
            c = ' ';
            break;
        case ')':
            if (j->depth == 0) {
                diag_set(d, "", lineno, "')' without '('");
                return DNSD_EMALFORMED;
            }
            j->depth--;
            c = ' ';
            break;
        case '\r':
        case '\v':
        case '\f':
            c = ' ';
            break;
        default:
            break;
        }
        j_put(j, c);
        if (j->len > ZF_RECORD_MAX) {
            diag_set(d, "", j->start_line, "record longer than %u bytes (a '(' not closed?)",
                     ZF_RECORD_MAX);
            return DNSD_EMALFORMED;
        }
    }
    if (in_quote) {
        diag_set(d, "", lineno, "quoted string not closed on its line");
        return DNSD_EMALFORMED;
    }
    if (j->depth > 0) {
        j_put(j, ' ');
        return 0;
    }
    j->active = false;
    return 1;
}

int zf_join_record(const char *text, char **rec, diag_t *d)
{
    joiner_t j = {0};
    const char *p = text;
    int line = 1;
    *rec = NULL;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        int r = join_line(&j, p, n, line, d);
        if (r < 0) {
            goto fail;
        }
        if (r == 1 && *skip_blanks(j.buf)) {
            if (*rec) {
                diag_set(d, "", line, "more than one record");
                goto fail;
            }
            *rec = xstrdup(j.buf);
        }
        if (!nl) {
            break;
        }
        p = nl + 1;
        line++;
    }
    if (j.active) {
        diag_set(d, "", j.start_line, "'(' not closed");
        goto fail;
    }
    if (!*rec) {
        *rec = xstrdup("");
    }
    free(j.buf);
    return 0;
fail:
    free(j.buf);
    free(*rec);
    *rec = NULL;
    return DNSD_EMALFORMED;
}

int zf_parse_rr(const char *text, const uint8_t *origin, uint32_t default_ttl, zf_rr_t *out,
                diag_t *d)
{
    ldns_rdf *org = NULL;
    char *rec = NULL;
    int err;
    memset(out, 0, sizeof(*out));
    err = zf_join_record(text, &rec, d);
    if (err) {
        d->line = 0;
        goto out;
    }
    if (!rec[0]) {
        diag_set(d, "", 0, "empty record");
        err = DNSD_EMALFORMED;
        goto out;
    }
    if (rec[0] == '$') {
        diag_set(d, "", 0, "a directive (%.20s) is not a record", rec);
        err = DNSD_EMALFORMED;
        goto out;
    }
    org = ldns_dname_new_frm_data((uint16_t)dname_wire_len(origin, DNAME_MAXLEN + 1), origin);
    /* no record came before to lend its owner: blanks in front are harmless */
    err = parse_record(skip_blanks(rec), org, NULL, default_ttl, out, d);
out:
    ldns_rdf_deep_free(org);
    free(rec);
    return err;
}

/* ---- the import's owner table ---- */

typedef struct rrinfo {
    uint16_t type;
    uint16_t region;
    uint16_t file;  /* index in imp->files */
    uint32_t ttl;   /* the RRset's TTL: the first one read */
    int line;       /* where its first record was */
    uint32_t count; /* records stored */
} rrinfo_t;

typedef struct node {
    rrinfo_t *t;
    uint16_t n, cap;
    uint8_t len;
    uint8_t owner[]; /* lower-case wire name */
} node_t;

typedef struct arena_blk {
    struct arena_blk *next;
    size_t used, cap;
    max_align_t data[];
} arena_blk_t;

typedef struct arena {
    arena_blk_t *head;
} arena_t;

static void *arena_alloc(arena_t *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        arena_blk_t *b = xmalloc(sizeof(*b) + cap);
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

static void arena_free(arena_t *a)
{
    while (a->head) {
        arena_blk_t *b = a->head;
        a->head = b->next;
        free(b);
    }
}

/* ---- the importer ---- */

typedef struct src {
    FILE *fp;
    uint16_t file; /* index in imp->files */
    int line;      /* physical lines read */
    dev_t dev;
    ino_t ino;
    ldns_rdf *origin; /* $ORIGIN, owned */
    bool has_dollar_ttl, has_last_ttl;
    uint32_t dollar_ttl, last_ttl;
    uint8_t prev[DNAME_MAXLEN + 1]; /* last owner; prev_len 0: none yet */
    int prev_len;
    uint16_t region;                /* where records go ($REGION) */
    char region_name[ZS_REGION_NAME_MAX + 1];
} src_t;

typedef struct imp {
    zw_t *w;
    const zw_zone_t *z;
    const zf_import_opts_t *o;
    zf_import_stats_t *st;
    diag_t *d;
    src_t stack[ZF_INCLUDE_DEPTH_MAX];
    int depth;
    char **files;
    unsigned nfiles, files_cap;
    joiner_t j;
    line_buf_t line;
    node_t **slots;
    size_t nslots, nused;
    arena_t arena;
    uint16_t *cleared; /* regions a $REGION section has emptied (the first is o->region) */
    size_t ncleared;
} imp_t;

/* d->text is set by a helper: add where it happened */
static int at(imp_t *im, int line, int err)
{
    snprintf(im->d->file, sizeof(im->d->file), "%s", im->files[im->stack[im->depth - 1].file]);
    im->d->line = line;
    return err;
}

__attribute__((format(printf, 4, 5)))
static int fail(imp_t *im, int line, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(im->d->text, sizeof(im->d->text), fmt, ap);
    va_end(ap);
    return at(im, line, err);
}

__attribute__((format(printf, 3, 4)))
static void warn(imp_t *im, int line, const char *fmt, ...)
{
    im->st->warnings++;
    if (!im->o->warn) {
        return;
    }
    va_list ap;
    fprintf(im->o->warn, "%s:%d: warning: ", im->files[im->stack[im->depth - 1].file], line);
    va_start(ap, fmt);
    vfprintf(im->o->warn, fmt, ap);
    va_end(ap);
    fputc('\n', im->o->warn);
}

static uint64_t name_hash(const uint8_t *n, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ n[i]) * 1099511628211ull;
    }
    return h;
}

static node_t *node_get(imp_t *im, const uint8_t *owner, size_t len)
{
    if (im->nused * 10 >= im->nslots * 7) {
        size_t ncap = im->nslots ? im->nslots * 2 : 1024;
        node_t **ns = xcalloc(ncap, sizeof(*ns));
        for (size_t i = 0; i < im->nslots; i++) {
            node_t *nd = im->slots[i];
            if (nd) {
                size_t k = name_hash(nd->owner, nd->len) & (ncap - 1);
                while (ns[k]) {
                    k = (k + 1) & (ncap - 1);
                }
                ns[k] = nd;
            }
        }
        free(im->slots);
        im->slots = ns;
        im->nslots = ncap;
    }
    size_t k = name_hash(owner, len) & (im->nslots - 1);
    while (im->slots[k]) {
        node_t *nd = im->slots[k];
        if (nd->len == len && memcmp(nd->owner, owner, len) == 0) {
            return nd;
        }
        k = (k + 1) & (im->nslots - 1);
    }
    node_t *nd = arena_alloc(&im->arena, sizeof(*nd) + len);
    memset(nd, 0, sizeof(*nd));
    nd->len = (uint8_t)len;
    memcpy(nd->owner, owner, len);
    im->slots[k] = nd;
    im->nused++;
    return nd;
}

/* fail() at a line of file number @p file, which need not be open */
static int fail_in(imp_t *im, unsigned file, int line, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(im->d->text, sizeof(im->d->text), fmt, ap);
    va_end(ap);
    snprintf(im->d->file, sizeof(im->d->file), "%s", im->files[file]);
    im->d->line = line;
    return err;
}

/* the node of @p owner if one was read, without adding one */
static node_t *node_lookup(const imp_t *im, const uint8_t *owner, size_t len)
{
    if (im->nslots == 0) {
        return NULL;
    }
    size_t k = name_hash(owner, len) & (im->nslots - 1);
    while (im->slots[k]) {
        node_t *nd = im->slots[k];
        if (nd->len == len && memcmp(nd->owner, owner, len) == 0) {
            return nd;
        }
        k = (k + 1) & (im->nslots - 1);
    }
    return NULL;
}

static rrinfo_t *node_find(node_t *nd, uint16_t type, uint16_t region);

/*
 * RFC 6672 2.4: no names below a DNAME. Knot refuses such a zone, so do we,
 * for the records of one region (a DNAME in a region's overlay may occlude
 * default-view names for that region: answer.c). One pass over the names
 * read, after the last file: every ancestor up to the apex is looked up.
 */
static int check_dname_subtrees(imp_t *im)
{
    for (size_t i = 0; i < im->nslots; i++) {
        node_t *nd = im->slots[i];
        if (!nd || nd->len <= (size_t)im->z->apex_len) {
            continue;
        }
        const uint8_t *p = nd->owner;
        while (*p && (size_t)(nd->owner + nd->len - p) > (size_t)im->z->apex_len) {
            p += 1 + *p; /* the next ancestor, down to the apex */
            node_t *up = node_lookup(im, p, (size_t)(nd->owner + nd->len - p));
            for (unsigned j = 0; up && j < nd->n; j++) {
                rrinfo_t *dn = node_find(up, DNS_T_DNAME, nd->t[j].region);
                if (!dn) {
                    continue;
                }
                char nm[NAME_STR_MAX], un[NAME_STR_MAX], ts[32];
                name_str(nd->owner, nm);
                name_str(up->owner, un);
                zf_type_str(nd->t[j].type, ts, sizeof(ts));
                return fail_in(im, nd->t[j].file, nd->t[j].line, DNSD_ECNAME,
                               "%s record at %s is below the DNAME at %s (%s:%d); nothing may "
                               "exist below a DNAME (RFC 6672 2.4)", ts, nm, un,
                               im->files[dn->file], dn->line);
            }
        }
    }
    return 0;
}

static rrinfo_t *node_find(node_t *nd, uint16_t type, uint16_t region)
{
    for (unsigned i = 0; i < nd->n; i++) {
        if (nd->t[i].type == type && nd->t[i].region == region) {
            return &nd->t[i];
        }
    }
    return NULL;
}

static rrinfo_t *node_add(imp_t *im, node_t *nd, uint16_t type, uint16_t region)
{
    if (nd->n == nd->cap) {
        if (nd->cap >= 32768) {
            return NULL;
        }
        uint16_t ncap = nd->cap ? (uint16_t)(nd->cap * 2) : 4;
        rrinfo_t *nt = arena_alloc(&im->arena, ncap * sizeof(*nt));
        if (nd->n) {
            memcpy(nt, nd->t, nd->n * sizeof(*nt));
        }
        nd->t = nt;
        nd->cap = ncap;
    }
    rrinfo_t *ri = &nd->t[nd->n++];
    memset(ri, 0, sizeof(*ri));
    ri->type = type;
    ri->region = region;
    return ri;
}

static int file_add(imp_t *im, const char *path)
{
    if (im->nfiles == UINT16_MAX) {
        return DNSD_ELIMIT;
    }
    if (im->nfiles == im->files_cap) {
        im->files_cap = im->files_cap ? im->files_cap * 2 : 8;
        im->files = xrealloc(im->files, im->files_cap * sizeof(*im->files));
    }
    im->files[im->nfiles++] = xstrdup(path);
    return 0;
}

/*
 * Open @p path and push it. @p parent: the including file (NULL for the top
 * one), whose state is inherited; @p origin is taken (owned by the stack
 * from now on, freed on error too). @p line: the $INCLUDE line, for errors.
 */
static int push_file(imp_t *im, const char *path, const src_t *parent, ldns_rdf *origin,
                     int line)
{
    struct stat sb;
    FILE *fp = NULL;
    int err = 0;
    src_t *s;
    const char *what = parent ? "$INCLUDE file" : "zone file";

    if (parent && im->depth >= ZF_INCLUDE_DEPTH_MAX) {
        err = fail(im, line, DNSD_ELIMIT, "$INCLUDE nested too deeply (at most %d files open)",
                   ZF_INCLUDE_DEPTH_MAX);
        goto out;
    }
    if (parent) {
        /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below */
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        fp = fd >= 0 ? fdopen(fd, "r") : NULL;
        if (fd >= 0 && !fp) {
            close(fd);
        }
    } else {
        fp = fopen(path, "r");
    }
    if (!fp || fstat(fileno(fp), &sb) != 0) {
        err = -errno;
        if (parent) {
            fail(im, line, err, "cannot open %s \"%s\": %s", what, path, strerror(errno));
        } else {
            diag_set(im->d, path, 0, "cannot open %s: %s", what, strerror(errno));
        }
        goto out;
    }
    if (S_ISDIR(sb.st_mode)) {
        err = -EISDIR;
        if (parent) {
            fail(im, line, err, "cannot read %s \"%s\": it is a directory", what, path);
        } else {
            diag_set(im->d, path, 0, "cannot read %s: it is a directory", what);
        }
        goto out;
    }
    if (parent && !S_ISREG(sb.st_mode)) {
        /* a device or FIFO has no end (/dev/zero) or blocks; the top file
         * may be a pipe (the operator chose it), an included one may not */
        err = fail(im, line, DNSD_EMALFORMED, "cannot read %s \"%s\": not a regular file", what,
                   path);
        goto out;
    }
    if (parent) {
        int fl = fcntl(fileno(fp), F_GETFL);
        if (fl < 0 || fcntl(fileno(fp), F_SETFL, fl & ~O_NONBLOCK) != 0) {
            err = -errno;
            fail(im, line, err, "cannot read %s \"%s\": %s", what, path, strerror(errno));
            goto out;
        }
    }
    for (int i = 0; i < im->depth; i++) {
        if (im->stack[i].dev == sb.st_dev && im->stack[i].ino == sb.st_ino) {
            err = fail(im, line, DNSD_ELIMIT, "$INCLUDE loop: \"%s\" is already being read (%s)",
                       path, im->files[im->stack[i].file]);
            goto out;
        }
    }
    if ((err = file_add(im, path)) != 0) {
        fail(im, line, err, "too many $INCLUDE files");
        goto out;
    }
    s = &im->stack[im->depth++];
    memset(s, 0, sizeof(*s));
    if (parent) {
        *s = *parent;
    }
    s->fp = fp;
    s->file = (uint16_t)(im->nfiles - 1);
    s->line = 0;
    s->dev = sb.st_dev;
    s->ino = sb.st_ino;
    s->origin = origin;
    fp = NULL;
    origin = NULL;
    im->st->files++;
out:
    if (fp) {
        fclose(fp);
    }
    ldns_rdf_deep_free(origin);
    return err;
}

static void pop_file(imp_t *im)
{
    src_t *s = &im->stack[--im->depth];
    fclose(s->fp);
    ldns_rdf_deep_free(s->origin);
    s->origin = NULL;
}

/* Read the next non-empty logical record of the top file: 1, 0 at its end, or an error. */
static int read_record(imp_t *im, src_t *s)
{
    for (;;) {
        ssize_t n = line_read(s->fp, &im->line, LINE_LEN_MAX);
        if (n == DNSD_ELIMIT) {
            return fail(im, s->line + 1, DNSD_ELIMIT, "line longer than %zu bytes", LINE_LEN_MAX);
        }
        if (n < 0) {
            /* ENOMEM, EIO...: never the end of the file, or the rest would be dropped */
            return fail(im, s->line + 1, (int)n, "read error: %s", dnsd_strerror((int)n));
        }
        if (n == 0) {
            if (im->j.active) {
                im->j.active = false;
                return fail(im, im->j.start_line, DNSD_EMALFORMED,
                            "'(' not closed by the end of the file");
            }
            return 0;
        }
        s->line++;
        int r = join_line(&im->j, im->line.buf, (size_t)n, s->line, im->d);
        if (r < 0) {
            return at(im, im->d->line, r);
        }
        if (r == 1 && *skip_blanks(im->j.buf)) {
            return 1;
        }
    }
}

/*
 * "$REGION name" (dnsd's own directive, see import.h): the records that
 * follow go to that region. A region's first section replaces its records
 * in the zone, so the region is emptied here the first time it is named.
 */
static int region_directive(imp_t *im, src_t *s, const char *arg, bool too_long, const char *p,
                            int line)
{
    char extra[64];
    bool tl;
    uint16_t id;
    if (im->o->flags & ZF_NO_REGION) {
        return fail(im, line, DNSD_EMALFORMED,
                    "$REGION is not allowed here: every record of this file goes to region %s",
                    s->region_name);
    }
    if (!arg || !arg[0]) {
        return fail(im, line, DNSD_EMALFORMED, "$REGION needs a region name");
    }
    if (too_long || strlen(arg) > ZS_REGION_NAME_MAX) {
        return fail(im, line, DNSD_EMALFORMED, "$REGION: region name too long");
    }
    if (next_token(&p, extra, sizeof(extra), false, &tl)) {
        return fail(im, line, DNSD_EMALFORMED, "unexpected \"%s\" after $REGION %s", extra, arg);
    }
    int err = zs_region_id(im->w->s, im->w->txn, arg, &id);
    const char *dot = strchr(arg, '.');
    if (err == DNSD_ENOTFOUND && dot && strcmp(dot, ZS_ROLLOUT_CANARY_SUFFIX) == 0) {
        /* a canary region (zones/rollout.h), as `zone export` prints one: made
         * like a rollout makes it, below the region it is named after */
        char base[ZS_REGION_NAME_MAX + 1];
        uint16_t parent;
        snprintf(base, sizeof(base), "%.*s", (int)(dot - arg), arg);
        if (zs_region_id(im->w->s, im->w->txn, base, &parent) != 0) {
            return fail(im, line, DNSD_ENOTFOUND,
                        "$REGION %s: a canary region needs its region \"%s\" (define it with "
                        "`dnsctl region add`)", arg, base);
        }
        diag_t rd = {0};
        if ((err = zw_rollout_canary_region(im->w, parent, true, &id, &rd)) != 0) {
            return fail(im, line, err, "$REGION %s: %s", arg, rd.text);
        }
    } else if (err == DNSD_ENOTFOUND && (im->o->flags & ZF_ANY_REGION)) {
        zs_region_t r;
        memset(&r, 0, sizeof(r));
        snprintf(r.name, sizeof(r.name), "%s", arg);
        diag_t rd = {0};
        if ((err = zw_region_put(im->w, &r, &rd)) != 0) {
            return fail(im, line, err, "$REGION %s: %s", arg, rd.text);
        }
        id = r.id;
    }
    if (err == DNSD_ENOTFOUND) {
        return fail(im, line, err, "unknown region \"%s\" (define it with `dnsctl region add`)",
                    arg);
    }
    if (err) {
        return fail(im, line, err, "cannot read the regions: %s", dnsd_strerror(err));
    }
    bool seen = false;
    for (size_t i = 0; i < im->ncleared && !seen; i++) {
        seen = im->cleared[i] == id;
    }
    if (!seen) {
        if ((err = zw_zone_clear(im->w, im->z, id, false)) != 0) {
            return fail(im, line, err, "cannot clear region %s: %s", arg, dnsd_strerror(err));
        }
        im->cleared = xrealloc(im->cleared, (im->ncleared + 1) * sizeof(*im->cleared));
        im->cleared[im->ncleared++] = id;
    }
    s->region = id;
    snprintf(s->region_name, sizeof(s->region_name), "%s", arg);
    return 0;
}

static int directive(imp_t *im, src_t *s)
{
    char name[32], arg[PATH_MAX], arg2[1024], extra[64];
    bool tl, tl2;
    const char *p = im->j.buf;
    int line = im->j.start_line;
    ldns_rdf *dn = NULL;
    int err = 0;

    next_token(&p, name, sizeof(name), false, &tl);
    bool has_arg = next_token(&p, arg, sizeof(arg), true, &tl2);
    if (strcasecmp(name, "$ORIGIN") == 0 || strcasecmp(name, "$TTL") == 0) {
        if (!has_arg) {
            return fail(im, line, DNSD_EMALFORMED, "%s needs an argument", name);
        }
        if (next_token(&p, extra, sizeof(extra), false, &tl)) {
            return fail(im, line, DNSD_EMALFORMED, "unexpected \"%s\" after %s %s", extra, name,
                        arg);
        }
        if (strcasecmp(name, "$TTL") == 0) {
            uint32_t ttl;
            int e = zf_ttl_parse(arg, &ttl);
            if (e == DNSD_ELIMIT) {
                return fail(im, line, e, "TTL \"%s\" is too large (at most %u)", arg, ZF_TTL_MAX);
            }
            if (e) {
                return fail(im, line, e, "bad TTL \"%s\"", arg);
            }
            s->has_dollar_ttl = true;
            s->dollar_ttl = ttl;
            return 0;
        }
        if ((err = name_rdf(arg, s->origin, &dn, im->d)) != 0) {
            return at(im, line, err);
        }
        ldns_rdf_deep_free(s->origin);
        s->origin = dn;
        return 0;
    }
    if (strcasecmp(name, "$INCLUDE") == 0) {
        char path[PATH_MAX];
        if (!has_arg || !arg[0]) {
            return fail(im, line, DNSD_EMALFORMED, "$INCLUDE needs a file name");
        }
        if (tl2) {
            return fail(im, line, DNSD_EMALFORMED, "$INCLUDE file name too long");
        }
        if (im->o->flags & ZF_NO_INCLUDE) {
            return fail(im, line, DNSD_EMALFORMED, "$INCLUDE is not allowed here");
        }
        if (next_token(&p, arg2, sizeof(arg2), false, &tl)) {
            if ((err = name_rdf(arg2, s->origin, &dn, im->d)) != 0) {
                return at(im, line, err);
            }
            if (next_token(&p, extra, sizeof(extra), false, &tl)) {
                ldns_rdf_deep_free(dn);
                return fail(im, line, DNSD_EMALFORMED, "unexpected \"%s\" after $INCLUDE %s %s",
                            extra, arg, arg2);
            }
        } else {
            dn = ldns_rdf_clone(s->origin);
        }
        /* relative to the including file's directory */
        const char *cur = im->files[s->file];
        const char *slash = strrchr(cur, '/');
        int n;
        if (arg[0] == '/' || !slash) {
            n = snprintf(path, sizeof(path), "%s", arg);
        } else {
            n = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - cur), cur, arg);
        }
        if (n < 0 || (size_t)n >= sizeof(path)) {
            ldns_rdf_deep_free(dn);
            return fail(im, line, DNSD_EMALFORMED, "$INCLUDE path too long");
        }
        return push_file(im, path, s, dn, line);
    }
    if (strcasecmp(name, "$REGION") == 0) {
        return region_directive(im, s, has_arg ? arg : NULL, tl2, p, line);
    }
    if (strcasecmp(name, "$GENERATE") == 0) {
        return fail(im, line, DNSD_EMALFORMED, "$GENERATE is not supported");
    }
    return fail(im, line, DNSD_EMALFORMED, "unknown directive \"%s\"", name);
}

static int record(imp_t *im, src_t *s)
{
    zf_rr_t rr;
    uint8_t lower[DNAME_MAXLEN + 1];
    char nm[NAME_STR_MAX], zn[NAME_STR_MAX], ts[32];
    int line = im->j.start_line;
    uint32_t dflt = s->has_dollar_ttl ? s->dollar_ttl
                    : s->has_last_ttl ? s->last_ttl
                                      : im->o->default_ttl;
    int err = parse_record(im->j.buf, s->origin, s->prev_len ? s->prev : NULL, dflt, &rr, im->d);
    if (err) {
        return at(im, line, err);
    }
    im->st->records++;
    memcpy(s->prev, rr.owner, (size_t)rr.owner_len);
    s->prev_len = rr.owner_len;
    if (rr.ttl_set) {
        s->has_last_ttl = true;
        s->last_ttl = rr.ttl;
    }
    memcpy(lower, rr.owner, (size_t)rr.owner_len);
    dname_lower(lower);
    name_str(lower, nm);
    zf_type_str(rr.type, ts, sizeof(ts));
    if (!dname_is_sub(lower, im->z->apex)) {
        name_str(im->z->apex, zn);
        err = fail(im, line, DNSD_EOUTOFZONE, "%s is outside zone %s", nm, zn);
        goto out;
    }
    bool apex = dname_eq(lower, im->z->apex);
    if (rr.type == DNS_T_SOA && !apex) {
        err = fail(im, line, DNSD_EAPEX, "SOA record at %s, which is not the zone apex", nm);
        goto out;
    }
    if (rr.type == DNS_T_CNAME && apex) {
        err = fail(im, line, DNSD_ECNAME,
                   "CNAME at the zone apex %s (it would sit beside SOA and NS)", nm);
        goto out;
    }
    if (s->region != ZS_REGION_DEFAULT && apex && (rr.type == DNS_T_SOA || rr.type == DNS_T_NS)) {
        err = fail(im, line, DNSD_EAPEX, "%s record at the apex %s in region %s: the zone's SOA "
                   "and NS records are in the default region only (leave them out of a region's "
                   "records)", ts, nm, s->region_name);
        goto out;
    }
    node_t *nd = node_get(im, lower, (size_t)rr.owner_len);
    rrinfo_t *ri = node_find(nd, rr.type, s->region);
    if (!ri) {
        bool side = rr.type == DNS_T_RRSIG || rr.type == DNS_T_NSEC;
        /* inside one region here, with the line; across a fallback chain,
         * zw_check_zone() finds it afterwards */
        for (unsigned i = 0; i < nd->n && !side; i++) {
            rrinfo_t *o = &nd->t[i];
            bool o_side = o->type == DNS_T_RRSIG || o->type == DNS_T_NSEC;
            if (o->region == s->region && !apex &&
                ((rr.type == DNS_T_NS && o->type == DNS_T_DNAME) ||
                 (rr.type == DNS_T_DNAME && o->type == DNS_T_NS))) {
                char os[32];
                zf_type_str(o->type, os, sizeof(os));
                err = fail(im, line, DNSD_ECNAME, "%s record at %s beside its %s record (%s:%d); "
                           "a DNAME and NS share a name only at the zone apex (RFC 6672 2.3)", ts,
                           nm, os, im->files[o->file], o->line);
                goto out;
            }
            if (o->region != s->region || o_side ||
                (rr.type != DNS_T_CNAME && o->type != DNS_T_CNAME)) {
                continue;
            }
            char os[32];
            zf_type_str(o->type, os, sizeof(os));
            err = fail(im, line, DNSD_ECNAME,
                       "%s record at %s beside its %s record (%s:%d); a CNAME must stand alone",
                       ts, nm, os, im->files[o->file], o->line);
            goto out;
        }
        if (!(ri = node_add(im, nd, rr.type, s->region))) {
            err = fail(im, line, DNSD_ELIMIT, "too many types at %s", nm);
            goto out;
        }
        ri->file = s->file;
        ri->line = line;
        ri->ttl = rr.ttl;
    } else if (ri->ttl != rr.ttl) {
        warn(im, line, "TTL %u differs from the TTL %u of the %s %s RRset (%s:%d); keeping %u "
             "(one TTL per RRset, RFC 2181 5.2)", rr.ttl, ri->ttl, nm, ts, im->files[ri->file],
             ri->line, ri->ttl);
    }
    err = zw_rr_add(im->w, im->z, rr.owner, rr.type, s->region, ri->ttl, rr.rdata, rr.rdlen);
    if (err == DNSD_EEXIST) {
        im->st->duplicates++;
        err = 0;
        goto out;
    }
    if (err == DNSD_EDNSSEC &&
        (rr.type == DNS_T_DNSKEY || rr.type == DNS_T_CDS || rr.type == DNS_T_CDNSKEY)) {
        /* an export of a signed zone read back: its key records are the keys' own */
        warn(im, line, "%s %s record skipped: a signed zone's key records come from its keys "
             "(dnsctl dnssec status)", nm, ts);
        err = 0;
        goto out;
    }
    if (err == DNSD_ELIMIT) {
        err = fail(im, line, err, "the %s %s RRset is too large", nm, ts);
        goto out;
    }
    if (err) {
        err = fail(im, line, err, "cannot store the %s %s record: %s", nm, ts,
                   dnsd_strerror(err));
        goto out;
    }
    im->st->added++;
    if (++ri->count > 1 &&
        (rr.type == DNS_T_CNAME || rr.type == DNS_T_SOA || rr.type == DNS_T_DNAME)) {
        err = fail(im, line, rr.type == DNS_T_SOA ? DNSD_EAPEX : DNSD_ECNAME,
                   "second %s record at %s (the first is at %s:%d); %s", ts, nm,
                   im->files[ri->file], ri->line,
                   rr.type == DNS_T_SOA ? "a zone has exactly one" : "a name has at most one");
        goto out;
    }
out:
    zf_rr_fini(&rr);
    return err;
}

int zf_import(zw_t *w, const zw_zone_t *z, const char *file, const zf_import_opts_t *o,
              zf_import_stats_t *st, diag_t *d)
{
    imp_t im = {0};
    zf_import_stats_t dummy;
    int err;

    im.w = w;
    im.z = z;
    im.o = o;
    im.st = st ? st : &dummy;
    im.d = d;
    memset(im.st, 0, sizeof(*im.st));
    ldns_rdf *origin = ldns_dname_new_frm_data((uint16_t)z->apex_len, z->apex);
    if (!origin) {
        diag_set(d, file, 0, "out of memory");
        return -ENOMEM;
    }
    err = push_file(&im, file, NULL, origin, 0);
    if (!err) {
        /* the caller emptied the initial region (see import.h) */
        im.stack[0].region = o->region;
        im.cleared = xmalloc(sizeof(*im.cleared));
        im.cleared[im.ncleared++] = o->region;
        if (o->region == ZS_REGION_DEFAULT) {
            snprintf(im.stack[0].region_name, sizeof(im.stack[0].region_name), "default");
        } else {
            snprintf(im.stack[0].region_name, sizeof(im.stack[0].region_name), "#%u", o->region);
            zs_region_t *rs;
            size_t n;
            if (zs_regions_load(w->s, w->txn, &rs, &n) == 0) {
                for (size_t i = 0; i < n; i++) {
                    if (rs[i].id == o->region) {
                        snprintf(im.stack[0].region_name, sizeof(im.stack[0].region_name), "%s",
                                 rs[i].name);
                    }
                }
                free(rs);
            }
        }
    }
    uint64_t total = 0;
    if (!err && o->progress) {
        struct stat sb;
        if (fstat(fileno(im.stack[0].fp), &sb) == 0 && S_ISREG(sb.st_mode)) {
            total = (uint64_t)sb.st_size;
        }
    }
    while (!err && im.depth > 0) {
        src_t *s = &im.stack[im.depth - 1];
        int r = read_record(&im, s);
        if (r < 0) {
            err = r;
        } else if (r == 0) {
            pop_file(&im);
        } else if (im.j.buf[0] == '$') {
            err = directive(&im, s);
        } else {
            err = record(&im, s);
            if (!err && o->progress && im.st->records % ZF_PROGRESS_EVERY == 0) {
                off_t at = ftello(im.stack[0].fp);
                o->progress(o->progress_arg, im.st->records, at > 0 ? (uint64_t)at : 0, total);
            }
        }
    }
    while (im.depth > 0) {
        pop_file(&im);
    }
    if (!err) {
        err = check_dname_subtrees(&im);
    }
    for (unsigned i = 0; i < im.nfiles; i++) {
        free(im.files[i]);
    }
    free(im.files);
    free(im.j.buf);
    line_buf_fini(&im.line);
    free(im.slots);
    free(im.cleared);
    arena_free(&im.arena);
    return err;
}
