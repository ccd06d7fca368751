/*
 * siwe.c - Sign-In with Ethereum (see siwe.h).
 *
 * The parser walks the message one line at a time with a cursor and never
 * backtracks further than one peeked line. Every loop is bounded by the
 * message size cap or by SIWE_LINES_MAX. Character classes are those of
 * RFC 3986 (ALPHA, DIGIT, unreserved marks "-._~", sub-delims "!$&'()*+,;=",
 * the gen-delims ":/?#[]@" one by one) plus the space of a statement.
 */
#include "siwe.h"

#include <string.h>
#include <strings.h>

#include "abi.h"
#include "buf.h"
#include "hex.h"

#define SIWE_QUOTE_SIZE 48 /* how much of a rejected input an error quotes */
#define SIWE_LINES_MAX (12 + 4 + SIWE_RESOURCES_MAX)
#define SIWE_CHAIN_ID_DIGITS_MAX 16
#define SIWE_EIP1271_CALL_BYTES_MAX 256 /* selector + bytes32 + a 65-byte bytes */
#define SIWE_SECONDS_PER_DAY 86400

/* Character classes (bit flags). */
#define SIWE_C_ALPHA 0x001u
#define SIWE_C_DIGIT 0x002u
#define SIWE_C_MARK 0x004u /* - . _ ~ */
#define SIWE_C_SUB 0x008u  /* ! $ & ' ( ) * + , ; = */
#define SIWE_C_COLON 0x010u
#define SIWE_C_AT 0x020u
#define SIWE_C_SLASH 0x040u
#define SIWE_C_QUERY 0x080u
#define SIWE_C_HASH 0x100u
#define SIWE_C_BRACKET 0x200u
#define SIWE_C_SPACE 0x400u
#define SIWE_C_UNRESERVED (SIWE_C_ALPHA | SIWE_C_DIGIT | SIWE_C_MARK)
#define SIWE_C_RESERVED                                                                            \
    (SIWE_C_SUB | SIWE_C_COLON | SIWE_C_AT | SIWE_C_SLASH | SIWE_C_QUERY | SIWE_C_HASH |           \
     SIWE_C_BRACKET)
#define SIWE_C_PCHAR (SIWE_C_UNRESERVED | SIWE_C_SUB | SIWE_C_COLON | SIWE_C_AT)

static const char siwe_header_suffix[] = " wants you to sign in with your Ethereum account:";

/* The fields after the statement, in grammar order; the first five are required. */
enum siwe_field {
    SIWE_F_URI = 0,
    SIWE_F_VERSION,
    SIWE_F_CHAIN_ID,
    SIWE_F_NONCE,
    SIWE_F_ISSUED_AT,
    SIWE_F_EXPIRATION_TIME,
    SIWE_F_NOT_BEFORE,
    SIWE_F_REQUEST_ID,
    SIWE_F_RESOURCES,
    SIWE_F_COUNT
};

static const char *const siwe_field_prefix[SIWE_F_COUNT] = {
    "URI: ",        "Version: ",    "Chain ID: ", "Nonce: ", "Issued At: ", "Expiration Time: ",
    "Not Before: ", "Request ID: ", "Resources:"};

struct siwe_cursor {
    const char *text;
    size_t len;
    size_t pos;     /* where the next line starts */
    bool done;      /* the last line (the one without LF) was taken */
    size_t line_no; /* of the line taken last, from 1 */
};

static const char *siwe_quote(char q[SIWE_QUOTE_SIZE], const char *p, size_t n);
static unsigned siwe_class(unsigned char c);
static size_t siwe_scan(const char *p, size_t n, unsigned classes, bool pct);
static bool siwe_span_is(struct siwe_span s, unsigned classes, bool pct);
static size_t siwe_scheme_len(const char *p, size_t n);
static bool siwe_next_line(struct siwe_cursor *c, struct siwe_span *line);
static enum siwe_result siwe_check_bytes(const char *text, size_t len, struct err *e);
static const char *siwe_authority_error(const char *p, size_t n);
static enum siwe_result siwe_parse_header(struct siwe_message *m, struct siwe_span line,
                                          struct err *e);
static enum siwe_result siwe_parse_address(struct address *out, struct siwe_span line,
                                           struct err *e);
static enum siwe_result siwe_parse_statement(struct siwe_message *m, struct siwe_cursor *c,
                                             struct err *e);
static int siwe_field_of(struct siwe_span line);
static enum siwe_result siwe_misplaced(enum siwe_field want, int got, struct siwe_span line,
                                       const struct siwe_cursor *c, struct err *e);
static enum siwe_result siwe_parse_uri(struct siwe_span *out, struct siwe_span v,
                                       enum siwe_result code, const char *what, struct err *e);
static enum siwe_result siwe_parse_chain_id(uint64_t *out, struct siwe_span v, struct err *e);
static enum siwe_result siwe_parse_nonce(struct siwe_message *m, struct siwe_span v, struct err *e);
static enum siwe_result siwe_parse_value(struct siwe_message *m, enum siwe_field f,
                                         struct siwe_span v, struct err *e);
static enum siwe_result siwe_parse_required(struct siwe_message *m, struct siwe_cursor *c,
                                            struct err *e);
static enum siwe_result siwe_add_resource(struct siwe_message *m, struct siwe_span line,
                                          size_t line_no, struct err *e);
static enum siwe_result siwe_parse_optional(struct siwe_message *m, struct siwe_cursor *c,
                                            struct err *e);
static bool siwe_digits(const char *p, size_t n, unsigned *out);
static unsigned siwe_days_in_month(unsigned year, unsigned month);
static int64_t siwe_days_from_civil(int64_t y, unsigned m, unsigned d);
static unsigned siwe_day_of_month(int64_t days);
static const char *siwe_time_offset(int64_t *out_s, const char *p, size_t n);
static const char *siwe_time_error(struct siwe_time *out, const char *t, size_t n);
static enum siwe_result siwe_time_field(struct siwe_time *out, struct siwe_span v, const char *what,
                                        struct err *e);
static enum siwe_result siwe_map_sig(enum sig_result r, const struct err *se, struct err *e);
static enum siwe_result siwe_eip1271_answer(enum rpc_result rr, const struct err *re,
                                            const uint8_t *ret, size_t ret_len,
                                            const struct address *wallet, struct err *e);
static enum siwe_result siwe_eip1271_call(struct rpc_client *rpc, const struct address *wallet,
                                          const uint8_t hash[SIG_HASH_BYTES],
                                          const uint8_t sig[SIG_BYTES], struct err *e);

/* ---- characters and lines ------------------------------------------------------------ */

/* q = p[0..n) quoted for an error message (err_quote); returns q. Called in
 * err_set() arguments, so nothing is quoted unless there is an error. */
static const char *siwe_quote(char q[SIWE_QUOTE_SIZE], const char *p, size_t n)
{
    err_quote(q, SIWE_QUOTE_SIZE, p, n);
    return q;
}

static unsigned siwe_class(unsigned char c)
{
    if ((unsigned)(c - 'a') < 26u || (unsigned)(c - 'A') < 26u)
        return SIWE_C_ALPHA;
    if ((unsigned)(c - '0') < 10u)
        return SIWE_C_DIGIT;
    switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
        return SIWE_C_MARK;
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
        return SIWE_C_SUB;
    case ':':
        return SIWE_C_COLON;
    case '@':
        return SIWE_C_AT;
    case '/':
        return SIWE_C_SLASH;
    case '?':
        return SIWE_C_QUERY;
    case '#':
        return SIWE_C_HASH;
    case '[':
    case ']':
        return SIWE_C_BRACKET;
    case ' ':
        return SIWE_C_SPACE;
    default:
        return 0;
    }
}

/* Length of the longest prefix of p[0..n) made of characters in `classes`
 * and, when `pct`, of valid "%" HEXDIG HEXDIG escapes. */
static size_t siwe_scan(const char *p, size_t n, unsigned classes, bool pct)
{
    size_t i = 0;
    while (i < n) {
        if ((siwe_class((unsigned char)p[i]) & classes) != 0) {
            i++;
        } else if (pct && p[i] == '%' && n - i >= 3 && hex_digit_value(p[i + 1]) >= 0 &&
                   hex_digit_value(p[i + 2]) >= 0) {
            i += 3;
        } else {
            break;
        }
    }
    return i;
}

static bool siwe_span_is(struct siwe_span s, unsigned classes, bool pct)
{
    return siwe_scan(s.ptr, s.len, classes, pct) == s.len;
}

/* Length of an RFC 3986 scheme at the start of p[0..n): ALPHA *(ALPHA /
 * DIGIT / "+" / "-" / "."); 0 when p does not start with a letter. */
static size_t siwe_scheme_len(const char *p, size_t n)
{
    if (n == 0 || siwe_class((unsigned char)p[0]) != SIWE_C_ALPHA)
        return 0;
    size_t i = 1;
    while (i < n && ((siwe_class((unsigned char)p[i]) & (SIWE_C_ALPHA | SIWE_C_DIGIT)) != 0 ||
                     p[i] == '+' || p[i] == '-' || p[i] == '.'))
        i++;
    return i;
}

/* Takes the next line (without its LF). After a final LF there is one more,
 * empty, line. Returns false when the last line was already taken. */
static bool siwe_next_line(struct siwe_cursor *c, struct siwe_span *line)
{
    if (c->done)
        return false;
    size_t left = c->len - c->pos;
    const char *start = c->text + c->pos;
    const char *nl = left > 0 ? memchr(start, '\n', left) : NULL;
    line->ptr = start;
    line->len = nl != NULL ? (size_t)(nl - start) : left;
    c->pos += line->len + (nl != NULL);
    c->done = nl == NULL;
    c->line_no++;
    return true;
}

/* Size cap, then every byte printable ASCII or LF. */
static enum siwe_result siwe_check_bytes(const char *text, size_t len, struct err *e)
{
    if (len > SIWE_MESSAGE_BYTES_MAX)
        return err_set(e, SIWE_ERR_TOO_LONG, "siwe message too long: %zu bytes, maximum %d", len,
                       SIWE_MESSAGE_BYTES_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\r')
            return err_set(e, SIWE_ERR_CR,
                           "siwe message has a carriage return at offset %zu: lines end in LF only",
                           i);
        if ((ch < 0x20 && ch != '\n') || ch >= 0x7f)
            return err_set(
                e, SIWE_ERR_BAD_BYTE,
                "siwe message has byte 0x%02x at offset %zu: only printable ascii and LF", ch, i);
    }
    return SIWE_OK;
}

/* ---- header, address, statement ------------------------------------------------------ */

/* NULL when p[0..n) is an RFC 3986 authority with a non-empty host (a
 * reg-name or a bracketed IP literal) and a port of at most
 * SIWE_PORT_DIGITS_MAX digits; else why not. */
static const char *siwe_authority_error(const char *p, size_t n)
{
    const char *at = memrchr(p, '@', n);
    if (at != NULL) {
        struct siwe_span userinfo = {p, (size_t)(at - p)};
        if (!siwe_span_is(userinfo, SIWE_C_UNRESERVED | SIWE_C_SUB | SIWE_C_COLON, true))
            return "bad character in userinfo";
        n -= (size_t)(at - p) + 1;
        p = at + 1;
    }
    size_t host_len;
    if (n > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (close == NULL || close == p + 1)
            return "unterminated or empty ip literal";
        struct siwe_span lit = {p + 1, (size_t)(close - p) - 1};
        if (!siwe_span_is(lit, SIWE_C_UNRESERVED | SIWE_C_SUB | SIWE_C_COLON, false))
            return "bad character in ip literal";
        host_len = (size_t)(close - p) + 1;
    } else {
        host_len = siwe_scan(p, n, SIWE_C_UNRESERVED | SIWE_C_SUB, true);
        if (host_len == 0)
            return "empty host";
    }
    if (host_len == n)
        return NULL;
    if (p[host_len] != ':')
        return "bad character in host";
    struct siwe_span port = {p + host_len + 1, n - host_len - 1};
    if (port.len > SIWE_PORT_DIGITS_MAX || !siwe_span_is(port, SIWE_C_DIGIT, false))
        return "port is not at most 5 digits";
    return NULL;
}

static enum siwe_result siwe_parse_header(struct siwe_message *m, struct siwe_span line,
                                          struct err *e)
{
    char q[SIWE_QUOTE_SIZE];
    size_t suffix_len = sizeof siwe_header_suffix - 1;
    if (line.len < suffix_len ||
        memcmp(line.ptr + line.len - suffix_len, siwe_header_suffix, suffix_len) != 0) {
        err_quote(q, sizeof q, line.ptr, line.len);
        return err_set(e, SIWE_ERR_HEADER,
                       "siwe line 1 is not '<domain> wants you to sign in with your Ethereum "
                       "account:': '%s'",
                       q);
    }
    struct siwe_span origin = {line.ptr, line.len - suffix_len};
    size_t s = siwe_scheme_len(origin.ptr, origin.len);
    if (s > 0 && origin.len - s >= 3 && memcmp(origin.ptr + s, "://", 3) == 0) {
        if (s > SIWE_SCHEME_BYTES_MAX)
            return err_set(e, SIWE_ERR_BAD_SCHEME, "siwe scheme longer than %d bytes",
                           SIWE_SCHEME_BYTES_MAX);
        m->has_scheme = true;
        m->scheme = (struct siwe_span){origin.ptr, s};
        origin.ptr += s + 3;
        origin.len -= s + 3;
    } else if (memmem(origin.ptr, origin.len, "://", 3) != NULL) {
        err_quote(q, sizeof q, origin.ptr, origin.len);
        return err_set(e, SIWE_ERR_BAD_SCHEME, "siwe scheme before '://' is malformed: '%s'", q);
    }
    if (origin.len == 0 || origin.len > SIWE_DOMAIN_BYTES_MAX)
        return err_set(e, SIWE_ERR_BAD_DOMAIN, "siwe domain empty or longer than %d bytes: '%s'",
                       SIWE_DOMAIN_BYTES_MAX, siwe_quote(q, origin.ptr, origin.len));
    const char *why = siwe_authority_error(origin.ptr, origin.len);
    if (why != NULL)
        return err_set(e, SIWE_ERR_BAD_DOMAIN, "invalid siwe domain '%s': %s",
                       siwe_quote(q, origin.ptr, origin.len), why);
    m->domain = origin;
    return SIWE_OK;
}

/* "0x" + 40 hex digits in exactly their EIP-55 case. */
static enum siwe_result siwe_parse_address(struct address *out, struct siwe_span line,
                                           struct err *e)
{
    char q[SIWE_QUOTE_SIZE];
    if (line.len != ADDRESS_TEXT_LEN || line.ptr[0] != '0' || line.ptr[1] != 'x' ||
        !hex_is_digits(line.ptr + 2, ADDRESS_TEXT_LEN - 2))
        return err_set(e, SIWE_ERR_BAD_ADDRESS,
                       "siwe line 2 is not an address ('0x' + 40 hex digits): '%s'",
                       siwe_quote(q, line.ptr, line.len));
    struct address a;
    enum hex_result hr = hex_decode_exact(a.bytes, ADDRESS_BYTES, line.ptr + 2, 40, NULL);
    ASSERT(hr == HEX_OK);
    char sum[ADDRESS_TEXT_SIZE];
    address_format_checksum(sum, &a);
    if (memcmp(sum, line.ptr, ADDRESS_TEXT_LEN) != 0)
        return err_set(e, SIWE_ERR_ADDRESS_CASE,
                       "siwe address '%.42s' is not in its eip-55 checksum case '%s'", line.ptr,
                       sum);
    *out = a;
    return SIWE_OK;
}

/* Lines 3 to 5 or 6: blank, [statement], blank. Leaves the cursor before "URI: ". */
static enum siwe_result siwe_parse_statement(struct siwe_message *m, struct siwe_cursor *c,
                                             struct err *e)
{
    struct siwe_span blank, line, after;
    if (!siwe_next_line(c, &blank) || blank.len != 0)
        return err_set(e, SIWE_ERR_LAYOUT, "siwe line 3 must be blank (after the address)");
    if (!siwe_next_line(c, &line))
        return err_set(e, SIWE_ERR_MISSING_FIELD, "siwe message ends before 'URI: '");
    struct siwe_cursor peek = *c;
    bool has_after = siwe_next_line(&peek, &after);
    if (line.len == 0 && !(has_after && after.len == 0))
        return SIWE_OK; /* no statement: the line after the blank ones is "URI: " */
    if (!has_after || after.len != 0) {
        if (has_after && siwe_field_of(after) < 0)
            return err_set(e, SIWE_ERR_STATEMENT_LINES,
                           "siwe statement spans more than one line (line %zu)", peek.line_no);
        return err_set(e, SIWE_ERR_LAYOUT, "siwe line %zu must be blank (after the statement)",
                       c->line_no + 1);
    }
    *c = peek;
    char q[SIWE_QUOTE_SIZE];
    if (line.len > SIWE_STATEMENT_BYTES_MAX)
        return err_set(e, SIWE_ERR_BAD_STATEMENT, "siwe statement longer than %d bytes",
                       SIWE_STATEMENT_BYTES_MAX);
    size_t ok =
        siwe_scan(line.ptr, line.len, SIWE_C_UNRESERVED | SIWE_C_RESERVED | SIWE_C_SPACE, false);
    if (ok != line.len)
        return err_set(e, SIWE_ERR_BAD_STATEMENT,
                       "siwe statement has character '%c' at offset %zu outside rfc 3986 "
                       "reserved/unreserved characters and space: '%s'",
                       line.ptr[ok], ok, siwe_quote(q, line.ptr, line.len));
    m->has_statement = true;
    m->statement = line;
    return SIWE_OK;
}

/* ---- fields ------------------------------------------------------------------------------ */

/* The field whose prefix starts `line`, or -1. */
static int siwe_field_of(struct siwe_span line)
{
    for (int f = 0; f < SIWE_F_COUNT; f++) {
        size_t n = strlen(siwe_field_prefix[f]);
        if (line.len >= n && memcmp(line.ptr, siwe_field_prefix[f], n) == 0)
            return f;
    }
    return -1;
}

/* The line just taken from `c` holds field `got` (or no field, -1) where
 * `want` belongs: a field seen before (repeated) or one found further down
 * (swapped) is out of order; otherwise `want` is missing. */
static enum siwe_result siwe_misplaced(enum siwe_field want, int got, struct siwe_span line,
                                       const struct siwe_cursor *c, struct err *e)
{
    bool later = false;
    struct siwe_cursor peek = *c;
    struct siwe_span next;
    for (size_t i = 0; !later && i < SIWE_LINES_MAX && siwe_next_line(&peek, &next); i++)
        later = siwe_field_of(next) == (int)want;
    if (got >= 0 && (got < (int)want || later))
        return err_set(e, SIWE_ERR_FIELD_ORDER,
                       "siwe field '%s' repeated or out of order at line %zu (expected '%s')",
                       siwe_field_prefix[got], c->line_no, siwe_field_prefix[want]);
    if (got >= 0)
        return err_set(e, SIWE_ERR_MISSING_FIELD, "siwe field '%s' missing before '%s' (line %zu)",
                       siwe_field_prefix[want], siwe_field_prefix[got], c->line_no);
    char q[SIWE_QUOTE_SIZE];
    err_quote(q, sizeof q, line.ptr, line.len);
    return err_set(e, SIWE_ERR_MISSING_FIELD, "siwe line %zu should be '%s...', not '%s'",
                   c->line_no, siwe_field_prefix[want], q);
}

static enum siwe_result siwe_parse_uri(struct siwe_span *out, struct siwe_span v,
                                       enum siwe_result code, const char *what, struct err *e)
{
    char q[SIWE_QUOTE_SIZE];
    if (v.len > SIWE_URI_BYTES_MAX)
        return err_set(e, code, "siwe %s longer than %d bytes", what, SIWE_URI_BYTES_MAX);
    size_t s = siwe_scheme_len(v.ptr, v.len);
    if (s == 0 || s == v.len || v.ptr[s] != ':')
        return err_set(e, code, "siwe %s '%s' does not start with a uri scheme and ':'", what,
                       siwe_quote(q, v.ptr, v.len));
    struct siwe_span rest = {v.ptr + s + 1, v.len - s - 1};
    size_t ok = siwe_scan(rest.ptr, rest.len, SIWE_C_UNRESERVED | SIWE_C_RESERVED, true);
    if (ok != rest.len)
        return err_set(e, code, "siwe %s '%s' has a character outside rfc 3986 at offset %zu", what,
                       siwe_quote(q, v.ptr, v.len), s + 1 + ok);
    *out = v;
    return SIWE_OK;
}

static enum siwe_result siwe_parse_chain_id(uint64_t *out, struct siwe_span v, struct err *e)
{
    char q[SIWE_QUOTE_SIZE];
    bool ok = v.len >= 1 && v.len <= SIWE_CHAIN_ID_DIGITS_MAX && v.ptr[0] != '0' &&
              siwe_span_is(v, SIWE_C_DIGIT, false);
    uint64_t x = 0;
    for (size_t i = 0; ok && i < v.len; i++)
        x = x * 10u + (uint64_t)(v.ptr[i] - '0');
    if (!ok || x > SIWE_CHAIN_ID_MAX)
        return err_set(e, SIWE_ERR_BAD_CHAIN_ID,
                       "siwe chain id '%s' is not a decimal 1..%llu without leading zeros",
                       siwe_quote(q, v.ptr, v.len), (unsigned long long)SIWE_CHAIN_ID_MAX);
    *out = x;
    return SIWE_OK;
}

static enum siwe_result siwe_parse_nonce(struct siwe_message *m, struct siwe_span v, struct err *e)
{
    if (v.len < SIWE_NONCE_BYTES_MIN || v.len > SIWE_NONCE_BYTES_MAX ||
        !siwe_span_is(v, SIWE_C_ALPHA | SIWE_C_DIGIT, false)) {
        char q[SIWE_QUOTE_SIZE];
        err_quote(q, sizeof q, v.ptr, v.len);
        return err_set(e, SIWE_ERR_BAD_NONCE, "siwe nonce '%s' is not %d to %d letters and digits",
                       q, SIWE_NONCE_BYTES_MIN, SIWE_NONCE_BYTES_MAX);
    }
    memcpy(m->nonce, v.ptr, v.len);
    m->nonce[v.len] = '\0';
    m->nonce_len = v.len;
    return SIWE_OK;
}

/* The value `v` (after the prefix) of field `f`. */
static enum siwe_result siwe_parse_value(struct siwe_message *m, enum siwe_field f,
                                         struct siwe_span v, struct err *e)
{
    switch (f) {
    case SIWE_F_URI:
        return siwe_parse_uri(&m->uri, v, SIWE_ERR_BAD_URI, "uri", e);
    case SIWE_F_VERSION:
        if (v.len == 1 && v.ptr[0] == '1')
            return SIWE_OK;
        return err_set(e, SIWE_ERR_BAD_VERSION, "siwe version is not '1'");
    case SIWE_F_CHAIN_ID:
        return siwe_parse_chain_id(&m->chain_id, v, e);
    case SIWE_F_NONCE:
        return siwe_parse_nonce(m, v, e);
    case SIWE_F_ISSUED_AT:
        return siwe_time_field(&m->issued_at, v, "issued at", e);
    case SIWE_F_EXPIRATION_TIME:
        m->has_expiration_time = true;
        return siwe_time_field(&m->expiration_time, v, "expiration time", e);
    case SIWE_F_NOT_BEFORE:
        m->has_not_before = true;
        return siwe_time_field(&m->not_before, v, "not before", e);
    case SIWE_F_REQUEST_ID:
        if (v.len > SIWE_REQUEST_ID_BYTES_MAX || !siwe_span_is(v, SIWE_C_PCHAR, true))
            return err_set(e, SIWE_ERR_BAD_REQUEST_ID,
                           "siwe request id is longer than %d bytes or not rfc 3986 pchars",
                           SIWE_REQUEST_ID_BYTES_MAX);
        m->has_request_id = true;
        m->request_id = v;
        return SIWE_OK;
    case SIWE_F_RESOURCES:
        if (v.len != 0)
            return err_set(e, SIWE_ERR_BAD_RESOURCE, "siwe 'Resources:' line has text after it");
        m->has_resources = true;
        return SIWE_OK;
    default:
        ASSERT(!"unknown siwe field");
    }
    return SIWE_ERR_INTERNAL;
}

/* URI, Version, Chain ID, Nonce, Issued At: one line each, in this order. */
static enum siwe_result siwe_parse_required(struct siwe_message *m, struct siwe_cursor *c,
                                            struct err *e)
{
    for (int f = SIWE_F_URI; f <= SIWE_F_ISSUED_AT; f++) {
        struct siwe_span line;
        if (!siwe_next_line(c, &line))
            return err_set(e, SIWE_ERR_MISSING_FIELD, "siwe message ends before '%s'",
                           siwe_field_prefix[f]);
        int got = siwe_field_of(line);
        if (got != f)
            return siwe_misplaced((enum siwe_field)f, got, line, c, e);
        size_t n = strlen(siwe_field_prefix[f]);
        enum siwe_result r = siwe_parse_value(m, (enum siwe_field)f,
                                              (struct siwe_span){line.ptr + n, line.len - n}, e);
        if (r != SIWE_OK)
            return r;
    }
    return SIWE_OK;
}

static enum siwe_result siwe_add_resource(struct siwe_message *m, struct siwe_span line,
                                          size_t line_no, struct err *e)
{
    if (line.len < 2 || line.ptr[1] != ' ')
        return err_set(e, SIWE_ERR_BAD_RESOURCE, "siwe line %zu: a resource is '- <uri>'", line_no);
    if (m->resources_count == SIWE_RESOURCES_MAX)
        return err_set(e, SIWE_ERR_TOO_MANY_RESOURCES, "siwe message has more than %d resources",
                       SIWE_RESOURCES_MAX);
    struct siwe_span v = {line.ptr + 2, line.len - 2};
    return siwe_parse_uri(&m->resources[m->resources_count++], v, SIWE_ERR_BAD_RESOURCE, "resource",
                          e);
}

/* Expiration Time, Not Before, Request ID, Resources (+ items): each at most
 * once, in this order; then the message ends. */
static enum siwe_result siwe_parse_optional(struct siwe_message *m, struct siwe_cursor *c,
                                            struct err *e)
{
    int next = SIWE_F_EXPIRATION_TIME;
    struct siwe_span line;
    for (size_t guard = 0; guard < SIWE_LINES_MAX; guard++) {
        if (!siwe_next_line(c, &line))
            return SIWE_OK;
        enum siwe_result r;
        if (m->has_resources && line.len > 0 && line.ptr[0] == '-') {
            r = siwe_add_resource(m, line, c->line_no, e);
            if (r != SIWE_OK)
                return r;
            continue;
        }
        int got = siwe_field_of(line);
        if (got >= 0 && got < next)
            return err_set(e, SIWE_ERR_FIELD_ORDER,
                           "siwe field '%s' repeated or out of order at line %zu",
                           siwe_field_prefix[got], c->line_no);
        if (got < 0) {
            char q[SIWE_QUOTE_SIZE];
            err_quote(q, sizeof q, line.ptr, line.len);
            return err_set(e, SIWE_ERR_EXTRA_LINE, "siwe line %zu is not a field: '%s'%s",
                           c->line_no, q, c->done && line.len == 0 ? " (trailing LF)" : "");
        }
        size_t n = strlen(siwe_field_prefix[got]);
        r = siwe_parse_value(m, (enum siwe_field)got,
                             (struct siwe_span){line.ptr + n, line.len - n}, e);
        if (r != SIWE_OK)
            return r;
        next = got + 1;
    }
    return err_set(e, SIWE_ERR_EXTRA_LINE, "siwe message has more than %d lines", SIWE_LINES_MAX);
}

enum siwe_result siwe_parse(struct siwe_message *out, const char *message, size_t message_len,
                            struct err *e)
{
    ASSERT(out != NULL && (message != NULL || message_len == 0));
    enum siwe_result r = siwe_check_bytes(message, message_len, e);
    if (r != SIWE_OK)
        return r;
    struct siwe_message m;
    memset(&m, 0, sizeof m);
    struct siwe_cursor c = {.text = message, .len = message_len};
    struct siwe_span line;
    bool any = siwe_next_line(&c, &line);
    ASSERT(any);
    r = siwe_parse_header(&m, line, e);
    if (r == SIWE_OK && !siwe_next_line(&c, &line))
        r = err_set(e, SIWE_ERR_BAD_ADDRESS, "siwe message ends before the address line");
    if (r == SIWE_OK)
        r = siwe_parse_address(&m.address, line, e);
    if (r == SIWE_OK)
        r = siwe_parse_statement(&m, &c, e);
    if (r == SIWE_OK)
        r = siwe_parse_required(&m, &c, e);
    if (r == SIWE_OK)
        r = siwe_parse_optional(&m, &c, e);
    if (r == SIWE_OK)
        *out = m;
    return r;
}

/* ---- RFC 3339 ---------------------------------------------------------------------------- */

static bool siwe_digits(const char *p, size_t n, unsigned *out)
{
    unsigned x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        x = x * 10u + (unsigned)(p[i] - '0');
    }
    *out = x;
    return true;
}

static unsigned siwe_days_in_month(unsigned year, unsigned month)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    ASSERT(month >= 1 && month <= 12);
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t siwe_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153u * (m > 2 ? m - 3 : m + 9) + 2u) / 5u + d - 1u;
    unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The day of the month (1..31) of day number `days` since 1970-01-01. */
static unsigned siwe_day_of_month(int64_t days)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
    unsigned doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
    unsigned mp = (5u * doy + 2u) / 153u;
    return doy - (153u * mp + 2u) / 5u + 1u;
}

/* "Z", "z" or ("+" / "-") hh ":" mm, and nothing after: the offset east of UTC. */
static const char *siwe_time_offset(int64_t *out_s, const char *p, size_t n)
{
    if (n == 1 && (p[0] == 'Z' || p[0] == 'z')) {
        *out_s = 0;
        return NULL;
    }
    unsigned h, m;
    if (n != 6 || (p[0] != '+' && p[0] != '-') || !siwe_digits(p + 1, 2, &h) || p[3] != ':' ||
        !siwe_digits(p + 4, 2, &m))
        return "offset is not 'Z' or '+hh:mm' / '-hh:mm' at the end";
    if (h > 23 || m > 59)
        return "offset out of range";
    *out_s = (p[0] == '-' ? -1 : 1) * (int64_t)(h * 3600u + m * 60u);
    return NULL;
}

/* NULL and *out filled when t[0..n) is an RFC 3339 date-time; else why not. */
static const char *siwe_time_error(struct siwe_time *out, const char *t, size_t n)
{
    if (n < 20 || n > SIWE_TIME_BYTES_MAX)
        return "length is not 20..35";
    unsigned y, mo, d, h, mi, s;
    if (!siwe_digits(t, 4, &y) || t[4] != '-' || !siwe_digits(t + 5, 2, &mo) || t[7] != '-' ||
        !siwe_digits(t + 8, 2, &d) || (t[10] != 'T' && t[10] != 't') ||
        !siwe_digits(t + 11, 2, &h) || t[13] != ':' || !siwe_digits(t + 14, 2, &mi) ||
        t[16] != ':' || !siwe_digits(t + 17, 2, &s))
        return "not YYYY-MM-DDThh:mm:ss";
    size_t i = 19;
    uint32_t nanos = 0;
    if (t[i] == '.') {
        size_t k = 0;
        for (i++; i < n && t[i] >= '0' && t[i] <= '9'; i++, k++)
            if (k < SIWE_TIME_FRACTION_DIGITS_MAX)
                nanos = nanos * 10u + (uint32_t)(t[i] - '0');
        if (k == 0 || k > SIWE_TIME_FRACTION_DIGITS_MAX)
            return "fraction of a second is not 1 to 9 digits";
        for (; k < SIWE_TIME_FRACTION_DIGITS_MAX; k++)
            nanos *= 10u;
    }
    int64_t offset_s = 0;
    const char *why = siwe_time_offset(&offset_s, t + i, n - i);
    if (why != NULL)
        return why;
    if (mo < 1 || mo > 12 || d < 1 || d > siwe_days_in_month(y, mo))
        return "no such date";
    if (h > 23 || mi > 59 || s > 60)
        return "time of day out of range";
    int64_t unix_s = siwe_days_from_civil(y, mo, d) * SIWE_SECONDS_PER_DAY +
                     (int64_t)(h * 3600u + mi * 60u + s) - offset_s;
    int64_t day = unix_s / SIWE_SECONDS_PER_DAY - (unix_s % SIWE_SECONDS_PER_DAY < 0);
    if (s == 60 && (unix_s - day * SIWE_SECONDS_PER_DAY != 0 || siwe_day_of_month(day) != 1))
        return "second 60 is only a leap second at 23:59:60 utc on a month's last day";
    *out = (struct siwe_time){.unix_s = unix_s, .nanos = nanos, .text = {t, n}};
    return NULL;
}

static enum siwe_result siwe_time_field(struct siwe_time *out, struct siwe_span v, const char *what,
                                        struct err *e)
{
    const char *why = siwe_time_error(out, v.ptr, v.len);
    if (why == NULL)
        return SIWE_OK;
    char q[SIWE_QUOTE_SIZE];
    err_quote(q, sizeof q, v.ptr, v.len);
    return err_set(e, SIWE_ERR_BAD_TIME, "invalid rfc 3339 %s '%s': %s", what, q, why);
}

enum siwe_result siwe_time_parse(struct siwe_time *out, const char *text, size_t text_len,
                                 struct err *e)
{
    ASSERT(out != NULL && (text != NULL || text_len == 0));
    struct siwe_time t;
    enum siwe_result r = siwe_time_field(&t, (struct siwe_span){text, text_len}, "date-time", e);
    if (r == SIWE_OK)
        *out = t;
    return r;
}

/* ---- expectations ------------------------------------------------------------------------ */

enum siwe_result siwe_check(const struct siwe_message *m, const struct siwe_expect *x,
                            struct err *e)
{
    ASSERT(m != NULL && x != NULL && x->domain != NULL && x->scheme != NULL);
    char q[SIWE_QUOTE_SIZE];
    size_t domain_len = strlen(x->domain);
    if (m->domain.len != domain_len || memcmp(m->domain.ptr, x->domain, domain_len) != 0) {
        err_quote(q, sizeof q, m->domain.ptr, m->domain.len);
        return err_set(e, SIWE_ERR_DOMAIN_MISMATCH, "siwe domain '%s' is not '%s'", q, x->domain);
    }
    if (m->has_scheme && (m->scheme.len != strlen(x->scheme) ||
                          strncasecmp(m->scheme.ptr, x->scheme, m->scheme.len) != 0)) {
        err_quote(q, sizeof q, m->scheme.ptr, m->scheme.len);
        return err_set(e, SIWE_ERR_SCHEME_MISMATCH, "siwe scheme '%s' is not '%s'", q, x->scheme);
    }
    if (m->chain_id != x->chain_id)
        return err_set(e, SIWE_ERR_CHAIN_MISMATCH, "siwe chain id %llu is not %llu",
                       (unsigned long long)m->chain_id, (unsigned long long)x->chain_id);
    if (m->has_expiration_time && x->now_s >= m->expiration_time.unix_s)
        return err_set(e, SIWE_ERR_EXPIRED, "siwe message expired at %.*s",
                       (int)m->expiration_time.text.len, m->expiration_time.text.ptr);
    if (m->has_not_before && x->now_s < m->not_before.unix_s + (m->not_before.nanos > 0))
        return err_set(e, SIWE_ERR_NOT_YET_VALID, "siwe message is not valid before %.*s",
                       (int)m->not_before.text.len, m->not_before.text.ptr);
    if (m->issued_at.unix_s - SIWE_ISSUED_AT_SKEW_S > x->now_s)
        return err_set(e, SIWE_ERR_ISSUED_IN_FUTURE,
                       "siwe message issued at %.*s, more than %d s in the future",
                       (int)m->issued_at.text.len, m->issued_at.text.ptr, SIWE_ISSUED_AT_SKEW_S);
    return SIWE_OK;
}

/* ---- signatures --------------------------------------------------------------------------- */

enum siwe_result siwe_signature_parse(uint8_t out[SIG_BYTES], const char *text, size_t text_len,
                                      struct err *e)
{
    ASSERT(out != NULL && (text != NULL || text_len == 0));
    if (text_len < 2 || text[0] != '0' || text[1] != 'x')
        return err_set(e, SIWE_ERR_SIGNATURE_ENCODING, "siwe signature does not start with '0x'");
    size_t digits = text_len - 2;
    if (digits > 2 * SIG_BYTES)
        return err_set(e, SIWE_ERR_SIGNATURE_LENGTH,
                       "siwe signature has %zu hex digits, not %d (65 bytes)", digits,
                       2 * SIG_BYTES);
    if (!hex_is_digits(text + 2, digits) || digits % 2 != 0)
        return err_set(e, SIWE_ERR_SIGNATURE_ENCODING,
                       "siwe signature is not an even number of hex digits after '0x'");
    if (digits != 2 * SIG_BYTES)
        return err_set(e, SIWE_ERR_SIGNATURE_LENGTH, "siwe signature is %zu bytes, not %d",
                       digits / 2, SIG_BYTES);
    enum hex_result hr = hex_decode_exact(out, SIG_BYTES, text + 2, digits, NULL);
    ASSERT(hr == HEX_OK);
    return SIWE_OK;
}

/* sig.h's verdict: v, r and s rejections become ours; a signature from
 * which no key recovers goes on to EIP-1271 (SIWE_OK here). */
static enum siwe_result siwe_map_sig(enum sig_result r, const struct err *se, struct err *e)
{
    switch (r) {
    case SIG_OK:
    case SIG_ERR_RECOVER:
        return SIWE_OK;
    case SIG_ERR_BAD_V:
        return err_set(e, SIWE_ERR_SIGNATURE_V, "siwe %s", se->msg);
    case SIG_ERR_BAD_R:
        return err_set(e, SIWE_ERR_SIGNATURE_R, "siwe %s", se->msg);
    case SIG_ERR_BAD_S:
        return err_set(e, SIWE_ERR_SIGNATURE_S, "siwe %s", se->msg);
    case SIG_ERR_HIGH_S:
        return err_set(e, SIWE_ERR_SIGNATURE_HIGH_S, "siwe %s", se->msg);
    default:
        return err_set(e, SIWE_ERR_INTERNAL, "siwe signature check failed: %s", se->msg);
    }
}

static enum siwe_result siwe_eip1271_answer(enum rpc_result rr, const struct err *re,
                                            const uint8_t *ret, size_t ret_len,
                                            const struct address *wallet, struct err *e)
{
    char a[ADDRESS_TEXT_SIZE];
    address_format_checksum(a, wallet);
    if (rr == RPC_ERR_EXECUTION_REVERTED || rr == RPC_ERR_TOO_LARGE)
        return err_set(e, SIWE_ERR_SIGNER_MISMATCH,
                       "siwe signature is not by %s, and its isValidSignature %s", a,
                       rr == RPC_ERR_TOO_LARGE ? "returned too much data" : "reverted");
    if (rr != RPC_OK)
        return err_set(e, SIWE_ERR_RPC, "siwe eip-1271 check of %s failed: %s", a, re->msg);
    if (ret_len == 0)
        return err_set(e, SIWE_ERR_SIGNER_MISMATCH,
                       "siwe signature is not by %s, which has no eip-1271 contract code", a);
    static const uint8_t magic[4] = {
        (uint8_t)(SIWE_EIP1271_MAGIC >> 24), (uint8_t)(SIWE_EIP1271_MAGIC >> 16),
        (uint8_t)(SIWE_EIP1271_MAGIC >> 8), (uint8_t)SIWE_EIP1271_MAGIC};
    bool ok = ret_len >= ABI_WORD_BYTES && memcmp(ret, magic, sizeof magic) == 0;
    for (size_t i = sizeof magic; ok && i < ABI_WORD_BYTES; i++)
        ok = ret[i] == 0;
    if (!ok)
        return err_set(e, SIWE_ERR_SIGNER_MISMATCH,
                       "siwe signature is not by %s, and its isValidSignature did not return "
                       "0x1626ba7e",
                       a);
    return SIWE_OK;
}

static enum siwe_result siwe_eip1271_call(struct rpc_client *rpc, const struct address *wallet,
                                          const uint8_t hash[SIG_HASH_BYTES],
                                          const uint8_t sig[SIG_BYTES], struct err *e)
{
    if (rpc->opt.retries_max != 0 || rpc->opt.total_timeout_ms > SIWE_EIP1271_TIMEOUT_MS_MAX)
        return err_set(e, SIWE_ERR_RPC,
                       "siwe eip-1271 rpc client may retry or wait more than %d ms: build it with "
                       "siwe_eip1271_rpc_options()",
                       SIWE_EIP1271_TIMEOUT_MS_MAX);
    struct abi_value args[2] = {abi_value_bytes32(hash), abi_value_bytes(sig, SIG_BYTES)};
    struct buf data;
    buf_init(&data, SIWE_EIP1271_CALL_BYTES_MAX);
    uint8_t ret[SIWE_EIP1271_RESULT_BYTES_MAX];
    size_t ret_len = 0;
    struct err re = {0};
    enum siwe_result r;
    if (abi_encode_call(&data, "isValidSignature(bytes32,bytes)", args, 2, &re) != ABI_OK) {
        r = err_set(e, SIWE_ERR_INTERNAL, "siwe eip-1271 call encoding failed: %s", re.msg);
    } else {
        enum rpc_result rr = rpc_eth_call(rpc, ret, sizeof ret, &ret_len, NULL, wallet->bytes,
                                          data.data, data.len, "latest", &re);
        r = siwe_eip1271_answer(rr, &re, ret, ret_len, wallet, e);
    }
    buf_release(&data);
    return r;
}

enum siwe_result siwe_verify_signature(enum siwe_signer *signer_out, const char *message,
                                       size_t message_len, const struct address *address,
                                       const uint8_t signature[SIG_BYTES], struct rpc_client *rpc,
                                       struct err *e)
{
    ASSERT(signer_out != NULL && address != NULL && signature != NULL);
    ASSERT(message != NULL || message_len == 0);
    *signer_out = SIWE_SIGNER_NONE;
    if (message_len > SIWE_MESSAGE_BYTES_MAX)
        return err_set(e, SIWE_ERR_TOO_LONG, "siwe message too long: %zu bytes, maximum %d",
                       message_len, SIWE_MESSAGE_BYTES_MAX);
    uint8_t hash[SIG_HASH_BYTES];
    struct err se = {0};
    enum sig_result sr =
        sig_hash_personal_message(hash, (const uint8_t *)message, message_len, &se);
    ASSERT(sr == SIG_OK);
    struct address got;
    sr = sig_recover_address(&got, hash, signature, &se);
    enum siwe_result r = siwe_map_sig(sr, &se, e);
    if (r != SIWE_OK)
        return r;
    if (sr == SIG_OK && address_eq(&got, address)) {
        *signer_out = SIWE_SIGNER_ACCOUNT;
        return SIWE_OK;
    }
    if (rpc != NULL) {
        r = siwe_eip1271_call(rpc, address, hash, signature, e);
        if (r == SIWE_OK)
            *signer_out = SIWE_SIGNER_CONTRACT;
        return r;
    }
    char want[ADDRESS_TEXT_SIZE], by[ADDRESS_TEXT_SIZE];
    address_format_checksum(want, address);
    address_format_checksum(by, &got);
    if (sr != SIG_OK)
        return err_set(e, SIWE_ERR_SIGNER_MISMATCH, "siwe signature recovers no key, not %s", want);
    return err_set(e, SIWE_ERR_SIGNER_MISMATCH, "siwe signature is by %s, not %s", by, want);
}

enum siwe_result siwe_verify(struct siwe_message *out, enum siwe_signer *signer_out,
                             const char *message, size_t message_len, const char *signature,
                             size_t signature_len, const struct siwe_expect *x,
                             struct rpc_client *rpc, struct err *e)
{
    ASSERT(out != NULL && signer_out != NULL && x != NULL);
    *signer_out = SIWE_SIGNER_NONE;
    struct siwe_message m;
    uint8_t sig[SIG_BYTES];
    enum siwe_result r = siwe_parse(&m, message, message_len, e);
    if (r == SIWE_OK)
        r = siwe_check(&m, x, e);
    if (r == SIWE_OK)
        r = siwe_signature_parse(sig, signature, signature_len, e);
    if (r == SIWE_OK)
        r = siwe_verify_signature(signer_out, message, message_len, &m.address, sig, rpc, e);
    if (r == SIWE_OK)
        *out = m;
    return r;
}

void siwe_eip1271_rpc_options(struct rpc_options *out, uint32_t timeout_ms)
{
    ASSERT(out != NULL && timeout_ms >= 1 && timeout_ms <= SIWE_EIP1271_TIMEOUT_MS_MAX);
    rpc_options_default(out);
    out->connect_timeout_ms = timeout_ms;
    out->total_timeout_ms = timeout_ms;
    out->response_bytes_max = SIWE_EIP1271_RESPONSE_BYTES_MAX;
    out->retries_max = 0;
    out->backoff_initial_ms = 0;
    out->backoff_max_ms = 0;
}

const char *siwe_result_slug(enum siwe_result r)
{
    static const char *const slugs[] = {"ok",
                                        "too_long",
                                        "carriage_return",
                                        "bad_byte",
                                        "bad_header",
                                        "bad_scheme",
                                        "bad_domain",
                                        "bad_address",
                                        "address_case",
                                        "bad_layout",
                                        "bad_statement",
                                        "statement_lines",
                                        "missing_field",
                                        "bad_uri",
                                        "bad_version",
                                        "bad_chain_id",
                                        "bad_nonce",
                                        "bad_time",
                                        "bad_request_id",
                                        "bad_resource",
                                        "too_many_resources",
                                        "field_order",
                                        "extra_line",
                                        "domain_mismatch",
                                        "scheme_mismatch",
                                        "chain_mismatch",
                                        "expired",
                                        "not_yet_valid",
                                        "issued_in_future",
                                        "signature_encoding",
                                        "signature_length",
                                        "signature_v",
                                        "signature_r",
                                        "signature_s",
                                        "signature_high_s",
                                        "signer_mismatch",
                                        "rpc",
                                        "internal"};
    _Static_assert(sizeof slugs / sizeof slugs[0] == SIWE_ERR_INTERNAL + 1, "one slug per result");
    if ((unsigned)r >= sizeof slugs / sizeof slugs[0])
        return "unknown";
    return slugs[r];
}
