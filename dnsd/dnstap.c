/* SPDX-License-Identifier: MIT */
/*
 * dnstap.c -- the dnstap thread (see dnstap.h): rings in, protobuf-encoded
 * frames out to fstrm. Its own thread; allocates per message (the buffer
 * fstrm takes over), never touches the workers beyond their rings' tail
 * indices, never blocks a worker.
 *
 * DESIGN: the thread polls the rings: it drains every ring, and when all
 * were empty sleeps DNSTAP_IDLE_NS before looking again (a worker cannot
 * wake it without a syscall on the query path). Each message is packed
 * into a malloc'd buffer and submitted to fstrm's input queue
 * (fstrm_iothr_submit, which never blocks): fstrm_res_again (queue full)
 * and any other failure drop the message and count it. fstrm's I/O thread
 * writes the frames; while its socket is not connected it discards them,
 * as Knot and Unbound accept (dnstap.sent counts what was handed over).
 */
#include "dnsd/dnstap.h"

#include <errno.h>
#include <fstrm.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsd/dnstap.pb-c.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"

#define DNSTAP_IDLE_NS       1000000L /* 1 ms: the rings hold 512 messages per worker */
#define DNSTAP_CONTENT_TYPE  "protobuf:dnstap.Dnstap"
#define DNSTAP_QUEUE_SIZE    4096 /* fstrm's input queue, in frames (a power of two) */
#define DNSTAP_REOPEN_S      2    /* reconnect (or reopen) this often while closed */

struct dnstap {
    int nworkers;
    dnstap_tap_t *taps;
    counters_t st; /* written by the dnstap thread only */
    struct fstrm_iothr *iothr;
    struct fstrm_iothr_queue *ioq;
    pthread_t th;
    bool running;
    _Atomic bool stop;
    char identity[256];
    char version[256];
};

/* Encode one slot and hand it to fstrm. */
static void send_slot(dnstap_t *dt, const dnstap_slot_t *s)
{
    Dnstap__Message m = DNSTAP__MESSAGE__INIT;
    Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
    size_t alen = s->family == AF_INET ? 4 : 16;
    m.type = s->type == DNSTAP_AUTH_QUERY ? DNSTAP__MESSAGE__TYPE__AUTH_QUERY
                                          : DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE;
    m.has_socket_family = true;
    m.socket_family = s->family == AF_INET ? DNSTAP__SOCKET_FAMILY__INET
                                           : DNSTAP__SOCKET_FAMILY__INET6;
    m.has_socket_protocol = true;
    m.socket_protocol = s->is_tcp ? DNSTAP__SOCKET_PROTOCOL__TCP : DNSTAP__SOCKET_PROTOCOL__UDP;
    m.has_query_address = true;
    m.query_address.data = (uint8_t *)s->client;
    m.query_address.len = alen;
    m.has_query_port = true;
    m.query_port = s->client_port;
    if (s->have_server) {
        m.has_response_address = true;
        m.response_address.data = (uint8_t *)s->server;
        m.response_address.len = alen;
        m.has_response_port = true;
        m.response_port = s->server_port;
    }
    m.has_query_time_sec = m.has_query_time_nsec = true;
    m.query_time_sec = (uint64_t)s->qtime.tv_sec;
    m.query_time_nsec = (uint32_t)s->qtime.tv_nsec;
    if (s->type == DNSTAP_AUTH_QUERY) {
        m.has_query_message = true;
        m.query_message.data = (uint8_t *)s->msg;
        m.query_message.len = s->len;
    } else {
        m.has_response_time_sec = m.has_response_time_nsec = true;
        m.response_time_sec = (uint64_t)s->rtime.tv_sec;
        m.response_time_nsec = (uint32_t)s->rtime.tv_nsec;
        m.has_response_message = true;
        m.response_message.data = (uint8_t *)s->msg;
        m.response_message.len = s->len;
    }
    d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
    d.message = &m;
    if (dt->identity[0]) {
        d.has_identity = true;
        d.identity.data = (uint8_t *)dt->identity;
        d.identity.len = strlen(dt->identity);
    }
    if (dt->version[0]) {
        d.has_version = true;
        d.version.data = (uint8_t *)dt->version;
        d.version.len = strlen(dt->version);
    }
    size_t len = dnstap__dnstap__get_packed_size(&d);
    uint8_t *buf = xmalloc(len);
    dnstap__dnstap__pack(&d, buf);
    if (fstrm_iothr_submit(dt->iothr, dt->ioq, buf, len, fstrm_free_wrapper, NULL) !=
        fstrm_res_success) {
        free(buf); /* still ours on any failure (fstrm/iothr.h) */
        STAT_INC(CTR(&dt->st, DNSTAP_DROPPED));
        return;
    }
    STAT_INC(CTR(&dt->st, DNSTAP_SENT));
}

/* Drain every ring once. @return how many messages were taken. */
static unsigned drain(dnstap_t *dt)
{
    unsigned n = 0;
    for (int i = 0; i < dt->nworkers; i++) {
        /* at most one ring's worth per visit, so one busy worker cannot starve the rest */
        for (unsigned k = 0; k < DNSTAP_RING_SLOTS; k++) {
            const dnstap_slot_t *s = dnstap_tap_peek(&dt->taps[i]);
            if (!s) {
                break;
            }
            send_slot(dt, s);
            dnstap_tap_pop(&dt->taps[i]);
            n++;
        }
    }
    return n;
}

static void *dnstap_main(void *arg)
{
    dnstap_t *dt = arg;
    const struct timespec idle = {0, DNSTAP_IDLE_NS};
    while (!atomic_load_explicit(&dt->stop, memory_order_acquire)) {
        if (drain(dt) == 0) {
            nanosleep(&idle, NULL);
        }
    }
    /* the workers have ended: what is left in the rings is the last of it */
    while (drain(dt) > 0) {
    }
    return NULL;
}

/* The fstrm writer for the socket or file of @p c. NULL with @p d set on failure. */
static struct fstrm_writer *make_writer(const config_t *c, diag_t *d)
{
    struct fstrm_writer_options *wopt = fstrm_writer_options_init();
    struct fstrm_writer *w = NULL;
    fstrm_writer_options_add_content_type(wopt, DNSTAP_CONTENT_TYPE,
                                          strlen(DNSTAP_CONTENT_TYPE));
    if (c->dnstap_socket[0]) {
        const char *path = config_in_chroot(c, c->dnstap_socket);
        struct fstrm_unix_writer_options *uopt = fstrm_unix_writer_options_init();
        fstrm_unix_writer_options_set_socket_path(uopt, path);
        w = fstrm_unix_writer_init(uopt, wopt);
        fstrm_unix_writer_options_destroy(&uopt);
        if (!w) {
            diag_set(d, "", 0, "dnstap-socket %s: cannot make the fstrm writer", path);
        }
    } else {
        const char *path = config_in_chroot(c, c->dnstap_file);
        struct fstrm_file_options *fopt = fstrm_file_options_init();
        fstrm_file_options_set_file_path(fopt, path);
        w = fstrm_file_writer_init(fopt, wopt);
        fstrm_file_options_destroy(&fopt);
        if (!w) {
            diag_set(d, "", 0, "dnstap-file %s: cannot make the fstrm writer", path);
        }
    }
    fstrm_writer_options_destroy(&wopt);
    return w;
}

dnstap_t *dnstap_start(const config_t *c, int nworkers, diag_t *d, bool *err)
{
    *err = false;
    if (!c->dnstap_socket[0] && !c->dnstap_file[0]) {
        return NULL;
    }
    dnstap_t *dt = xcalloc(1, sizeof(*dt));
    dt->nworkers = nworkers;
    dt->taps = xcalloc((size_t)nworkers, sizeof(*dt->taps));
    for (int i = 0; i < nworkers; i++) {
        dnstap_tap_init(&dt->taps[i], c->dnstap_sample, c->dnstap_log_queries,
                        c->dnstap_log_responses);
    }
    if (c->dnstap_identity[0]) {
        snprintf(dt->identity, sizeof(dt->identity), "%s", c->dnstap_identity);
    } else if (gethostname(dt->identity, sizeof(dt->identity) - 1) != 0) {
        dt->identity[0] = 0;
    }
    snprintf(dt->version, sizeof(dt->version), "%s",
             c->dnstap_version[0] ? c->dnstap_version : "dnsd " PACKAGE_VERSION);
    if (c->dnstap_file[0]) {
        /* the file writer opens its file in fstrm's thread, where a failure
         * is silent: try it here first, to say so at start-up */
        const char *path = config_in_chroot(c, c->dnstap_file);
        FILE *f = fopen(path, "ab");
        if (!f) {
            diag_set(d, "", 0, "dnstap-file %s: %s", path, strerror(errno));
            goto out;
        }
        fclose(f);
    }
    struct fstrm_writer *w = make_writer(c, d);
    if (!w) {
        goto out;
    }
    struct fstrm_iothr_options *iopt = fstrm_iothr_options_init();
    fstrm_iothr_options_set_num_input_queues(iopt, 1);
    fstrm_iothr_options_set_queue_model(iopt, FSTRM_IOTHR_QUEUE_MODEL_SPSC);
    fstrm_iothr_options_set_input_queue_size(iopt, DNSTAP_QUEUE_SIZE);
    fstrm_iothr_options_set_reopen_interval(iopt, DNSTAP_REOPEN_S);
    dt->iothr = fstrm_iothr_init(iopt, &w);
    fstrm_iothr_options_destroy(&iopt);
    if (!dt->iothr) {
        fstrm_writer_destroy(&w);
        diag_set(d, "", 0, "dnstap: cannot start fstrm's I/O thread");
        goto out;
    }
    dt->ioq = fstrm_iothr_get_input_queue(dt->iothr);
    int rc = pthread_create(&dt->th, NULL, dnstap_main, dt);
    if (rc != 0) {
        diag_set(d, "", 0, "dnstap: cannot start its thread: %s", strerror(rc));
        goto out;
    }
    dt->running = true;
    return dt;
out:
    *err = true;
    dnstap_free(dt);
    return NULL;
}

dnstap_tap_t *dnstap_tap(dnstap_t *dt, int idx)
{
    return &dt->taps[idx];
}

const counters_t *dnstap_counters(const dnstap_t *dt)
{
    return &dt->st;
}

void dnstap_stop(dnstap_t *dt)
{
    if (!dt) {
        return;
    }
    if (dt->running) {
        atomic_store_explicit(&dt->stop, true, memory_order_release);
        pthread_join(dt->th, NULL);
        dt->running = false;
    }
    if (dt->iothr) {
        fstrm_iothr_destroy(&dt->iothr); /* flushes the queue, closes the writer */
    }
}

void dnstap_free(dnstap_t *dt)
{
    if (!dt) {
        return;
    }
    dnstap_stop(dt);
    for (int i = 0; i < dt->nworkers; i++) {
        dnstap_tap_fini(&dt->taps[i]);
    }
    free(dt->taps);
    free(dt);
}
