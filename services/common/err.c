/* err.c - see err.h. */
#include "err.h"

#include "check.h"
#include "hex.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <stdio.h>

int err_set(struct err *e, int code, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        e->msg[0] = '\0';
    return code;
}

void err_clear(struct err *e)
{
    if (e == NULL)
        return;
    e->code = 0;
    e->msg[0] = '\0';
}

void err_quote(char *out, size_t out_size, const char *text, size_t text_len)
{
    ASSERT(out_size >= 8);
    size_t o = 0;
    for (size_t i = 0; i < text_len; i++) {
        unsigned char c = (unsigned char)text[i];
        bool plain = c >= 0x20 && c < 0x7f && c != '\'' && c != '\\';
        if (o + (plain ? 1 : 4) > out_size - 4) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (plain) {
            out[o++] = (char)c;
            continue;
        }
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = hex_digit_char(c >> 4);
        out[o++] = hex_digit_char(c);
    }
    ASSERT(o < out_size);
    out[o] = '\0';
}
