/* Stand-ins for the chDB sink in builds without chDB (the ASan build defines SL_NO_CHDB and leaves
 * out sl_sink_chdb.c): the functions exist so everything links, and opening fails clearly. */
#include "sl_sink.h"

#ifdef SL_NO_CHDB

int sl_sink_chdb_global_init(sl_error *err)
{
    (void)err;
    return 0;
}

void sl_sink_chdb_global_shutdown(void)
{
}

int sl_sink_chdb_open(const sl_sink_chdb_options *opt, sl_sink **out, sl_error *err)
{
    (void)opt;
    *out = NULL;
    return sl_error_set(err, SL_EIO,
                        "this build has no embedded ClickHouse (chDB cannot load under "
                        "AddressSanitizer); use a release or UBSan build",
                        0);
}

#else

/* ISO C wants at least one declaration in a translation unit. */
typedef int sl_sink_stub_unused;

#endif
