/* SPDX-License-Identifier: MIT */
/*
 * replay.c -- main() for fuzz targets built without libFuzzer: runs every
 * file of the target's seed corpus (or the files/directories given) once
 * through LLVMFuzzerTestOneInput and prints TAP, so `make check` replays the
 * corpus on every build (Knot's trick). A crash or abort fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 20];
    if (!f) {
        printf("not ok %d - cannot open %s\n", ++n, path);
        return;
    }
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    printf("ok %d - %s\n", ++n, path);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("not ok %d - no such corpus %s\n", ++n, path);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    char **names = NULL;
    size_t cnt = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') {
            continue;
        }
        names = realloc(names, (cnt + 1) * sizeof(*names));
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        names[cnt] = malloc(l);
        snprintf(names[cnt++], l, "%s/%s", path, e->d_name);
    }
    if (d) {
        closedir(d);
    }
    qsort(names, cnt, sizeof(*names), cmp);
    for (size_t i = 0; i < cnt; i++) {
        run_file(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            run_path(argv[i]);
        }
    } else {
        const char *top = getenv("top_srcdir");
        char path[4096];
        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", top ? top : ".", FUZZ_NAME);
        run_path(path);
    }
    printf("1..%d\n", n);
    return 0;
}
