/* server: CORS with OLLAMA_ORIGINS (env.md §4, gin-contrib/cors as upstream
 * configures it) and the Host-header check against DNS rebinding (§5). */
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "server/server_internal.h"

static const char *builtin_origins[] = {
    "http://localhost", "https://localhost", "http://localhost:*", "https://localhost:*",
    "http://127.0.0.1", "https://127.0.0.1", "http://127.0.0.1:*", "https://127.0.0.1:*",
    "http://0.0.0.0", "https://0.0.0.0", "http://0.0.0.0:*", "https://0.0.0.0:*",
    "app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*",
};

/* Schemes an entry without '*' must start with (AllowBrowserExtensions). */
static const char *schemes[] = {"http://", "https://", "chrome-extension://",
                                "safari-extension://", "moz-extension://",
                                "ms-browser-extension://"};

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static bool has_suffix(const char *s, const char *x) {
    size_t n = strlen(s), m = strlen(x);
    return n >= m && memcmp(s + n - m, x, m) == 0;
}

static int validate_origin(const char *o, oc_error *err) {
    const char *star = strchr(o, '*');
    if (star && strchr(star + 1, '*')) return oc_fail(err, "only one * is allowed");
    if (star) return 0;
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++)
        if (has_prefix(o, schemes[i])) return 0;
    return oc_fail(err, "bad origin: origins must contain '*' or include "
                        "http://,https://,chrome-extension://,safari-extension://,"
                        "moz-extension://,ms-browser-extension://");
}

/* Exact entries are compared trimmed and lower-cased (cors' normalize). */
static void add_exact(server_cors *c, const char *o) {
    while (*o == ' ' || (*o >= '\t' && *o <= '\r')) o++;
    size_t n = strlen(o);
    while (n && (o[n - 1] == ' ' || (o[n - 1] >= '\t' && o[n - 1] <= '\r'))) n--;
    char *v = oc_strndup(o, n);
    for (char *p = v; *p; p++) *p = (char)tolower((unsigned char)*p);
    c->exact = oc_realloc(c->exact, (c->n_exact + 1) * sizeof *c->exact);
    c->exact[c->n_exact++] = v;
}

static int add_origin(server_cors *c, const char *o, oc_error *err) {
    if (validate_origin(o, err) < 0) return -1;
    if (strcmp(o, "*") == 0) c->allow_all = true;
    add_exact(c, o);
    const char *star = strchr(o, '*');
    if (star) { /* wildcard entries are used untrimmed */
        c->prefix = oc_realloc(c->prefix, (c->n_wild + 1) * sizeof *c->prefix);
        c->suffix = oc_realloc(c->suffix, (c->n_wild + 1) * sizeof *c->suffix);
        c->prefix[c->n_wild] = oc_strndup(o, (size_t)(star - o));
        c->suffix[c->n_wild++] = oc_strdup(star + 1);
    }
    return 0;
}

int server_cors_init(server_cors *c, const char *origins, oc_error *err) {
    memset(c, 0, sizeof *c);
    if (origins && *origins) { /* split on ',' as strings.Split: entries kept as they are */
        char *copy = oc_strdup(origins), *save = copy;
        for (char *p = copy;; p++) {
            if (*p != ',' && *p) continue;
            char end = *p;
            *p = 0;
            if (add_origin(c, save, err) < 0) {
                oc_error_prefix(err, "OLLAMA_ORIGINS entry \"%s\"", save);
                free(copy);
                server_cors_free(c);
                return -1;
            }
            if (!end) break;
            save = p + 1;
        }
        free(copy);
    }
    for (size_t i = 0; i < sizeof builtin_origins / sizeof *builtin_origins; i++)
        add_origin(c, builtin_origins[i], NULL);
    return 0;
}

void server_cors_free(server_cors *c) {
    for (size_t i = 0; i < c->n_exact; i++) free(c->exact[i]);
    for (size_t i = 0; i < c->n_wild; i++) free(c->prefix[i]), free(c->suffix[i]);
    free(c->exact), free(c->prefix), free(c->suffix);
    memset(c, 0, sizeof *c);
}

bool server_cors_origin_allowed(const server_cors *c, const char *origin) {
    if (c->allow_all) return true;
    for (size_t i = 0; i < c->n_exact; i++) /* the origin itself is not lower-cased */
        if (strcmp(c->exact[i], origin) == 0) return true;
    for (size_t i = 0; i < c->n_wild; i++)
        if (has_prefix(origin, c->prefix[i]) && has_suffix(origin, c->suffix[i])) return true;
    return false;
}

enum server_cors_verdict server_cors_check(const server_cors *c, const char *method,
                                           const char *origin, const char *host) {
    if (!origin || !*origin) return SERVER_CORS_NONE;
    if (host) { /* fetch() from the page the server itself served */
        if ((has_prefix(origin, "http://") && strcmp(origin + 7, host) == 0) ||
            (has_prefix(origin, "https://") && strcmp(origin + 8, host) == 0))
            return SERVER_CORS_NONE;
    }
    if (!server_cors_origin_allowed(c, origin)) return SERVER_CORS_FORBIDDEN;
    return strcmp(method, "OPTIONS") == 0 ? SERVER_CORS_PREFLIGHT : SERVER_CORS_ALLOWED;
}

/* ---- Host check ---- */

/* Whether ip (4 or 16 bytes) is an address of a local interface. */
static bool is_local_ip(int family, const void *ip) {
    struct ifaddrs *list;
    if (getifaddrs(&list) < 0) return false;
    bool found = false;
    for (struct ifaddrs *a = list; a && !found; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != family) continue;
        if (family == AF_INET)
            found = memcmp(&((struct sockaddr_in *)a->ifa_addr)->sin_addr, ip, 4) == 0;
        else
            found = memcmp(&((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr, ip, 16) == 0;
    }
    freeifaddrs(list);
    return found;
}

static bool ipv4_allowed(const unsigned char *b) {
    return b[0] == 127 || b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) ||
           (b[0] == 192 && b[1] == 168) || (b[0] | b[1] | b[2] | b[3]) == 0 ||
           is_local_ip(AF_INET, b);
}

/* Loopback, private, unspecified or local (netip's predicates; a v4-mapped
 * address is judged as IPv4). -1 when host is no IP literal. */
static int ip_allowed(const char *host) {
    unsigned char b[16];
    char tmp[128];
    size_t n = strlen(host);
    if (n >= sizeof tmp) return -1;
    memcpy(tmp, host, n + 1);
    char *zone = strchr(tmp, '%'); /* netip accepts "fe80::1%eth0" */
    if (inet_pton(AF_INET, tmp, b) == 1) return ipv4_allowed(b);
    if (zone) *zone = 0;
    if (!strchr(tmp, ':') || inet_pton(AF_INET6, tmp, b) != 1) return -1;
    struct in6_addr *a = (struct in6_addr *)b;
    if (IN6_IS_ADDR_V4MAPPED(a)) return ipv4_allowed(b + 12);
    return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || (b[0] & 0xFE) == 0xFC ||
           is_local_ip(AF_INET6, b);
}

static bool name_allowed(char *host) {
    for (char *p = host; *p; p++) *p = (char)tolower((unsigned char)*p);
    if (!*host || strcmp(host, "localhost") == 0) return true;
    char name[256];
    if (gethostname(name, sizeof name) == 0) {
        name[sizeof name - 1] = 0;
        if (strcasecmp(host, name) == 0) return true;
    }
    return has_suffix(host, ".localhost") || has_suffix(host, ".local") ||
           has_suffix(host, ".internal");
}

enum server_host_verdict server_host_check(const char *hdr) {
    char host[512], port[64];
    if (!hdr) hdr = "";
    if (server_split_host_port(hdr, host, sizeof host, port, sizeof port) < 0)
        snprintf(host, sizeof host, "%s", hdr);
    if (ip_allowed(host) == 1) return SERVER_HOST_OK;
    return name_allowed(host) ? SERVER_HOST_OK_NAME : SERVER_HOST_FORBIDDEN;
}
