/* test_siwe.c - Sign-In with Ethereum against tests/vectors/siwe_js.txt
 * (messages written and parsed by the npm `siwe` package, signed by ethers:
 * every vector parses to the same fields and verifies, or is refused, as the
 * file says and consistently with siwe's own verdict), then every rejection
 * class with its exact result code, the limits, RFC 3339 edge cases, the
 * signature checks and the EIP-1271 client rules that need no chain (a node
 * that is down, one that never answers, a client that may retry). The
 * EIP-1271 calls against real contracts are in
 * tests/integration/test_siwe_1271.c. */
#include "harness.h"
#include "siwe.h"
#include "vectors.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "hex.h"

#define VEC_PATH "tests/vectors/siwe_js.txt"
#define MSG_CAP (SIWE_MESSAGE_BYTES_MAX + 64)
#define NOW 1704067210 /* 2024-01-01T00:00:10Z */

/* The "basic" vector's message (siwe_js.txt) and its signature by anvil account 0. */
static const char base_msg[] = "localhost:8080 wants you to sign in with your Ethereum account:\n"
                               "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n"
                               "\n"
                               "Sign in to watch the stream.\n"
                               "\n"
                               "URI: http://localhost:8080\n"
                               "Version: 1\n"
                               "Chain ID: 31337\n"
                               "Nonce: 32891756abcdef01\n"
                               "Issued At: 2024-01-01T00:00:00Z";
static const char base_sig[] = "0xb2c4143af308b7e4932b7bc39a8628aab709fd232a92b5f445d2523bf0c11aab"
                               "30da2d2b78678b842dd7055ed975f62227a2acd917c51837f078cd798b08fc641b";
/* secp256k1 n, as hex */
static const char curve_n[] = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

static struct vec_file vecs;
static const struct siwe_expect expect_base = {"localhost:8080", "http", 31337, NOW};

/* ---- helpers ------------------------------------------------------------------------------- */

/* The value of "key=value" among a vector line's fields, or NULL. */
static const char *kv(const struct vec_line *l, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 1; i < l->field_count; i++)
        if (strncmp(l->field[i], key, n) == 0 && l->field[i][n] == '=')
            return l->field[i] + n + 1;
    return NULL;
}

/* The message text of vector `name` (decoded from its msg line) into buf. */
static size_t vec_message(char *buf, size_t cap, const char *name)
{
    for (size_t i = 0; i < vecs.line_count; i++) {
        const struct vec_line *l = &vecs.line[i];
        if (l->field_count == 3 && strcmp(l->field[0], "msg") == 0 &&
            strcmp(l->field[1], name) == 0) {
            size_t n = 0;
            if (hex_decode((uint8_t *)buf, cap, &n, l->field[2], strlen(l->field[2]), NULL) !=
                HEX_OK)
                return 0;
            return n;
        }
    }
    return 0;
}

/* out = base_msg with the first `from` replaced by `to`. */
static size_t edit(char out[MSG_CAP], const char *from, const char *to)
{
    const char *at = strstr(base_msg, from);
    if (at == NULL) {
        fprintf(stdout, "# edit: '%s' not in the base message\n", from);
        abort();
    }
    int n =
        snprintf(out, MSG_CAP, "%.*s%s%s", (int)(at - base_msg), base_msg, to, at + strlen(from));
    if (n < 0 || n >= MSG_CAP)
        abort();
    return (size_t)n;
}

/* siwe_parse() of text[0..len) must give `want`; on failure *out untouched
 * and e set. `where` names the case in failure messages. */
static void expect_parse_at(const char *text, size_t len, enum siwe_result want, const char *where)
{
    struct siwe_message m;
    memset(&m, 0x5c, sizeof m);
    struct err e = {0};
    enum siwe_result r = siwe_parse(&m, text, len, &e);
    CHECK_MSG(r == want, "%s: got %s (%d), want %s: %s", where, siwe_result_slug(r), r,
              siwe_result_slug(want), e.msg);
    if (r != SIWE_OK) {
        CHECK_MSG(e.code == (int)r && e.msg[0] != '\0', "%s: error not set", where);
        const unsigned char *p = (const unsigned char *)&m;
        size_t touched = 0;
        for (size_t i = 0; i < sizeof m; i++)
            touched += p[i] != 0x5c;
        CHECK_MSG(touched == 0, "%s: output touched on error", where);
    }
}

static void expect_parse_n(const char *text, size_t len, enum siwe_result want, int line)
{
    char where[32];
    snprintf(where, sizeof where, "line %d", line);
    expect_parse_at(text, len, want, where);
}
#define EXPECT_PARSE(text, want) expect_parse_n((text), strlen(text), (want), __LINE__)

/* One edit of base_msg (first `from` becomes `to`) and the parse result it must give. */
struct edit_case {
    const char *from, *to;
    enum siwe_result want;
};

static void expect_edits(const struct edit_case *c, size_t count, int line)
{
    for (size_t i = 0; i < count; i++) {
        char buf[MSG_CAP], where[48];
        size_t n = edit(buf, c[i].from, c[i].to);
        snprintf(where, sizeof where, "table at line %d, case %zu", line, i);
        expect_parse_at(buf, n, c[i].want, where);
    }
}
#define EXPECT_EDITS(cases) expect_edits((cases), sizeof(cases) / sizeof((cases)[0]), __LINE__)

static void expect_edit_n(const char *from, const char *to, enum siwe_result want, int line)
{
    struct edit_case c = {from, to, want};
    expect_edits(&c, 1, line);
}
#define EXPECT_EDIT(from, to, want) expect_edit_n((from), (to), (want), __LINE__)

/* base_msg edited, parsed and checked against expect_base at `now`. */
static enum siwe_result check_edit(const char *from, const char *to, int64_t now)
{
    char buf[MSG_CAP];
    size_t n = edit(buf, from, to);
    struct siwe_message m;
    if (siwe_parse(&m, buf, n, NULL) != SIWE_OK)
        return SIWE_ERR_INTERNAL;
    struct siwe_expect x = expect_base;
    x.now_s = now;
    struct err e = {0};
    enum siwe_result r = siwe_check(&m, &x, &e);
    CHECK(r == SIWE_OK || e.code == (int)r);
    return r;
}

/* siwe_verify() of base_msg with `sig` and no rpc. */
static enum siwe_result verify_base(const char *sig)
{
    struct siwe_message m;
    enum siwe_signer signer = SIWE_SIGNER_ACCOUNT;
    struct err e = {0};
    enum siwe_result r = siwe_verify(&m, &signer, base_msg, strlen(base_msg), sig, strlen(sig),
                                     &expect_base, NULL, &e);
    CHECK(r == SIWE_OK ? signer == SIWE_SIGNER_ACCOUNT : signer == SIWE_SIGNER_NONE);
    CHECK(r == SIWE_OK || (e.code == (int)r && e.msg[0] != '\0'));
    return r;
}

/* base_sig with hex digits [pos, pos + len) replaced by `with`. */
static void sig_with(char out[SIWE_SIGNATURE_HEX_LEN + 1], size_t pos, const char *with)
{
    memcpy(out, base_sig, sizeof base_sig);
    memcpy(out + 2 + pos, with, strlen(with));
}

/* ---- vectors ------------------------------------------------------------------------------- */

static bool span_eq_hex(struct siwe_span s, const char *hex)
{
    uint8_t buf[SIWE_MESSAGE_BYTES_MAX];
    size_t n = 0;
    return hex_decode(buf, sizeof buf, &n, hex, strlen(hex), NULL) == HEX_OK && n == s.len &&
           (n == 0 || memcmp(buf, s.ptr, n) == 0);
}

static bool span_eq(struct siwe_span s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

/* Our fields against siwe's ("-" = absent). */
static void check_fields(const struct siwe_message *m, const struct vec_line *l)
{
    const char *scheme = kv(l, "scheme"), *statement = kv(l, "statement"), *rid = kv(l, "rid");
    const char *exp = kv(l, "exp"), *nbf = kv(l, "nbf"), *res = kv(l, "res");
    char addr[ADDRESS_TEXT_SIZE], num[32];
    address_format_checksum(addr, &m->address);
    CHECK_STR(addr, kv(l, "address"));
    CHECK(strcmp(scheme, "-") == 0 ? !m->has_scheme : m->has_scheme && span_eq(m->scheme, scheme));
    CHECK(span_eq(m->domain, kv(l, "domain")));
    CHECK(strcmp(statement, "-") == 0 ? !m->has_statement
                                      : m->has_statement && span_eq_hex(m->statement, statement));
    CHECK(span_eq(m->uri, kv(l, "uri")));
    snprintf(num, sizeof num, "%llu", (unsigned long long)m->chain_id);
    CHECK_STR(num, kv(l, "chain"));
    CHECK_STR(m->nonce, kv(l, "nonce"));
    CHECK_INT(m->nonce_len, strlen(kv(l, "nonce")));
    snprintf(num, sizeof num, "%lld", (long long)m->issued_at.unix_s);
    CHECK_STR(num, kv(l, "iat"));
    snprintf(num, sizeof num, "%lld", (long long)m->expiration_time.unix_s);
    CHECK(strcmp(exp, "-") == 0 ? !m->has_expiration_time
                                : m->has_expiration_time && strcmp(num, exp) == 0);
    snprintf(num, sizeof num, "%lld", (long long)m->not_before.unix_s);
    CHECK(strcmp(nbf, "-") == 0 ? !m->has_not_before : m->has_not_before && strcmp(num, nbf) == 0);
    CHECK(strcmp(rid, "-") == 0 ? !m->has_request_id
                                : m->has_request_id && span_eq_hex(m->request_id, rid));
    CHECK(strcmp(res, "-") == 0 ? !m->has_resources : m->has_resources);
    size_t count = 0;
    char item[SIWE_URI_BYTES_MAX * 2 + 1];
    for (const char *p = res; m->has_resources && *p != '\0' && count <= SIWE_RESOURCES_MAX;) {
        size_t n = strcspn(p, ",");
        snprintf(item, sizeof item, "%.*s", (int)n, p);
        CHECK(count < m->resources_count && span_eq_hex(m->resources[count], item));
        count++;
        p += n + (p[n] == ',');
    }
    CHECK_INT(count, m->resources_count);
}

static void test_vector_fields(void)
{
    size_t checked = 0;
    for (size_t i = 0; i < vecs.line_count; i++) {
        const struct vec_line *l = &vecs.line[i];
        if (strcmp(l->field[0], "fields") != 0)
            continue;
        char buf[MSG_CAP];
        size_t n = vec_message(buf, sizeof buf, l->field[1]);
        CHECK_MSG(n > 0, "no message for %s", l->field[1]);
        struct siwe_message m;
        struct err e = {0};
        enum siwe_result r = siwe_parse(&m, buf, n, &e);
        CHECK_MSG(r == SIWE_OK, "%s: %s", l->field[1], e.msg);
        if (r == SIWE_OK)
            check_fields(&m, l);
        checked++;
    }
    CHECK_INT(checked, 19);
    fprintf(stdout, "# %zu vector messages parsed to siwe's fields\n", checked);
}

static enum siwe_result result_of_tag(const char *tag)
{
    for (int r = 0; r <= SIWE_ERR_INTERNAL; r++)
        if (strcmp(siwe_result_slug((enum siwe_result)r), tag) == 0)
            return (enum siwe_result)r;
    if (strcmp(tag, "high_s") == 0)
        return SIWE_ERR_SIGNATURE_HIGH_S;
    fprintf(stdout, "# unknown expect tag '%s'\n", tag);
    return SIWE_ERR_INTERNAL;
}

/* Our verdict must agree with siwe.verify()'s wherever siwe checks the same thing. */
static bool agrees_with_siwe(enum siwe_result r, const char *ref)
{
    if (strcmp(ref, "-") == 0)
        return true;
    if (strcmp(ref, "ok") == 0) /* siwe does not check chain id, scheme or issued-at */
        return r == SIWE_OK || r == SIWE_ERR_CHAIN_MISMATCH || r == SIWE_ERR_SCHEME_MISMATCH ||
               r == SIWE_ERR_ISSUED_IN_FUTURE;
    if (strncmp(ref, "Expired", 7) == 0)
        return r == SIWE_ERR_EXPIRED;
    if (strstr(ref, "not_valid_yet") != NULL)
        return r == SIWE_ERR_NOT_YET_VALID;
    if (strncmp(ref, "Domain", 6) == 0)
        return r == SIWE_ERR_DOMAIN_MISMATCH;
    if (strncmp(ref, "Signature", 9) == 0)
        return r == SIWE_ERR_SIGNER_MISMATCH;
    return false;
}

static void check_sig_line(const struct vec_line *l, const char *msg, size_t msg_len)
{
    const char *sig = kv(l, "signature"), *hash_hex = kv(l, "hash"),
               *recovered = kv(l, "recovered");
    uint8_t hash[32], want_hash[32];
    CHECK(sig_hash_personal_message(hash, (const uint8_t *)msg, msg_len, NULL) == SIG_OK);
    CHECK(vec_hex_exact(want_hash, 32, hash_hex));
    CHECK_MEM(hash, want_hash, 32);
    struct siwe_expect x = expect_base;
    uint64_t now = 0;
    CHECK(sscanf(kv(l, "now"), "%llu", (unsigned long long *)&now) == 1);
    x.now_s = (int64_t)now;
    struct siwe_message m;
    memset(&m, 0, sizeof m);
    enum siwe_signer signer = SIWE_SIGNER_NONE;
    struct err e = {0};
    enum siwe_result r = siwe_verify(&m, &signer, msg, msg_len, sig, strlen(sig), &x, NULL, &e);
    enum siwe_result want = result_of_tag(kv(l, "expect"));
    CHECK_MSG(r == want, "%s %s: got %s, want %s: %s", l->field[1], l->field[2],
              siwe_result_slug(r), siwe_result_slug(want), e.msg);
    CHECK_MSG(agrees_with_siwe(r, kv(l, "ref")), "%s %s: %s vs siwe's %s", l->field[1], l->field[2],
              siwe_result_slug(r), kv(l, "ref"));
    if (r == SIWE_OK) {
        char a[ADDRESS_TEXT_SIZE];
        address_format_checksum(a, &m.address);
        CHECK_STR(a, recovered);
        CHECK_INT(signer, SIWE_SIGNER_ACCOUNT);
    }
    char v[8];
    snprintf(v, sizeof v, "%u", hex_digit_value(sig[130]) * 16 + hex_digit_value(sig[131]));
    CHECK_STR(v, kv(l, "v"));
}

static void test_vector_signatures(void)
{
    size_t checked = 0, ok = 0;
    for (size_t i = 0; i < vecs.line_count; i++) {
        const struct vec_line *l = &vecs.line[i];
        if (strcmp(l->field[0], "sig") != 0)
            continue;
        char msg[MSG_CAP];
        size_t n = vec_message(msg, sizeof msg, l->field[1]);
        CHECK_MSG(n > 0, "no message for %s", l->field[1]);
        check_sig_line(l, msg, n);
        checked++;
        ok += strcmp(kv(l, "expect"), "ok") == 0;
    }
    CHECK_INT(checked, 65);
    CHECK_INT(ok, 26);
    fprintf(stdout, "# %zu vector signatures (%zu valid) verified or refused as expected\n",
            checked, ok);
}

/* ---- grammar rejections -------------------------------------------------------------------- */

static void test_base_message(void)
{
    struct siwe_message m;
    struct err e = {0};
    CHECK_INT(siwe_parse(&m, base_msg, strlen(base_msg), &e), SIWE_OK);
    CHECK(!m.has_scheme && m.has_statement && !m.has_expiration_time && !m.has_not_before);
    CHECK(!m.has_request_id && !m.has_resources && m.resources_count == 0);
    CHECK(span_eq(m.statement, "Sign in to watch the stream."));
    CHECK(span_eq(m.issued_at.text, "2024-01-01T00:00:00Z"));
    CHECK_INT(m.issued_at.unix_s, 1704067200);
    CHECK_STR(m.nonce, "32891756abcdef01");
    CHECK_INT(siwe_check(&m, &expect_base, &e), SIWE_OK);
    CHECK_INT(verify_base(base_sig), SIWE_OK);
}

static void test_bytes_and_size(void)
{
    EXPECT_EDIT("account:\n", "account:\r\n", SIWE_ERR_CR);
    EXPECT_EDIT("Issued At: 2024-01-01T00:00:00Z", "Issued At: 2024-01-01T00:00:00Z\r",
                SIWE_ERR_CR);
    EXPECT_EDIT("Sign in", "Sign\tin", SIWE_ERR_BAD_BYTE);
    EXPECT_EDIT("Sign in", "Sign\x7fin", SIWE_ERR_BAD_BYTE);
    EXPECT_EDIT("Sign in", "Sign \xc3\xa9in", SIWE_ERR_BAD_BYTE);
    char buf[MSG_CAP];
    memcpy(buf, base_msg, sizeof base_msg);
    buf[10] = '\0';
    expect_parse_n(buf, strlen(base_msg), SIWE_ERR_BAD_BYTE, __LINE__);
    EXPECT_PARSE("", SIWE_ERR_HEADER);
    memcpy(buf, base_msg, sizeof base_msg);
    /* exactly SIWE_MESSAGE_BYTES_MAX bytes is fine, one more is not */
    size_t n = strlen(base_msg);
    n += (size_t)snprintf(buf + n, MSG_CAP - n, "\nResources:");
    for (int i = 0; i < 4; i++) {
        size_t fill = i < 3 ? 1000 : SIWE_MESSAGE_BYTES_MAX - n - strlen("\n- https://a/");
        n += (size_t)snprintf(buf + n, MSG_CAP - n, "\n- https://a/%0*d", (int)fill, 0);
    }
    CHECK_INT(n, SIWE_MESSAGE_BYTES_MAX);
    expect_parse_n(buf, n, SIWE_OK, __LINE__);
    buf[n++] = '0';
    expect_parse_n(buf, n, SIWE_ERR_TOO_LONG, __LINE__);
}

static void test_header_scheme_domain(void)
{
    static const struct edit_case cases[] = {
        {"Ethereum account:", "ethereum account:", SIWE_ERR_HEADER},
        {" wants you", "  wants you", SIWE_ERR_BAD_DOMAIN},
        {"localhost:8080 wants", " wants", SIWE_ERR_BAD_DOMAIN},
        {"localhost:8080 wants", "http:// wants", SIWE_ERR_BAD_DOMAIN},
        {"localhost:8080 wants", "local host:8080 wants", SIWE_ERR_BAD_DOMAIN},
        {"localhost:8080 wants", "localhost:808080 wants", SIWE_ERR_BAD_DOMAIN},
        {"localhost:8080 wants", "localhost:80a wants", SIWE_ERR_BAD_DOMAIN},
        {"localhost:8080 wants", "localhost/x wants", SIWE_ERR_BAD_DOMAIN},
        {"localhost:8080 wants", "[::1 wants", SIWE_ERR_BAD_DOMAIN},
        {"localhost:8080 wants", "[] wants", SIWE_ERR_BAD_DOMAIN},
        {"localhost:8080 wants", "a@b@c wants", SIWE_ERR_BAD_DOMAIN},
        {"localhost:8080 wants", "%zz wants", SIWE_ERR_BAD_DOMAIN},
        {"localhost:8080 wants", "[::1]x wants", SIWE_ERR_BAD_DOMAIN},
        {"localhost:8080 wants", "[::1]:8080 wants", SIWE_OK},
        {"localhost:8080 wants", "user:pw@ex%41mple.com: wants", SIWE_OK},
        {"localhost:8080 wants", "1http://localhost:8080 wants", SIWE_ERR_BAD_SCHEME},
        {"localhost:8080 wants", "ht_tp://localhost:8080 wants", SIWE_ERR_BAD_SCHEME},
        {"localhost:8080 wants", "://localhost:8080 wants", SIWE_ERR_BAD_SCHEME},
        {"localhost:8080 wants", "a23456789012345678901234567890123://x wants",
         SIWE_ERR_BAD_SCHEME},
        {"localhost:8080 wants", "a2345678901234567890123456789012://x wants", SIWE_OK},
        {"localhost:8080 wants", "coap+tcp://localhost:8080 wants", SIWE_OK},
    };
    EXPECT_EDITS(cases);
    /* a domain of exactly the maximum, and one byte more */
    char d[SIWE_DOMAIN_BYTES_MAX + 16];
    memset(d, 'a', SIWE_DOMAIN_BYTES_MAX);
    strcpy(d + SIWE_DOMAIN_BYTES_MAX, " wants");
    EXPECT_EDIT("localhost:8080 wants", d, SIWE_OK);
    memset(d, 'a', SIWE_DOMAIN_BYTES_MAX + 1);
    strcpy(d + SIWE_DOMAIN_BYTES_MAX + 1, " wants");
    EXPECT_EDIT("localhost:8080 wants", d, SIWE_ERR_BAD_DOMAIN);
}

static void test_address_line(void)
{
    const char *a = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    const struct edit_case cases[] = {
        {a, "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", SIWE_ERR_ADDRESS_CASE},
        {a, "0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266", SIWE_ERR_ADDRESS_CASE},
        {a, "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266", SIWE_ERR_ADDRESS_CASE},
        {a, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb9226", SIWE_ERR_BAD_ADDRESS},
        {a, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb922660", SIWE_ERR_BAD_ADDRESS},
        {a, "0Xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", SIWE_ERR_BAD_ADDRESS},
        {a, "0xg39Fd6e51aad88F6F4ce6aB8827279cffFb92266", SIWE_ERR_BAD_ADDRESS},
        {a, "f39Fd6e51aad88F6F4ce6aB8827279cffFb92266", SIWE_ERR_BAD_ADDRESS},
        {a, " 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", SIWE_ERR_BAD_ADDRESS},
        /* an address whose checksum has no letters to case is accepted as written */
        {a, "0x0000000000000000000000000000000000000000", SIWE_OK},
    };
    EXPECT_EDITS(cases);
    EXPECT_PARSE("localhost:8080 wants you to sign in with your Ethereum account:",
                 SIWE_ERR_BAD_ADDRESS);
}

static void test_layout_and_statement(void)
{
    static const struct edit_case cases[] = {
        {"92266\n\nSign", "92266\nSign", SIWE_ERR_LAYOUT},
        {"stream.\n\nURI", "stream.\nURI", SIWE_ERR_LAYOUT},
        {"Sign in to watch the stream.", "Sign in\nto watch the stream.", SIWE_ERR_STATEMENT_LINES},
        {"Sign in to watch the stream.\n", "", SIWE_OK}, /* no statement: two blank lines */
        {"Sign in to watch the stream.", "", SIWE_OK},   /* empty statement: three */
        /* one blank line (siwe 1.x without a statement): "URI: " reads as the statement */
        {"\nSign in to watch the stream.\n", "", SIWE_ERR_LAYOUT},
        {"\n\nURI", "\n\n\nURI", SIWE_ERR_MISSING_FIELD},
        {"stream.", "stream \"quoted\"", SIWE_ERR_BAD_STATEMENT},
        {"stream.", "stream 100%", SIWE_ERR_BAD_STATEMENT},
        {"stream.", "stream <b>", SIWE_ERR_BAD_STATEMENT},
        {"stream.", "stream: https://x/?a=[1]#f (ok) ~ 'yes' @me!$&*+,;=", SIWE_OK},
    };
    EXPECT_EDITS(cases);
    char s[SIWE_STATEMENT_BYTES_MAX + 2];
    memset(s, 'x', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    EXPECT_EDIT("Sign in to watch the stream.", s, SIWE_ERR_BAD_STATEMENT);
    s[sizeof s - 2] = '\0';
    EXPECT_EDIT("Sign in to watch the stream.", s, SIWE_OK);
}

static void test_required_fields(void)
{
    static const struct edit_case cases[] = {
        {"Version: 1\n", "", SIWE_ERR_MISSING_FIELD},
        {"URI: ", "URL: ", SIWE_ERR_MISSING_FIELD},
        {"\nIssued At: 2024-01-01T00:00:00Z", "", SIWE_ERR_MISSING_FIELD},
        {"Version: 1\nChain ID: 31337", "Chain ID: 31337\nVersion: 1", SIWE_ERR_FIELD_ORDER},
        {"Version: 1\n", "URI: http://localhost:8080\nVersion: 1\n", SIWE_ERR_FIELD_ORDER},
        {"Nonce: 32891756abcdef01\n", "Nonce: 32891756abcdef01\nNonce: 32891756abcdef01\n",
         SIWE_ERR_FIELD_ORDER},
        {"URI: http://localhost:8080", "URI: //localhost:8080", SIWE_ERR_BAD_URI},
        {"URI: http://localhost:8080", "URI: ", SIWE_ERR_BAD_URI},
        {"URI: http://localhost:8080", "URI: http://local host", SIWE_ERR_BAD_URI},
        {"URI: http://localhost:8080", "URI: http://x/%zz", SIWE_ERR_BAD_URI},
        {"URI: http://localhost:8080", "URI: http://x/\"", SIWE_ERR_BAD_URI},
        {"URI: http://localhost:8080", "URI: urn:uuid:0b4e8f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
         SIWE_OK},
        {"Version: 1", "Version: 2", SIWE_ERR_BAD_VERSION},
        {"Version: 1", "Version: 1 ", SIWE_ERR_BAD_VERSION},
        {"Version: 1", "Version: ", SIWE_ERR_BAD_VERSION},
        {"Chain ID: 31337", "Chain ID: 9007199254740992", SIWE_OK},
        {"Chain ID: 31337", "Chain ID: 1", SIWE_OK},
        {"Nonce: 32891756abcdef01", "Nonce: abc1234", SIWE_ERR_BAD_NONCE},
        {"Nonce: 32891756abcdef01", "Nonce: abcd-1234", SIWE_ERR_BAD_NONCE},
        {"Nonce: 32891756abcdef01", "Nonce: ", SIWE_ERR_BAD_NONCE},
        {"Nonce: 32891756abcdef01", "Nonce: abcd1234", SIWE_OK},
    };
    EXPECT_EDITS(cases);
}

static void test_field_limits(void)
{
    char u[SIWE_URI_BYTES_MAX + 16];
    int n = snprintf(u, sizeof u, "URI: http://a/");
    memset(u + n, 'b', SIWE_URI_BYTES_MAX - 9);
    u[n + SIWE_URI_BYTES_MAX - 9] = '\0';
    EXPECT_EDIT("URI: http://localhost:8080", u, SIWE_OK);
    strcat(u, "c");
    EXPECT_EDIT("URI: http://localhost:8080", u, SIWE_ERR_BAD_URI);
    static const char *const bad_chain[] = {
        "0", "01", "-1", "1a", "", " 1", "9007199254740993", "18446744073709551616"};
    char to[64];
    for (size_t i = 0; i < sizeof bad_chain / sizeof bad_chain[0]; i++) {
        snprintf(to, sizeof to, "Chain ID: %s", bad_chain[i]);
        EXPECT_EDIT("Chain ID: 31337", to, SIWE_ERR_BAD_CHAIN_ID);
    }
    char nonce[SIWE_NONCE_BYTES_MAX + 16] = "Nonce: ";
    memset(nonce + 7, 'Z', SIWE_NONCE_BYTES_MAX);
    EXPECT_EDIT("Nonce: 32891756abcdef01", nonce, SIWE_OK);
    nonce[7 + SIWE_NONCE_BYTES_MAX] = '9';
    EXPECT_EDIT("Nonce: 32891756abcdef01", nonce, SIWE_ERR_BAD_NONCE);
}

static void test_optional_fields(void)
{
    const char *iat = "Issued At: 2024-01-01T00:00:00Z";
    char to[2048];
#define TAIL(text) (snprintf(to, sizeof to, "%s%s", iat, (text)), to)
    EXPECT_EDIT(iat,
                TAIL("\nExpiration Time: 2024-01-02T00:00:00Z\nNot Before: 2024-01-01T00:00:00Z"
                     "\nRequest ID: abc\nResources:\n- https://a/\n- ipfs://b"),
                SIWE_OK);
    EXPECT_EDIT(iat,
                TAIL("\nNot Before: 2024-01-01T00:00:00Z\nExpiration Time: 2024-01-02T00:00:00Z"),
                SIWE_ERR_FIELD_ORDER);
    EXPECT_EDIT(
        iat, TAIL("\nExpiration Time: 2024-01-02T00:00:00Z\nExpiration Time: 2024-01-02T00:00:00Z"),
        SIWE_ERR_FIELD_ORDER);
    EXPECT_EDIT(iat, TAIL("\nResources:\nRequest ID: a"), SIWE_ERR_FIELD_ORDER);
    EXPECT_EDIT(iat, TAIL("\nIssued At: 2024-01-01T00:00:00Z"), SIWE_ERR_FIELD_ORDER);
    EXPECT_EDIT(iat, TAIL("\nNonce: abcdefgh"), SIWE_ERR_FIELD_ORDER);
    EXPECT_EDIT(iat, TAIL("\nResources:\nResources:"), SIWE_ERR_FIELD_ORDER);
    EXPECT_EDIT(iat, TAIL("\n"), SIWE_ERR_EXTRA_LINE);
    EXPECT_EDIT(iat, TAIL("\nResources:\n- https://a/\n"), SIWE_ERR_EXTRA_LINE);
    EXPECT_EDIT(iat, TAIL("\n\n"), SIWE_ERR_EXTRA_LINE);
    EXPECT_EDIT(iat, TAIL("\nFoo: bar"), SIWE_ERR_EXTRA_LINE);
    EXPECT_EDIT(iat, TAIL("\n- https://a/"), SIWE_ERR_EXTRA_LINE);
    EXPECT_EDIT(iat, TAIL("\nRequest ID: "), SIWE_OK);
    EXPECT_EDIT(iat, TAIL("\nRequest ID: a b"), SIWE_ERR_BAD_REQUEST_ID);
    EXPECT_EDIT(iat, TAIL("\nRequest ID: a/b"), SIWE_ERR_BAD_REQUEST_ID);
    EXPECT_EDIT(iat, TAIL("\nRequest ID: %zz"), SIWE_ERR_BAD_REQUEST_ID);
    EXPECT_EDIT(iat, TAIL("\nResources: x"), SIWE_ERR_BAD_RESOURCE);
    EXPECT_EDIT(iat, TAIL("\nResources:\n-https://a/"), SIWE_ERR_BAD_RESOURCE);
    EXPECT_EDIT(iat, TAIL("\nResources:\n- not a uri"), SIWE_ERR_BAD_RESOURCE);
    EXPECT_EDIT(iat, TAIL("\nResources:\n- "), SIWE_ERR_BAD_RESOURCE);
    char rid[SIWE_REQUEST_ID_BYTES_MAX + 32];
    int n = snprintf(rid, sizeof rid, "\nRequest ID: ");
    memset(rid + n, 'r', SIWE_REQUEST_ID_BYTES_MAX);
    rid[n + SIWE_REQUEST_ID_BYTES_MAX] = '\0';
    EXPECT_EDIT(iat, TAIL(rid), SIWE_OK);
    strcat(rid, "r");
    EXPECT_EDIT(iat, TAIL(rid), SIWE_ERR_BAD_REQUEST_ID);
    /* SIWE_RESOURCES_MAX items, then one more */
    char res[1024];
    n = snprintf(res, sizeof res, "\nResources:");
    for (int i = 0; i < SIWE_RESOURCES_MAX; i++)
        n += snprintf(res + n, sizeof res - (size_t)n, "\n- https://a/%d", i);
    EXPECT_EDIT(iat, TAIL(res), SIWE_OK);
    strcat(res, "\n- https://a/last");
    EXPECT_EDIT(iat, TAIL(res), SIWE_ERR_TOO_MANY_RESOURCES);
#undef TAIL
}

/* ---- RFC 3339 ----------------------------------------------------------------------------------
 */

static void expect_time(const char *text, int64_t unix_s, uint32_t nanos)
{
    struct siwe_time t;
    memset(&t, 0, sizeof t);
    struct err e = {0};
    enum siwe_result r = siwe_time_parse(&t, text, strlen(text), &e);
    CHECK_MSG(r == SIWE_OK && t.unix_s == unix_s && t.nanos == nanos,
              "'%s': r=%d unix=%lld nanos=%u: %s", text, r, (long long)t.unix_s, t.nanos, e.msg);
    CHECK(t.text.ptr == text && t.text.len == strlen(text));
}

static void test_rfc3339_valid(void)
{
    /* unix times from Python's datetime (calendar.timegm), leap seconds as the next second */
    expect_time("1970-01-01T00:00:00Z", 0, 0);
    expect_time("2024-01-01T00:00:00Z", 1704067200, 0);
    expect_time("2024-01-01t00:00:00z", 1704067200, 0);
    expect_time("2024-01-01T05:30:00.5+05:30", 1704067200, 500000000);
    expect_time("2023-12-31T19:00:00-05:00", 1704067200, 0);
    expect_time("2024-01-01T00:00:00-00:00", 1704067200, 0);
    expect_time("2024-02-29T23:59:59.999999999Z", 1709251199, 999999999);
    expect_time("2024-06-01T12:00:00.123Z", 1717243200, 123000000);
    expect_time("2000-02-29T00:00:00Z", 951782400, 0);
    expect_time("1969-12-31T23:59:59Z", -1, 0);
    expect_time("0000-01-01T00:00:00Z", -62167219200, 0);
    expect_time("9999-12-31T23:59:59+00:00", 253402300799, 0);
    expect_time("9999-12-31T23:59:59.1-23:59", 253402300799 + 86340, 100000000);
    expect_time("0000-01-01T00:00:00+23:59", -62167219200 - 86340, 0);
    /* leap seconds: 23:59:60 UTC on the last day of a month */
    expect_time("2016-12-31T23:59:60Z", 1483228800, 0);
    expect_time("2017-01-01T00:59:60+01:00", 1483228800, 0);
    expect_time("2016-12-31T18:59:60.5-05:00", 1483228800, 500000000);
    expect_time("2015-06-30T23:59:60Z", 1435708800, 0);
    expect_time("2024-02-29T23:59:60Z", 1709251200, 0);
}

static void test_rfc3339_invalid(void)
{
    static const char *const bad[] = {
        "",
        "2024-01-01",
        "2024-01-01T00:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01 00:00:00Z",
        "2024-01-01_00:00:00Z",
        "2024/01/01T00:00:00Z",
        "24-01-01T00:00:00Z",
        "2024-1-01T00:00:00Z",
        "2024-00-01T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-01-00T00:00:00Z",
        "2024-01-32T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2024-04-31T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:60:00Z",
        "2024-01-01T00:00:61Z",
        "2024-01-01T00:00:60Z",      /* not a leap second: not 23:59 UTC */
        "2024-01-30T23:59:60Z",      /* not the month's last day */
        "2016-12-31T23:59:60+01:00", /* 22:59:60 UTC */
        "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00.1234567890Z",
        "2024-01-01T00:00:00,5Z",
        "2024-01-01T00:00:00+24:00",
        "2024-01-01T00:00:00+00:60",
        "2024-01-01T00:00:00+0100",
        "2024-01-01T00:00:00+01",
        "2024-01-01T00:00:00ZZ",
        "2024-01-01T00:00:00Z ",
        " 2024-01-01T00:00:00Z",
        "+2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.123456789+23:59x",
        "2024-01-01T00:00:00UTC",
        "2024-0a-01T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct siwe_time t;
        memset(&t, 0x5c, sizeof t);
        struct err e = {0};
        enum siwe_result r = siwe_time_parse(&t, bad[i], strlen(bad[i]), &e);
        CHECK_MSG(r == SIWE_ERR_BAD_TIME, "'%s' gave %d", bad[i], r);
        CHECK(e.code == SIWE_ERR_BAD_TIME && t.unix_s == 0x5c5c5c5c5c5c5c5c);
    }
    /* in each time field of a message */
    EXPECT_EDIT("2024-01-01T00:00:00Z", "2024-02-30T00:00:00Z", SIWE_ERR_BAD_TIME);
    const char *iat = "Issued At: 2024-01-01T00:00:00Z";
    EXPECT_EDIT(iat, "Issued At: 2024-01-01T00:00:00Z\nExpiration Time: 2024-01-01T25:00:00Z",
                SIWE_ERR_BAD_TIME);
    EXPECT_EDIT(iat, "Issued At: 2024-01-01T00:00:00Z\nNot Before: yesterday", SIWE_ERR_BAD_TIME);
}

/* ---- expectations ------------------------------------------------------------------------------
 */

static void test_check_expectations(void)
{
    const char *iat = "Issued At: 2024-01-01T00:00:00Z";
    CHECK_INT(check_edit("localhost:8080 wants", "localhost:8081 wants", NOW),
              SIWE_ERR_DOMAIN_MISMATCH);
    CHECK_INT(check_edit("localhost:8080 wants", "LOCALHOST:8080 wants", NOW),
              SIWE_ERR_DOMAIN_MISMATCH);
    CHECK_INT(check_edit("localhost:8080 wants", "localhost wants", NOW), SIWE_ERR_DOMAIN_MISMATCH);
    CHECK_INT(check_edit("localhost:8080 wants", "https://localhost:8080 wants", NOW),
              SIWE_ERR_SCHEME_MISMATCH);
    CHECK_INT(check_edit("localhost:8080 wants", "httpx://localhost:8080 wants", NOW),
              SIWE_ERR_SCHEME_MISMATCH);
    CHECK_INT(check_edit("localhost:8080 wants", "http://localhost:8080 wants", NOW), SIWE_OK);
    CHECK_INT(check_edit("localhost:8080 wants", "HTTP://localhost:8080 wants", NOW), SIWE_OK);
    CHECK_INT(check_edit("Chain ID: 31337", "Chain ID: 1", NOW), SIWE_ERR_CHAIN_MISMATCH);
    CHECK_INT(check_edit("Chain ID: 31337", "Chain ID: 313370", NOW), SIWE_ERR_CHAIN_MISMATCH);
    /* expiration: valid strictly before the second it names */
    const char *exp = "Issued At: 2024-01-01T00:00:00Z\nExpiration Time: 2024-01-01T00:01:00.5Z";
    CHECK_INT(check_edit(iat, exp, 1704067259), SIWE_OK);
    CHECK_INT(check_edit(iat, exp, 1704067260), SIWE_ERR_EXPIRED);
    CHECK_INT(check_edit(iat, exp, 1704067261), SIWE_ERR_EXPIRED);
    /* not before: valid from the first whole second at or after it */
    const char *nbf = "Issued At: 2024-01-01T00:00:00Z\nNot Before: 2024-01-01T00:00:20.5Z";
    CHECK_INT(check_edit(iat, nbf, 1704067220), SIWE_ERR_NOT_YET_VALID);
    CHECK_INT(check_edit(iat, nbf, 1704067221), SIWE_OK);
    nbf = "Issued At: 2024-01-01T00:00:00Z\nNot Before: 2024-01-01T00:00:20Z";
    CHECK_INT(check_edit(iat, nbf, 1704067219), SIWE_ERR_NOT_YET_VALID);
    CHECK_INT(check_edit(iat, nbf, 1704067220), SIWE_OK);
    /* issued at: at most SIWE_ISSUED_AT_SKEW_S ahead */
    CHECK_INT(check_edit(iat, iat, 1704067200 - SIWE_ISSUED_AT_SKEW_S), SIWE_OK);
    CHECK_INT(check_edit(iat, iat, 1704067200 - SIWE_ISSUED_AT_SKEW_S - 1),
              SIWE_ERR_ISSUED_IN_FUTURE);
    CHECK_INT(check_edit(iat, "Issued At: 2024-01-01T00:01:00.999Z", 1704067200), SIWE_OK);
    /* order of checks: domain before chain before time */
    CHECK_INT(check_edit("localhost:8080 wants you to sign in with your Ethereum account:\n"
                         "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                         "evil.example wants you to sign in with your Ethereum account:\n"
                         "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                         0),
              SIWE_ERR_DOMAIN_MISMATCH);
}

/* ---- signatures
 * ---------------------------------------------------------------------------------- */

static void test_signature_text(void)
{
    char s[SIWE_SIGNATURE_HEX_LEN + 8];
    CHECK_INT(verify_base(base_sig + 2), SIWE_ERR_SIGNATURE_ENCODING);
    snprintf(s, sizeof s, "0X%s", base_sig + 2);
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNATURE_ENCODING);
    sig_with(s, 7, "g");
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNATURE_ENCODING);
    snprintf(s, sizeof s, "%.*s", (int)strlen(base_sig) - 1, base_sig);
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNATURE_ENCODING);
    snprintf(s, sizeof s, "%.*s", (int)strlen(base_sig) - 2, base_sig);
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNATURE_LENGTH);
    snprintf(s, sizeof s, "%s00", base_sig);
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNATURE_LENGTH);
    CHECK_INT(verify_base("0x"), SIWE_ERR_SIGNATURE_LENGTH);
    CHECK_INT(verify_base(""), SIWE_ERR_SIGNATURE_ENCODING);
    /* uppercase hex digits are the same bytes */
    snprintf(s, sizeof s, "0x%s", base_sig + 2);
    for (char *p = s + 2; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 'a' + 'A' : *p);
    CHECK_INT(verify_base(s), SIWE_OK);
    uint8_t out[SIG_BYTES];
    memset(out, 0x5c, sizeof out);
    CHECK_INT(siwe_signature_parse(out, "0x12", 4, NULL), SIWE_ERR_SIGNATURE_LENGTH);
    CHECK(out[0] == 0x5c && out[64] == 0x5c);
}

static void test_signature_values(void)
{
    char s[SIWE_SIGNATURE_HEX_LEN + 1];
    static const char *const bad_v[] = {"1d", "1a", "02", "ff", "25", "26"};
    for (size_t i = 0; i < sizeof bad_v / sizeof bad_v[0]; i++) {
        sig_with(s, 128, bad_v[i]);
        CHECK_INT(verify_base(s), SIWE_ERR_SIGNATURE_V);
    }
    sig_with(s, 128, "00"); /* v 27 -> 0: the same signature */
    CHECK_INT(verify_base(s), SIWE_OK);
    sig_with(s, 128, "1c"); /* the other parity: another signer */
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNER_MISMATCH);
    sig_with(s, 128, "01");
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNER_MISMATCH);
    char zero[65];
    memset(zero, '0', 64);
    zero[64] = '\0';
    sig_with(s, 0, zero);
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNATURE_R);
    sig_with(s, 0, curve_n);
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNATURE_R);
    sig_with(s, 0, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNATURE_R);
    sig_with(s, 64, zero);
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNATURE_S);
    sig_with(s, 64, curve_n);
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNATURE_S);
    /* n/2 + 1 is high; n/2 itself is low (and recovers someone else) */
    sig_with(s, 64, "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1");
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNATURE_HIGH_S);
    sig_with(s, 64, "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0");
    CHECK_INT(verify_base(s), SIWE_ERR_SIGNER_MISMATCH);
    /* r = 5 is not the x of a curve point: nothing recovers */
    sig_with(s, 0, "0000000000000000000000000000000000000000000000000000000000000005");
    struct err e = {0};
    uint8_t raw[SIG_BYTES];
    CHECK_INT(siwe_signature_parse(raw, s, strlen(s), NULL), SIWE_OK);
    struct siwe_message m;
    CHECK_INT(siwe_parse(&m, base_msg, strlen(base_msg), NULL), SIWE_OK);
    enum siwe_signer signer = SIWE_SIGNER_CONTRACT;
    CHECK_INT(siwe_verify_signature(&signer, base_msg, strlen(base_msg), &m.address, raw, NULL, &e),
              SIWE_ERR_SIGNER_MISMATCH);
    CHECK_INT(signer, SIWE_SIGNER_NONE);
    CHECK(strstr(e.msg, "recovers no key") != NULL);
    /* one byte more of message: same signature, another hash */
    CHECK_INT(
        siwe_verify_signature(&signer, base_msg, strlen(base_msg) - 1, &m.address, raw, NULL, NULL),
        SIWE_ERR_SIGNER_MISMATCH);
    char big[SIWE_MESSAGE_BYTES_MAX + 1];
    memset(big, 'a', sizeof big);
    CHECK_INT(siwe_verify_signature(&signer, big, sizeof big, &m.address, raw, NULL, NULL),
              SIWE_ERR_TOO_LONG);
}

/* Message checks come before the signature: a bad signature on a wrong
 * message reports the message. */
static void test_verify_order(void)
{
    char msg[MSG_CAP];
    size_t n = edit(msg, "Chain ID: 31337", "Chain ID: 1");
    struct siwe_message m;
    memset(&m, 0x5c, sizeof m);
    enum siwe_signer signer = SIWE_SIGNER_ACCOUNT;
    CHECK_INT(siwe_verify(&m, &signer, msg, n, "0x00", 4, &expect_base, NULL, NULL),
              SIWE_ERR_CHAIN_MISMATCH);
    CHECK_INT(signer, SIWE_SIGNER_NONE);
    CHECK(m.chain_id == 0x5c5c5c5c5c5c5c5c);
    n = edit(msg, "Nonce: 32891756abcdef01", "Nonce: short");
    CHECK_INT(
        siwe_verify(&m, &signer, msg, n, base_sig, strlen(base_sig), &expect_base, NULL, NULL),
        SIWE_ERR_BAD_NONCE);
    CHECK_INT(
        siwe_verify(&m, &signer, base_msg, strlen(base_msg), "0x00", 4, &expect_base, NULL, NULL),
        SIWE_ERR_SIGNATURE_LENGTH);
}

/* ---- EIP-1271 client rules (no chain needed) ------------------------------------------------- */

/* A TCP listener on 127.0.0.1 that never accepts nor answers; *port_out its port. */
static int silent_listener(uint16_t *port_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        abort();
    *port_out = ntohs(sa.sin_port);
    return fd;
}

/* siwe_verify_signature() of base_msg signed by another key, through `url`. */
static enum siwe_result verify_via(const char *url, const struct rpc_options *opt,
                                   uint64_t *elapsed_ms, uint64_t *attempts, struct err *e)
{
    struct rpc_client c;
    if (rpc_client_init(&c, url, opt, NULL) != RPC_OK)
        abort();
    char s[SIWE_SIGNATURE_HEX_LEN + 1];
    sig_with(s, 128, "1c"); /* recovers some other address */
    uint8_t raw[SIG_BYTES];
    struct siwe_message m;
    if (siwe_signature_parse(raw, s, strlen(s), NULL) != SIWE_OK ||
        siwe_parse(&m, base_msg, strlen(base_msg), NULL) != SIWE_OK)
        abort();
    enum siwe_signer signer = SIWE_SIGNER_CONTRACT;
    uint64_t t0 = clock_now_ms();
    enum siwe_result r =
        siwe_verify_signature(&signer, base_msg, strlen(base_msg), &m.address, raw, &c, e);
    *elapsed_ms = clock_now_ms() - t0;
    *attempts = c.attempts_total;
    CHECK_INT(signer, SIWE_SIGNER_NONE);
    rpc_client_release(&c);
    return r;
}

static void test_eip1271_node_down_and_silent(void)
{
    CHECK_INT(rpc_global_init(NULL), RPC_OK);
    struct rpc_options opt;
    siwe_eip1271_rpc_options(&opt, 400);
    CHECK_INT(opt.retries_max, 0);
    CHECK_INT(opt.total_timeout_ms, 400);
    CHECK_INT(opt.response_bytes_max, SIWE_EIP1271_RESPONSE_BYTES_MAX);
    char url[64];
    uint16_t port = 0;
    int fd = silent_listener(&port);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    uint64_t ms = 0, attempts = 0;
    struct err e = {0};
    CHECK_INT(verify_via(url, &opt, &ms, &attempts, &e), SIWE_ERR_RPC);
    CHECK_INT(attempts, 1);
    CHECK_MSG(ms >= 350 && ms < 5000, "silent node took %llu ms", (unsigned long long)ms);
    fprintf(stdout, "# silent node: %llu ms, %s\n", (unsigned long long)ms, e.msg);
    close(fd); /* now nothing listens there: connection refused */
    CHECK_INT(verify_via(url, &opt, &ms, &attempts, &e), SIWE_ERR_RPC);
    CHECK_MSG(ms < 5000, "refused connection took %llu ms", (unsigned long long)ms);
    /* a client that may retry (the rpc defaults) is refused before it sends anything */
    CHECK_INT(verify_via(url, NULL, &ms, &attempts, &e), SIWE_ERR_RPC);
    CHECK_INT(attempts, 0);
    CHECK(strstr(e.msg, "siwe_eip1271_rpc_options") != NULL);
    opt.total_timeout_ms = SIWE_EIP1271_TIMEOUT_MS_MAX + 1;
    CHECK_INT(verify_via(url, &opt, &ms, &attempts, &e), SIWE_ERR_RPC);
    CHECK_INT(attempts, 0);
}

/* A signature by the address itself never asks the node. */
static void test_eip1271_not_asked_for_accounts(void)
{
    struct rpc_options opt;
    siwe_eip1271_rpc_options(&opt, 100);
    struct rpc_client c;
    CHECK_INT(rpc_client_init(&c, "http://127.0.0.1:9", &opt, NULL), RPC_OK);
    struct siwe_message m;
    enum siwe_signer signer = SIWE_SIGNER_NONE;
    CHECK_INT(siwe_verify(&m, &signer, base_msg, strlen(base_msg), base_sig, strlen(base_sig),
                          &expect_base, &c, NULL),
              SIWE_OK);
    CHECK_INT(signer, SIWE_SIGNER_ACCOUNT);
    CHECK_INT(c.attempts_total, 0);
    /* nor does a high-s signature: v, r and s are checked first */
    char s[SIWE_SIGNATURE_HEX_LEN + 1];
    sig_with(s, 64, "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1");
    CHECK_INT(
        siwe_verify(&m, &signer, base_msg, strlen(base_msg), s, strlen(s), &expect_base, &c, NULL),
        SIWE_ERR_SIGNATURE_HIGH_S);
    CHECK_INT(c.attempts_total, 0);
    rpc_client_release(&c);
}

static void test_result_slugs(void)
{
    for (int a = 0; a <= SIWE_ERR_INTERNAL; a++) {
        const char *sa = siwe_result_slug((enum siwe_result)a);
        CHECK(strcmp(sa, "unknown") != 0 && sa[0] != '\0');
        for (int b = a + 1; b <= SIWE_ERR_INTERNAL; b++)
            CHECK(strcmp(sa, siwe_result_slug((enum siwe_result)b)) != 0);
    }
    CHECK_STR(siwe_result_slug(SIWE_OK), "ok");
    CHECK_STR(siwe_result_slug(SIWE_ERR_SIGNATURE_HIGH_S), "signature_high_s");
    CHECK_STR(siwe_result_slug((enum siwe_result)(SIWE_ERR_INTERNAL + 1)), "unknown");
}

int main(void)
{
    if (!vec_file_require(&vecs, VEC_PATH))
        return harness_finish();
    RUN(test_vector_fields);
    RUN(test_vector_signatures);
    RUN(test_base_message);
    RUN(test_bytes_and_size);
    RUN(test_header_scheme_domain);
    RUN(test_address_line);
    RUN(test_layout_and_statement);
    RUN(test_required_fields);
    RUN(test_field_limits);
    RUN(test_optional_fields);
    RUN(test_rfc3339_valid);
    RUN(test_rfc3339_invalid);
    RUN(test_check_expectations);
    RUN(test_signature_text);
    RUN(test_signature_values);
    RUN(test_verify_order);
    RUN(test_eip1271_node_down_and_silent);
    RUN(test_eip1271_not_asked_for_accounts);
    RUN(test_result_slugs);
    vec_file_release(&vecs);
    return harness_finish();
}
