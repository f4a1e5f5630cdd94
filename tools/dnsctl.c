/* SPDX-License-Identifier: MIT */
/*
 * dnsctl.c -- the operator's CLI: global options, dispatch to the command
 * groups (dnsctl_zone.c, dnsctl_record.c, dnsctl_region.c: regions and geo
 * lookup), and what they share: opening the
 * store, name arguments, messages, JSON strings, aligned tables.
 *
 * Options may come anywhere on the line ("dnsctl zone list --json"); "--"
 * ends them, so an argument starting with "-" can still be passed. Exit
 * status: 0 done, 1 the command failed (store unchanged), 2 bad usage.
 */
#include "tools/dnsctl.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zones/base/err.h"
#include "zones/base/parse.h"
#include "zones/base/xalloc.h"
#include "zones/import.h"
#include "zones/names.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dnsctl [--store DIR] [--store-map-size MIB] [--json] COMMAND ARGS...\n"
            "\n"
            "zones:\n"
            "  zone create ZONE --ns NAME [--ns NAME]... [--email ADDR] [--ttl TTL]\n"
            "  zone delete ZONE\n"
            "  zone list [--json]\n"
            "  zone set ZONE --ecs on|off   use EDNS Client Subnet for this zone (default on)\n"
            "  zone set ZONE [--allow-transfer 'ADDR[/LEN][ key NAME]'|'key NAME'|none]...\n"
            "                [--notify 'ADDR[:PORT][ key NAME]'|none]...\n"
            "                               who may AXFR/IXFR the zone; secondaries to NOTIFY\n"
            "  zone show ZONE [--json]      serial, transfer ACL and NOTIFY targets\n"
            "  zone set ZONE [--journal-max-changes N|default] [--journal-max-bytes N|default]\n"
            "                               how much of its change journal the zone keeps\n"
            "  zone set ZONE --primary ADDR[:PORT][,ADDR...] [--tsig KEY] | --no-primary\n"
            "                               make the default view a secondary copy (or stop)\n"
            "  zone add ZONE --primary ADDR[:PORT][,ADDR...] [--tsig KEY]\n"
            "                               a new secondary zone, empty until its first transfer\n"
            "  zone show ZONE [--json]      settings and transfer state (primary, serial, timers)\n"
            "  zone defaults [--journal-max-changes N] [--journal-max-bytes N]\n"
            "                               show or set the store-wide journal limits\n"
            "  zone journal ZONE [--from SERIAL] [--json]\n"
            "                               the changes kept (IXFR order), each serial to the next\n"
            "  zone policy ZONE add [key KEY] [address CIDR] (name NAME|subdomain NAME|pattern GLOB)\n"
            "                  [types T,T...|any] [region R]\n"
            "                               who may change what by RFC 2136 UPDATE\n"
            "  zone policy ZONE list [--json] | zone policy ZONE del ID\n"
            "  zone import [--region R] ZONE FILE\n"
            "                               create, or replace the zone's (or region R's) records\n"
            "  zone export ZONE [--region R]\n"
            "                               print it as a zone file ($REGION sections)\n"
            "records (every edit bumps the SOA serial):\n"
            "  record add ZONE 'NAME [TTL] [IN] TYPE RDATA' [--region R]\n"
            "  record del ZONE NAME [TYPE [RDATA...]] [--region R]\n"
            "  record list ZONE [NAME] [--region R] [--json]\n"
            "regions (where clients are; R falls back along its chain to default):\n"
            "  region add NAME [--continent EU,AF] [--country DE,FR] [--subdivision US-CA]\n"
            "             [--cidr 192.0.2.0/24,2001:db8::/32] [--fallback PARENT]\n"
            "             [--coords LAT,LON]\n"
            "  region set NAME [same options; each replaces its list] [--no-coords]\n"
            "  region del NAME              also deletes the region's records\n"
            "  region list [--json]\n"
            "  region show NAME [--json]\n"
            "  geo lookup ADDRESS [--db FILE] [--paths FIELD=PATH,...] [--json]\n"
            "                               which region an address gets, and why\n"
            "  geo map [--db FILE] [--out FILE.svg] [--region R,...] [--paths FIELD=PATH,...]\n"
            "                               an SVG world map: each country in its region's colour\n"
            "certificates (issued by dnsd's ACME worker over DNS-01 from this store):\n"
            "  cert request NAME... [--id ID] [--key ec256|ec384|rsa2048|rsa3072|rsa4096]\n"
            "               [--ca DIRECTORY_URL] [--reuse-key] [--force] [--wait SECONDS]\n"
            "               [--challenge dns-01|http-01]   http-01: no zone here needed\n"
            "               [--challenge-via NAME [--resolver ADDR[:PORT]] [--ns-port P]]\n"
            "                               names served elsewhere: DNS-01 through their\n"
            "                               _acme-challenge CNAME into NAME (checked first)\n"
            "  cert renew ID [--wait SECONDS]   a new certificate now\n"
            "  cert revoke ID [--reason CODE] [--wait SECONDS]\n"
            "  cert delete ID                   forget it (its challenge records too)\n"
            "  cert list [--json]\n"
            "  cert show ID [--json]            names, issuer, serial, dates, state, errors\n"
            "  acme account [--json]            the ACME accounts dnsd registered\n"
            "regional certificate shards (one certificate per domain and region):\n"
            "  shard add DOMAIN --region R --names N1,N2 [--lb ADDR[:PORT],...] [--key TYPE]\n"
            "            [--ca URL] [--hook COMMAND] [--ttl S] [--alpn h2,http/1.1] [--wait SECONDS]\n"
            "            [--challenge dns-01|http-01]\n"
            "            [--canary-lb ADDR[:PORT],... [--canary-hook COMMAND]] [--rollout adaptive|off]\n"
            "                               a canary pool: each new certificate is rolled out\n"
            "                               to a measured share of the region's clients first\n"
            "  shard set DOMAIN --region R [same options; each replaces its value]\n"
            "  shard del DOMAIN --region R\n"
            "  shard list [--json], shard show DOMAIN --region R [--json]\n"
            "  shard status [--domain D] [--json]   expiry, state, health, next renewal\n"
            "  shard renew R [--domain D] [--wait SECONDS]   renew region R's shards now\n"
            "  acme rollover [--ca URL] [--key TYPE] [--wait SECONDS]   a new account key\n"
            "  acme deactivate [--ca URL] [--wait SECONDS]   retire the account (a new one follows)\n"
            "certificate rollouts of shards with a canary pool (DOMAIN --region R):\n"
            "  rollout status DOMAIN --region R [--json]    state, share, the latest figures\n"
            "  rollout history DOMAIN --region R [--json]   every decision with its evidence\n"
            "  rollout policy DOMAIN --region R [KEY=VALUE...]   show or set: steps=5,10,25,50,100\n"
            "                  window=300 min-samples=200 fail-margin=0.5 time-margin=50\n"
            "                  alpha=0.001 max-duration=1d ttl=30 urgent=7d slow=hold|rollback\n"
            "  rollout pause|resume|abort|promote DOMAIN --region R   steer the running rollout\n"
            "  rollout simulate [--scenario S,...] [--schedule S,...] [--seed N] [--clients N]\n"
            "                   [--hours H] [--rate N] [--operator-delay DUR] [--csv|--json]\n"
            "                   [--trace FILE] [KEY=VALUE...]   the adaptive certificate rollout\n"
            "                               against fixed schedules on a simulated population\n"
            "TSIG keys (transfers, NOTIFY, UPDATE; the secret is printed once, at creation):\n"
            "  tsig add NAME [--algorithm hmac-sha256|hmac-sha384|hmac-sha512|hmac-sha224|hmac-sha1]\n"
            "           [--secret BASE64]   a new key (secret generated unless given)\n"
            "  tsig list [--json]           names, algorithms, users (no secrets)\n"
            "  tsig show NAME [--json]      one key without its secret, and what uses it\n"
            "  tsig show NAME --format bind|knot|nsd   the key clause for the other server\n"
            "  tsig del NAME                refused while something uses the key\n"
            "DNSSEC (every RRset of every region signed when written; keys in the store):\n"
            "  dnssec enable ZONE [--algorithm 13|15] [--csk|--ksk-zsk]\n"
            "                               generate keys, publish DNSKEY/CDS/CDNSKEY, sign all\n"
            "  dnssec disable ZONE          strip all signatures and keys (remove the DS first)\n"
            "  dnssec status ZONE [--json]  keys (id, tag, algorithm, role, state, timeline),\n"
            "                               policy, signature counts and next expiry\n"
            "  dnssec ds ZONE               the DS records to give the parent (registrar)\n"
            "  dnssec resign ZONE           sign every RRset again now (one transaction)\n"
            "  dnssec rollover ZONE [--ksk|--zsk]   start a key rollover now (default: the\n"
            "                               ZSK of split keys, else the CSK)\n"
            "  dnssec ds-seen ZONE TAG      the parent serves the DS of key TAG (KSK/CSK rollover)\n"
            "  dnssec policy ZONE [KEY=VALUE ...] [--json]   show or set lifetimes, propagation\n"
            "                               delays, signature validity (durations: 300, 5m, 90d)\n"
            "cluster (dnsd nodes sharing state through etcd; edits on a node's store go\n"
            "through the cluster by themselves):\n"
            "  cluster keygen FILE [--id ID]   a new cluster key file (AES-256, mode 0600)\n"
            "  cluster status [--json]      this node, the cluster id, snapshot, every node's\n"
            "                               applied position\n"
            "  cluster snapshot [--keep N] [--compact]   snapshot at this store's position,\n"
            "                               trim the log to N entries behind it (default 1000),\n"
            "                               compact etcd's history\n"
            "the running dnsd (its control socket; README \"Control socket\"):\n"
            "  status [--json]              version, uptime, workers, listen addresses, zones,\n"
            "                               regions, geo database and age, certificates\n"
            "  stats [--json]               every counter, live (summed over the workers)\n"
            "  reload                       re-read the config file, as SIGHUP; says how it went\n"
            "  log-level error|warning|info|debug   until the next reload or restart\n"
            "operations:\n"
            "  store backup DIR             a hot, compacted copy of the store into a new or\n"
            "                               empty DIR while dnsd runs (restore: dnsctl(1))\n"
            "  check ZONEFILE [--origin NAME]   check a zone file as `zone import` would,\n"
            "                               without the store (origin: the file name less .zone)\n"
            "\n"
            "options:\n"
            "  --store DIR   the store (default: $DNSD_STORE, else %s/lib/dnsd)\n"
            "  --store-map-size MIB   grow the store's map to MIB (default: the store's\n"
            "                size, 1024 for a new store; a running dnsd adopts it)\n"
            "  --json        JSON output for list, show and lookup commands\n"
            "  --quiet, -q   no progress line (zone import, store backup); none is shown\n"
            "                either when standard error is not a terminal\n"
            "  --region R    the region a record or zone command works on (else: default)\n"
            "  --socket PATH dnsd's control socket (default: $DNSD_CONTROL_SOCKET, else\n"
            "                control-socket of --config FILE, else /run/dnsd/dnsd.sock)\n"
            "  --db FILE     the MaxMind DB for geo lookup and map (default: $DNSD_GEO_DB)\n"
            "  --help        this text\n"
            "  --version     print the version\n"
            "\n"
            "Names in records are relative to ZONE unless they end with a dot; \"@\" is\n"
            "ZONE. Exit status: 0 done, 1 failed (the store is unchanged), 2 bad usage.\n"
            "See dnsctl(1).\n",
            LOCALSTATEDIR);
}

/*
 * Conflicts: on a cluster node dnsctl writes optimistically (zc_set_optimistic):
 * when another node's edit reaches the cluster's log first, zw_commit() fails
 * with DNSD_ECONFLICT, nothing changed, and main() runs the whole command
 * again. Messages the failed attempt would print are held back (the three
 * functions below), so the operator sees only the attempt that counts.
 */
static unsigned long conflict_base;

static bool conflicted(void)
{
    return zc_conflicts() != conflict_base;
}

int ctl_err(const char *fmt, ...)
{
    if (conflicted()) {
        return CTL_FAIL;
    }
    va_list ap;
    fputs("dnsctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CTL_FAIL;
}

int ctl_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("dnsctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'dnsctl --help'.\n", stderr);
    return CTL_USAGE;
}

int ctl_diag(const char *prefix, const diag_t *d)
{
    if (conflicted()) {
        return CTL_FAIL;
    }
    fputs("dnsctl: ", stderr);
    if (prefix && *prefix) {
        fprintf(stderr, "%s: ", prefix);
    }
    diag_print(d, stderr);
    return CTL_FAIL;
}

static const struct {
    uint64_t bit;
    const char *name;
} opt_names[] = {
    {CTL_OPT_NS, "--ns"},
    {CTL_OPT_EMAIL, "--email"},
    {CTL_OPT_TTL, "--ttl"},
    {CTL_OPT_JSON, "--json"},
    {CTL_OPT_REGION, "--region"},
    {CTL_OPT_CONTINENT, "--continent"},
    {CTL_OPT_COUNTRY, "--country"},
    {CTL_OPT_SUBDIVISION, "--subdivision"},
    {CTL_OPT_CIDR, "--cidr"},
    {CTL_OPT_FALLBACK, "--fallback"},
    {CTL_OPT_COORDS, "--coords"},
    {CTL_OPT_NO_COORDS, "--no-coords"},
    {CTL_OPT_DB, "--db"},
    {CTL_OPT_ECS, "--ecs"},
    {CTL_OPT_PATHS, "--paths"},
    {CTL_OPT_KEY, "--key"},
    {CTL_OPT_ID, "--id"},
    {CTL_OPT_CA, "--ca"},
    {CTL_OPT_WAIT, "--wait"},
    {CTL_OPT_REUSE_KEY, "--reuse-key"},
    {CTL_OPT_REASON, "--reason"},
    {CTL_OPT_FORCE, "--force"},
    {CTL_OPT_NAMES, "--names"},
    {CTL_OPT_LB, "--lb"},
    {CTL_OPT_HOOK, "--hook"},
    {CTL_OPT_DOMAIN, "--domain"},
    {CTL_OPT_ALPN, "--alpn"},
    {CTL_OPT_FROM, "--from"},
    {CTL_OPT_JMAX_CHANGES, "--journal-max-changes"},
    {CTL_OPT_JMAX_BYTES, "--journal-max-bytes"},
    {CTL_OPT_ALGORITHM, "--algorithm"},
    {CTL_OPT_SECRET, "--secret"},
    {CTL_OPT_FORMAT, "--format"},
    {CTL_OPT_ORIGIN, "--origin"},
    {CTL_OPT_PRIMARY, "--primary"},
    {CTL_OPT_TSIG, "--tsig"},
    {CTL_OPT_KEEP, "--keep"},
    {CTL_OPT_COMPACT, "--compact"},
    {CTL_OPT_NO_PRIMARY, "--no-primary"},
    {CTL_OPT_CSK, "--csk"},
    {CTL_OPT_KSK_ZSK, "--ksk-zsk"},
    {CTL_OPT_KSK, "--ksk"},
    {CTL_OPT_ZSK, "--zsk"},
    {CTL_OPT_CHALLENGE, "--challenge"},
    {CTL_OPT_CHALLENGE_VIA, "--challenge-via"},
    {CTL_OPT_RESOLVER, "--resolver"},
    {CTL_OPT_NS_PORT, "--ns-port"},
    {CTL_OPT_OUT, "--out"},
    {CTL_OPT_SOCKET, "--socket"},
    {CTL_OPT_CONFIG, "--config"},
    {CTL_OPT_CANARY_LB, "--canary-lb"},
    {CTL_OPT_CANARY_HOOK, "--canary-hook"},
    {CTL_OPT_ROLLOUT, "--rollout"},
};

int ctl_check_args(const ctl_t *c, const char *cmd, uint64_t allowed, int min, int max)
{
    for (size_t i = 0; i < sizeof(opt_names) / sizeof(opt_names[0]); i++) {
        if ((c->opt_seen & opt_names[i].bit) && !(allowed & opt_names[i].bit)) {
            return ctl_usage("%s does not take %s", cmd, opt_names[i].name);
        }
    }
    if (c->argc < min) {
        return ctl_usage("%s: missing argument", cmd);
    }
    if (max >= 0 && c->argc > max) {
        return ctl_usage("%s: unexpected argument \"%s\"", cmd, c->argv[max]);
    }
    return CTL_OK;
}

int ctl_open(const ctl_t *c, bool write, bool create, zs_store_t **out)
{
    diag_t d = {0};
    /* read-only commands open a read-only environment: they work for a user
     * who may read the store but not write it */
    unsigned flags = (create ? ZS_OPEN_CREATE : 0) | (write ? 0 : ZS_OPEN_RDONLY);
    if (zs_open(c->store, flags, c->map_size, out, &d) != 0) {
        return ctl_diag(NULL, &d);
    }
    if (write) {
        /* a node of a cluster (dnsd recorded its cluster-etcd settings in the store):
         * every write goes through the cluster; zs_close() detaches it */
        zc_cfg_t cc;
        bool found = false;
        zc_t *zc = NULL;
        if (zc_cfg_load(*out, &cc, &found, &d) != 0 ||
            (found && zc_open(*out, &cc, &zc, &d) != 0)) {
            zs_close(*out);
            *out = NULL;
            return ctl_diag(NULL, &d);
        }
        if (zc) {
            zc_set_optimistic(zc, true); /* dnsctl can redo a whole command: see main() */
        }
    }
    return CTL_OK;
}

int ctl_read_begin(const ctl_t *c, zs_store_t **s, MDB_txn **txn)
{
    *txn = NULL;
    if (ctl_open(c, false, false, s) != CTL_OK) {
        return CTL_FAIL;
    }
    int err = mdb_txn_begin((*s)->env, NULL, MDB_RDONLY, txn);
    if (err) {
        *txn = NULL;
        return ctl_err("cannot begin a read transaction: %s", mdb_strerror(err));
    }
    return CTL_OK;
}

int ctl_write_begin(const ctl_t *c, bool create, zs_store_t **s, zw_t *w)
{
    memset(w, 0, sizeof(*w)); /* zw_abort() at the caller's out: is fine from here on */
    if (ctl_open(c, true, create, s) != CTL_OK) {
        return CTL_FAIL;
    }
    int err = zw_begin(*s, w);
    if (err) {
        w->txn = NULL;
        if (err == DNSD_ECLUSTER && (*s)->repl_diag.text[0]) {
            return ctl_diag(NULL, &(*s)->repl_diag);
        }
        return ctl_err("cannot begin a transaction: %s", dnsd_strerror(err));
    }
    return CTL_OK;
}

int ctl_commit(zw_t *w, const char *prefix)
{
    diag_t d = {0};
    zs_store_t *s = w->s;
    int err = zw_commit(w, &d);
    if (err == 0) {
        return CTL_OK;
    }
    if (err == DNSD_ECLUSTER && s && s->repl_diag.text[0]) {
        return ctl_diag(NULL, &s->repl_diag);
    }
    return d.text[0] ? ctl_diag(prefix, &d) : ctl_err("cannot commit: %s", dnsd_strerror(err));
}

const char *ctl_name_str(const uint8_t *wire, char *buf)
{
    dname_to_str(wire, buf, CTL_NAME_STR_MAX);
    return buf;
}

int ctl_zone_name(const char *arg, uint8_t *apex)
{
    diag_t d = {0};
    int n = zf_name_parse(arg, NULL, apex, &d);
    if (n < 0) {
        return ctl_err("zone %s: %s", arg, d.text);
    }
    if (n == 1) {
        return ctl_err("the root zone cannot be hosted here");
    }
    dname_lower(apex);
    return CTL_OK;
}

int ctl_zone_get(zs_store_t *s, MDB_txn *txn, const char *arg, zw_zone_t *z)
{
    uint8_t apex[DNAME_MAXLEN + 1];
    char name[CTL_NAME_STR_MAX];
    if (ctl_zone_name(arg, apex) != CTL_OK) {
        return CTL_FAIL;
    }
    int err = zw_zone_get(s, txn, apex, z);
    if (err == DNSD_ENOZONE) {
        return ctl_err("no such zone: %s", ctl_name_str(apex, name));
    }
    if (err) {
        return ctl_err("zone %s: %s", ctl_name_str(apex, name), dnsd_strerror(err));
    }
    return CTL_OK;
}

/* ---- JSON ---- */

/* length of the valid UTF-8 sequence at @p p (1-4), or 0 if it is not one */
static int utf8_len(const unsigned char *p)
{
    int n;
    unsigned min;
    if (p[0] < 0x80) {
        return 1;
    } else if ((p[0] & 0xE0) == 0xC0) {
        n = 2;
        min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3;
        min = 0x800;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    unsigned cp = p[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0; /* overlong, out of range, or a surrogate */
    }
    return n;
}

void json_str(FILE *f, const char *s)
{
    /* jansson takes only valid UTF-8: each bad byte becomes U+FFFD first */
    size_t len = strlen(s), o = 0;
    char *clean = xmalloc(3 * len + 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_len(p);
        if (n == 0) {
            memcpy(clean + o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
            continue;
        }
        memcpy(clean + o, p, (size_t)n);
        o += (size_t)n;
        p += n;
    }
    clean[o] = 0;
    json_t *js = json_stringn(clean, o);
    char *text = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    fputs(text ? text : "null", f);
    free(text);
    json_decref(js);
    free(clean);
}

/* ---- tables ---- */

void ctl_table_init(ctl_table_t *t, int ncols)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
}

void ctl_table_add(ctl_table_t *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = xrealloc(t->cells, t->cap * (size_t)t->ncols * sizeof(*t->cells));
    }
    for (int i = 0; i < t->ncols; i++) {
        t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = xstrdup(cells[i] ? cells[i] : "");
    }
    t->nrows++;
}

void ctl_table_print(const ctl_table_t *t, FILE *f)
{
    size_t w[CTL_TABLE_COLS] = {0};
    for (size_t r = 0; r < t->nrows; r++) {
        for (int i = 0; i < t->ncols; i++) {
            size_t l = strlen(t->cells[r * (size_t)t->ncols + (size_t)i]);
            if (l > w[i]) {
                w[i] = l;
            }
        }
    }
    for (size_t r = 0; r < t->nrows; r++) {
        for (int i = 0; i < t->ncols; i++) {
            const char *s = t->cells[r * (size_t)t->ncols + (size_t)i];
            bool last = i == t->ncols - 1;
            if (t->right[i]) {
                fprintf(f, "%*s", (int)w[i], s);
            } else if (last) {
                fputs(s, f);
            } else {
                fprintf(f, "%-*s", (int)w[i], s);
            }
            fputs(last ? "\n" : "  ", f);
        }
    }
}

void ctl_table_fini(ctl_table_t *t)
{
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++) {
        free(t->cells[i]);
    }
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* ---- main ---- */

/* the value of option @p name: "--name=value" or "--name value" */
static int opt_value(int argc, char **argv, int *i, const char *arg, const char **val)
{
    const char *eq = strchr(arg, '=');
    if (eq) {
        *val = eq + 1;
        return CTL_OK;
    }
    if (*i + 1 >= argc) {
        return ctl_usage("option %s needs a value", arg);
    }
    *val = argv[++*i];
    return CTL_OK;
}

static bool opt_is(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == 0 || arg[n] == '=');
}

/* options that take one value, given at most once: where the value goes */
static const struct {
    const char *name;
    uint64_t bit;
    size_t off;
    bool list;
} val_opts[] = {
    {"--region", CTL_OPT_REGION, offsetof(ctl_t, region), false},
    {"--continent", CTL_OPT_CONTINENT, offsetof(ctl_t, continent), true},
    {"--country", CTL_OPT_COUNTRY, offsetof(ctl_t, country), true},
    {"--subdivision", CTL_OPT_SUBDIVISION, offsetof(ctl_t, subdivision), true},
    {"--cidr", CTL_OPT_CIDR, offsetof(ctl_t, cidr), true},
    {"--fallback", CTL_OPT_FALLBACK, offsetof(ctl_t, fallback), false},
    {"--coords", CTL_OPT_COORDS, offsetof(ctl_t, coords), false},
    {"--db", CTL_OPT_DB, offsetof(ctl_t, db), false},
    {"--ecs", CTL_OPT_ECS, offsetof(ctl_t, ecs), false},
    {"--paths", CTL_OPT_PATHS, offsetof(ctl_t, paths), false},
    {"--key", CTL_OPT_KEY, offsetof(ctl_t, key), false},
    {"--id", CTL_OPT_ID, offsetof(ctl_t, id), false},
    {"--ca", CTL_OPT_CA, offsetof(ctl_t, ca), false},
    {"--wait", CTL_OPT_WAIT, offsetof(ctl_t, wait), false},
    {"--reason", CTL_OPT_REASON, offsetof(ctl_t, reason), false},
    {"--names", CTL_OPT_NAMES, offsetof(ctl_t, names), true},
    {"--lb", CTL_OPT_LB, offsetof(ctl_t, lb), true},
    {"--hook", CTL_OPT_HOOK, offsetof(ctl_t, hook), false},
    {"--domain", CTL_OPT_DOMAIN, offsetof(ctl_t, domain), false},
    {"--alpn", CTL_OPT_ALPN, offsetof(ctl_t, alpn), false},
    {"--from", CTL_OPT_FROM, offsetof(ctl_t, from), false},
    {"--journal-max-changes", CTL_OPT_JMAX_CHANGES, offsetof(ctl_t, jmax_changes), false},
    {"--journal-max-bytes", CTL_OPT_JMAX_BYTES, offsetof(ctl_t, jmax_bytes), false},
    {"--algorithm", CTL_OPT_ALGORITHM, offsetof(ctl_t, algorithm), false},
    {"--secret", CTL_OPT_SECRET, offsetof(ctl_t, secret), false},
    {"--format", CTL_OPT_FORMAT, offsetof(ctl_t, format), false},
    {"--origin", CTL_OPT_ORIGIN, offsetof(ctl_t, origin), false},
    {"--primary", CTL_OPT_PRIMARY, offsetof(ctl_t, primary), true},
    {"--tsig", CTL_OPT_TSIG, offsetof(ctl_t, tsig), false},
    {"--keep", CTL_OPT_KEEP, offsetof(ctl_t, keep), false},
    {"--challenge", CTL_OPT_CHALLENGE, offsetof(ctl_t, challenge), false},
    {"--challenge-via", CTL_OPT_CHALLENGE_VIA, offsetof(ctl_t, challenge_via), false},
    {"--resolver", CTL_OPT_RESOLVER, offsetof(ctl_t, resolver), false},
    {"--ns-port", CTL_OPT_NS_PORT, offsetof(ctl_t, ns_port), false},
    {"--out", CTL_OPT_OUT, offsetof(ctl_t, out), false},
    {"--socket", CTL_OPT_SOCKET, offsetof(ctl_t, socket), false},
    {"--config", CTL_OPT_CONFIG, offsetof(ctl_t, config), false},
    {"--canary-lb", CTL_OPT_CANARY_LB, offsetof(ctl_t, canary_lb), true},
    {"--canary-hook", CTL_OPT_CANARY_HOOK, offsetof(ctl_t, canary_hook), false},
    {"--rollout", CTL_OPT_ROLLOUT, offsetof(ctl_t, rollout), false},
};

int main(int argc, char **argv)
{
    ctl_t c = {0};
    char **pos = xcalloc((size_t)argc + 1, sizeof(*pos));
    int npos = 0, rc = CTL_OK;
    bool help = false, version = false;
    const char *val;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            while (++i < argc) {
                pos[npos++] = argv[i];
            }
            break;
        }
        if (a[0] != '-' || a[1] == 0) {
            pos[npos++] = argv[i];
            if (npos == 2 && ctl_rollout_own_options(pos[0], pos[1])) {
                /* `rollout simulate` parses its own options */
                while (++i < argc) {
                    pos[npos++] = argv[i];
                }
                break;
            }
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help = true;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            version = true;
        } else if (strcmp(a, "--compact") == 0) {
            c.compact = true;
            c.opt_seen |= CTL_OPT_COMPACT;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            c.quiet = true; /* any command: only long ones print progress */
        } else if (strcmp(a, "--json") == 0) {
            c.json = true;
            c.opt_seen |= CTL_OPT_JSON;
        } else if (opt_is(a, "--store")) {
            if ((rc = opt_value(argc, argv, &i, a, &val)) != CTL_OK) {
                goto out;
            }
            c.store = val;
        } else if (opt_is(a, "--store-map-size")) {
            if ((rc = opt_value(argc, argv, &i, a, &val)) != CTL_OK) {
                goto out;
            }
            long long mib;
            if (parse_num(val, 1, 1LL << 20, &mib) != 0) {
                rc = ctl_usage("--store-map-size: \"%s\" is not a size in MiB (1..1048576)", val);
                goto out;
            }
            c.map_size = (size_t)mib << 20;
        } else if (opt_is(a, "--ns")) {
            if ((rc = opt_value(argc, argv, &i, a, &val)) != CTL_OK) {
                goto out;
            }
            if (c.nns == CTL_NS_MAX) {
                rc = ctl_usage("at most %d --ns options", CTL_NS_MAX);
                goto out;
            }
            c.ns[c.nns++] = val;
            c.opt_seen |= CTL_OPT_NS;
        } else if (opt_is(a, "--email")) {
            if ((rc = opt_value(argc, argv, &i, a, &val)) != CTL_OK) {
                goto out;
            }
            c.email = val;
            c.opt_seen |= CTL_OPT_EMAIL;
        } else if (opt_is(a, "--ttl")) {
            if ((rc = opt_value(argc, argv, &i, a, &val)) != CTL_OK) {
                goto out;
            }
            c.ttl = val;
            c.opt_seen |= CTL_OPT_TTL;
        } else if (opt_is(a, "--allow-transfer") || opt_is(a, "--notify")) {
            bool axfr = opt_is(a, "--allow-transfer");
            if ((rc = opt_value(argc, argv, &i, a, &val)) != CTL_OK) {
                goto out;
            }
            int *n = axfr ? &c.nallow_xfr : &c.nnotify;
            if (*n == XACL_MAX) {
                rc = ctl_usage("at most %d %s options", XACL_MAX,
                               axfr ? "--allow-transfer" : "--notify");
                goto out;
            }
            (axfr ? c.allow_xfr : c.notify)[(*n)++] = val;
        } else if (strcmp(a, "--no-coords") == 0) {
            c.opt_seen |= CTL_OPT_NO_COORDS;
        } else if (strcmp(a, "--reuse-key") == 0) {
            c.opt_seen |= CTL_OPT_REUSE_KEY;
        } else if (strcmp(a, "--force") == 0) {
            c.opt_seen |= CTL_OPT_FORCE;
        } else if (strcmp(a, "--no-primary") == 0) {
            c.opt_seen |= CTL_OPT_NO_PRIMARY;
        } else if (strcmp(a, "--csk") == 0) {
            c.opt_seen |= CTL_OPT_CSK;
        } else if (strcmp(a, "--ksk-zsk") == 0) {
            c.opt_seen |= CTL_OPT_KSK_ZSK;
        } else if (strcmp(a, "--ksk") == 0) {
            c.opt_seen |= CTL_OPT_KSK;
        } else if (strcmp(a, "--zsk") == 0) {
            c.opt_seen |= CTL_OPT_ZSK;
        } else {
            size_t k, nv = sizeof(val_opts) / sizeof(val_opts[0]);
            for (k = 0; k < nv && !opt_is(a, val_opts[k].name); k++) {
            }
            if (k == nv) {
                rc = ctl_usage("unknown option %s", a);
                goto out;
            }
            if ((rc = opt_value(argc, argv, &i, a, &val)) != CTL_OK) {
                goto out;
            }
            if (c.opt_seen & val_opts[k].bit) {
                rc = ctl_usage("%s given twice%s", val_opts[k].name,
                               val_opts[k].list ? " (give one comma-separated list)" : "");
                goto out;
            }
            *(const char **)((char *)&c + val_opts[k].off) = val;
            c.opt_seen |= val_opts[k].bit;
        }
    }
    if (help) {
        usage(stdout);
        goto out;
    }
    if (version) {
        printf("dnsctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        goto out;
    }
    if (!c.store) {
        c.store = getenv("DNSD_STORE");
    }
    static char dflt[4096];
    if (!c.store || !*c.store) {
        snprintf(dflt, sizeof(dflt), "%s/lib/dnsd", LOCALSTATEDIR);
        c.store = dflt;
    }
    if (npos == 0) {
        usage(stderr);
        rc = CTL_USAGE;
        goto out;
    }
    if (ctl_control_cmd(pos[0])) {
        /* no verb, no store: a question to the running dnsd (dnsctl_control.c) */
        c.argc = npos - 1;
        c.argv = pos + 1;
        rc = ctl_control(&c, pos[0]);
        goto out;
    }
    if (strcmp(pos[0], "check") == 0) {
        /* no verb: `check ZONEFILE`; it never opens the store */
        c.argc = npos - 1;
        c.argv = pos + 1;
        rc = ctl_check(&c);
        goto out;
    }
    if (npos < 2) {
        rc = ctl_usage("%s: missing subcommand", pos[0]);
        goto out;
    }
    c.argc = npos - 2;
    c.argv = pos + 2;
    if ((c.nallow_xfr || c.nnotify) &&
        (strcmp(pos[0], "zone") != 0 || strcmp(pos[1], "set") != 0)) {
        rc = ctl_usage("%s %s does not take --allow-transfer or --notify (zone set does)", pos[0],
                       pos[1]);
        goto out;
    }
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    /* bounded: each retry means another node's edit went in first, so
     * the cluster made progress; the jittered pause spreads the racers */
    for (int attempt = 1;; attempt++) {
        conflict_base = zc_conflicts();
        if (strcmp(pos[0], "zone") == 0) {
            rc = ctl_zone(&c, pos[1]);
        } else if (strcmp(pos[0], "record") == 0) {
            rc = ctl_record(&c, pos[1]);
        } else if (strcmp(pos[0], "region") == 0) {
            rc = ctl_region(&c, pos[1]);
        } else if (strcmp(pos[0], "geo") == 0) {
            rc = ctl_geo(&c, pos[1]);
        } else if (strcmp(pos[0], "cert") == 0) {
            rc = ctl_cert(&c, pos[1]);
        } else if (strcmp(pos[0], "acme") == 0) {
            rc = ctl_acme(&c, pos[1]);
        } else if (strcmp(pos[0], "shard") == 0) {
            rc = ctl_shard(&c, pos[1]);
        } else if (strcmp(pos[0], "rollout") == 0) {
            rc = ctl_rollout(&c, pos[1]);
        } else if (strcmp(pos[0], "tsig") == 0) {
            rc = ctl_tsig(&c, pos[1]);
        } else if (strcmp(pos[0], "cluster") == 0) {
            rc = ctl_cluster(&c, pos[1]);
        } else if (strcmp(pos[0], "store") == 0) {
            rc = ctl_store(&c, pos[1]);
        } else if (strcmp(pos[0], "dnssec") == 0 && ctl_dnssec_roll_verb(pos[1])) {
            rc = ctl_dnssec_roll(&c, pos[1]);
        } else if (strcmp(pos[0], "dnssec") == 0) {
            rc = ctl_dnssec(&c, pos[1]);
        } else {
            rc = ctl_usage("unknown command \"%s\"", pos[0]);
        }
        if (rc == CTL_OK || !conflicted() || attempt == 100) {
            if (rc != CTL_OK && conflicted()) {
                conflict_base = zc_conflicts();
                rc = ctl_err("the cluster's log kept moving: 100 attempts met other edits; "
                             "nothing changed");
            }
            break;
        }
        struct timespec pause = {0, (long)(1 + rand() % (2 * (attempt < 20 ? attempt : 20))) *
                                        1000000L};
        nanosleep(&pause, NULL);
    }
out:
    free(pos);
    if (fflush(stdout) != 0 && rc == CTL_OK) {
        rc = ctl_err("write error on standard output");
    }
    return rc;
}
