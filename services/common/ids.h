/*
 * ids.h - identifiers: the API's ids are lowercase UUID strings, and the
 * on-chain keys are derived from those strings (docs/architecture.md
 * "Identifiers"): creatorKey = keccak256(bytes(creator_id)), streamKey =
 * keccak256(bytes(stream_id)), batchKey = keccak256(bytes(settlement_id)).
 *
 * Text form accepted: exactly IDS_UUID_LEN characters, 8-4-4-4-12 lowercase
 * hex digits with '-' separators (any version; an uppercase digit is
 * rejected, since the key is the hash of the exact text). New ids are
 * random version 4, variant 10xx.
 *
 * Ownership: callers own every buffer; sizes are the named constants.
 */
#ifndef COMMON_IDS_H
#define COMMON_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "err.h"

#define IDS_UUID_LEN 36
#define IDS_UUID_SIZE (IDS_UUID_LEN + 1)
#define IDS_KEY_BYTES 32

/* True when text[0..len) is a lowercase canonical UUID. */
bool ids_uuid_valid(const char *text, size_t len);

/* A new random (version 4) UUID, NUL-terminated. Returns false only when
 * the system random generator fails (e says why). */
WUR bool ids_uuid_new(char out[IDS_UUID_SIZE], struct err *e);

/* keccak256 of the id's text: the creatorKey / streamKey / batchKey of a
 * valid UUID string (asserted). */
void ids_key_of(uint8_t out[IDS_KEY_BYTES], const char *uuid);

#endif
