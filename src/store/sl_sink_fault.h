/* A test hook: a sink that wraps another and makes every insert fail while a given file exists
 * (SLUICE_FAULT_INSERT_FILE for `sluice serve`), so end-to-end tests can simulate a ClickHouse
 * outage and its end without touching ClickHouse. Queries and classification pass through.
 * With no path set it is never installed, so production behaviour is unchanged. */
#ifndef SL_SINK_FAULT_H
#define SL_SINK_FAULT_H

#include "sl_sink.h"

/* Wraps `inner` (taken: closing the result closes it). While the file `path` exists (checked on
 * every insert), sl_sink_insert fails with SL_EIO "injected fault: ..." without calling `inner`.
 * `path` is copied. On error (SL_ENOMEM) `inner` stays the caller's. */
int sl_sink_fault_wrap(sl_sink *inner, const char *path, sl_sink **out, sl_error *err);

#endif
