/* server: environment values, OLLAMA_HOST parsing (env.md §3, upstream's
 * envconfig.Host) and the listening socket. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server_internal.h"

static bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Copies s[0..n) without surrounding characters for which strip() holds. */
static void copy_trimmed(const char *s, size_t n, char *buf, size_t cap, bool (*strip)(char)) {
    while (n && strip(s[0])) s++, n--;
    while (n && strip(s[n - 1])) n--;
    if (cap == 0) return;
    if (n >= cap) n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
}

/* strlcpy: truncation of over-long (already invalid) values is fine. */
static void set_str(char *dst, size_t n, const char *src) {
    size_t len = strnlen(src, n - 1);
    memcpy(dst, src, len);
    dst[len] = 0;
}

static bool is_quote(char c) { return c == '"' || c == '\''; }

const char *server_env(const char *name, char *buf, size_t n) {
    const char *v = getenv(name);
    char tmp[4096];
    copy_trimmed(v ? v : "", v ? strlen(v) : 0, tmp, sizeof tmp, is_space);
    copy_trimmed(tmp, strlen(tmp), buf, n, is_quote);
    return buf;
}

bool server_env_bool(const char *name, bool def) {
    char v[64];
    server_env(name, v, sizeof v);
    if (!*v) return def;
    static const char *falses[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof falses / sizeof *falses; i++)
        if (strcmp(v, falses[i]) == 0) return false;
    return true; /* the true spellings and, as upstream, any other text */
}

int server_split_host_port(const char *in, char *host, size_t hn, char *port, size_t pn) {
    const char *colon = strrchr(in, ':');
    if (!colon) return -1;
    const char *h = in, *hend = colon, *rest = in;
    if (in[0] == '[') {
        const char *end = strchr(in, ']');
        if (!end || end + 1 != colon) return -1; /* missing ']' or port, or too many colons */
        h = in + 1, hend = end, rest = end + 1;
    } else if (memchr(in, ':', (size_t)(colon - in))) {
        return -1; /* too many colons */
    }
    if (strchr(in[0] == '[' ? in + 1 : in, '[') || strchr(rest, ']')) return -1;
    size_t n = (size_t)(hend - h);
    if (n >= hn || strlen(colon + 1) >= pn) return -1;
    memcpy(host, h, n);
    host[n] = 0;
    strcpy(port, colon + 1);
    return 0;
}

/* Go's net.ParseIP(s).String(): false when s is not an IP literal. */
static bool ip_canonical(const char *s, char *out, size_t n) {
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, s, &a4) == 1) return inet_ntop(AF_INET, &a4, out, (socklen_t)n) != NULL;
    if (inet_pton(AF_INET6, s, &a6) != 1) return false;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) return inet_ntop(AF_INET, &a6.s6_addr[12], out, (socklen_t)n) != NULL;
    return inet_ntop(AF_INET6, &a6, out, (socklen_t)n) != NULL;
}

/* strconv.ParseInt(s, 10, 32) followed by upstream's 0..65535 check. */
static int parse_port(const char *s, int def) {
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!*p || strlen(p) > 10) goto bad;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) goto bad;
    long long v = strtoll(s, NULL, 10);
    if (v < 0 || v > 65535) goto bad;
    return (int)v;
bad:
    oc_log(OC_LOG_WARN, "invalid port, using default port=%s default=%d", s, def);
    return def;
}

void server_host_parse(const char *value, server_host *out) {
    char s[1024], hostport[1024], host[512], port[64];
    copy_trimmed(value ? value : "", value ? strlen(value) : 0, hostport, sizeof hostport, is_space);
    copy_trimmed(hostport, strlen(hostport), s, sizeof s, is_quote);
    copy_trimmed(s, strlen(s), hostport, sizeof hostport, is_space);
    memset(out, 0, sizeof *out);
    strcpy(out->scheme, "http");
    int def = SERVER_DEFAULT_PORT;
    char *sep = strstr(hostport, "://"), *hp = hostport;
    if (!sep) {
        if (strcmp(hostport, "ollama.com") == 0) strcpy(out->scheme, "https"), strcpy(hostport, "ollama.com:443");
    } else {
        *sep = 0;
        set_str(out->scheme, sizeof out->scheme, hostport);
        if (strcmp(out->scheme, "http") == 0) def = 80;
        else if (strcmp(out->scheme, "https") == 0) def = 443;
        hp = sep + 3;
    }
    char *slash = strchr(hp, '/');
    if (slash) {
        *slash = 0;
        if (slash[1]) out->path[0] = '/', set_str(out->path + 1, sizeof out->path - 1, slash + 1);
    }
    if (server_split_host_port(hp, host, sizeof host, port, sizeof port) == 0) {
        set_str(out->host, sizeof out->host, host);
        out->port = parse_port(port, def);
        return;
    }
    /* Not host:port: the whole thing is the host (a bare or bracketed IPv6
     * literal included), with the default port. */
    char bare[512];
    size_t n = strlen(hp);
    const char *b = hp;
    while (n && *b == '[') b++, n--;
    while (n && b[n - 1] == ']') n--;
    snprintf(bare, sizeof bare, "%.*s", (int)n, b);
    if (!ip_canonical(bare, out->host, sizeof out->host))
        set_str(out->host, sizeof out->host, *hp ? hp : "127.0.0.1");
    out->port = def;
}

void server_host_from_env(server_host *out) {
    char v[1024];
    server_host_parse(server_env("OLLAMA_HOST", v, sizeof v), out);
}

void server_host_join(const server_host *h, char *buf, size_t n) {
    if (strchr(h->host, ':')) snprintf(buf, n, "[%s]:%d", h->host, h->port);
    else snprintf(buf, n, "%s:%d", h->host, h->port);
}

void server_host_url(const server_host *h, char *buf, size_t n) {
    char hp[300];
    server_host_join(h, hp, sizeof hp);
    snprintf(buf, n, "%s://%s%s", h->scheme, hp, h->path);
}

void server_host_connectable(const server_host *h, server_host *out) {
    *out = *h;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, h->host, &a4) == 1 && a4.s_addr == htonl(INADDR_ANY))
        strcpy(out->host, "127.0.0.1");
    else if (inet_pton(AF_INET6, h->host, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6))
        strcpy(out->host, "::1");
}

/* The socket address to bind for host ("" = every interface, dual-stack
 * as Go listens). Names resolve to their first IPv4 address if any. */
static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (!*host) {
        in6->sin6_family = AF_INET6, in6->sin6_addr = in6addr_any;
    } else if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
    } else {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *pick = NULL;
        if (getaddrinfo(host, NULL, &hints, &res) != 0) return -1;
        for (struct addrinfo *a = res; a && !pick; a = a->ai_next)
            if (a->ai_family == AF_INET) pick = a;
        if (!pick) pick = res;
        memcpy(ss, pick->ai_addr, pick->ai_addrlen);
        freeaddrinfo(res);
    }
    if (ss->ss_family == AF_INET) in4->sin_port = htons((uint16_t)port), *len = sizeof *in4;
    else in6->sin6_port = htons((uint16_t)port), *len = sizeof *in6;
    return 0;
}

/* Go's syscall error texts are strerror's, lower-cased. */
static const char *errno_text(int e, char *buf, size_t n) {
    snprintf(buf, n, "%s", strerror(e));
    buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

static void describe_bound(int fd, char *bound, size_t bn, int *port, bool *loopback) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "";
    getsockname(fd, (struct sockaddr *)&ss, &len);
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        *port = ntohs(a->sin_port);
        *loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
        snprintf(bound, bn, "%s:%d", ip, *port);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        *port = ntohs(a->sin6_port);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
                    (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127);
        snprintf(bound, bn, "[%s]:%d", ip, *port);
    }
}

int server_listen_socket(const server_host *addr, char *bound, size_t bn, int *port,
                         bool *loopback, oc_error *err) {
    char hp[300], et[128];
    server_host_join(addr, hp, sizeof hp);
    struct sockaddr_storage ss;
    socklen_t len;
    if (resolve(addr->host, addr->port, &ss, &len) < 0)
        return oc_fail(err, "listen tcp: lookup %s: no such host", addr->host);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && !*addr->host && errno == EAFNOSUPPORT) { /* no IPv6: IPv4 any */
        struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
        memset(&ss, 0, sizeof ss);
        in4->sin_family = AF_INET, in4->sin_port = htons((uint16_t)addr->port), len = sizeof *in4;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    if (fd < 0) return oc_fail(err, "listen tcp %s: socket: %s", hp, errno_text(errno, et, sizeof et));
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* as Go: restart despite TIME_WAIT */
    if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    const char *op = "bind";
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (op = "listen", listen(fd, SOMAXCONN) < 0)) {
        int e = errno;
        close(fd);
        return oc_fail(err, "listen tcp %s: %s: %s", hp, op, errno_text(e, et, sizeof et));
    }
    describe_bound(fd, bound, bn, port, loopback);
    return fd;
}

bool server_fd_hung_up(int fd) {
    if (fd < 0) return false;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return false;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}
