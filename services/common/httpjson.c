/* httpjson.c - see httpjson.h. */
#include "httpjson.h"

#include "hex.h"

bool httpjson_read_body(json_t **out, struct http_response *resp, const struct http_request *req,
                        const struct json_body_field *fields, size_t fields_len, size_t bytes_max)
{
    struct json_body_limits lim;
    json_body_limits_default(&lim);
    if (bytes_max != 0)
        lim.body_bytes_max = bytes_max;
    struct err e = {0};
    enum json_body_result r =
        json_body_parse(out, (const char *)req->body, req->body_len, &lim, fields, fields_len, &e);
    if (r == JSON_BODY_OK)
        return true;
    http_reply_error(resp, json_body_problem_kind(r), "%s", e.msg);
    return false;
}

json_t *httpjson_hex(const uint8_t *bytes, size_t len)
{
    char text[2 + 2 * HTTPJSON_HEX_BYTES_MAX + 1];
    ASSERT(len <= HTTPJSON_HEX_BYTES_MAX && hex_encode_0x(text, sizeof text, bytes, len) == 0);
    return json_string(text);
}

json_t *httpjson_address(const struct address *a)
{
    char text[ADDRESS_TEXT_SIZE];
    address_format_checksum(text, a);
    return json_string(text);
}

json_t *httpjson_wei(const struct u256 *v)
{
    char text[U256_DEC_SIZE];
    u256_to_dec(text, v);
    return json_string(text);
}
