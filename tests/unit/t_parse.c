/* SPDX-License-Identifier: MIT */
/*
 * t_parse.c -- zones/base/parse.c: numbers, CIDRs and host[:port], one
 * named case per row. These are the only parsers of each for dnsd's
 * config, the ACME shard settings, the region rules and dnsctl.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "tests/tap.h"
#include "zones/base/err.h"
#include "zones/base/parse.h"

static const struct {
    const char *name, *text;
    long long min, max;
    int err;
    long long want;
} nums[] = {
    {"zero", "0", 0, 10, 0, 0},
    {"in range", "1232", 512, 4096, 0, 1232},
    {"the maximum", "4096", 512, 4096, 0, 4096},
    {"below the minimum", "511", 512, 4096, DNSD_EMALFORMED, 0},
    {"above the maximum", "4097", 512, 4096, DNSD_EMALFORMED, 0},
    {"negative allowed", "-3600", -86400, 86400, 0, -3600},
    {"negative when min is 0", "-0", 0, 10, DNSD_EMALFORMED, 0},
    {"empty", "", 0, 10, DNSD_EMALFORMED, 0},
    {"leading space", " 5", 0, 10, DNSD_EMALFORMED, 0},
    {"plus sign", "+5", 0, 10, DNSD_EMALFORMED, 0},
    {"trailing text", "5s", 0, 10, DNSD_EMALFORMED, 0},
    {"trailing space", "5 ", 0, 10, DNSD_EMALFORMED, 0},
    {"hex", "0x10", 0, 100, DNSD_EMALFORMED, 0},
    {"overflow", "99999999999999999999", 0, 1LL << 40, DNSD_EMALFORMED, 0},
    {"a lone minus", "-", -10, 10, DNSD_EMALFORMED, 0},
};

static const struct {
    const char *name, *text;
    int err;
    const char *why;
    int family, len;
    const char *addr;
} cidrs[] = {
    {"IPv4 /24", "192.0.2.0/24", 0, NULL, 4, 24, "192.0.2.0"},
    {"IPv4 /32", "192.0.2.1/32", 0, NULL, 4, 32, "192.0.2.1"},
    {"IPv4 /0", "0.0.0.0/0", 0, NULL, 4, 0, "0.0.0.0"},
    {"IPv6 /32", "2001:db8::/32", 0, NULL, 6, 32, "2001:db8::"},
    {"IPv6 /128", "2001:db8::1/128", 0, NULL, 6, 128, "2001:db8::1"},
    {"no prefix", "192.0.2.0", DNSD_EMALFORMED, "no prefix length", 0, 0, NULL},
    {"not an address", "example/24", DNSD_EMALFORMED, "not an IPv4 or IPv6 address", 0, 0, NULL},
    {"address too long", "1111111111111111111111111111111111111111111111111111111111111111/8",
     DNSD_EMALFORMED, "not an IPv4 or IPv6 address", 0, 0, NULL},
    {"IPv4 /33", "192.0.2.0/33", DNSD_EMALFORMED, "prefix length out of range", 0, 0, NULL},
    {"IPv6 /129", "2001:db8::/129", DNSD_EMALFORMED, "prefix length out of range", 0, 0, NULL},
    {"negative prefix", "192.0.2.0/-1", DNSD_EMALFORMED, "prefix length out of range", 0, 0,
     NULL},
    {"empty prefix", "192.0.2.0/", DNSD_EMALFORMED, "prefix length out of range", 0, 0, NULL},
    {"prefix with text", "192.0.2.0/24x", DNSD_EMALFORMED, "prefix length out of range", 0, 0,
     NULL},
    {"IPv4 host bits", "192.0.2.1/24", DNSD_EMALFORMED, "host bits set", 0, 0, NULL},
    {"IPv6 host bits", "2001:db8::1/64", DNSD_EMALFORMED, "host bits set", 0, 0, NULL},
};

static const struct {
    const char *name, *text;
    int dflt, min_port, err;
    int family, port;
    const char *addr;
} hps[] = {
    {"IPv4 alone: the default port", "192.0.2.1", 53, 0, 0, AF_INET, 53, "192.0.2.1"},
    {"IPv4 with port", "127.0.0.1:5353", 53, 0, 0, AF_INET, 5353, "127.0.0.1"},
    {"IPv4 port 0 allowed", "127.0.0.1:0", 53, 0, 0, AF_INET, 0, "127.0.0.1"},
    {"IPv4 port 0 refused", "127.0.0.1:0", 443, 1, DNSD_EMALFORMED, 0, 0, NULL},
    {"bracketed IPv6 with port", "[::1]:853", 53, 0, 0, AF_INET6, 853, "::1"},
    {"bracketed IPv6 alone", "[2001:db8::1]", 443, 1, 0, AF_INET6, 443, "2001:db8::1"},
    {"bare IPv6: no port", "2001:db8::1", 443, 1, 0, AF_INET6, 443, "2001:db8::1"},
    {"port too big", "192.0.2.1:65536", 53, 0, DNSD_EMALFORMED, 0, 0, NULL},
    {"port not a number", "192.0.2.1:dns", 53, 0, DNSD_EMALFORMED, 0, 0, NULL},
    {"empty port", "192.0.2.1:", 53, 0, DNSD_EMALFORMED, 0, 0, NULL},
    {"negative port", "192.0.2.1:-1", 53, 0, DNSD_EMALFORMED, 0, 0, NULL},
    {"a name is not an address", "localhost:53", 53, 0, DNSD_EMALFORMED, 0, 0, NULL},
    {"unclosed bracket", "[::1:53", 53, 0, DNSD_EMALFORMED, 0, 0, NULL},
    {"text after the bracket", "[::1]x", 53, 0, DNSD_EMALFORMED, 0, 0, NULL},
    {"IPv4 in brackets", "[192.0.2.1]:80", 53, 0, 0, AF_INET, 80, "192.0.2.1"},
    {"empty", "", 53, 0, DNSD_EMALFORMED, 0, 0, NULL},
};

int main(void)
{
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        long long v = -12345;
        int err = parse_num(nums[i].text, nums[i].min, nums[i].max, &v);
        is_int(err, nums[i].err, "number, %s (\"%s\"): %s", nums[i].name, nums[i].text,
               nums[i].err ? "refused" : "accepted");
        if (!nums[i].err) {
            is_int(v, nums[i].want, "number, %s: the value", nums[i].name);
        }
    }
    for (size_t i = 0; i < sizeof(cidrs) / sizeof(cidrs[0]); i++) {
        parse_cidr_t c;
        const char *why = NULL;
        int err = parse_cidr(cidrs[i].text, &c, &why);
        is_int(err, cidrs[i].err, "CIDR, %s (\"%s\"): %s", cidrs[i].name, cidrs[i].text,
               cidrs[i].err ? "refused" : "accepted");
        if (cidrs[i].err) {
            is_str(why ? why : "(none)", cidrs[i].why, "CIDR, %s: why", cidrs[i].name);
            continue;
        }
        char a[64];
        inet_ntop(c.family == 4 ? AF_INET : AF_INET6, c.addr, a, sizeof(a));
        ok(c.family == cidrs[i].family && c.len == cidrs[i].len &&
               strcmp(a, cidrs[i].addr) == 0,
           "CIDR, %s: IPv%d %s/%d", cidrs[i].name, c.family, a, c.len);
    }
    for (size_t i = 0; i < sizeof(hps) / sizeof(hps[0]); i++) {
        struct sockaddr_storage ss;
        socklen_t len = 0;
        int err = parse_hostport(hps[i].text, (uint16_t)hps[i].dflt, (uint16_t)hps[i].min_port,
                                 &ss, &len);
        is_int(err, hps[i].err, "host:port, %s (\"%s\"): %s", hps[i].name, hps[i].text,
               hps[i].err ? "refused" : "accepted");
        if (hps[i].err) {
            continue;
        }
        char a[64];
        int port;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
            port = ntohs(s4->sin_port);
        } else {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
            port = ntohs(s6->sin6_port);
        }
        ok(ss.ss_family == hps[i].family && port == hps[i].port && strcmp(a, hps[i].addr) == 0 &&
               len == (ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                               : sizeof(struct sockaddr_in6)),
           "host:port, %s: %s port %d", hps[i].name, a, port);
    }
    /* sockaddr_text writes what parse_hostport reads back */
    const char *texts[] = {"192.0.2.1:53", "127.0.0.1:65535", "[2001:db8::1]:53", "[::1]:8053"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct sockaddr_storage ss, back;
        char buf[64];
        int err = parse_hostport(texts[i], 53, 1, &ss, NULL);
        sockaddr_text(&ss, buf, sizeof(buf));
        ok(err == 0 && strcmp(buf, texts[i]) == 0 &&
               parse_hostport(buf, 1, 1, &back, NULL) == 0 && sockaddr_same(&ss, &back),
           "sockaddr_text: %s -> %s, read back the same", texts[i], buf);
    }
    struct sockaddr_storage un = {.ss_family = AF_UNIX};
    char ubuf[8] = "x";
    sockaddr_text(&un, ubuf, sizeof(ubuf));
    is_str(ubuf, "?", "sockaddr_text: another family is \"?\"");
    return done_testing();
}
