/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_rrargs.c -- `dnsctl record add|del` arguments into wire form (see
 * dnsctl_rrargs.h). Called by tools/dnsctl_record.c and the fuzz target
 * tests/fuzz/fuzz_record.c; prints nothing, opens nothing.
 */
#include "tools/dnsctl_rrargs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"

char *ctl_join(int argc, char **argv, int from)
{
    size_t n = 1;
    for (int i = from; i < argc; i++) {
        n += strlen(argv[i]) + 1;
    }
    char *s = xmalloc(n), *p = s;
    *p = 0;
    for (int i = from; i < argc; i++) {
        size_t l = strlen(argv[i]);
        if (i > from) {
            *p++ = ' ';
        }
        memcpy(p, argv[i], l);
        p += l;
        *p = 0;
    }
    return s;
}

int ctl_rr_parse_add(const char *text, const uint8_t *apex, zf_rr_t *rr, diag_t *d)
{
    return zf_parse_rr(text, apex, CTL_DEFAULT_TTL, rr, d);
}

static bool is_in_class(const char *t)
{
    return strcasecmp(t, "IN") == 0 || strcasecmp(t, "CLASS1") == 0;
}

/* next blank-separated token (backslash escapes kept) into a fresh string, or NULL */
static char *take_token(const char **pp)
{
    const char *p = *pp, *b;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (!*p) {
        *pp = p;
        return NULL;
    }
    b = p;
    while (*p && *p != ' ' && *p != '\t') {
        p += (*p == '\\' && p[1]) ? 2 : 1;
    }
    char *t = xmalloc((size_t)(p - b) + 1);
    memcpy(t, b, (size_t)(p - b));
    t[p - b] = 0;
    *pp = p;
    return t;
}

int ctl_rr_del_split(const char *text, ctl_rr_del_t *out, diag_t *d)
{
    char *tt = NULL;
    memset(out, 0, sizeof(*out));
    if (zf_join_record(text, &out->rec, d) != 0) {
        out->bad = CTL_RR_BAD_SYNTAX;
        return DNSD_EMALFORMED;
    }
    const char *p = out->rec;
    out->name = take_token(&p);
    if (!out->name) {
        return DNSD_EMALFORMED;
    }
    /* up to two tokens that are a TTL or the class IN, in either order */
    for (int i = 0; i < 2; i++) {
        const char *save = p;
        free(tt);
        tt = take_token(&p);
        if (!tt || !(isdigit((unsigned char)tt[0]) || is_in_class(tt))) {
            p = save;
            break;
        }
    }
    free(tt);
    out->type = take_token(&p);
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    out->rdata_text = p;
    return 0;
}

int ctl_rr_del_parse(ctl_rr_del_t *r, const uint8_t *apex, diag_t *d)
{
    r->bad = 0;
    if (zf_name_parse(r->name, apex, r->owner, d) < 0) {
        r->bad = CTL_RR_BAD_NAME;
        return DNSD_EMALFORMED;
    }
    if (r->type && zf_type_parse(r->type, &r->qtype, d) != 0) {
        r->bad = CTL_RR_BAD_TYPE;
        return DNSD_EMALFORMED;
    }
    if (r->type && *r->rdata_text) {
        /* (there is text left only after a TYPE: take_token() ate it all otherwise) */
        size_t n = strlen(r->name) + strlen(r->type) + strlen(r->rdata_text) + 3;
        r->full = xmalloc(n);
        snprintf(r->full, n, "%s %s %s", r->name, r->type, r->rdata_text);
        if (zf_parse_rr(r->full, apex, 0, &r->rr, d) != 0) {
            r->bad = CTL_RR_BAD_RECORD;
            return DNSD_EMALFORMED;
        }
    }
    return 0;
}

void ctl_rr_del_fini(ctl_rr_del_t *r)
{
    free(r->rec);
    free(r->name);
    free(r->type);
    free(r->full);
    zf_rr_fini(&r->rr);
    r->rec = r->name = r->type = r->full = NULL;
}
