/* Plain text tables for the client commands (see cmd_table.h). */
#include "cmd_table.h"

#include <stdlib.h>
#include <string.h>

void sl_table_init(sl_table *t, size_t n_cols)
{
    memset(t, 0, sizeof(*t));
    t->n_cols = n_cols ? n_cols : 1;
    sl_buf_init(&t->text, 0);
    t->right = sl_xcalloc(t->n_cols, sizeof(bool));
}

void sl_table_free(sl_table *t)
{
    sl_buf_free(&t->text);
    free(t->cell);
    free(t->right);
    memset(t, 0, sizeof(*t));
}

static void must(int rc)
{
    if (rc)
        sl_fatal("table: out of memory");
}

void sl_table_add(sl_table *t, const char *s, size_t len)
{
    if (t->n_cells == t->cap_cells) {
        t->cap_cells = t->cap_cells ? t->cap_cells * 2 : 64;
        t->cell = sl_xrealloc(t->cell, t->cap_cells * sizeof(size_t));
    }
    t->cell[t->n_cells++] = t->text.len;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != 0x7f) {
            must(sl_buf_append(&t->text, &s[i], 1));
            continue;
        }
        switch (ch) {
        case '\n': must(sl_buf_append_cstr(&t->text, "\\n")); break;
        case '\t': must(sl_buf_append_cstr(&t->text, "\\t")); break;
        case '\r': must(sl_buf_append_cstr(&t->text, "\\r")); break;
        default: must(sl_buf_printf(&t->text, "\\x%02x", ch)); break;
        }
    }
}

void sl_table_add_cstr(sl_table *t, const char *s)
{
    sl_table_add(t, s, strlen(s));
}

void sl_table_align_right(sl_table *t, size_t col)
{
    if (col < t->n_cols)
        t->right[col] = true;
}

size_t sl_table_rows(const sl_table *t)
{
    size_t full = t->n_cells / t->n_cols;
    return full ? full - 1 : 0;
}

static sl_str cell_at(const sl_table *t, size_t i)
{
    size_t end = i + 1 < t->n_cells ? t->cell[i + 1] : t->text.len;
    return (sl_str){(const char *)t->text.data + t->cell[i], end - t->cell[i]};
}

/* Code points in s (continuation bytes do not count). */
static size_t width_of(sl_str s)
{
    size_t w = 0;
    for (size_t i = 0; i < s.len; i++)
        w += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
    return w;
}

/* Bytes of the first `w` code points of s. */
static size_t prefix_bytes(sl_str s, size_t w)
{
    size_t i = 0, seen = 0;
    for (; i < s.len; i++) {
        if (((unsigned char)s.ptr[i] & 0xC0) != 0x80) {
            if (seen == w)
                break;
            seen++;
        }
    }
    return i;
}

static void pad(FILE *out, size_t n, char ch)
{
    while (n--)
        fputc(ch, out);
}

void sl_table_print(const sl_table *t, FILE *out, size_t max_width)
{
    size_t rows = t->n_cells / t->n_cols; /* a partial last row is not printed */
    if (rows == 0)
        return;
    if (max_width && max_width < 4)
        max_width = 4;
    size_t *width = sl_xcalloc(t->n_cols, sizeof(size_t));
    for (size_t i = 0; i < rows * t->n_cols; i++) {
        size_t w = width_of(cell_at(t, i));
        if (max_width && w > max_width)
            w = max_width;
        if (w > width[i % t->n_cols])
            width[i % t->n_cols] = w;
    }
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            sl_str s = cell_at(t, r * t->n_cols + c);
            size_t w = width_of(s);
            bool cut = max_width && w > max_width;
            if (cut) {
                s.len = prefix_bytes(s, max_width - 3);
                w = max_width;
            }
            size_t gap = width[c] - w;
            fputs(c ? " | " : " ", out);
            if (t->right[c] && r > 0)
                pad(out, gap, ' ');
            fwrite(s.ptr, 1, s.len, out);
            if (cut)
                fputs("...", out);
            if (!(t->right[c] && r > 0) && c + 1 < t->n_cols)
                pad(out, gap, ' ');
        }
        fputc('\n', out);
        if (r == 0) {
            for (size_t c = 0; c < t->n_cols; c++) {
                if (c)
                    fputc('+', out);
                pad(out, width[c] + (c + 1 < t->n_cols ? 2 : 1), '-');
            }
            fputc('\n', out);
        }
    }
    free(width);
}
