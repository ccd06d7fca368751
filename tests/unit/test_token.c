/* test_token.c - session and playback tokens: known answers computed with
 * Python's hmac module (an independent HMAC-SHA256), round trips, tampering
 * of every field and of every byte, expiry, wrong key, wrong kind, malformed
 * text (lengths, charset, uppercase hex, leading zeros), the playback
 * lifetime cap, and key wiping. */
#include "harness.h"
#include "token.h"

#include <stdint.h>
#include <string.h>

#define NOW 1704067200 /* 2024-01-01T00:00:00Z */
#define STREAM "0b4e8f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
#define OTHER_STREAM "0b4e8f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5c"
#define ADDR_HEX "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"

/* python3: hmac.new(hmac.new(bytes(range(32)), b"rights session v1", sha256).digest(),
 *                   body, sha256).hexdigest(), and likewise "rights playback v1". */
static const char kat_session[] =
    "s1." ADDR_HEX ".1704153600."
    "37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940";
static const char kat_playback[] =
    "p1." STREAM "." ADDR_HEX ".1704067230."
    "3fb65bf142197168d60f5ce3bbefbe577db2d3d44454f08d3a44782010c17d9b";

static struct token_keys keys;
static struct address addr;

static void setup(void)
{
    uint8_t secret[32];
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)i;
    if (token_keys_init(&keys, secret, sizeof secret, NULL) != TOKEN_OK ||
        address_parse(&addr, "0x" ADDR_HEX, 42, NULL) != ADDRESS_OK)
        abort();
}

static enum token_result session_verify(const char *text, int64_t now, struct token_session *out)
{
    struct token_session tmp;
    return token_session_verify(out ? out : &tmp, &keys, text, strlen(text), now, NULL);
}

static enum token_result playback_verify(const char *text, int64_t now, const char *stream)
{
    struct token_playback out;
    return token_playback_verify(&out, &keys, stream, text, strlen(text), now, NULL);
}

static void test_known_answers(void)
{
    char out[TOKEN_TEXT_SIZE];
    int64_t exp = 0;
    struct err e = {0};
    CHECK_INT(token_session_issue(out, &exp, &keys, &addr, NOW, &e), TOKEN_OK);
    CHECK_STR(out, kat_session);
    CHECK_INT(exp, NOW + 86400);
    CHECK_INT(token_playback_issue(out, &exp, &keys, STREAM, &addr, NOW, 30, &e), TOKEN_OK);
    CHECK_STR(out, kat_playback);
    CHECK_INT(exp, NOW + 30);
}

static void test_session_round_trip(void)
{
    char out[TOKEN_TEXT_SIZE];
    int64_t exp = 0;
    CHECK_INT(token_session_issue(out, &exp, &keys, &addr, NOW, NULL), TOKEN_OK);
    CHECK(strlen(out) <= TOKEN_SESSION_TEXT_MAX);
    struct token_session s;
    memset(&s, 0, sizeof s);
    CHECK_INT(session_verify(out, NOW, &s), TOKEN_OK);
    CHECK(address_eq(&s.address, &addr));
    CHECK_INT(s.expires_at_s, exp);
    CHECK_INT(session_verify(out, exp - 1, NULL), TOKEN_OK);
    CHECK_INT(session_verify(out, exp, NULL), TOKEN_ERR_EXPIRED);
    CHECK_INT(session_verify(out, exp + 1000, NULL), TOKEN_ERR_EXPIRED);
    /* now = 0 and the zero address work too */
    struct address zero = {{0}};
    CHECK_INT(token_session_issue(out, &exp, &keys, &zero, 0, NULL), TOKEN_OK);
    CHECK_INT(session_verify(out, 0, &s), TOKEN_OK);
    CHECK(address_is_zero(&s.address));
    CHECK_INT(s.expires_at_s, 86400);
}

static void test_playback_round_trip(void)
{
    char out[TOKEN_TEXT_SIZE];
    int64_t exp = 0;
    for (uint32_t life = 1; life <= TOKEN_PLAYBACK_LIFETIME_S_MAX; life++) {
        CHECK_INT(token_playback_issue(out, &exp, &keys, STREAM, &addr, NOW, life, NULL), TOKEN_OK);
        CHECK_INT(exp, NOW + life);
        struct token_playback p;
        memset(&p, 0x5c, sizeof p);
        CHECK_INT(token_playback_verify(&p, &keys, STREAM, out, strlen(out), NOW, NULL), TOKEN_OK);
        CHECK_STR(p.stream_id, STREAM);
        CHECK(address_eq(&p.address, &addr));
        CHECK_INT(p.expires_at_s, exp);
        CHECK_INT(playback_verify(out, exp - 1, STREAM), TOKEN_OK);
        CHECK_INT(playback_verify(out, exp, STREAM), TOKEN_ERR_EXPIRED);
    }
    CHECK(strlen(out) == TOKEN_PLAYBACK_TEXT_MAX - 2); /* a 10-digit expiry */
    CHECK_INT(playback_verify(out, NOW, OTHER_STREAM), TOKEN_ERR_STREAM_MISMATCH);
}

static void test_playback_lifetime_cap(void)
{
    char out[TOKEN_TEXT_SIZE] = "unchanged";
    struct err e = {0};
    CHECK_INT(token_playback_issue(out, NULL, &keys, STREAM, &addr, NOW, 61, &e),
              TOKEN_ERR_LIFETIME);
    CHECK_INT(e.code, TOKEN_ERR_LIFETIME);
    CHECK_STR(out, "");
    CHECK_INT(token_playback_issue(out, NULL, &keys, STREAM, &addr, NOW, 0, NULL),
              TOKEN_ERR_LIFETIME);
    CHECK_INT(token_playback_issue(out, NULL, &keys, STREAM, &addr, NOW, 86400, NULL),
              TOKEN_ERR_LIFETIME);
    /* the expiry must stay within TOKEN_EXPIRY_S_MAX (12 digits) */
    int64_t exp = 0;
    CHECK_INT(
        token_playback_issue(out, &exp, &keys, STREAM, &addr, TOKEN_EXPIRY_S_MAX - 60, 60, NULL),
        TOKEN_OK);
    CHECK_INT(exp, TOKEN_EXPIRY_S_MAX);
    CHECK(strlen(out) == TOKEN_PLAYBACK_TEXT_MAX);
    CHECK_INT(playback_verify(out, TOKEN_EXPIRY_S_MAX - 1, STREAM), TOKEN_OK);
    CHECK_INT(
        token_playback_issue(out, NULL, &keys, STREAM, &addr, TOKEN_EXPIRY_S_MAX - 59, 60, NULL),
        TOKEN_ERR_LIFETIME);
    CHECK_INT(token_session_issue(out, NULL, &keys, &addr, TOKEN_EXPIRY_S_MAX - 86399, NULL),
              TOKEN_ERR_LIFETIME);
    CHECK_INT(token_session_issue(out, &exp, &keys, &addr, TOKEN_EXPIRY_S_MAX - 86400, NULL),
              TOKEN_OK);
    CHECK(strlen(out) == TOKEN_SESSION_TEXT_MAX);
}

static void test_bad_stream_id_argument(void)
{
    char out[TOKEN_TEXT_SIZE];
    static const char *const bad[] = {
        "",         "0B4E8F3A-1C2D-4E5F-8A9B-0C1D2E3F4A5B", "0b4e8f3a1c2d4e5f8a9b0c1d2e3f4a5b",
        STREAM "0", "0b4e8f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5",  "0b4e8f3a_1c2d-4e5f-8a9b-0c1d2e3f4a5b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_INT(token_playback_issue(out, NULL, &keys, bad[i], &addr, NOW, 10, NULL),
                  TOKEN_ERR_BAD_STREAM_ID);
        CHECK_INT(playback_verify(kat_playback, NOW, bad[i]), TOKEN_ERR_BAD_STREAM_ID);
    }
    CHECK_INT(playback_verify(kat_playback, NOW, STREAM), TOKEN_OK);
}

/* Every single-byte change of a valid token is refused; never accepted. */
static void check_every_byte(const char *token, bool session)
{
    char t[TOKEN_TEXT_SIZE];
    size_t n = strlen(token);
    for (size_t i = 0; i < n; i++) {
        for (int d = 1; d < 256; d += 37) {
            memcpy(t, token, n + 1);
            t[i] = (char)((unsigned char)t[i] ^ (unsigned char)d);
            if (t[i] == '\0')
                continue;
            enum token_result r =
                session ? session_verify(t, NOW, NULL) : playback_verify(t, NOW, STREAM);
            CHECK_MSG(r == TOKEN_ERR_MALFORMED || r == TOKEN_ERR_BAD_MAC || r == TOKEN_ERR_KIND,
                      "byte %zu ^ %d gave %d", i, d, r);
        }
    }
}

static void test_tamper_each_field(void)
{
    char t[TOKEN_TEXT_SIZE];
    /* address: another valid address */
    snprintf(t, sizeof t, "%s", kat_session);
    t[3] = 'e';
    CHECK_INT(session_verify(t, NOW, NULL), TOKEN_ERR_BAD_MAC);
    /* expiry: later, same length */
    snprintf(t, sizeof t, "%s", kat_session);
    t[3 + 40 + 1 + 9] = '9';
    CHECK_INT(session_verify(t, NOW, NULL), TOKEN_ERR_BAD_MAC);
    /* mac: last digit */
    snprintf(t, sizeof t, "%s", kat_session);
    t[strlen(t) - 1] = t[strlen(t) - 1] == '0' ? '1' : '0';
    CHECK_INT(session_verify(t, NOW, NULL), TOKEN_ERR_BAD_MAC);
    /* playback: stream id, address, expiry, mac */
    size_t pos[] = {3, 3 + 37, 3 + 37 + 41 + 9, strlen(kat_playback) - 1};
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++) {
        snprintf(t, sizeof t, "%s", kat_playback);
        t[pos[i]] = t[pos[i]] == '1' ? '2' : '1';
        CHECK_INT(playback_verify(t, NOW, STREAM), TOKEN_ERR_BAD_MAC);
    }
    check_every_byte(kat_session, true);
    check_every_byte(kat_playback, false);
}

static void test_wrong_key_and_kind(void)
{
    uint8_t other_secret[32];
    memset(other_secret, 0x42, sizeof other_secret);
    struct token_keys other;
    CHECK_INT(token_keys_init(&other, other_secret, sizeof other_secret, NULL), TOKEN_OK);
    struct token_session s;
    struct token_playback p;
    struct err e = {0};
    CHECK_INT(token_session_verify(&s, &other, kat_session, strlen(kat_session), NOW, &e),
              TOKEN_ERR_BAD_MAC);
    CHECK_INT(e.code, TOKEN_ERR_BAD_MAC);
    CHECK(strstr(e.msg, kat_session + 3) == NULL); /* never quotes the token */
    CHECK_INT(
        token_playback_verify(&p, &other, STREAM, kat_playback, strlen(kat_playback), NOW, NULL),
        TOKEN_ERR_BAD_MAC);
    token_keys_release(&other);
    /* wrong kind: the other verifier */
    CHECK_INT(session_verify(kat_playback, NOW, NULL), TOKEN_ERR_KIND);
    CHECK_INT(playback_verify(kat_session, NOW, STREAM), TOKEN_ERR_KIND);
    /* a session body MACed with the session key, relabelled "p1.": the subkeys differ */
    char t[TOKEN_TEXT_SIZE];
    snprintf(t, sizeof t, "p1.%s.%s", STREAM, kat_session + 3);
    CHECK_INT(playback_verify(t, NOW, STREAM), TOKEN_ERR_BAD_MAC);
}

static void test_malformed_session(void)
{
    static const char *const bad_session[] = {
        "",
        "s1",
        "s1.",
        "s2." ADDR_HEX
        ".1704153600.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        "S1." ADDR_HEX
        ".1704153600.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        /* uppercase address / mac */
        "s1.F39fd6e51aad88f6f4ce6ab8827279cfffb92266.1704153600."
        "37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        "s1." ADDR_HEX
        ".1704153600.37012B56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        /* 0x prefix, short / long address */
        "s1.0x" ADDR_HEX
        ".1704153600.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        "s1.f39fd6e51aad88f6f4ce6ab8827279cfffb9226.1704153600."
        "37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        "s1." ADDR_HEX
        "6.1704153600.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        /* expiry: leading zero, empty, sign, 13 digits, above the maximum */
        "s1." ADDR_HEX
        ".01704153600.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        "s1." ADDR_HEX "..37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        "s1." ADDR_HEX
        ".+1704153600.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        "s1." ADDR_HEX
        ".1000000000000.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        "s1." ADDR_HEX
        ".253402300800.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        /* mac: short, long, missing, extra part */
        "s1." ADDR_HEX
        ".1704153600.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b94",
        "s1." ADDR_HEX
        ".1704153600.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b9400",
        "s1." ADDR_HEX ".1704153600",
        "s1." ADDR_HEX
        ".1704153600.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940.",
        "s1." ADDR_HEX
        ".1704153600.1704153600.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        " s1." ADDR_HEX
        ".1704153600.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940",
        "s1." ADDR_HEX
        ".1704153600.37012b56fc812d7e9dc1aa6ba5a7f3b674d6a361fc395fa12d0d10ce4d97b940\n",
    };
    for (size_t i = 0; i < sizeof bad_session / sizeof bad_session[0]; i++) {
        struct token_session s;
        memset(&s, 0x5c, sizeof s);
        struct err e = {0};
        enum token_result r =
            token_session_verify(&s, &keys, bad_session[i], strlen(bad_session[i]), NOW, &e);
        CHECK_MSG(r == TOKEN_ERR_MALFORMED, "case %zu gave %d", i, r);
        CHECK_INT(e.code, TOKEN_ERR_MALFORMED);
        CHECK(s.address.bytes[0] == 0x5c && s.expires_at_s == 0x5c5c5c5c5c5c5c5c);
    }
}

static void test_malformed_playback(void)
{
    static const char *const bad_playback[] = {
        "p1.0B4E8F3A-1C2D-4E5F-8A9B-0C1D2E3F4A5B." ADDR_HEX
        ".1704067230.3fb65bf142197168d60f5ce3bbefbe577db2d3d44454f08d3a44782010c17d9b",
        "p1.0b4e8f3a1c2d4e5f8a9b0c1d2e3f4a5b." ADDR_HEX
        ".1704067230.3fb65bf142197168d60f5ce3bbefbe577db2d3d44454f08d3a44782010c17d9b",
        "p1." ADDR_HEX
        ".1704067230.3fb65bf142197168d60f5ce3bbefbe577db2d3d44454f08d3a44782010c17d9b",
        "p1." STREAM "." ADDR_HEX
        ".01704067230.3fb65bf142197168d60f5ce3bbefbe577db2d3d44454f08d3a44782010c17d9b",
        "p1." STREAM "." ADDR_HEX
        ".1704067230.3FB65BF142197168D60F5CE3BBEFBE577DB2D3D44454F08D3A44782010C17D9B",
        "p1." STREAM "." ADDR_HEX ".1704067230",
        "p1." STREAM
        "..1704067230.3fb65bf142197168d60f5ce3bbefbe577db2d3d44454f08d3a44782010c17d9b",
    };
    for (size_t i = 0; i < sizeof bad_playback / sizeof bad_playback[0]; i++)
        CHECK_MSG(playback_verify(bad_playback[i], NOW, STREAM) == TOKEN_ERR_MALFORMED, "case %zu",
                  i);
    /* an expiry of 0 is canonical decimal: well-formed, and expired */
    char t[TOKEN_TEXT_SIZE];
    snprintf(t, sizeof t, "s1.%s.0.%s", ADDR_HEX, kat_session + 3 + 40 + 1 + 10 + 1);
    CHECK_INT(session_verify(t, NOW, NULL), TOKEN_ERR_BAD_MAC);
}

static void test_keys(void)
{
    struct token_keys k;
    uint8_t secret[TOKEN_SECRET_BYTES_MAX + 1];
    memset(secret, 7, sizeof secret);
    struct err e = {0};
    CHECK_INT(token_keys_init(&k, secret, TOKEN_SECRET_BYTES_MIN - 1, &e), TOKEN_ERR_SECRET);
    CHECK_INT(e.code, TOKEN_ERR_SECRET);
    CHECK(!k.ready);
    CHECK_INT(token_keys_init(&k, secret, TOKEN_SECRET_BYTES_MAX + 1, NULL), TOKEN_ERR_SECRET);
    CHECK_INT(token_keys_init(&k, NULL, 0, NULL), TOKEN_ERR_SECRET);
    CHECK_INT(token_keys_init(&k, secret, TOKEN_SECRET_BYTES_MAX, NULL), TOKEN_OK);
    CHECK_INT(token_keys_init(&k, secret, TOKEN_SECRET_BYTES_MIN, NULL), TOKEN_OK);
    CHECK(k.ready);
    CHECK(memcmp(k.session, k.playback, TOKEN_KEY_BYTES) != 0);
    token_keys_release(&k);
    static const uint8_t zero[sizeof k] = {0};
    CHECK_MEM(&k, zero, sizeof k);
    token_keys_release(&k); /* idempotent */
    token_keys_release(NULL);
}

int main(void)
{
    setup();
    RUN(test_known_answers);
    RUN(test_session_round_trip);
    RUN(test_playback_round_trip);
    RUN(test_playback_lifetime_cap);
    RUN(test_bad_stream_id_argument);
    RUN(test_tamper_each_field);
    RUN(test_wrong_key_and_kind);
    RUN(test_malformed_session);
    RUN(test_malformed_playback);
    RUN(test_keys);
    token_keys_release(&keys);
    return harness_finish();
}
