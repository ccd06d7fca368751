/* test_ids.c - UUID text validation, random v4 generation, and the on-chain
 * keys of ids, checked against `cast keccak` of the same strings. */
#include <string.h>

#include "harness.h"
#include "hex.h"
#include "ids.h"

static void test_valid_and_invalid(void)
{
    CHECK(ids_uuid_valid("0d6b7a52-3f1e-4c4b-9a8e-2b7f5c1d9e30", 36));
    CHECK(ids_uuid_valid("00000000-0000-0000-0000-000000000000", 36));
    const char *bad[] = {
        "0D6B7A52-3F1E-4C4B-9A8E-2B7F5C1D9E30",  /* uppercase: another key */
        "0d6b7a52-3f1e-4c4b-9a8e-2b7f5c1d9e3",   /* short */
        "0d6b7a52-3f1e-4c4b-9a8e-2b7f5c1d9e300", /* long */
        "0d6b7a523f1e-4c4b-9a8e-2b7f5c1d9e30-",  /* dash misplaced */
        "0d6b7a52-3f1e-4c4b-9a8e-2b7f5c1d9e3g",  /* not hex */
        "{d6b7a52-3f1e-4c4b-9a8e-2b7f5c1d9e30",  /* braces */
        "../../../../../../../../../etc/passwd", /* 36 chars of path */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(!ids_uuid_valid(bad[i], strlen(bad[i])), "accepted '%s'", bad[i]);
    CHECK(!ids_uuid_valid(NULL, 36));
    /* An embedded NUL within the length is not a digit. */
    CHECK(!ids_uuid_valid("0d6b7a52-3f1e-4c4b-9a8e-2b7f5c1d9e3\0", 36));
}

static void test_new_is_v4_and_distinct(void)
{
    char a[IDS_UUID_SIZE], b[IDS_UUID_SIZE];
    struct err e = {0};
    CHECK(ids_uuid_new(a, &e) && ids_uuid_new(b, &e));
    CHECK_INT(strlen(a), IDS_UUID_LEN);
    CHECK(ids_uuid_valid(a, strlen(a)) && ids_uuid_valid(b, strlen(b)));
    CHECK(a[14] == '4');                                                 /* version */
    CHECK(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b'); /* variant */
    CHECK(strcmp(a, b) != 0);
}

/* Expected values: `cast keccak <id>` (foundry 1.7.1). */
static void test_keys_match_cast(void)
{
    static const struct {
        const char *id, *key_hex;
    } v[] = {
        {"0d6b7a52-3f1e-4c4b-9a8e-2b7f5c1d9e30",
         "0x8ae1c095d3f14d540841fcafde97deab231dafa6658ad6b3e5ae8f426920d065"},
        {"5b0f3c1e-8a2d-4f6b-9c7e-1d2a3b4c5d6e",
         "0x075817f31fcc1670efe065550d961d198f3bcc79f1a608ab3ae6a5cd4b6337e2"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t got[IDS_KEY_BYTES], want[IDS_KEY_BYTES];
        CHECK(hex_decode_exact(want, sizeof want, v[i].key_hex, strlen(v[i].key_hex), NULL) ==
              HEX_OK);
        ids_key_of(got, v[i].id);
        CHECK_MEM(got, want, sizeof got);
    }
}

int main(void)
{
    RUN(test_valid_and_invalid);
    RUN(test_new_is_v4_and_distinct);
    RUN(test_keys_match_cast);
    return harness_finish();
}
