/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ctl.c -- libFuzzer target for the control socket's request parser
 * (dnsd/ctl_proto.c: ctl_req_parse), which dnsd's main thread applies to
 * the bytes any local user allowed on the socket sends (dnsd/ctl.c). The
 * input is one request line without its newline, in a buffer of exactly
 * its size (so ASan sees any read past it). Checks what must hold for any
 * input:
 *  - the result is 0 or DNSD_EMALFORMED, and the error text is NUL-ended
 *    printable ASCII (it goes back to the client inside a JSON string);
 *  - an accepted request is shorter than CTL_REQ_MAX, holds only printable
 *    ASCII and spaces (a final '\r' aside), and its first word is the name
 *    of the command parsed; log-level carries a level 0..3 and a second
 *    word, the others no second word;
 *  - a second parse of the same bytes gives the same answer.
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus.
 */
#include <stdlib.h>
#include <string.h>

#include "dnsd/ctl_proto.h"
#include "tests/fuzz/fuzz_util.h"
#include "zones/base/err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void check_text(const char *err, size_t cap)
{
    size_t n = strnlen(err, cap);
    if (n == cap) {
        fz_fail("error text not NUL-ended");
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] > 0x7e) {
            fz_fail("error text holds byte 0x%02x at %zu", (unsigned char)err[i], i);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        abort();
    }
    memcpy(buf, data, size);
    ctl_req_t r, r2;
    char err[128], err2[128];
    memset(err, 0x7f, sizeof(err));
    int rc = ctl_req_parse(buf, size, &r, err, sizeof(err));
    int rc2 = ctl_req_parse(buf, size, &r2, err2, sizeof(err2));
    if (rc != rc2 || (rc == 0 && memcmp(&r, &r2, sizeof(r)) != 0)) {
        fz_fail("two parses of the same bytes differ");
    }
    if (rc != 0) {
        if (rc != DNSD_EMALFORMED) {
            fz_fail("result %d is neither 0 nor DNSD_EMALFORMED", rc);
        }
        check_text(err, sizeof(err));
        free(buf);
        return 0;
    }
    size_t len = size;
    if (len > 0 && buf[len - 1] == '\r') {
        len--;
    }
    if (size >= CTL_REQ_MAX) {
        fz_fail("accepted a request of %zu bytes", size);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch != ' ' && (ch < 0x21 || ch > 0x7e)) {
            fz_fail("accepted byte 0x%02x at %zu", ch, i);
        }
    }
    /* the words, read naively */
    char line[CTL_REQ_MAX];
    memcpy(line, buf, len);
    line[len] = '\0';
    char *sv = NULL;
    const char *w1 = strtok_r(line, " ", &sv);
    const char *w2 = strtok_r(NULL, " ", &sv);
    const char *w3 = strtok_r(NULL, " ", &sv);
    if (!w1 || strcmp(w1, ctl_cmd_name(r.cmd)) != 0) {
        fz_fail("parsed as %s, first word \"%s\"", ctl_cmd_name(r.cmd), w1 ? w1 : "");
    }
    if (w3 || (r.cmd == CTL_CMD_LOG_LEVEL) != (w2 != NULL)) {
        fz_fail("%s accepted with the wrong number of words", ctl_cmd_name(r.cmd));
    }
    if (r.cmd == CTL_CMD_LOG_LEVEL && (r.level < 0 || r.level > 3)) {
        fz_fail("log-level %d", r.level);
    }
    free(buf);
    return 0;
}
