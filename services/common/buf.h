/*
 * buf.h - growable byte buffer with a hard maximum, like curl's dynbuf.
 *
 * Ownership: `struct buf` is caller-allocated; its `data` is heap memory owned
 * by the buf and freed by buf_release(). The maximum is fixed at buf_init()
 * and every append beyond it fails with BUF_ERR_TOO_BIG, leaving the buffer
 * unchanged. data is always NUL-terminated (the NUL is not counted in len and
 * does not count towards the maximum), so text can be used as a C string.
 */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

enum buf_result {
    BUF_OK = 0,
    BUF_ERR_TOO_BIG = 1, /* append would exceed len_max */
    BUF_ERR_NOMEM = 2
};

struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t len_max;
};

void buf_init(struct buf *b, size_t len_max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, keeps memory */
enum buf_result buf_append(struct buf *b, const void *data, size_t data_len)
    __attribute__((warn_unused_result));
enum buf_result buf_append_byte(struct buf *b, uint8_t byte) __attribute__((warn_unused_result));
enum buf_result buf_append_str(struct buf *b, const char *s) __attribute__((warn_unused_result));
enum buf_result buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));

#endif
