/*
 * vectors.h - the line-based vector files under tests/vectors/ (*_cast.txt,
 * written by the gen_*_cast.sh scripts from foundry's cast) and the hex
 * helpers their fields need. Used by tests/unit/test_abi.c, test_sig.c and
 * test_tx.c.
 *
 * Format: one vector per line, fields separated by single spaces; lines that
 * start with '#' and empty lines are skipped. What the fields mean is up to
 * each test (positional, or key=value after a kind word).
 *
 * Ownership: `struct vec_file` is caller-allocated (it is large: make it
 * static). vec_file_load() reads the whole file into a malloc'd text that
 * the fields point into; vec_file_release() frees it, after which no field
 * may be used. vec_hex_alloc() returns a malloc'd buffer the caller frees.
 *
 * Limits: VEC_FILE_BYTES_MAX bytes per file (a larger or empty file fails
 * the load), VEC_LINES_MAX vectors and VEC_FIELDS_MAX fields per line (more
 * are ignored, so a test must check the counts it expects).
 */
#ifndef TESTS_VECTORS_H
#define TESTS_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hex.h"

#define VEC_FILE_BYTES_MAX ((size_t)1 << 20)
#define VEC_LINES_MAX 512
#define VEC_FIELDS_MAX 16

struct vec_line {
    char *field[VEC_FIELDS_MAX]; /* NUL-terminated, inside vec_file.text */
    size_t field_count;          /* >= 1 */
    bool used;                   /* free for the test, e.g. "checked by some test" */
};

struct vec_file {
    char *text; /* the file's bytes, split in place */
    struct vec_line line[VEC_LINES_MAX];
    size_t line_count;
};

/* Loads the vector file at `path` (relative paths are from the repository
 * root, where the tests run) into *vf. Returns true when it holds at least
 * one vector; false, after printing why, when the file is missing, empty or
 * over VEC_FILE_BYTES_MAX. Call vec_file_release() either way. */
static inline bool vec_file_load(struct vec_file *vf, const char *path)
{
    memset(vf, 0, sizeof *vf);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stdout, "# cannot open %s (run from the repository root)\n", path);
        return false;
    }
    vf->text = calloc(VEC_FILE_BYTES_MAX + 1, 1);
    size_t n = vf->text ? fread(vf->text, 1, VEC_FILE_BYTES_MAX, f) : 0;
    fclose(f);
    if (vf->text == NULL || n == 0 || n == VEC_FILE_BYTES_MAX) {
        fprintf(stdout, "# %s is empty, unreadable or not under %zu bytes\n", path,
                VEC_FILE_BYTES_MAX);
        return false;
    }
    char *line = vf->text;
    for (size_t guard = 0; line != NULL && guard < VEC_LINES_MAX * 4; guard++) {
        char *next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (line[0] != '#' && line[0] != '\0' && vf->line_count < VEC_LINES_MAX) {
            struct vec_line *v = &vf->line[vf->line_count++];
            for (char *tok = line; tok != NULL && v->field_count < VEC_FIELDS_MAX;) {
                char *sp = strchr(tok, ' ');
                if (sp != NULL)
                    *sp++ = '\0';
                v->field[v->field_count++] = tok;
                tok = sp;
            }
        }
        line = next;
    }
    return vf->line_count > 0;
}

/* Frees the text; every field pointer dies with it. Idempotent. */
static inline void vec_file_release(struct vec_file *vf)
{
    free(vf->text);
    vf->text = NULL;
    vf->line_count = 0;
}

/* Decodes the hex `text` (with or without 0x) into exactly out[0..len).
 * Returns true, or false for bad digits or another length. */
static inline bool vec_hex_exact(uint8_t *out, size_t len, const char *text)
{
    return hex_decode_exact(out, len, text, strlen(text), NULL) == HEX_OK;
}

/* Decodes the hex `text` into a malloc'd buffer of *len bytes (the caller
 * frees it). Returns NULL with *len = 0 for bad hex or no memory. */
static inline uint8_t *vec_hex_alloc(const char *text, size_t *len)
{
    size_t cap = strlen(text) / 2 + 1;
    uint8_t *out = malloc(cap);
    if (out == NULL || hex_decode(out, cap, len, text, strlen(text), NULL) != HEX_OK) {
        free(out);
        *len = 0;
        return NULL;
    }
    return out;
}

/* Loads the vector file a test binary depends on; on failure counts one
 * failed check so harness_finish() reports it. Use as
 *   if (!vec_file_require(&vecs, PATH)) return harness_finish(); */
static inline bool vec_file_require(struct vec_file *vf, const char *path)
{
    bool loaded = vec_file_load(vf, path);
    CHECK(loaded);
    if (!loaded)
        harness_failed++;
    return loaded;
}

#endif
