/*
 * token.c - session and playback tokens (see token.h).
 *
 * Verification parses the whole text first (fixed positions and lengths, no
 * search beyond the caps), then computes the MAC over everything before the
 * last '.' and compares it with crypto_equal_ct(), then checks the claims.
 * Error messages name the part that failed and never quote the token.
 */
#include "token.h"

#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "ids.h"

static const char token_session_label[] = "rights session v1";
static const char token_playback_label[] = "rights playback v1";

enum token_kind { TOKEN_KIND_SESSION, TOKEN_KIND_PLAYBACK };

/* The parts of a token text (pointers into it). */
struct token_parts {
    const char *stream_id; /* playback only */
    const char *address;   /* TOKEN_ADDRESS_HEX_LEN lowercase hex digits */
    int64_t expires_at_s;
    const char *mac; /* TOKEN_MAC_HEX_LEN lowercase hex digits */
    size_t body_len; /* bytes before the last '.', what the MAC covers */
};

static bool token_is_lower_hex(const char *p, size_t n);
static enum token_result token_mac_hex(char out[TOKEN_MAC_HEX_LEN + 1],
                                       const uint8_t key[TOKEN_KEY_BYTES], const char *body,
                                       size_t body_len, struct err *e);
static enum token_result token_seal(char out[TOKEN_TEXT_SIZE], size_t body_len,
                                    const uint8_t key[TOKEN_KEY_BYTES], struct err *e);
static enum token_result token_parse_expiry(int64_t *out, const char *p, size_t n, size_t *used,
                                            const char *kind, struct err *e);
static enum token_result token_parse_tail(struct token_parts *p, const char *text, size_t text_len,
                                          size_t pos, const char *kind, struct err *e);
static enum token_result token_parse(struct token_parts *p, enum token_kind kind, const char *text,
                                     size_t text_len, struct err *e);
static enum token_result token_check_mac(const uint8_t key[TOKEN_KEY_BYTES], const char *text,
                                         const struct token_parts *p, const char *kind,
                                         struct err *e);
static void token_address_of(struct address *out, const char *hex40);
static enum token_result token_verify_parts(struct token_parts *p, enum token_kind kind,
                                            const struct token_keys *k, const char *text,
                                            size_t text_len, int64_t now_s, struct err *e);

static bool token_is_lower_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}

/* ---- keys ------------------------------------------------------------------------------- */

enum token_result token_keys_init(struct token_keys *out, const uint8_t *secret, size_t secret_len,
                                  struct err *e)
{
    ASSERT(out != NULL && (secret != NULL || secret_len == 0));
    token_keys_release(out);
    if (secret_len < TOKEN_SECRET_BYTES_MIN || secret_len > TOKEN_SECRET_BYTES_MAX)
        return err_set(e, TOKEN_ERR_SECRET, "auth secret is %zu bytes, expected %d..%d", secret_len,
                       TOKEN_SECRET_BYTES_MIN, TOKEN_SECRET_BYTES_MAX);
    struct err ce = {0};
    if (crypto_hmac_sha256(out->session, secret, secret_len, token_session_label,
                           sizeof token_session_label - 1, &ce) != CRYPTO_OK ||
        crypto_hmac_sha256(out->playback, secret, secret_len, token_playback_label,
                           sizeof token_playback_label - 1, &ce) != CRYPTO_OK) {
        token_keys_release(out);
        return err_set(e, TOKEN_ERR_CRYPTO, "token subkey derivation failed: %s", ce.msg);
    }
    out->ready = true;
    return TOKEN_OK;
}

void token_keys_release(struct token_keys *k)
{
    if (k == NULL)
        return;
    crypto_wipe(k, sizeof *k);
}

/* ---- issuing ---------------------------------------------------------------------------- */

static enum token_result token_mac_hex(char out[TOKEN_MAC_HEX_LEN + 1],
                                       const uint8_t key[TOKEN_KEY_BYTES], const char *body,
                                       size_t body_len, struct err *e)
{
    uint8_t mac[CRYPTO_HMAC_SHA256_BYTES];
    struct err ce = {0};
    if (crypto_hmac_sha256(mac, key, TOKEN_KEY_BYTES, body, body_len, &ce) != CRYPTO_OK)
        return err_set(e, TOKEN_ERR_CRYPTO, "token mac failed: %s", ce.msg);
    int rc = hex_encode(out, TOKEN_MAC_HEX_LEN + 1, mac, sizeof mac);
    ASSERT(rc == 0);
    crypto_wipe(mac, sizeof mac);
    return TOKEN_OK;
}

/* Appends "." and the MAC of out[0..body_len) to out; out = "" on failure. */
static enum token_result token_seal(char out[TOKEN_TEXT_SIZE], size_t body_len,
                                    const uint8_t key[TOKEN_KEY_BYTES], struct err *e)
{
    ASSERT(body_len + 1 + TOKEN_MAC_HEX_LEN < TOKEN_TEXT_SIZE);
    char mac[TOKEN_MAC_HEX_LEN + 1];
    enum token_result r = token_mac_hex(mac, key, out, body_len, e);
    if (r != TOKEN_OK) {
        out[0] = '\0';
        return r;
    }
    out[body_len] = '.';
    memcpy(out + body_len + 1, mac, TOKEN_MAC_HEX_LEN + 1);
    return TOKEN_OK;
}

enum token_result token_session_issue(char out[TOKEN_TEXT_SIZE], int64_t *expires_at_s_out,
                                      const struct token_keys *k, const struct address *address,
                                      int64_t now_s, struct err *e)
{
    ASSERT(out != NULL && k != NULL && k->ready && address != NULL && now_s >= 0);
    out[0] = '\0';
    if (now_s > TOKEN_EXPIRY_S_MAX - TOKEN_SESSION_LIFETIME_S)
        return err_set(e, TOKEN_ERR_LIFETIME, "session token expiry would pass %lld",
                       TOKEN_EXPIRY_S_MAX);
    int64_t expires_at_s = now_s + TOKEN_SESSION_LIFETIME_S;
    char a[ADDRESS_TEXT_SIZE];
    address_format_lower(a, address);
    int n = snprintf(out, TOKEN_TEXT_SIZE, "s1.%s.%lld", a + 2, (long long)expires_at_s);
    ASSERT(n > 0 && (size_t)n < TOKEN_TEXT_SIZE);
    enum token_result r = token_seal(out, (size_t)n, k->session, e);
    if (r == TOKEN_OK && expires_at_s_out != NULL)
        *expires_at_s_out = expires_at_s;
    return r;
}

enum token_result token_playback_issue(char out[TOKEN_TEXT_SIZE], int64_t *expires_at_s_out,
                                       const struct token_keys *k, const char *stream_id,
                                       const struct address *address, int64_t now_s,
                                       uint32_t lifetime_s, struct err *e)
{
    ASSERT(out != NULL && k != NULL && k->ready && address != NULL && now_s >= 0);
    out[0] = '\0';
    if (stream_id == NULL ||
        !ids_uuid_valid(stream_id, strnlen(stream_id, TOKEN_STREAM_ID_LEN + 1)))
        return err_set(e, TOKEN_ERR_BAD_STREAM_ID,
                       "playback token stream id is not a lowercase uuid");
    if (lifetime_s < 1 || lifetime_s > TOKEN_PLAYBACK_LIFETIME_S_MAX)
        return err_set(e, TOKEN_ERR_LIFETIME, "playback token lifetime %u s is not 1..%d s",
                       lifetime_s, TOKEN_PLAYBACK_LIFETIME_S_MAX);
    if (now_s > TOKEN_EXPIRY_S_MAX - (int64_t)lifetime_s)
        return err_set(e, TOKEN_ERR_LIFETIME, "playback token expiry would pass %lld",
                       TOKEN_EXPIRY_S_MAX);
    int64_t expires_at_s = now_s + (int64_t)lifetime_s;
    char a[ADDRESS_TEXT_SIZE];
    address_format_lower(a, address);
    int n =
        snprintf(out, TOKEN_TEXT_SIZE, "p1.%s.%s.%lld", stream_id, a + 2, (long long)expires_at_s);
    ASSERT(n > 0 && (size_t)n < TOKEN_TEXT_SIZE);
    enum token_result r = token_seal(out, (size_t)n, k->playback, e);
    if (r == TOKEN_OK && expires_at_s_out != NULL)
        *expires_at_s_out = expires_at_s;
    return r;
}

/* ---- parsing and verifying ------------------------------------------------------------------ */

/* p[0..n) starts with 1..TOKEN_EXPIRY_DIGITS_MAX decimal digits without a
 * leading zero (unless the number is 0), at most TOKEN_EXPIRY_S_MAX, then a '.'. */
static enum token_result token_parse_expiry(int64_t *out, const char *p, size_t n, size_t *used,
                                            const char *kind, struct err *e)
{
    size_t d = 0;
    int64_t v = 0;
    while (d < n && d <= TOKEN_EXPIRY_DIGITS_MAX && p[d] >= '0' && p[d] <= '9')
        v = v * 10 + (p[d++] - '0');
    if (d == 0 || d > TOKEN_EXPIRY_DIGITS_MAX || d == n || p[d] != '.' || (p[0] == '0' && d > 1) ||
        v > TOKEN_EXPIRY_S_MAX)
        return err_set(e, TOKEN_ERR_MALFORMED,
                       "malformed %s token: expiry is not a decimal of at most %d digits without "
                       "leading zeros followed by '.'",
                       kind, TOKEN_EXPIRY_DIGITS_MAX);
    *out = v;
    *used = d;
    return TOKEN_OK;
}

/* From text[pos]: "<address>.<expiry>.<mac>" and the end. */
static enum token_result token_parse_tail(struct token_parts *p, const char *text, size_t text_len,
                                          size_t pos, const char *kind, struct err *e)
{
    if (text_len - pos < TOKEN_ADDRESS_HEX_LEN + 1 ||
        !token_is_lower_hex(text + pos, TOKEN_ADDRESS_HEX_LEN) ||
        text[pos + TOKEN_ADDRESS_HEX_LEN] != '.')
        return err_set(e, TOKEN_ERR_MALFORMED,
                       "malformed %s token: address is not 40 lowercase hex digits and '.'", kind);
    p->address = text + pos;
    pos += TOKEN_ADDRESS_HEX_LEN + 1;
    size_t used = 0;
    enum token_result r =
        token_parse_expiry(&p->expires_at_s, text + pos, text_len - pos, &used, kind, e);
    if (r != TOKEN_OK)
        return r;
    p->body_len = pos + used;
    pos += used + 1;
    if (text_len - pos != TOKEN_MAC_HEX_LEN || !token_is_lower_hex(text + pos, TOKEN_MAC_HEX_LEN))
        return err_set(e, TOKEN_ERR_MALFORMED,
                       "malformed %s token: mac is not 64 lowercase hex digits at the end", kind);
    p->mac = text + pos;
    return TOKEN_OK;
}

static enum token_result token_parse(struct token_parts *p, enum token_kind kind, const char *text,
                                     size_t text_len, struct err *e)
{
    bool session = kind == TOKEN_KIND_SESSION;
    const char *name = session ? "session" : "playback";
    memset(p, 0, sizeof *p);
    if (text_len >= 3 && memcmp(text, session ? "p1." : "s1.", 3) == 0)
        return err_set(e, TOKEN_ERR_KIND, "a %s token where a %s token is expected",
                       session ? "playback" : "session", name);
    size_t max = session ? TOKEN_SESSION_TEXT_MAX : TOKEN_PLAYBACK_TEXT_MAX;
    if (text_len < 3 || text_len > max || memcmp(text, session ? "s1." : "p1.", 3) != 0)
        return err_set(e, TOKEN_ERR_MALFORMED,
                       "malformed %s token: not '%s' followed by at most %zu bytes", name,
                       session ? "s1." : "p1.", max - 3);
    size_t pos = 3;
    if (!session) {
        if (text_len - pos < TOKEN_STREAM_ID_LEN + 1 ||
            !ids_uuid_valid(text + pos, TOKEN_STREAM_ID_LEN) ||
            text[pos + TOKEN_STREAM_ID_LEN] != '.')
            return err_set(e, TOKEN_ERR_MALFORMED,
                           "malformed playback token: stream id is not a lowercase uuid and '.'");
        p->stream_id = text + pos;
        pos += TOKEN_STREAM_ID_LEN + 1;
    }
    return token_parse_tail(p, text, text_len, pos, name, e);
}

static enum token_result token_check_mac(const uint8_t key[TOKEN_KEY_BYTES], const char *text,
                                         const struct token_parts *p, const char *kind,
                                         struct err *e)
{
    char mac[TOKEN_MAC_HEX_LEN + 1];
    enum token_result r = token_mac_hex(mac, key, text, p->body_len, e);
    if (r != TOKEN_OK)
        return r;
    bool equal = crypto_equal_ct(mac, p->mac, TOKEN_MAC_HEX_LEN);
    crypto_wipe(mac, sizeof mac);
    if (!equal)
        return err_set(e, TOKEN_ERR_BAD_MAC, "%s token mac does not match", kind);
    return TOKEN_OK;
}

static void token_address_of(struct address *out, const char *hex40)
{
    enum hex_result hr = hex_decode_exact(out->bytes, ADDRESS_BYTES, hex40, 40, NULL);
    ASSERT(hr == HEX_OK);
}

/* Grammar, MAC and expiry of a token of `kind`; fills *p. */
static enum token_result token_verify_parts(struct token_parts *p, enum token_kind kind,
                                            const struct token_keys *k, const char *text,
                                            size_t text_len, int64_t now_s, struct err *e)
{
    ASSERT(k != NULL && k->ready && (text != NULL || text_len == 0));
    bool session = kind == TOKEN_KIND_SESSION;
    const char *name = session ? "session" : "playback";
    enum token_result r = token_parse(p, kind, text, text_len, e);
    if (r == TOKEN_OK)
        r = token_check_mac(session ? k->session : k->playback, text, p, name, e);
    if (r == TOKEN_OK && now_s >= p->expires_at_s)
        r = err_set(e, TOKEN_ERR_EXPIRED, "%s token expired at %lld", name,
                    (long long)p->expires_at_s);
    return r;
}

enum token_result token_session_verify(struct token_session *out, const struct token_keys *k,
                                       const char *text, size_t text_len, int64_t now_s,
                                       struct err *e)
{
    ASSERT(out != NULL);
    struct token_parts p;
    enum token_result r = token_verify_parts(&p, TOKEN_KIND_SESSION, k, text, text_len, now_s, e);
    if (r != TOKEN_OK)
        return r;
    token_address_of(&out->address, p.address);
    out->expires_at_s = p.expires_at_s;
    return TOKEN_OK;
}

enum token_result token_playback_verify(struct token_playback *out, const struct token_keys *k,
                                        const char *stream_id, const char *text, size_t text_len,
                                        int64_t now_s, struct err *e)
{
    ASSERT(out != NULL);
    if (stream_id == NULL ||
        !ids_uuid_valid(stream_id, strnlen(stream_id, TOKEN_STREAM_ID_LEN + 1)))
        return err_set(e, TOKEN_ERR_BAD_STREAM_ID, "expected stream id is not a lowercase uuid");
    struct token_parts p;
    enum token_result r = token_verify_parts(&p, TOKEN_KIND_PLAYBACK, k, text, text_len, now_s, e);
    if (r != TOKEN_OK)
        return r;
    if (memcmp(p.stream_id, stream_id, TOKEN_STREAM_ID_LEN) != 0)
        return err_set(e, TOKEN_ERR_STREAM_MISMATCH, "playback token is for another stream");
    memcpy(out->stream_id, p.stream_id, TOKEN_STREAM_ID_LEN);
    out->stream_id[TOKEN_STREAM_ID_LEN] = '\0';
    token_address_of(&out->address, p.address);
    out->expires_at_s = p.expires_at_s;
    return TOKEN_OK;
}
