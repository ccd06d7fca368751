/*
 * artifact.h - loads a compiled contract artifact (contracts-abi/NAME.json,
 * written by contracts-abi/compile.js) to get its creation bytecode.
 *
 * Ownership: struct artifact owns `bytecode` (heap) until artifact_release().
 * Limits: the file is at most ARTIFACT_FILE_BYTES_MAX and the bytecode at most
 * ARTIFACT_BYTECODE_BYTES_MAX (EIP-3860 initcode limit, 49152 bytes).
 */
#ifndef COMMON_ARTIFACT_H
#define COMMON_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "err.h"

#define ARTIFACT_FILE_BYTES_MAX ((size_t)4 << 20)
#define ARTIFACT_BYTECODE_BYTES_MAX 49152u
#define ARTIFACT_NAME_BYTES_MAX 64

enum artifact_result {
    ARTIFACT_OK = 0,
    ARTIFACT_ERR_OPEN = 1,     /* cannot open or read the file */
    ARTIFACT_ERR_JSON = 2,     /* not JSON, or above ARTIFACT_FILE_BYTES_MAX */
    ARTIFACT_ERR_FIELD = 3,    /* contractName/bytecode missing or of the wrong type */
    ARTIFACT_ERR_BYTECODE = 4, /* bytecode not hex, empty, or above the maximum */
    ARTIFACT_ERR_NOMEM = 5
};

struct artifact {
    char name[ARTIFACT_NAME_BYTES_MAX + 1];
    uint8_t *bytecode;
    size_t bytecode_len;
};

WUR enum artifact_result artifact_load(struct artifact *out, const char *path, struct err *e);
void artifact_release(struct artifact *a);

#endif
