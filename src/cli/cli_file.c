/* File helpers shared by the commands. */
#include "sl_cli.h"

#include <errno.h>
#include <stdio.h>

int sl_cli_read_file(const char *path, sl_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        if (sl_buf_append(out, tmp, n) != 0) {
            fclose(f);
            errno = EFBIG;
            return -1;
        }
    int bad = ferror(f);
    fclose(f);
    return bad ? -1 : 0;
}
