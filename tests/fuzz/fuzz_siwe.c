/*
 * fuzz_siwe.c - the SIWE parser, RFC 3339 times, the expectation checks and
 * signature verification (no EIP-1271: rpc NULL).
 *
 * Input: byte 0 picks the mode (mode & 3).
 *   0: the rest is a message for siwe_parse(). The result is a parse code
 *      (SIWE_OK..SIWE_ERR_EXTRA_LINE) and the same when parsed again. On
 *      error *out is untouched and e holds the code and a message. On success
 *      e is untouched, every span lies inside the input, and the message
 *      written back from the fields (siwe_format below) equals the input
 *      byte for byte; each time field re-parses to the same instant.
 *   1: the rest is a date-time for siwe_time_parse(), compared with a model
 *      built on the C library's timegm()/gmtime_r() (see time_model()).
 *   2: bytes 1-4 are a signed offset from 2024-01-01T00:00:00Z giving `now`,
 *      the rest a message; when it parses, siwe_check() against
 *      localhost:8080 / http / 31337 must give the first failing rule of a
 *      model written from the header's documentation.
 *   3: bytes 1-65 are a signature r || s || v (byte 0 bit 2 forces v to
 *      27/28/0/1 by bits 3-4) for the fixed message `base_msg`. The result is
 *      sig.h's rejection of v, r, s or high s as the SIWE code, otherwise
 *      SIWE_OK with SIWE_SIGNER_ACCOUNT exactly when the key recovered is the
 *      message's address, else SIWE_ERR_SIGNER_MISMATCH; its hex text
 *      round-trips through siwe_signature_parse().
 */
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "fuzz.h"
#include "hex.h"
#include "siwe.h"

#define FUZZ_NOW_BASE 1704067200LL
#define FORMAT_CAP (SIWE_MESSAGE_BYTES_MAX + 1)

static const char base_msg[] = "localhost:8080 wants you to sign in with your Ethereum account:\n"
                               "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n\n"
                               "Sign in to watch the stream.\n\n"
                               "URI: http://localhost:8080\nVersion: 1\nChain ID: 31337\n"
                               "Nonce: 32891756abcdef01\nIssued At: 2024-01-01T00:00:00Z";
struct out_text {
    char p[FORMAT_CAP];
    size_t len;
};

static void put(struct out_text *o, const char *p, size_t n);
static void put_str(struct out_text *o, const char *s);
static void put_span(struct out_text *o, const char *prefix, struct siwe_span s);
static void siwe_format(struct out_text *o, const struct siwe_message *m);
static bool span_inside(struct siwe_span s, const char *text, size_t len);
static void check_time_field(const struct siwe_time *t, bool present);
static void fuzz_parse(const char *text, size_t len);
static bool two_digits(const char *p, int *out);
static enum siwe_result time_model(int64_t *unix_out, const char *t, size_t n);
static void fuzz_time(const char *text, size_t len);
static enum siwe_result check_model(const struct siwe_message *m, int64_t now);
static void fuzz_check(struct fuzz_in *in);
static enum siwe_result sig_model(const uint8_t sig[SIG_BYTES], const struct address *signer);
static void fuzz_signature(struct fuzz_in *in, uint8_t mode);

/* ---- mode 0: parse and write back ------------------------------------------------------- */

static void put(struct out_text *o, const char *p, size_t n)
{
    FUZZ_CHECK(n <= FORMAT_CAP - o->len);
    if (n > 0)
        memcpy(o->p + o->len, p, n);
    o->len += n;
}

static void put_str(struct out_text *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_span(struct out_text *o, const char *prefix, struct siwe_span s)
{
    put_str(o, prefix);
    put(o, s.ptr, s.len);
}

/* The message text the fields stand for, by the grammar in siwe.h. */
static void siwe_format(struct out_text *o, const struct siwe_message *m)
{
    char addr[ADDRESS_TEXT_SIZE], chain[32];
    o->len = 0;
    if (m->has_scheme) {
        put_span(o, "", m->scheme);
        put_str(o, "://");
    }
    put_span(o, "", m->domain);
    put_str(o, " wants you to sign in with your Ethereum account:\n");
    address_format_checksum(addr, &m->address);
    put_str(o, addr);
    put_str(o, "\n\n");
    if (m->has_statement) {
        put_span(o, "", m->statement);
        put_str(o, "\n");
    }
    put_span(o, "\nURI: ", m->uri);
    snprintf(chain, sizeof chain, "%llu", (unsigned long long)m->chain_id);
    put_str(o, "\nVersion: 1\nChain ID: ");
    put_str(o, chain);
    put_str(o, "\nNonce: ");
    put_str(o, m->nonce);
    put_span(o, "\nIssued At: ", m->issued_at.text);
    if (m->has_expiration_time)
        put_span(o, "\nExpiration Time: ", m->expiration_time.text);
    if (m->has_not_before)
        put_span(o, "\nNot Before: ", m->not_before.text);
    if (m->has_request_id)
        put_span(o, "\nRequest ID: ", m->request_id);
    if (m->has_resources)
        put_str(o, "\nResources:");
    for (size_t i = 0; i < m->resources_count; i++)
        put_span(o, "\n- ", m->resources[i]);
}

static bool span_inside(struct siwe_span s, const char *text, size_t len)
{
    return s.ptr >= text && s.len <= len && (size_t)(s.ptr - text) <= len - s.len;
}

static void check_time_field(const struct siwe_time *t, bool present)
{
    if (!present)
        return;
    struct siwe_time again;
    FUZZ_CHECK(siwe_time_parse(&again, t->text.ptr, t->text.len, NULL) == SIWE_OK);
    FUZZ_CHECK(again.unix_s == t->unix_s && again.nanos == t->nanos && t->nanos < 1000000000u);
}

static void fuzz_parse(const char *text, size_t len)
{
    struct siwe_message m, again;
    memset(&m, 0x5c, sizeof m);
    struct err e;
    fuzz_err_prime(&e);
    enum siwe_result r = siwe_parse(&m, text, len, &e);
    FUZZ_CHECK(r >= SIWE_OK && r <= SIWE_ERR_EXTRA_LINE);
    FUZZ_CHECK(siwe_parse(&again, text, len, NULL) == r);
    if (r != SIWE_OK) {
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        for (size_t i = 0; i < sizeof m; i++)
            FUZZ_CHECK(((const unsigned char *)&m)[i] == 0x5c);
        return;
    }
    FUZZ_CHECK(fuzz_err_is_untouched(&e));
    FUZZ_CHECK(span_inside(m.domain, text, len) && span_inside(m.uri, text, len));
    FUZZ_CHECK(!m.has_scheme || span_inside(m.scheme, text, len));
    FUZZ_CHECK(m.nonce_len >= SIWE_NONCE_BYTES_MIN && m.nonce_len <= SIWE_NONCE_BYTES_MAX &&
               strlen(m.nonce) == m.nonce_len);
    FUZZ_CHECK(m.resources_count <= SIWE_RESOURCES_MAX && (m.has_resources || !m.resources_count));
    FUZZ_CHECK(m.chain_id >= 1 && m.chain_id <= SIWE_CHAIN_ID_MAX);
    check_time_field(&m.issued_at, true);
    check_time_field(&m.expiration_time, m.has_expiration_time);
    check_time_field(&m.not_before, m.has_not_before);
    static struct out_text o;
    siwe_format(&o, &m);
    FUZZ_CHECK(o.len == len && memcmp(o.p, text, len) == 0);
}

/* ---- mode 1: RFC 3339 against timegm() ---------------------------------------------------- */

static bool two_digits(const char *p, int *out)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return false;
    *out = (p[0] - '0') * 10 + (p[1] - '0');
    return true;
}

/* The documented grammar and ranges, with dates checked by gmtime_r(timegm()). */
static enum siwe_result time_model(int64_t *unix_out, const char *t, size_t n)
{
    int yh, yl, mo, d, h, mi, s, oh = 0, om = 0, sign = 1;
    if (n < 20 || n > SIWE_TIME_BYTES_MAX || !two_digits(t, &yh) || !two_digits(t + 2, &yl) ||
        t[4] != '-' || !two_digits(t + 5, &mo) || t[7] != '-' || !two_digits(t + 8, &d) ||
        (t[10] != 'T' && t[10] != 't') || !two_digits(t + 11, &h) || t[13] != ':' ||
        !two_digits(t + 14, &mi) || t[16] != ':' || !two_digits(t + 17, &s))
        return SIWE_ERR_BAD_TIME;
    size_t i = 19, k = 0;
    if (t[i] == '.')
        for (i++; i < n && t[i] >= '0' && t[i] <= '9'; i++)
            k++;
    if (t[19] == '.' && (k < 1 || k > 9))
        return SIWE_ERR_BAD_TIME;
    if (n - i == 6 && (t[i] == '+' || t[i] == '-') && two_digits(t + i + 1, &oh) &&
        t[i + 3] == ':' && two_digits(t + i + 4, &om))
        sign = t[i] == '-' ? -1 : 1;
    else if (!(n - i == 1 && (t[i] == 'Z' || t[i] == 'z')))
        return SIWE_ERR_BAD_TIME;
    if (oh > 23 || om > 59 || h > 23 || mi > 59 || s > 60 || mo < 1 || mo > 12 || d < 1)
        return SIWE_ERR_BAD_TIME;
    struct tm tm = {.tm_year = yh * 100 + yl - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s == 60 ? 59 : s};
    time_t local = timegm(&tm);
    struct tm back;
    FUZZ_CHECK(gmtime_r(&local, &back) != NULL);
    if (back.tm_mday != d || back.tm_mon != mo - 1) /* day 31 of a 30-day month... */
        return SIWE_ERR_BAD_TIME;
    time_t utc = local - sign * (oh * 3600 + om * 60), next = utc + 1;
    struct tm u, after;
    FUZZ_CHECK(gmtime_r(&utc, &u) != NULL && gmtime_r(&next, &after) != NULL);
    if (s == 60 && !(u.tm_hour == 23 && u.tm_min == 59 && after.tm_mday == 1))
        return SIWE_ERR_BAD_TIME;
    *unix_out = (int64_t)utc + (s == 60);
    return SIWE_OK;
}

static void fuzz_time(const char *text, size_t len)
{
    struct siwe_time t;
    memset(&t, 0x5c, sizeof t);
    struct err e;
    fuzz_err_prime(&e);
    int64_t want = 0;
    enum siwe_result model = time_model(&want, text, len);
    enum siwe_result r = siwe_time_parse(&t, text, len, &e);
    FUZZ_CHECK(r == model);
    if (r != SIWE_OK) {
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        FUZZ_CHECK(t.unix_s == 0x5c5c5c5c5c5c5c5c && t.nanos == 0x5c5c5c5c);
        return;
    }
    FUZZ_CHECK(fuzz_err_is_untouched(&e));
    FUZZ_CHECK(t.unix_s == want && t.nanos < 1000000000u);
    FUZZ_CHECK(t.text.ptr == text && t.text.len == len);
}

/* ---- mode 2: expectations ------------------------------------------------------------------ */

static enum siwe_result check_model(const struct siwe_message *m, int64_t now)
{
    if (m->domain.len != 14 || memcmp(m->domain.ptr, "localhost:8080", 14) != 0)
        return SIWE_ERR_DOMAIN_MISMATCH;
    if (m->has_scheme && !(m->scheme.len == 4 && strncasecmp(m->scheme.ptr, "http", 4) == 0))
        return SIWE_ERR_SCHEME_MISMATCH;
    if (m->chain_id != 31337)
        return SIWE_ERR_CHAIN_MISMATCH;
    if (m->has_expiration_time && !(now < m->expiration_time.unix_s))
        return SIWE_ERR_EXPIRED;
    if (m->has_not_before &&
        (now < m->not_before.unix_s || (now == m->not_before.unix_s && m->not_before.nanos > 0)))
        return SIWE_ERR_NOT_YET_VALID;
    if (m->issued_at.unix_s > now + SIWE_ISSUED_AT_SKEW_S)
        return SIWE_ERR_ISSUED_IN_FUTURE;
    return SIWE_OK;
}

static void fuzz_check(struct fuzz_in *in)
{
    uint8_t b[4];
    fuzz_take_bytes(b, sizeof b, in);
    int32_t delta =
        (int32_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
    int64_t now = FUZZ_NOW_BASE + delta;
    struct siwe_message m;
    if (siwe_parse(&m, (const char *)in->p, in->len, NULL) != SIWE_OK)
        return;
    struct siwe_expect x = {"localhost:8080", "http", 31337, now};
    struct err e;
    fuzz_err_prime(&e);
    enum siwe_result r = siwe_check(&m, &x, &e);
    FUZZ_CHECK(r == check_model(&m, now));
    FUZZ_CHECK(r == SIWE_OK ? fuzz_err_is_untouched(&e) : fuzz_err_is_set(&e, (int)r));
}

/* ---- mode 3: signatures -------------------------------------------------------------------- */

/* What siwe must answer given sig.h's verdict on the signature (sig.h's own
 * order of checks is modelled by fuzz_sig.c): v, r, s and high s map to their
 * SIWE codes, and only a recovery of the message's address is accepted. */
static enum siwe_result sig_model(const uint8_t sig[SIG_BYTES], const struct address *signer)
{
    uint8_t hash[SIG_HASH_BYTES];
    struct address got;
    FUZZ_CHECK(sig_hash_personal_message(hash, (const uint8_t *)base_msg, sizeof base_msg - 1,
                                         NULL) == SIG_OK);
    switch (sig_recover_address(&got, hash, sig, NULL)) {
    case SIG_OK:
        return address_eq(&got, signer) ? SIWE_OK : SIWE_ERR_SIGNER_MISMATCH;
    case SIG_ERR_RECOVER:
        return SIWE_ERR_SIGNER_MISMATCH;
    case SIG_ERR_BAD_V:
        return SIWE_ERR_SIGNATURE_V;
    case SIG_ERR_BAD_R:
        return SIWE_ERR_SIGNATURE_R;
    case SIG_ERR_BAD_S:
        return SIWE_ERR_SIGNATURE_S;
    case SIG_ERR_HIGH_S:
        return SIWE_ERR_SIGNATURE_HIGH_S;
    default:
        FUZZ_FAIL("unexpected sig_recover_address result");
    }
}

static void fuzz_signature(struct fuzz_in *in, uint8_t mode)
{
    static const uint8_t forced_v[4] = {27, 28, 0, 1};
    uint8_t sig[SIG_BYTES], parsed[SIG_BYTES];
    fuzz_take_bytes(sig, sizeof sig, in);
    if (mode & 4)
        sig[64] = forced_v[(mode >> 3) & 3];
    struct siwe_message m;
    FUZZ_CHECK(siwe_parse(&m, base_msg, sizeof base_msg - 1, NULL) == SIWE_OK);
    enum siwe_signer signer = SIWE_SIGNER_CONTRACT;
    struct err e;
    fuzz_err_prime(&e);
    enum siwe_result r =
        siwe_verify_signature(&signer, base_msg, sizeof base_msg - 1, &m.address, sig, NULL, &e);
    FUZZ_CHECK(r == sig_model(sig, &m.address));
    FUZZ_CHECK(signer == (r == SIWE_OK ? SIWE_SIGNER_ACCOUNT : SIWE_SIGNER_NONE));
    FUZZ_CHECK(r == SIWE_OK ? fuzz_err_is_untouched(&e) : fuzz_err_is_set(&e, (int)r));
    char hex[SIWE_SIGNATURE_HEX_LEN + 1];
    FUZZ_CHECK(hex_encode_0x(hex, sizeof hex, sig, SIG_BYTES) == 0);
    FUZZ_CHECK(siwe_signature_parse(parsed, hex, SIWE_SIGNATURE_HEX_LEN, NULL) == SIWE_OK);
    FUZZ_CHECK(memcmp(parsed, sig, SIG_BYTES) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t mode = fuzz_take_byte(&in);
    switch (mode & 3) {
    case 0:
        fuzz_parse((const char *)in.p, in.len);
        break;
    case 1:
        fuzz_time((const char *)in.p, in.len);
        break;
    case 2:
        fuzz_check(&in);
        break;
    default:
        fuzz_signature(&in, mode);
        break;
    }
    return 0;
}
