/* registry: bearer-token authentication (registry.md §6): the loose
 * WWW-Authenticate parse, the token URL with sorted query, the realm host
 * check, and the Ed25519 signature made with ~/.ollama/id_ed25519 (an
 * unencrypted OpenSSH key) when that key exists. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "registry/registry_internal.h"

/* The value after key=" up to the first '"' followed by ',' or the end. */
static void challenge_value(const char *h, const char *key, char *out, size_t n) {
    out[0] = 0;
    char pat[32];
    snprintf(pat, sizeof pat, "%s=\"", key);
    const char *p = strstr(h, pat);
    if (!p) return;
    p += strlen(pat);
    for (const char *q = p; *q; q++) {
        if (*q == '"' && (q[1] == ',' || q[1] == 0)) {
            size_t len = (size_t)(q - p);
            if (len >= n) len = n - 1;
            memcpy(out, p, len);
            out[len] = 0;
            return;
        }
    }
}

void registry_parse_challenge(const char *header, registry_challenge *c) {
    const char *h = header ? header : "";
    if (strncmp(h, "Bearer ", 7) == 0) h += 7;
    challenge_value(h, "realm", c->realm, sizeof c->realm);
    challenge_value(h, "service", c->service, sizeof c->service);
    challenge_value(h, "scope", c->scope, sizeof c->scope);
}

/* ---- the key ---- */

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Reads an SSH wire string at *off; NULL when it runs past the end. */
static const unsigned char *ssh_string(const unsigned char *d, size_t len, size_t *off, uint32_t *slen) {
    if (*off + 4 > len) return NULL;
    uint32_t l = be32(d + *off);
    if (l > len - *off - 4) return NULL;
    const unsigned char *s = d + *off + 4;
    *off += 4 + l;
    *slen = l;
    return s;
}

/* The 32-byte seed and public key of an unencrypted openssh-key-v1 Ed25519 key. */
static int parse_openssh(const unsigned char *d, size_t len, unsigned char seed[32], unsigned char pub[32]) {
    static const char magic[] = "openssh-key-v1";
    if (len < sizeof magic || memcmp(d, magic, sizeof magic)) return -1;
    size_t off = sizeof magic;
    uint32_t l;
    const unsigned char *cipher = ssh_string(d, len, &off, &l);
    if (!cipher || l != 4 || memcmp(cipher, "none", 4)) return -1;
    if (!ssh_string(d, len, &off, &l) || !ssh_string(d, len, &off, &l)) return -1; /* kdf, options */
    if (off + 4 > len || be32(d + off) != 1) return -1;
    off += 4;
    if (!ssh_string(d, len, &off, &l)) return -1; /* public key blob */
    const unsigned char *priv = ssh_string(d, len, &off, &l);
    if (!priv || l < 8) return -1;
    size_t plen = l, po = 8; /* two check ints */
    const unsigned char *type = ssh_string(priv, plen, &po, &l);
    if (!type || l != 11 || memcmp(type, "ssh-ed25519", 11)) return -1;
    const unsigned char *pk = ssh_string(priv, plen, &po, &l);
    if (!pk || l != 32) return -1;
    const unsigned char *sk = ssh_string(priv, plen, &po, &l);
    if (!sk || l != 64) return -1;
    memcpy(seed, sk, 32);
    memcpy(pub, pk, 32);
    return 0;
}

static int load_key(unsigned char seed[32], unsigned char pub[32]) {
    const char *home = getenv("HOME");
    if (!home) return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/.ollama/id_ed25519", home);
    size_t len;
    char *pem = oc_read_file(path, &len, NULL);
    if (!pem) return -1;
    oc_buf b64 = {0};
    const char *p = strstr(pem, "-----BEGIN OPENSSH PRIVATE KEY-----");
    const char *e = p ? strstr(p, "-----END") : NULL;
    int rc = -1;
    if (p && e) {
        for (p += 35; p < e; p++)
            if (*p != '\n' && *p != '\r' && *p != ' ') oc_buf_append(&b64, p, 1);
        unsigned char *raw = oc_malloc(b64.len + 4);
        int n = b64.len % 4 == 0 ? EVP_DecodeBlock(raw, (unsigned char *)b64.data, (int)b64.len) : -1;
        if (n > 0) {
            while (b64.len && b64.data[b64.len - 1] == '=') b64.len--, n--;
            rc = parse_openssh(raw, (size_t)n, seed, pub);
        }
        free(raw);
    }
    oc_buf_free(&b64);
    free(pem);
    return rc;
}

/* "<base64 ssh public key>:<base64 signature>" for msg, or NULL without a key. */
static char *sign_message(const char *msg) {
    unsigned char seed[32], pub[32];
    if (load_key(seed, pub)) return NULL;
    unsigned char wire[4 + 11 + 4 + 32] = {0, 0, 0, 11};
    memcpy(wire + 4, "ssh-ed25519", 11);
    wire[18] = 32;
    memcpy(wire + 19, pub, 32);
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[64];
    size_t slen = sizeof sig;
    char *out = NULL;
    if (k && md && EVP_DigestSignInit(md, NULL, NULL, NULL, k) == 1 &&
        EVP_DigestSign(md, sig, &slen, (const unsigned char *)msg, strlen(msg)) == 1) {
        unsigned char kb[80], sb[100];
        EVP_EncodeBlock(kb, wire, sizeof wire);
        EVP_EncodeBlock(sb, sig, (int)slen);
        oc_buf b = {0};
        oc_buf_printf(&b, "%s:%s", kb, sb);
        out = b.data;
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    OPENSSL_cleanse(seed, sizeof seed);
    return out;
}

/* ---- the token request ---- */

typedef struct kv {
    char *k, *v;
} kv;

/* Insertion sort by key: stable, as Go's url.Values.Encode keeps the
 * order of a key's values. */
static void kv_sort(kv *v, size_t n) {
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(v[j - 1].k, v[j].k) > 0; j--) {
            kv t = v[j];
            v[j] = v[j - 1], v[j - 1] = t;
        }
}

/* Go's url.QueryEscape. */
static void query_escape(oc_buf *b, const char *s) {
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-_.~", ch))
            oc_buf_append(b, s, 1);
        else if (ch == ' ') oc_buf_puts(b, "+");
        else oc_buf_printf(b, "%%%02X", ch);
    }
}

static void add_kv(kv **v, size_t *n, const char *k, const char *val) {
    *v = oc_realloc(*v, (*n + 1) * sizeof **v);
    (*v)[*n].k = oc_strdup(k), (*v)[(*n)++].v = oc_strdup(val);
}

/* The realm's own query pairs, decoded. */
static void realm_query(CURLU *u, kv **v, size_t *n) {
    char *q = NULL;
    if (curl_url_get(u, CURLUPART_QUERY, &q, 0) != CURLUE_OK || !q) return;
    for (char *save = NULL, *t = strtok_r(q, "&", &save); t; t = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(t, '=');
        if (eq) *eq = 0;
        for (char *p = t; *p; p++) if (*p == '+') *p = ' ';
        if (eq) for (char *p = eq + 1; *p; p++) if (*p == '+') *p = ' ';
        char *k = curl_easy_unescape(NULL, t, 0, NULL), *val = curl_easy_unescape(NULL, eq ? eq + 1 : "", 0, NULL);
        if (k && val) add_kv(v, n, k, val);
        curl_free(k), curl_free(val);
    }
    curl_free(q);
}

/* realm + sorted query (service, scopes, ts, nonce); NULL on a bad realm. */
static char *token_url(const registry_challenge *ch, char *realm_host, size_t hn) {
    CURLU *u = curl_url();
    if (curl_url_set(u, CURLUPART_URL, ch->realm, 0) != CURLUE_OK) return curl_url_cleanup(u), NULL;
    char *h = NULL, *port = NULL;
    curl_url_get(u, CURLUPART_HOST, &h, 0);
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    snprintf(realm_host, hn, "%s%s%s", h ? h : "", port ? ":" : "", port ? port : "");
    curl_free(h), curl_free(port);
    kv *v = NULL;
    size_t n = 0;
    realm_query(u, &v, &n);
    add_kv(&v, &n, "service", ch->service);
    char scopes[sizeof ch->scope];
    snprintf(scopes, sizeof scopes, "%s", ch->scope);
    for (char *save = NULL, *t = strtok_r(scopes, " ", &save); t; t = strtok_r(NULL, " ", &save)) add_kv(&v, &n, "scope", t);
    char ts[32];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    add_kv(&v, &n, "ts", ts);
    unsigned char rnd[16];
    RAND_bytes(rnd, sizeof rnd);
    unsigned char nonce[32];
    int nl = EVP_EncodeBlock(nonce, rnd, sizeof rnd);
    while (nl && nonce[nl - 1] == '=') nonce[--nl] = 0;
    for (int i = 0; i < nl; i++) nonce[i] = nonce[i] == '+' ? '-' : nonce[i] == '/' ? '_' : nonce[i];
    add_kv(&v, &n, "nonce", (char *)nonce);
    kv_sort(v, n);
    oc_buf q = {0};
    for (size_t i = 0; i < n; i++) {
        if (i) oc_buf_puts(&q, "&");
        query_escape(&q, v[i].k);
        oc_buf_puts(&q, "=");
        query_escape(&q, v[i].v);
        free(v[i].k), free(v[i].v);
    }
    free(v);
    curl_url_set(u, CURLUPART_QUERY, q.data ? q.data : "", 0);
    oc_buf_free(&q);
    char *full = NULL, *out = NULL;
    if (curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK) out = oc_strdup(full);
    curl_free(full);
    curl_url_cleanup(u);
    return out;
}

static void url_hostport(const char *url, char *out, size_t n) {
    CURLU *u = curl_url();
    char *h = NULL, *port = NULL;
    out[0] = 0;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_HOST, &h, 0);
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        snprintf(out, n, "%s%s%s", h ? h : "", port ? ":" : "", port ? port : "");
    }
    curl_free(h), curl_free(port);
    curl_url_cleanup(u);
}

int reg_fetch_token(reg_client *c, const char *req_url, const registry_challenge *ch, oc_error *err) {
    char realm_host[512], orig_host[512];
    if (!ch->realm[0]) return oc_fail(err, "unauthorized: access denied");
    char *url = token_url(ch, realm_host, sizeof realm_host);
    if (!url) return oc_fail(err, "parse \"%s\": invalid realm", ch->realm);
    url_hostport(req_url, orig_host, sizeof orig_host);
    if (strcasecmp(realm_host, orig_host) != 0) {
        free(url);
        return oc_fail(err, "realm host \"%s\" does not match original host \"%s\"", realm_host, orig_host);
    }
    oc_buf msg = {0}, hdr = {0};
    oc_buf_printf(&msg, "GET,%s,ZTNiMGM0NDI5OGZjMWMxNDlhZmJmNGM4OTk2ZmI5MjQyN2FlNDFlNDY0OWI5MzRjYTQ5NTk5MWI3ODUyYjg1NQ==", url);
    char *sig = sign_message(msg.data);
    if (sig) oc_buf_printf(&hdr, "Authorization: %s", sig);
    const char *headers[] = {hdr.data, NULL};
    reg_resp r = {0};
    int rc = reg_exchange(c, "GET", url, sig ? headers : NULL, NULL, false, true, &r, err);
    if (!rc && r.status >= 400) {
        if (r.body.len) rc = oc_fail(err, "%ld: %.*s", r.status, (int)(r.body.len > 400 ? 400 : r.body.len), r.body.data);
        else rc = oc_fail(err, "%ld", r.status);
    }
    if (!rc) {
        json_t *j = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
        const char *tok = json_string_value(json_object_get(j, "token"));
        if (!tok) tok = json_string_value(json_object_get(j, "access_token"));
        if (tok) {
            free(c->token);
            c->token = oc_strdup(tok);
        } else {
            rc = oc_fail(err, "unauthorized: no token in the token server's answer");
        }
        json_decref(j);
    }
    reg_resp_free(&r);
    free(sig);
    free(url);
    oc_buf_free(&msg);
    oc_buf_free(&hdr);
    return rc;
}
