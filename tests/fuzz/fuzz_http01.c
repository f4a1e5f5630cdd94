/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http01.c -- libFuzzer target for the HTTP-01 request-path and token
 * checks (acme/http01.c: acme_http01_path_token, acme_http01_token_ok), which
 * dnsd's HTTP thread (dnsd/httpd.c) applies to the raw request target of
 * every request from the network. The input is the request target. Checks
 * what must hold for any input:
 *  - an accepted path is exactly ACME_HTTP01_PATH followed by the token and
 *    nothing else, the token pointing into the path;
 *  - the token is ACME_HTTP01_TOKEN_MIN..MAX base64url characters, so no
 *    '.', '/', '%', '?' or other byte ever reaches the store lookup;
 *  - the verdict agrees with an independent, naive reading of the rule, and
 *    acme_http01_token_ok() on the bytes after the prefix agrees with it.
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus.
 */
#include <string.h>

#include "acme/http01.h"
#include "tests/fuzz/fuzz_util.h"

#define INPUT_MAX 4096

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* the rule read naively: prefix, then only [A-Za-z0-9_-], MIN..MAX of them */
static int naive(const char *path)
{
    const char *pfx = ACME_HTTP01_PATH;
    size_t pl = strlen(pfx);
    if (strlen(path) < pl || memcmp(path, pfx, pl) != 0) {
        return -1;
    }
    size_t n = strlen(path + pl);
    if (n < ACME_HTTP01_TOKEN_MIN || n > ACME_HTTP01_TOKEN_MAX) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                    path[pl + i]) || path[pl + i] == '\0') {
            return -1;
        }
    }
    return (int)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_MAX) {
        return 0;
    }
    char path[INPUT_MAX + 1];
    memcpy(path, data, size);
    path[size] = '\0'; /* as the server sees it: up to the first NUL */
    size_t pl = strlen(ACME_HTTP01_PATH);
    const char *tok = NULL;
    int n = acme_http01_path_token(path, &tok);
    int want = naive(path);
    if (n != want) {
        fz_fail("path_token says %d, the rule says %d for \"%s\"", n, want, path);
    }
    if (n < 0) {
        return 0;
    }
    if (tok != path + pl || strlen(path) != pl + (size_t)n) {
        fz_fail("the token is not all that follows the prefix in \"%s\"", path);
    }
    if (!acme_http01_token_ok(tok, (size_t)n)) {
        fz_fail("an accepted token fails token_ok: \"%s\"", tok);
    }
    if (strpbrk(tok, "./%?#\\ ")) {
        fz_fail("an accepted token holds a path or escape character: \"%s\"", tok);
    }
    return 0;
}
