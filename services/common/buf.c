/* buf.c - see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum buf_result buf_reserve(struct buf *b, size_t extra);

void buf_init(struct buf *b, size_t len_max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->len_max = len_max;
}

void buf_release(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static enum buf_result buf_reserve(struct buf *b, size_t extra)
{
    if (extra > b->len_max - b->len)
        return BUF_ERR_TOO_BIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return BUF_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->len_max < SIZE_MAX && cap > b->len_max + 1)
        cap = b->len_max + 1;
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL)
        return BUF_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return BUF_OK;
}

enum buf_result buf_append(struct buf *b, const void *data, size_t data_len)
{
    enum buf_result r = buf_reserve(b, data_len);
    if (r != BUF_OK)
        return r;
    if (data_len > 0)
        memcpy(b->data + b->len, data, data_len);
    b->len += data_len;
    b->data[b->len] = '\0';
    return BUF_OK;
}

enum buf_result buf_append_byte(struct buf *b, uint8_t byte)
{
    return buf_append(b, &byte, 1);
}

enum buf_result buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

enum buf_result buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return BUF_ERR_NOMEM;
    enum buf_result r = buf_reserve(b, (size_t)n);
    if (r != BUF_OK)
        return r;
    va_start(ap, fmt);
    int m = vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (m != n)
        return BUF_ERR_NOMEM;
    b->len += (size_t)n;
    return BUF_OK;
}
