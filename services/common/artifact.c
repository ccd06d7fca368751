/* artifact.c - see artifact.h. */
#include "artifact.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

enum artifact_result artifact_load(struct artifact *out, const char *path, struct err *e)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return (enum artifact_result)err_set(e, ARTIFACT_ERR_OPEN, "cannot open artifact '%s'",
                                             path);
    json_error_t jerr;
    /* jansson reads until EOF; bound the size first. */
    if (fseek(f, 0, SEEK_END) != 0 || ftell(f) < 0 || (size_t)ftell(f) > ARTIFACT_FILE_BYTES_MAX ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return (enum artifact_result)err_set(e, ARTIFACT_ERR_JSON,
                                             "artifact '%s' unreadable or above %zu bytes", path,
                                             ARTIFACT_FILE_BYTES_MAX);
    }
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (root == NULL)
        return (enum artifact_result)err_set(e, ARTIFACT_ERR_JSON,
                                             "artifact '%s' is not json: %s (line %d)", path,
                                             jerr.text, jerr.line);
    enum artifact_result r = ARTIFACT_OK;
    const char *name = json_string_value(json_object_get(root, "contractName"));
    const char *code = json_string_value(json_object_get(root, "bytecode"));
    if (name == NULL || code == NULL || strlen(name) > ARTIFACT_NAME_BYTES_MAX) {
        r = (enum artifact_result)err_set(e, ARTIFACT_ERR_FIELD,
                                          "artifact '%s' lacks contractName or bytecode", path);
        goto out;
    }
    snprintf(out->name, sizeof out->name, "%s", name);
    size_t code_len = strlen(code);
    out->bytecode = malloc(ARTIFACT_BYTECODE_BYTES_MAX);
    if (out->bytecode == NULL) {
        r = (enum artifact_result)err_set(e, ARTIFACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (hex_decode(out->bytecode, ARTIFACT_BYTECODE_BYTES_MAX, &out->bytecode_len, code, code_len,
                   e) != HEX_OK ||
        out->bytecode_len == 0) {
        r = (enum artifact_result)err_set(e, ARTIFACT_ERR_BYTECODE,
                                          "artifact '%s' has bad bytecode", path);
        artifact_release(out);
    }
out:
    json_decref(root);
    return r;
}

void artifact_release(struct artifact *a)
{
    free(a->bytecode);
    a->bytecode = NULL;
    a->bytecode_len = 0;
}
