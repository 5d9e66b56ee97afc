/* Date and date-time text and epoch numbers → ClickHouse's stored representations.
 *
 * Accepted date-time text (SPEC §5; a subset of what ClickHouse's best_effort parser takes, never
 * more): ISO 8601 "YYYY-MM-DD" or "YYYY-MM-DD[T ]hh:mm[:ss[.f*]]" with an optional offset "Z",
 * "+HH:MM", "+HHMM" or "+HH" (also "-"; at most 14:00), which may follow one space. Fields are
 * validated (no hour 24, no second 60, no Feb 30: ClickHouse silently rolls those over). Fraction
 * digits past the 9th are truncated, as ClickHouse does. Without an offset the time is local to
 * the column's time zone (UTC when the column names none). Digit strings follow best_effort:
 * 9 or 10 digits are unix seconds, 8 are YYYYMMDD, 14 are YYYYMMDDhhmmss; other lengths are
 * refused. Leading/trailing spaces, lower-case 't'/'z' and one-digit fields are refused.
 *
 * Named time zones are read from the system's TZif files (/usr/share/zoneinfo), loaded once per
 * zone into an sl_tz that is immutable afterwards and may be shared by threads. */
#ifndef SL_DATETIME_H
#define SL_DATETIME_H

#include "sl_common.h"

typedef struct sl_tz sl_tz;

/* Loads a time zone by IANA name ("UTC", "Europe/Madrid"). Empty name = UTC.
 * *out is owned by the caller and released with sl_tz_free. SL_EINVAL with a message if the zone
 * is unknown. */
int sl_tz_load(sl_str name, sl_tz **out, sl_error *err);
/* Builds a zone from the bytes of a TZif file (RFC 8536, v1..v4; the 64-bit block and the footer
 * rule are used when present, the rule extending transitions to the year 2300). No I/O.
 * SL_EINVAL on malformed data or on leap-second ("right/") zones. */
int sl_tz_from_tzif(sl_str data, sl_tz **out, sl_error *err);
/* NULL is a no-op. */
void sl_tz_free(sl_tz *tz);
/* Offset from UTC in seconds at the instant `utc_seconds`. */
int32_t sl_tz_offset_at(const sl_tz *tz, int64_t utc_seconds);

/* Offset from UTC in seconds of the local time `local_seconds` (seconds since the epoch as if
 * the local wall clock were UTC), resolving gaps and folds the way ClickHouse 26.7 does (checked):
 * in a fold the earlier instant (the offset before the transition); in a gap the offset after
 * the transition (Europe/Madrid 2026-03-29 02:30 → 00:30 UTC, shown as 01:30 CET). */
int32_t sl_tz_offset_for_local(const sl_tz *tz, int64_t local_seconds);

/* A parsed instant: seconds since the epoch (UTC) and nanoseconds 0..999999999. */
typedef struct {
    int64_t seconds;
    uint32_t nanos;
} sl_instant;

/* Parses date-time text (for a DateTime column). `tz` is the zone for text without an offset
 * (NULL = UTC). 0, or SL_EVALUE with err->msg saying what was expected, or SL_ERANGE for
 * impossible fields (month 13, Feb 30, hour 25, offset +15:00). err->offset is the byte. */
int sl_datetime_parse_text(sl_str text, const sl_tz *tz, sl_instant *out, sl_error *err);
/* The same for a DateTime64 column: ClickHouse also reads a 9- or 10-digit unix time with a
 * fraction ("1700000000.123") there, and refuses it for DateTime. */
int sl_datetime_parse_text64(sl_str text, const sl_tz *tz, sl_instant *out, sl_error *err);

/* Parses an epoch number text ("1700000000", "1700000000.123"); digits only (at most 12 before
 * the point), optional fraction (digits past the 9th truncated). No sign, no exponent. */
int sl_datetime_parse_epoch(sl_str text, sl_instant *out, sl_error *err);

/* Civil-day arithmetic. Days since 1970-01-01 of a proleptic Gregorian date; no validation. */
int64_t sl_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Encoders to RowBinary values with ClickHouse's range checks (SL_ERANGE outside):
 *   Date        UInt16 days, 1970-01-01 .. 2149-06-06
 *   Date32      Int32 days,  1900-01-01 .. 2299-12-31
 *   DateTime    UInt32 seconds, 1970-01-01 00:00:00 .. 2106-02-07 06:28:15 UTC
 *   DateTime64  Int64 ticks of 10^-scale s, 1900-01-01 .. 2299-12-31 23:59:59.99999999 UTC
 *               (sl_datetime64_to_ticks_tz: on the column's local wall clock)
 * The date encoders take the calendar date of the text as written (local date), not a UTC
 * conversion: sl_datetime_parse_date gives days directly. It accepts "YYYY-MM-DD" and "YYYYMMDD"
 * only: ClickHouse refuses a time part, an offset or a unix time in a Date/Date32 string.
 * ClickHouse saturates out-of-range dates and date-times; these encoders refuse them instead.
 * Date-times convert with fraction truncation (23:59:59.9999 → DateTime64(3) .999). */
int sl_datetime_parse_date(sl_str text, int64_t *days, sl_error *err);
int sl_date_check(int64_t days, bool date32, sl_error *err);
int sl_datetime_to_seconds(const sl_instant *t, uint32_t *out, sl_error *err);
int sl_datetime64_to_ticks(const sl_instant *t, unsigned scale, int64_t *out, sl_error *err);
/* The same for a DateTime64 column in zone `tz` (NULL = UTC): the range 1900-01-01 00:00:00 ..
 * 2299-12-31 23:59:59.999999999 is checked on the column's local wall clock, as ClickHouse
 * displays and documents it; the ticks are still UTC. Scale 9 also ends where Int64 does. */
int sl_datetime64_to_ticks_tz(const sl_instant *t, unsigned scale, const sl_tz *tz, int64_t *out,
                              sl_error *err);

#endif
