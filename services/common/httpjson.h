/*
 * httpjson.h - JSON in and out of the services' HTTP handlers, one way for
 * both services: the request body parsed against a field table (json.h) or
 * answered with the matching problem (400, 413, 422), and the API's value
 * formats (docs/architecture.md "Identifiers and value formats"): bytes as
 * "0x" hex, addresses EIP-55 checksummed, wei as a decimal string.
 *
 * Ownership: every json_t returned is a new reference (NULL only when out of
 * memory, which jansson's pack then turns into a failed reply).
 */
#ifndef COMMON_HTTPJSON_H
#define COMMON_HTTPJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "address.h"
#include "check.h"
#include "http.h"
#include "json.h"
#include "u256.h"

#define HTTPJSON_HEX_BYTES_MAX 64

/* The body of `req` checked against fields[0..fields_len) with the default
 * limits and a body of at most bytes_max (0: the default). On true *out is
 * the object (the caller releases it); on false the problem is answered. */
WUR bool httpjson_read_body(json_t **out, struct http_response *resp,
                            const struct http_request *req, const struct json_body_field *fields,
                            size_t fields_len, size_t bytes_max);

/* "0x" + hex of bytes[0..len), len at most HTTPJSON_HEX_BYTES_MAX. */
json_t *httpjson_hex(const uint8_t *bytes, size_t len);

/* The EIP-55 text of an address. */
json_t *httpjson_address(const struct address *a);

/* Wei (or any u256) as a decimal string. */
json_t *httpjson_wei(const struct u256 *v);

#endif
