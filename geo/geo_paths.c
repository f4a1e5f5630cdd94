/* SPDX-License-Identifier: MIT */
/*
 * geo_paths.c -- parse an operator's MMDB lookup paths ("country=country_code,
 * subdivision=subdivisions/0/iso_code") for dnsd's `geo-paths` setting and
 * `dnsctl geo lookup --paths`, so both decide with the same fields. Slow path.
 */
#include "geo/geo.h"

#include <string.h>

int geo_paths_parse(const char *spec, geo_paths_buf_t *b, char *err, size_t errcap)
{
    static const char *const fields[5] = {"continent", "country", "subdivision", "latitude",
                                          "longitude"};
    memset(b, 0, sizeof(*b));
    if (strlen(spec) >= sizeof(b->text)) {
        snprintf(err, errcap, "paths too long (at most %zu characters)", sizeof(b->text) - 1);
        return -1;
    }
    memcpy(b->text, spec, strlen(spec) + 1);
    char *save = NULL;
    for (char *item = strtok_r(b->text, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq || eq == item || !eq[1]) {
            snprintf(err, errcap, "\"%s\" is not FIELD=PATH", item);
            return -1;
        }
        *eq = 0;
        int f;
        for (f = 0; f < 5 && strcmp(item, fields[f]) != 0; f++) {
        }
        if (f == 5) {
            snprintf(err, errcap,
                     "unknown field \"%s\" (continent, country, subdivision, latitude, longitude)",
                     item);
            return -1;
        }
        if (b->parts[f][0]) {
            snprintf(err, errcap, "field \"%s\" given twice", item);
            return -1;
        }
        int n = 0;
        char *s2 = NULL;
        for (char *c = strtok_r(eq + 1, "/", &s2); c; c = strtok_r(NULL, "/", &s2)) {
            if (n == GEO_PATH_PARTS) {
                snprintf(err, errcap, "path of \"%s\" has more than %d parts", item,
                         GEO_PATH_PARTS);
                return -1;
            }
            b->parts[f][n++] = c;
        }
        if (n == 0) {
            snprintf(err, errcap, "empty path for \"%s\"", item);
            return -1;
        }
        b->parts[f][n] = NULL;
    }
    b->paths.continent = b->parts[0][0] ? b->parts[0] : NULL;
    b->paths.country = b->parts[1][0] ? b->parts[1] : NULL;
    b->paths.subdivision = b->parts[2][0] ? b->parts[2] : NULL;
    b->paths.latitude = b->parts[3][0] ? b->parts[3] : NULL;
    b->paths.longitude = b->parts[4][0] ? b->parts[4] : NULL;
    return 0;
}
