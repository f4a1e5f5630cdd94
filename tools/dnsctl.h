/* SPDX-License-Identifier: MIT */
/*
 * dnsctl.h -- shared by dnsctl's command groups (dnsctl_<group>.c): the
 * parsed command line, exit codes, store opening, argument helpers, JSON
 * and table output. dnsctl is the operator's CLI: each command is one LMDB
 * transaction (write commands: one write txn, aborted on any error, so a
 * failed command leaves the store as it was).
 */
#ifndef DNSD_DNSCTL_H
#define DNSD_DNSCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "zones/base/diag.h"
#include "zones/cluster.h"
#include "zones/regions.h"
#include "zones/store.h"
#include "zones/writer.h"
#include "zones/xfracl.h"
#include "acme/dns01.h"

/* exit status */
#define CTL_OK    0
#define CTL_FAIL  1 /* the command failed; the store is unchanged */
#define CTL_USAGE 2 /* bad command line */

#define CTL_NS_MAX 16

/* options a command may take; opt_seen records which were given */
#define CTL_OPT_NS    0x01u
#define CTL_OPT_EMAIL 0x02u
#define CTL_OPT_TTL   0x04u
#define CTL_OPT_JSON  0x08u
#define CTL_OPT_REGION      0x010u /* --region R: record add/del/list, zone import/export */
#define CTL_OPT_CONTINENT   0x020u /* region add/set */
#define CTL_OPT_COUNTRY     0x040u
#define CTL_OPT_SUBDIVISION 0x080u
#define CTL_OPT_CIDR        0x100u
#define CTL_OPT_FALLBACK    0x200u
#define CTL_OPT_COORDS      0x400u
#define CTL_OPT_NO_COORDS   0x800u
#define CTL_OPT_DB          0x1000u /* geo lookup */
#define CTL_OPT_ECS         0x2000u /* zone set */
#define CTL_OPT_PATHS       0x4000u /* geo lookup */
#define CTL_OPT_KEY         0x8000u    /* cert request: --key TYPE */
#define CTL_OPT_ID          0x10000u   /* cert request: --id ID */
#define CTL_OPT_CA          0x20000u   /* cert request: --ca DIRECTORY_URL */
#define CTL_OPT_WAIT        0x40000u   /* cert request/renew/revoke: --wait SECONDS */
#define CTL_OPT_REUSE_KEY   0x80000u   /* cert request: --reuse-key */
#define CTL_OPT_REASON      0x100000u  /* cert revoke: --reason CODE */
#define CTL_OPT_FORCE       0x200000u  /* cert request: --force */
#define CTL_OPT_NAMES       0x400000u  /* shard add/set: --names a,b */
#define CTL_OPT_LB          0x800000u  /* shard add/set: --lb ADDR,... */
#define CTL_OPT_HOOK        0x1000000u /* shard add/set: --hook COMMAND */
#define CTL_OPT_DOMAIN      0x2000000u /* shard renew/status: --domain D */
#define CTL_OPT_ALPN        0x4000000u /* shard add/set: --alpn h2,http/1.1 (HTTPS records) */
#define CTL_OPT_FROM        0x8000000u  /* zone journal: --from SERIAL */
#define CTL_OPT_JMAX_CHANGES 0x10000000u /* zone set/defaults: --journal-max-changes N */
#define CTL_OPT_JMAX_BYTES  0x20000000u /* zone set/defaults: --journal-max-bytes N */
#define CTL_OPT_ALGORITHM   0x40000000u /* tsig add: --algorithm A */
#define CTL_OPT_SECRET      0x80000000u /* tsig add: --secret B64 */
#define CTL_OPT_FORMAT      0x100000000ull /* tsig show: --format bind|knot|nsd */
#define CTL_OPT_PRIMARY     (1ull << 33) /* zone set/add: --primary ADDR[:PORT],... */
#define CTL_OPT_TSIG        (1ull << 34) /* zone set/add: --tsig KEY (with --primary) */
#define CTL_OPT_NO_PRIMARY  (1ull << 35) /* zone set: --no-primary */
#define CTL_OPT_KEEP        (1ull << 36) /* cluster snapshot: --keep N */
#define CTL_OPT_COMPACT     (1ull << 37) /* cluster snapshot: --compact */
#define CTL_OPT_ORIGIN      (1ull << 56) /* check: --origin NAME (issue #16) */
#define CTL_OPT_SOCKET      (1ull << 58) /* status|stats|reload|log-level: --socket PATH */
#define CTL_OPT_CONFIG      (1ull << 59) /* ... --config FILE: its control-socket */
#define CTL_OPT_CSK         (1ull << 38) /* dnssec enable: --csk (one combined key) */
#define CTL_OPT_KSK_ZSK     (1ull << 39) /* dnssec enable: --ksk-zsk (split keys) */
#define CTL_OPT_KSK         (1ull << 46) /* dnssec rollover: --ksk */
#define CTL_OPT_ZSK         (1ull << 47) /* dnssec rollover: --zsk */
#define CTL_OPT_CHALLENGE   (1ull << 48) /* cert request, shard add/set: --challenge dns-01|http-01 */
#define CTL_OPT_CHALLENGE_VIA (1ull << 52) /* cert request: --challenge-via NAME (delegate.h) */
#define CTL_OPT_RESOLVER    (1ull << 53) /* cert request --challenge-via: --resolver ADDR[:PORT] */
#define CTL_OPT_NS_PORT     (1ull << 54) /* cert request: --ns-port P (with --challenge-via) */
#define CTL_OPT_OUT         (1ull << 61) /* geo map: --out FILE (issue #16) */
#define CTL_OPT_REGION_DEF  (CTL_OPT_CONTINENT | CTL_OPT_COUNTRY | CTL_OPT_SUBDIVISION | \
                             CTL_OPT_CIDR | CTL_OPT_FALLBACK | CTL_OPT_COORDS | CTL_OPT_NO_COORDS)

typedef struct ctl {
    const char *store;   /* --store, $DNSD_STORE, or the built-in default */
    size_t map_size;     /* --store-map-size in bytes; 0: the store's own size */
    bool json;           /* --json */
    uint64_t opt_seen;   /* CTL_OPT_* given on the command line (64 bits: more options) */
    const char *ns[CTL_NS_MAX];
    int nns;             /* --ns, in order */
    const char *email;   /* --email */
    const char *ttl;     /* --ttl */
    const char *region;  /* --region */
    /* region add/set: comma-separated lists as given ("" empties a list) */
    const char *continent, *country, *subdivision, *cidr;
    const char *fallback; /* --fallback */
    const char *coords;   /* --coords LAT,LON */
    const char *db;       /* --db (geo lookup) */
    const char *ecs;     /* --ecs on|off: zone set */
    const char *paths;   /* --paths FIELD=PATH,...: geo lookup (dnsd's geo-paths) */
    const char *key;     /* --key: certificate key type */
    const char *id;      /* --id: certificate id */
    const char *ca;      /* --ca: ACME directory URL */
    const char *wait;    /* --wait: seconds to wait for dnsd's ACME worker */
    const char *reason;  /* --reason: revocation reason code */
    const char *names;   /* --names: shard names, comma-separated */
    const char *lb;      /* --lb: load balancer addresses, comma-separated */
    const char *hook;    /* --hook: the shard's deploy command */
    const char *domain;  /* --domain: shard renew/status filter */
    const char *alpn;    /* --alpn: the shard's HTTPS record ALPN ids */
    const char *from;    /* --from SERIAL: zone journal */
    const char *jmax_changes; /* --journal-max-changes N|default */
    const char *jmax_bytes;   /* --journal-max-bytes N|default */
    const char *allow_xfr[XACL_MAX]; /* --allow-transfer SPEC, in order (zone set) */
    int nallow_xfr;
    const char *notify[XACL_MAX];    /* --notify TARGET, in order (zone set) */
    int nnotify;
    const char *algorithm; /* --algorithm: tsig add */
    const char *secret;    /* --secret: tsig add (base64) */
    const char *format;    /* --format: tsig show */
    bool quiet;            /* --quiet: no progress line (long commands) */
    const char *origin;    /* --origin NAME: check */
    const char *primary;      /* --primary ADDR[:PORT],...: zone set/add (secondary zone) */
    const char *tsig;         /* --tsig KEY: the primary's TSIG key name */
    const char *keep;         /* --keep N: cluster snapshot */
    bool compact;             /* --compact: cluster snapshot */
    const char *challenge;    /* --challenge dns-01|http-01: cert request, shard add/set */
    const char *challenge_via; /* --challenge-via NAME: cert request (CNAME delegation) */
    const char *resolver;      /* --resolver ADDR[:PORT]: cert request --challenge-via */
    const char *ns_port;       /* --ns-port P: cert request --challenge-via */
    const char *out;           /* --out FILE: geo map (issue #16) */
    const char *socket;        /* --socket PATH: dnsd's control socket (dnsctl_control.c) */
    const char *config;        /* --config FILE: dnsd's config, read for control-socket */
    int argc;            /* positional arguments after "GROUP VERB" */
    char **argv;
} ctl_t;

/* command groups: return CTL_OK, CTL_FAIL or CTL_USAGE */
int ctl_zone(ctl_t *c, const char *verb);
int ctl_record(ctl_t *c, const char *verb);
int ctl_region(ctl_t *c, const char *verb);
int ctl_geo(ctl_t *c, const char *verb);
struct geo_paths_buf;
struct geo_paths;
/**
 * --paths of `geo lookup` and `geo map` (dnsctl_geo.c): parsed into @p pb
 * with *@p paths pointing at it, or *@p paths NULL when not given (the DB's
 * default fields). @return CTL_OK, or CTL_FAIL with the error printed.
 */
int ctl_geo_paths(const ctl_t *c, struct geo_paths_buf *pb, const struct geo_paths **paths);
/* dnsctl_geomap.c: `geo map` (issue #16) */
int ctl_geo_map(ctl_t *c);
/* the country shapes of `geo map`: tools/data/countries-110m.json, compiled in
 * (tools/dnsctl_map_shapes.c, generated by the build) */
extern const char ctl_map_shapes[];
extern const size_t ctl_map_shapes_len;
int ctl_cert(ctl_t *c, const char *verb);
int ctl_acme(ctl_t *c, const char *verb);
int ctl_shard(ctl_t *c, const char *verb);
/* dnsctl_xfrout.c: zone set's --allow-transfer/--notify, and their part of `zone show` */
/** Apply --allow-transfer/--notify to zone @p z in @p w. CTL_OK, or printed. */
int ctl_xfrout_set(ctl_t *c, zw_t *w, const zw_zone_t *z);
/** Print zone @p z's transfer ACL and NOTIFY targets (JSON: two members, no braces). */
int ctl_xfrout_print(ctl_t *c, zs_store_t *s, MDB_txn *txn, const zw_zone_t *z);
int ctl_tsig(ctl_t *c, const char *verb);
int ctl_cluster(ctl_t *c, const char *verb);
/* dnsctl_dnssec.c: `dnssec enable|disable|status|ds ZONE` */
int ctl_dnssec(ctl_t *c, const char *verb);
/* dnsctl_secondary.c: `zone add`, `zone show` and zone set's --primary/--tsig/--no-primary */
int ctl_zone_add(ctl_t *c);
int ctl_zone_show(ctl_t *c);
/** Apply --primary/--tsig/--no-primary to zone @p z in @p w. CTL_OK or printed. */
int ctl_secondary_set(ctl_t *c, zw_t *w, zw_zone_t *z);
/** After the commit: say what zone @p name's secondary settings are now. */
void ctl_secondary_print(ctl_t *c, const char *name);
/* dnsctl_journal.c: `zone journal`, `zone defaults` and zone set's journal limits */
int ctl_zone_journal(ctl_t *c);
int ctl_zone_defaults(ctl_t *c);
/* dnsctl_policy.c: `zone policy ZONE add|list|del` (RFC 2136 UPDATE policies) */
int ctl_zone_policy(ctl_t *c);
/* dnsctl_dnssec_roll.c: `dnssec rollover|ds-seen|policy` (the rest of `dnssec`: dnsctl_dnssec.c) */
bool ctl_dnssec_roll_verb(const char *verb);
int ctl_dnssec_roll(ctl_t *c, const char *verb);
/* dnsctl_store.c: `store backup DIR` */
int ctl_store(ctl_t *c, const char *verb);
/* dnsctl_check.c: `check ZONEFILE [--origin NAME]` (arguments in c->argv, no verb) */
int ctl_check(ctl_t *c);
/* dnsctl_control.c: `status`, `stats`, `reload`, `log-level LEVEL` over dnsd's control
 * socket (no verb: the arguments after the command in c->argv) */
bool ctl_control_cmd(const char *cmd);
int ctl_control(ctl_t *c, const char *cmd);
/* dnsctl_rollout.c: `rollout ...` (issue #15): certificate rollouts of shards */
int ctl_rollout(ctl_t *c, const char *verb);
/** True when `CMD VERB` parses the arguments after VERB itself (main passes them unparsed). */
bool ctl_rollout_own_options(const char *cmd, const char *verb);
/* dnsctl_rollout_sim.c: `rollout simulate [OPTIONS] [KEY=VALUE...]` (options in c->argv) */
int ctl_rollout_simulate(ctl_t *c);
/** Apply --journal-max-* to zone @p zone_id (0: the store's defaults) in @p w. CTL_OK or printed. */
int ctl_journal_limits_set(ctl_t *c, zw_t *w, uint32_t zone_id);


/** "dnsctl: <message>" on stderr; returns CTL_FAIL. */
__attribute__((format(printf, 1, 2))) int ctl_err(const char *fmt, ...);
/** "dnsctl: <message>" and a hint to --help on stderr; returns CTL_USAGE. */
__attribute__((format(printf, 1, 2))) int ctl_usage(const char *fmt, ...);
/** Print a diag as "dnsctl: [prefix: ]file:line: text"; returns CTL_FAIL. */
int ctl_diag(const char *prefix, const diag_t *d);

/**
 * Refuse options @p c has but the command does not take (@p allowed is a
 * CTL_OPT_* mask) and a positional count outside [@p min, @p max] (max -1:
 * any). @return CTL_OK or CTL_USAGE (message printed).
 */
int ctl_check_args(const ctl_t *c, const char *cmd, uint64_t allowed, int min, int max);

/**
 * Open the store: @p write for commands that edit it, @p create to make it
 * if missing (zone create/import). @return CTL_OK or CTL_FAIL (printed).
 */
int ctl_open(const ctl_t *c, bool write, bool create, zs_store_t **out);

/**
 * Open the store read-only and begin a read txn: the start of every list,
 * show and export command. On CTL_FAIL (printed) *@p s may be set (close it)
 * and *@p txn is NULL.
 */
int ctl_read_begin(const ctl_t *c, zs_store_t **s, MDB_txn **txn);

/**
 * Open the store for writing (creating it if @p create) and begin the
 * command's one write txn. On CTL_FAIL (printed) *@p s may be set (close
 * it) and @p w holds no txn (zw_abort is a no-op).
 */
int ctl_write_begin(const ctl_t *c, bool create, zs_store_t **s, zw_t *w);
/**
 * zw_commit() (which checks each touched zone, bumps its serial, journals
 * the change). CTL_OK, or CTL_FAIL with the refusal printed after
 * @p prefix (the check's diag) or "cannot commit: ...".
 */
int ctl_commit(zw_t *w, const char *prefix);

/** Parse a zone name argument (absolute; final dot optional). CTL_OK or CTL_FAIL (printed). */
int ctl_zone_name(const char *arg, uint8_t *apex);

/** Look the zone up in @p txn; CTL_OK, or CTL_FAIL with "no such zone" printed. */
int ctl_zone_get(zs_store_t *s, MDB_txn *txn, const char *arg, zw_zone_t *z);

/* ---- regions (dnsctl_region.c) ---- */

/** The store's regions, loaded once per command (zs_regions_load). */
typedef struct ctl_regions {
    zs_region_t *rs; /* id order */
    size_t n;
} ctl_regions_t;

/** Load them in @p txn: CTL_OK, or CTL_FAIL with the store error printed. */
int ctl_regions_load(zs_store_t *s, MDB_txn *txn, ctl_regions_t *out);
void ctl_regions_fini(ctl_regions_t *r);

/** A region by name ("default" is id 0 and not in the array: NULL with *id 0). */
const zs_region_t *ctl_regions_find(const ctl_regions_t *r, const char *name, uint16_t *id);

/** The region's name for output: "default", its name, or "#ID" for an id no region has. */
const char *ctl_regions_name(const ctl_regions_t *r, uint16_t id, char *buf, size_t cap);

/**
 * Resolve the argument of --region (NULL: the default region) in @p txn.
 * CTL_OK, or CTL_FAIL with "no such region: NAME" or the store error printed.
 */
int ctl_region_get(zs_store_t *s, MDB_txn *txn, const char *name, uint16_t *id);

/** "example.com." for a wire name, into @p buf (4*255+2 bytes). */
const char *ctl_name_str(const uint8_t *wire, char *buf);
#define CTL_NAME_STR_MAX (4 * 255 + 2)

/* ctl_join(): tools/dnsctl_rrargs.h */

/* ---- JSON output ---- */

/** Print @p s as a JSON string, quotes included, escaped by jansson (UTF-8 kept, bad bytes
 * as U+FFFD). */
void json_str(FILE *f, const char *s);

/* ---- tables: rows of strings, printed with aligned columns ---- */

#define CTL_TABLE_COLS 8

typedef struct ctl_table {
    int ncols;
    size_t nrows, cap;
    char **cells; /* nrows x ncols, owned */
    bool right[CTL_TABLE_COLS]; /* right-align (numbers) */
} ctl_table_t;

void ctl_table_init(ctl_table_t *t, int ncols);
/** Add a row of ncols strings (copied). */
void ctl_table_add(ctl_table_t *t, const char *const *cells);
/** Print: columns two spaces apart, the last one not padded. */
void ctl_table_print(const ctl_table_t *t, FILE *f);
void ctl_table_fini(ctl_table_t *t);

/* ---- progress of long commands (dnsctl_progress.c) ---- */

/*
 * A progress line on standard error, "\r"-rewritten at most four times a
 * second, only when standard error is a terminal and --quiet is not given
 * (else every call is a no-op and nothing is printed).
 */
typedef struct ctl_progress {
    bool on;       /* printing */
    bool bytes;    /* a count of bytes (backup), else of records (import) */
    bool shown;    /* a line is on the screen */
    char what[64]; /* "import", "backup" */
    unsigned long records;
    uint64_t done, total; /* bytes (total 0: unknown) */
    long long start_ns, last_ns;
    int width;     /* length of the line shown */
    const char *unit; /* what the records are ("RRsets"); NULL: "records" */
} ctl_progress_t;

/** Start: decides whether to print (a terminal, no --quiet); prints nothing yet. */
void ctl_progress_begin(ctl_progress_t *p, const ctl_t *c, const char *what, bool bytes);
/** Name what is counted ("RRsets": static storage) instead of "records"; after begin. */
void ctl_progress_unit(ctl_progress_t *p, const char *unit);
/** Records read, and bytes of @p total (0: unknown) for the percentage and ETA. */
void ctl_progress_records(ctl_progress_t *p, unsigned long records, uint64_t done,
                          uint64_t total);
/** Bytes done of at most @p total. */
void ctl_progress_bytes(ctl_progress_t *p, uint64_t done, uint64_t total);
/** Finish: @p ok prints the final line (count, rate, time) and a newline; else the
 *  line is blanked for the error that follows. */
void ctl_progress_end(ctl_progress_t *p, bool ok);

/* ---- certificates (dnsctl_cert.c), shared with dnsctl_shard.c ---- */
#include <jansson.h>
/** "2026-11-23T12:00:00Z", or "-" for 0. */
void ctl_cert_time(long long t, char *buf, size_t cap);
/** --wait: -1 when absent, -2 when malformed, else seconds. */
long ctl_cert_wait_arg(const ctl_t *c);
/** The status as shown (requested, pending, ordering, valid, renewing, failed, revoked). */
const char *ctl_cert_status(json_t *rec);
/** Wait for dnsd to issue (or revoke) request @p seq of certificate @p id; prints the outcome. */
int ctl_cert_wait(const ctl_t *c, const char *id, long long seq, bool revoke, long secs,
                  long long failures_before);
/** The record without private keys, for show/list. */
json_t *ctl_cert_view(const char *id, json_t *rec);
/**
 * The last deployment (files, hooks) of view @p view as one line ("ok at T,
 * serial S; deploy hook: exit 0" or "FAILED ... exit 3") into @p buf.
 * @return false when the certificate was never deployed.
 */
bool ctl_cert_deploy_line(json_t *view, char *buf, size_t cap);
/** The same line for one deployment record @p d (a cluster node's "sites" entry). */
bool ctl_cert_site_line(json_t *d, char *buf, size_t cap);
/**
 * Cluster: one line per node that deployed the certificate of view @p view
 * ("<label><node>: ok at T, serial S; ..."), and one per load balancer it
 * probed. Nothing when the view has no "sites" (standalone).
 */
void ctl_cert_sites_print(json_t *view, const char *label);
/**
 * A listing over the "certs" sub-database: @p cb for every value under
 * @p prefix (certificates: with member "sites" as ctl_cert_load gives),
 * then @p all as JSON (--json) or table @p t. CTL_OK or CTL_FAIL.
 */
int ctl_cert_listing(const ctl_t *c, const char *prefix, int (*cb)(const char *, json_t *, void *),
                     void *arg, const ctl_table_t *t, json_t *all);
/**
 * Read certificate record @p id read-only (@p what, "cert" or "shard",
 * names it in errors), with its cluster nodes' deployment records as
 * member "sites". CTL_OK with *@p rec, or CTL_FAIL printed.
 */
int ctl_cert_load(const ctl_t *c, const char *what, const char *id, json_t **rec);
/**
 * Begin the command's write txn and read record @p id in it. CTL_OK with
 * *@p s, @p w and *@p rec; else CTL_FAIL printed and nothing left open.
 */
int ctl_cert_edit(const ctl_t *c, const char *what, const char *id, zs_store_t **s, zw_t *w,
                  json_t **rec);
/**
 * Remove the challenge records of the record's order in flight (TXT
 * records, HTTP-01 key authorizations), in @p w; the zones changed are
 * added to @p touched for the caller to finish.
 */
int ctl_cert_drop_challenges(zw_t *w, json_t *rec, diag_t *d);
/** --challenge @p arg: dns-01 or http-01 (*@p http). @return CTL_OK or CTL_USAGE (said why). */
int ctl_cert_challenge_arg(const char *arg, bool *http);
/** Names joined with commas (malloc'd). */
char *ctl_cert_names(json_t *names);

#endif
