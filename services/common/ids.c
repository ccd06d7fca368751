/* ids.c - see ids.h. */
#include "ids.h"

#include <string.h>

#include "crypto.h"
#include "hex.h"
#include "keccak.h"

bool ids_uuid_valid(const char *text, size_t len)
{
    if (text == NULL || len != IDS_UUID_LEN)
        return false;
    for (size_t i = 0; i < IDS_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = text[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

bool ids_uuid_new(char out[IDS_UUID_SIZE], struct err *e)
{
    uint8_t r[16];
    if (crypto_random_bytes(r, sizeof r, e) != CRYPTO_OK)
        return false;
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80); /* variant 10xx */
    size_t o = 0;
    for (size_t i = 0; i < sizeof r; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex_digit_char(r[i] >> 4);
        out[o++] = hex_digit_char(r[i] & 0x0f);
    }
    out[o] = '\0';
    ASSERT(o == IDS_UUID_LEN && ids_uuid_valid(out, o));
    return true;
}

void ids_key_of(uint8_t out[IDS_KEY_BYTES], const char *uuid)
{
    size_t len = strnlen(uuid, IDS_UUID_SIZE);
    ASSERT(ids_uuid_valid(uuid, len));
    keccak256(out, uuid, len);
}
