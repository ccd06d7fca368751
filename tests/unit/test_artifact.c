/* test_artifact.c - artifact_load on the committed artifacts and on every
 * malformed-input path, with the exact result codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact.h"
#include "harness.h"

static char tmp_dir[] = "/tmp/test_artifact.XXXXXX";

/* Writes `text` to a file in tmp_dir and returns its path (static buffer). */
static const char *write_fixture(const char *name, const char *text, size_t len)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return path;
    fwrite(text, 1, len, f);
    fclose(f);
    return path;
}

static void test_committed_artifacts_load(void)
{
    const char *names[] = {"contracts-abi/SettlementVault.json", "contracts-abi/RightsPass.json"};
    const char *want[] = {"SettlementVault", "RightsPass"};
    for (size_t i = 0; i < 2; i++) {
        struct artifact a;
        struct err e = {0};
        CHECK_INT(artifact_load(&a, names[i], &e), ARTIFACT_OK);
        CHECK_STR(a.name, want[i]);
        /* solc creation code starts by setting the free-memory pointer:
         * PUSH1 0x80 (or PUSH2 0x0100 with immutables) PUSH1 0x40 MSTORE. */
        CHECK(a.bytecode_len > 1000);
        CHECK(a.bytecode_len <= ARTIFACT_BYTECODE_BYTES_MAX);
        static const uint8_t mstore40[] = {0x60, 0x40, 0x52};
        CHECK(a.bytecode != NULL &&
              ((a.bytecode[0] == 0x60 && memcmp(a.bytecode + 2, mstore40, 3) == 0) ||
               (a.bytecode[0] == 0x61 && memcmp(a.bytecode + 3, mstore40, 3) == 0)));
        artifact_release(&a);
        CHECK(a.bytecode == NULL);
    }
}

static void test_error_paths(void)
{
    struct artifact a;
    struct err e = {0};
    CHECK_INT(artifact_load(&a, "/nonexistent/x.json", &e), ARTIFACT_ERR_OPEN);
    CHECK_STR(e.msg, "cannot open artifact '/nonexistent/x.json'");

    const char *p = write_fixture("notjson.json", "{\"contractName\":", 16);
    CHECK_INT(artifact_load(&a, p, &e), ARTIFACT_ERR_JSON);
    CHECK(strstr(e.msg, "is not json") != NULL);

    p = write_fixture("dup.json", "{\"a\":1,\"a\":2}", 13);
    CHECK_INT(artifact_load(&a, p, &e), ARTIFACT_ERR_JSON);

    const char *nobytecode = "{\"contractName\":\"X\",\"abi\":[]}";
    p = write_fixture("nobc.json", nobytecode, strlen(nobytecode));
    CHECK_INT(artifact_load(&a, p, &e), ARTIFACT_ERR_FIELD);
    CHECK(strstr(e.msg, "lacks contractName or bytecode") != NULL);

    const char *numname = "{\"contractName\":7,\"bytecode\":\"0x6080\"}";
    p = write_fixture("numname.json", numname, strlen(numname));
    CHECK_INT(artifact_load(&a, p, &e), ARTIFACT_ERR_FIELD);

    const char *badhex = "{\"contractName\":\"X\",\"bytecode\":\"0x60zz\"}";
    p = write_fixture("badhex.json", badhex, strlen(badhex));
    CHECK_INT(artifact_load(&a, p, &e), ARTIFACT_ERR_BYTECODE);
    CHECK(strstr(e.msg, "has bad bytecode") != NULL);
    CHECK(a.bytecode == NULL);

    const char *empty = "{\"contractName\":\"X\",\"bytecode\":\"0x\"}";
    p = write_fixture("empty.json", empty, strlen(empty));
    CHECK_INT(artifact_load(&a, p, &e), ARTIFACT_ERR_BYTECODE);
}

static void test_limits(void)
{
    struct artifact a;
    struct err e = {0};
    /* bytecode one byte over the EIP-3860 initcode limit */
    size_t digits = 2 * ((size_t)ARTIFACT_BYTECODE_BYTES_MAX + 1);
    size_t len = digits + 64;
    char *text = malloc(len);
    CHECK(text != NULL);
    if (text == NULL)
        return;
    int n = snprintf(text, len, "{\"contractName\":\"X\",\"bytecode\":\"0x");
    memset(text + n, 'a', digits);
    memcpy(text + (size_t)n + digits, "\"}", 3);
    const char *p = write_fixture("big.json", text, strlen(text));
    CHECK_INT(artifact_load(&a, p, &e), ARTIFACT_ERR_BYTECODE);
    /* exactly at the limit loads */
    memcpy(text + (size_t)n + digits - 2, "\"}", 3);
    p = write_fixture("limit.json", text, strlen(text));
    CHECK_INT(artifact_load(&a, p, &e), ARTIFACT_OK);
    CHECK_INT(a.bytecode_len, ARTIFACT_BYTECODE_BYTES_MAX);
    artifact_release(&a);
    free(text);

    /* a file above ARTIFACT_FILE_BYTES_MAX is refused before parsing */
    char big_path[256];
    snprintf(big_path, sizeof big_path, "%s/huge.json", tmp_dir);
    FILE *f = fopen(big_path, "wb");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    CHECK(fseek(f, (long)ARTIFACT_FILE_BYTES_MAX, SEEK_SET) == 0);
    fputc(' ', f);
    fclose(f);
    CHECK_INT(artifact_load(&a, big_path, &e), ARTIFACT_ERR_JSON);
    CHECK(strstr(e.msg, "above 4194304 bytes") != NULL);
}

int main(void)
{
    if (mkdtemp(tmp_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_committed_artifacts_load);
    RUN(test_error_paths);
    RUN(test_limits);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stdout, "# could not remove %s\n", tmp_dir);
    return harness_finish();
}
