/* libFuzzer target: arbitrary bytes into every sl_datetime parser (text, text64, epoch, date,
 * TZif), and the range-checked conversions of whatever parses. Checks the instants are sane. */
#include "sl_datetime.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const sl_instant *t)
{
    if (t->nanos > 999999999u)
        abort();
    uint32_t s;
    int64_t ticks;
    sl_error err;
    (void)sl_datetime_to_seconds(t, &s, &err);
    for (unsigned scale = 0; scale <= 9; scale++)
        (void)sl_datetime64_to_ticks(t, scale, &ticks, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Zones are loaded once per process: the harness, not the library, caches them. */
    static sl_tz *zones[3];
    static int loaded;
    if (!loaded) {
        static const char *names[] = {"Europe/Madrid", "America/New_York", "Australia/Sydney"};
        for (int i = 0; i < 3; i++)
            if (sl_tz_load(sl_str_from_cstr(names[i]), &zones[i], NULL) != 0)
                zones[i] = NULL;
        loaded = 1;
    }
    sl_str s = {(const char *)data, size};
    sl_instant t;
    sl_error err;
    if (sl_datetime_parse_text(s, NULL, &t, &err) == 0)
        check(&t);
    for (int i = 0; i < 3; i++)
        if (sl_datetime_parse_text(s, zones[i], &t, &err) == 0)
            check(&t);
    if (sl_datetime_parse_text64(s, zones[0], &t, &err) == 0)
        check(&t);
    if (sl_datetime_parse_epoch(s, &t, &err) == 0)
        check(&t);
    int64_t days;
    if (sl_datetime_parse_date(s, &days, &err) == 0) {
        (void)sl_date_check(days, false, &err);
        (void)sl_date_check(days, true, &err);
    }
    sl_tz *tz = NULL;
    if (sl_tz_from_tzif(s, &tz, &err) == 0) {
        static const int64_t probes[] = {INT64_MIN, -4000000000, -1,         0,
                                         1000,      1700000000,  4102444800, INT64_MAX};
        for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
            int32_t a = sl_tz_offset_at(tz, probes[i]);
            int32_t b = sl_tz_offset_for_local(tz, probes[i]);
            if (a < -26 * 3600 || a > 26 * 3600 || b < -26 * 3600 || b > 26 * 3600)
                abort();
        }
        sl_tz_free(tz);
    }
    return 0;
}
