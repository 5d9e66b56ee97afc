/* Tests of sl_datetime: every accepted form, every error, calendar and range edges, DST gaps and
 * folds, TZif parsing. Expected instants were checked against ClickHouse 26.7 (chDB) with
 * date_time_input_format='best_effort'. Inputs sit right before an unmapped page so over-reads
 * crash. */
#include "sl_datetime.h"

#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Copies s to the end of a page followed by an inaccessible page. Leaked: tests are short. */
static sl_str guarded(const char *s)
{
    size_t n = strlen(s), pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (n + pg - 1) / pg + 1;
    char *m =
        mmap(NULL, (pages + 1) * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(m != MAP_FAILED);
    cr_assert(mprotect(m + pages * pg, pg, PROT_NONE) == 0);
    char *p = m + pages * pg - n;
    memcpy(p, s, n);
    return (sl_str){p, n};
}

static sl_tz *load(const char *name)
{
    sl_tz *tz = NULL;
    sl_error err = {0};
    int rc = sl_tz_load(sl_str_from_cstr(name), &tz, &err);
    cr_assert_eq(rc, 0, "loading %s: %s", name, err.msg);
    return tz;
}

/* Parses as DateTime text in zone tz; asserts success; returns the instant. */
static sl_instant ok_tz(const char *text, const sl_tz *tz)
{
    sl_instant t = {0};
    sl_error err = {0};
    int rc = sl_datetime_parse_text(guarded(text), tz, &t, &err);
    cr_assert_eq(rc, 0, "'%s' failed: %s", text, err.msg);
    return t;
}

static void ok(const char *text, int64_t seconds, uint32_t nanos)
{
    sl_instant t = ok_tz(text, NULL);
    cr_expect_eq(t.seconds, seconds, "'%s': %lld != %lld", text, (long long)t.seconds,
                 (long long)seconds);
    cr_expect_eq(t.nanos, nanos, "'%s': nanos %u != %u", text, t.nanos, nanos);
}

static void bad(const char *text, int code, const char *msg)
{
    sl_instant t;
    sl_error err = {0};
    int rc = sl_datetime_parse_text(guarded(text), NULL, &t, &err);
    cr_expect_eq(rc, code, "'%s': rc %d, expected %d (%s)", text, rc, code, rc ? err.msg : "");
    if (rc && msg)
        cr_expect_str_eq(err.msg, msg, "'%s'", text);
}

#define T0 INT64_C(1767348000) /* 2026-01-02 10:00:00 UTC */

Test(datetime, iso_forms)
{
    ok("2026-01-02", T0 - 36000, 0);
    ok("2026-01-02 10:00:00", T0, 0);
    ok("2026-01-02T10:00:00", T0, 0);
    ok("2026-01-02T10:00", T0, 0);
    ok("2026-01-02 10:00", T0, 0);
    ok("2026-01-02T10:00:00Z", T0, 0);
    ok("2026-01-02T10:00Z", T0, 0);
    ok("2026-01-02T10:00:00+05:30", T0 - 19800, 0);
    ok("2026-01-02T10:00:00+0530", T0 - 19800, 0);
    ok("2026-01-02T10:00:00+05", T0 - 18000, 0);
    ok("2026-01-02T10:00:00-05:00", T0 + 18000, 0);
    ok("2026-01-02T10:00:00-0500", T0 + 18000, 0);
    ok("2026-01-02T10:00:00-03", T0 + 10800, 0);
    ok("2026-01-02T10:00+01:00", T0 - 3600, 0);
    ok("2026-01-02 10:00:00 +0000", T0, 0);
    ok("2026-01-02 10:00:00 Z", T0, 0);
    ok("2026-01-02T10:00:00.123-05:00", T0 + 18000, 123000000);
    ok("2026-01-02T10:00:00+14:00", T0 - 14 * 3600, 0);
    ok("2026-01-02T10:00:00-14:00", T0 + 14 * 3600, 0);
    ok("2026-01-02T10:00:00+00:00", T0, 0);
    ok("2026-01-02T10:00:00-00:00", T0, 0);
}

Test(datetime, fraction_digits)
{
    static const char *texts[] = {
        "2026-01-02T10:00:00.",          "2026-01-02T10:00:00.1",
        "2026-01-02T10:00:00.12",        "2026-01-02T10:00:00.123",
        "2026-01-02T10:00:00.1234",      "2026-01-02T10:00:00.12345",
        "2026-01-02T10:00:00.123456",    "2026-01-02T10:00:00.1234567",
        "2026-01-02T10:00:00.12345678",  "2026-01-02T10:00:00.123456789",
        "2026-01-02T10:00:00.1234567891" /* truncated, as ClickHouse does */
    };
    static const uint32_t nanos[] = {0,         100000000, 120000000, 123000000,
                                     123400000, 123450000, 123456000, 123456700,
                                     123456780, 123456789, 123456789};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        ok(texts[i], T0, nanos[i]);
    ok("2026-01-02T10:00:00.999999999999Z", T0, 999999999);
    ok("2026-01-02T10:00:00.5+01:00", T0 - 3600, 500000000);
    ok("2026-01-02 10:00:00.000000000", T0, 0);
}

Test(datetime, offsets_cross_days)
{
    ok("2026-01-01T23:30:00-05:00", T0 - 36000 + 4 * 3600 + 30 * 60, 0); /* 2026-01-02 04:30 */
    ok("2026-01-02T01:00:00+05:00", T0 - 36000 - 4 * 3600, 0);           /* 2026-01-01 20:00 */
    ok("2025-12-31T23:00:00-02:00", T0 - 36000 + 3600 - 86400, 0);       /* 2026-01-01 01:00 */
    ok("1970-01-01T00:00:00+01:00", -3600, 0);
    ok("2024-02-29T23:59:59-14:00", 1709251199 + 14 * 3600, 0);
    ok("2024-03-01T00:30:00+14:00", 1709253000 - 14 * 3600, 0);
}

Test(datetime, calendar)
{
    ok("2024-02-29", 1709164800, 0);
    ok("2000-02-29", 951782400, 0);
    ok("1970-01-01", 0, 0);
    ok("2026-12-31 23:59:59", 1798761599, 0);
    bad("2025-02-29", SL_ERANGE, "day 29 does not exist in 2025-02 (1-28)");
    bad("1900-02-29", SL_ERANGE, "day 29 does not exist in 1900-02 (1-28)");
    bad("2100-02-29 00:00:00", SL_ERANGE, "day 29 does not exist in 2100-02 (1-28)");
    bad("2026-04-31", SL_ERANGE, "day 31 does not exist in 2026-04 (1-30)");
    bad("2026-01-00", SL_ERANGE, "day 0 does not exist in 2026-01 (1-31)");
    bad("2026-13-02", SL_ERANGE, "month 13 is not 1-12");
    bad("2026-00-02", SL_ERANGE, "month 0 is not 1-12");
    cr_expect_eq(sl_days_from_civil(1970, 1, 1), 0);
    cr_expect_eq(sl_days_from_civil(2000, 3, 1), 11017);
    cr_expect_eq(sl_days_from_civil(1900, 1, 1), -25567);
    cr_expect_eq(sl_days_from_civil(2149, 6, 6), 65535);
    cr_expect_eq(sl_days_from_civil(0, 1, 1), -719528);
}

Test(datetime, time_fields)
{
    /* ClickHouse rolls these over (24:00 → next day, :60 → next minute); we refuse them. */
    bad("2026-01-02T24:00:00", SL_ERANGE, "hour 24 is not 0-23");
    bad("2026-01-02T25:00:00", SL_ERANGE, "hour 25 is not 0-23");
    bad("2026-01-02T10:60:00", SL_ERANGE, "minute 60 is not 0-59");
    bad("2026-01-02T23:59:60", SL_ERANGE, "second 60 is not 0-59");
    ok("2026-01-02T23:59:59", T0 + 13 * 3600 + 59 * 60 + 59, 0);
    ok("2026-01-02T00:00:00", T0 - 36000, 0);
}

Test(datetime, offset_errors)
{
    bad("2026-01-02T10:00:00+15:00", SL_ERANGE, "offset +15:00 is beyond ±14:00");
    bad("2026-01-02T10:00:00-14:01", SL_ERANGE, "offset -14:01 is beyond ±14:00");
    bad("2026-01-02T10:00:00+05:60", SL_ERANGE, "offset minutes 60 are not 0-59");
    bad("2026-01-02T10:00:00+5", SL_EVALUE, "expected 2 digits of offset hours at position 21");
    bad("2026-01-02T10:00:00+05:3", SL_EVALUE,
        "expected 2 digits of offset minutes at position 24");
    bad("2026-01-02T10:00:00+053", SL_EVALUE, "expected 2 digits of offset minutes at position 23");
    bad("2026-01-02T10:00:00+05:30:00", SL_EVALUE,
        "expected the end of the date-time at position 26");
    bad("2026-01-02T10:00:00ZZ", SL_EVALUE, "expected the end of the date-time at position 21");
    bad("2026-01-02T10:00:00+05:30Z", SL_EVALUE,
        "expected the end of the date-time at position 26");
    bad("2026-01-02T10:00:00z", SL_EVALUE,
        "expected 'Z', '+hh:mm' or '-hh:mm' after the time at position 20");
    bad("2026-01-02T10:00:00  Z", SL_EVALUE,
        "expected 'Z', '+hh:mm' or '-hh:mm' after the time at position 21");
    bad("2026-01-02T10:00:00 ", SL_EVALUE,
        "expected 'Z', '+hh:mm' or '-hh:mm' after the time at position 21 (end of text)");
    bad("2026-01-02T10:00:00 UTC", SL_EVALUE,
        "expected 'Z', '+hh:mm' or '-hh:mm' after the time at position 21");
    bad("2026-01-02T10:00:00+", SL_EVALUE,
        "expected 2 digits of offset hours at position 21 (end of text)");
}

Test(datetime, syntax_errors)
{
    bad("", SL_EVALUE,
        "expected a 4-digit year (a date-time like 2026-01-02 10:00:00) at position 1 (end of "
        "text)");
    bad("hello", SL_EVALUE,
        "expected a 4-digit year (a date-time like 2026-01-02 10:00:00) at position 1");
    bad(" 2026-01-02", SL_EVALUE,
        "expected a 4-digit year (a date-time like 2026-01-02 10:00:00) at position 1");
    bad("2026", SL_EVALUE,
        "expected '-' after the year (a date like 2026-01-02) at position 5 (end of text)");
    bad("2026/01/02", SL_EVALUE,
        "expected '-' after the year (a date like 2026-01-02) at position 5");
    bad("2026-1-02", SL_EVALUE, "expected 2 digits of month at position 6");
    bad("2026-01-2", SL_EVALUE, "expected 2 digits of day at position 9");
    bad("2026-01", SL_EVALUE, "expected '-' after the month at position 8 (end of text)");
    bad("2026-01-02 ", SL_EVALUE, "expected 2 digits of hour at position 12 (end of text)");
    bad("2026-01-02T", SL_EVALUE, "expected 2 digits of hour at position 12 (end of text)");
    bad("2026-01-02t10:00:00", SL_EVALUE,
        "expected 'T' or ' ' between date and time at position 11");
    bad("2026-01-02T1:00:00", SL_EVALUE, "expected 2 digits of hour at position 12");
    bad("2026-01-02T10", SL_EVALUE, "expected ':' after the hour at position 14 (end of text)");
    bad("2026-01-02T10:0:00", SL_EVALUE, "expected 2 digits of minutes at position 15");
    bad("2026-01-02T10:00:", SL_EVALUE,
        "expected 2 digits of seconds at position 18 (end of text)");
    bad("2026-01-02T10:00:0", SL_EVALUE, "expected 2 digits of seconds at position 18");
    bad("2026-01-02T10:00.5", SL_EVALUE,
        "expected 'Z', '+hh:mm' or '-hh:mm' after the time at position 17");
    bad("2026-01-02T10:00:00.12a", SL_EVALUE,
        "expected 'Z', '+hh:mm' or '-hh:mm' after the time at position 23");
    bad("2026-01-02x", SL_EVALUE, "expected 'T' or ' ' between date and time at position 11");
    bad("12:30:00", SL_EVALUE,
        "expected a 4-digit year (a date-time like 2026-01-02 10:00:00) at position 1");
    /* A NUL byte is just a byte: the input is a slice. */
    sl_instant t;
    sl_error err = {0};
    cr_expect_eq(sl_datetime_parse_text((sl_str){"2026-01-02\0", 11}, NULL, &t, &err), SL_EVALUE);
    cr_expect_eq(err.offset, 10);
}

Test(datetime, digit_strings)
{
    /* best_effort: 9-10 digits are unix seconds, 8 YYYYMMDD, 14 YYYYMMDDhhmmss. */
    ok("1700000000", 1700000000, 0);
    ok("170000000", 170000000, 0);
    ok("017000000", 17000000, 0);
    ok("0000000000", 0, 0);
    ok("9999999999", 9999999999, 0); /* parsed; DateTime's range check refuses it */
    ok("20260102", T0 - 36000, 0);
    ok("20260102103000", T0 + 1800, 0);
    bad("20260230", SL_ERANGE, "day 30 does not exist in 2026-02 (1-28)");
    bad("20261302103000", SL_ERANGE, "month 13 is not 1-12");
    bad("20260102253000", SL_ERANGE, "hour 25 is not 0-23");
    static const char *refused[] = {"1",      "12",      "123",         "12345",
                                    "123456", "1234567", "12345678901", "202601021030"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        sl_instant t;
        sl_error err = {0};
        cr_expect_eq(sl_datetime_parse_text(guarded(refused[i]), NULL, &t, &err), SL_EVALUE, "%s",
                     refused[i]);
    }
    bad("123", SL_EVALUE,
        "expected a date-time like 2026-01-02 10:00:00 or a unix time of 9-10 digits, got 3 "
        "digits");
    bad("1234", SL_EVALUE,
        "expected '-' after the year (a date like 2026-01-02) at position 5 (end of text)");
    /* A fraction on a unix time: DateTime64 only (ClickHouse refuses it for DateTime). */
    bad("1700000000.123", SL_EVALUE, "a unix time with a fraction is accepted only by DateTime64");
    bad("20260102.5", SL_EVALUE,
        "expected a date-time like 2026-01-02 10:00:00 or a unix time of 9-10 digits, got 8 "
        "digits");
    sl_instant t;
    sl_error err = {0};
    cr_assert_eq(sl_datetime_parse_text64(guarded("1700000000.123"), NULL, &t, &err), 0);
    cr_expect_eq(t.seconds, 1700000000);
    cr_expect_eq(t.nanos, 123000000);
    cr_assert_eq(sl_datetime_parse_text64(guarded("1700000000.1234567891"), NULL, &t, &err), 0);
    cr_expect_eq(t.nanos, 123456789);
    cr_assert_eq(sl_datetime_parse_text64(guarded("170000000."), NULL, &t, &err), 0);
    cr_expect_eq(t.seconds, 170000000);
    cr_assert_eq(sl_datetime_parse_text64(guarded("2026-01-02T10:00:00.5Z"), NULL, &t, &err), 0);
    cr_expect_eq(t.seconds, T0);
    cr_expect_eq(sl_datetime_parse_text64(guarded("1700000000.12x"), NULL, &t, &err), SL_EVALUE);
    /* Digit strings are unix time whatever the zone; 8/14 digits are local. */
    sl_tz *madrid = load("Europe/Madrid");
    cr_expect_eq(ok_tz("1700000000", madrid).seconds, 1700000000);
    cr_expect_eq(ok_tz("20260102", madrid).seconds, T0 - 36000 - 3600);
    sl_tz_free(madrid);
}

Test(datetime, epoch)
{
    sl_instant t;
    sl_error err = {0};
    cr_assert_eq(sl_datetime_parse_epoch(guarded("1700000000"), &t, &err), 0);
    cr_expect_eq(t.seconds, 1700000000);
    cr_expect_eq(t.nanos, 0);
    cr_assert_eq(sl_datetime_parse_epoch(guarded("0.000000001"), &t, &err), 0);
    cr_expect_eq(t.seconds, 0);
    cr_expect_eq(t.nanos, 1);
    cr_assert_eq(sl_datetime_parse_epoch(guarded("999999999999.9999999999"), &t, &err), 0);
    cr_expect_eq(t.seconds, INT64_C(999999999999));
    cr_expect_eq(t.nanos, 999999999);
    cr_assert_eq(sl_datetime_parse_epoch(guarded("5"), &t, &err), 0);
    cr_expect_eq(t.seconds, 5);
    cr_expect_eq(sl_datetime_parse_epoch(guarded("1000000000000"), &t, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "unix time has more than 12 digits");
    cr_expect_eq(sl_datetime_parse_epoch(guarded(""), &t, &err), SL_EVALUE);
    cr_expect_str_eq(err.msg,
                     "expected digits of a unix time in seconds at position 1 (end of text)");
    cr_expect_eq(sl_datetime_parse_epoch(guarded("-1"), &t, &err), SL_EVALUE);
    cr_expect_eq(sl_datetime_parse_epoch(guarded(".5"), &t, &err), SL_EVALUE);
    cr_expect_eq(sl_datetime_parse_epoch(guarded("1e9"), &t, &err), SL_EVALUE);
    cr_expect_str_eq(err.msg,
                     "expected only digits and an optional fraction in a unix time at position 2");
    cr_expect_eq(sl_datetime_parse_epoch(guarded("17 "), &t, &err), SL_EVALUE);
}

Test(datetime, dst_madrid)
{
    sl_tz *tz = load("Europe/Madrid");
    /* Winter CET (+1), summer CEST (+2). */
    cr_expect_eq(ok_tz("2026-01-02 11:00:00", tz).seconds, T0);
    cr_expect_eq(ok_tz("2026-07-01 12:00:00", tz).seconds, 1782900000);
    /* Spring gap 2026-03-29 02:00-03:00: ClickHouse uses the offset after the transition. */
    cr_expect_eq(ok_tz("2026-03-29 01:59:59", tz).seconds, 1774745999);
    cr_expect_eq(ok_tz("2026-03-29 02:00:00", tz).seconds, 1774742400);
    cr_expect_eq(ok_tz("2026-03-29 02:30:00", tz).seconds, 1774744200);
    cr_expect_eq(ok_tz("2026-03-29 03:00:00", tz).seconds, 1774746000);
    /* Autumn fold 2026-10-25 02:00-03:00: the earlier instant (CEST). */
    cr_expect_eq(ok_tz("2026-10-25 01:59:59", tz).seconds, 1792886399);
    cr_expect_eq(ok_tz("2026-10-25 02:00:00", tz).seconds, 1792886400);
    cr_expect_eq(ok_tz("2026-10-25 02:30:00", tz).seconds, 1792888200);
    cr_expect_eq(ok_tz("2026-10-25 02:59:59", tz).seconds, 1792889999);
    cr_expect_eq(ok_tz("2026-10-25 03:00:00", tz).seconds, 1792893600);
    cr_expect_eq(ok_tz("2026-03-29", tz).seconds, 1774738800);
    /* An explicit offset ignores the zone. */
    cr_expect_eq(ok_tz("2026-01-02T10:00:00Z", tz).seconds, T0);
    cr_expect_eq(ok_tz("2026-07-01T12:00:00+01:00", tz).seconds, 1782903600);
    /* Past 2037 the TZif footer rule applies (ClickHouse agrees up to 2299). */
    cr_expect_eq(ok_tz("2200-07-01 12:00:00", tz).seconds, INT64_C(7273792800));
    cr_expect_eq(ok_tz("2099-03-29 02:30:00", tz).seconds, INT64_C(4078427400));
    cr_expect_eq(sl_tz_offset_at(tz, T0), 3600);
    cr_expect_eq(sl_tz_offset_at(tz, 1782900000), 7200);
    cr_expect_eq(sl_tz_offset_for_local(tz, 1774751400 /* 02:30 as UTC */), 7200);
    cr_expect_eq(sl_tz_offset_for_local(tz, 1792895400 /* 02:30 as UTC */), 7200);
    sl_tz_free(tz);
}

Test(datetime, dst_new_york)
{
    sl_tz *tz = load("America/New_York");
    /* Gap 2026-03-08 02:00-03:00 EST→EDT. */
    cr_expect_eq(ok_tz("2026-03-08 02:30:00", tz).seconds, 1772951400);
    cr_expect_eq(ok_tz("2026-03-08 03:00:00", tz).seconds, 1772953200);
    cr_expect_eq(ok_tz("2026-03-08 01:59:59", tz).seconds, 1772953199);
    /* Fold 2026-11-01 01:00-02:00 EDT→EST: the earlier (EDT) instant. */
    cr_expect_eq(ok_tz("2026-11-01 00:59:59", tz).seconds, 1793509199);
    cr_expect_eq(ok_tz("2026-11-01 01:30:00", tz).seconds, 1793511000);
    cr_expect_eq(ok_tz("2026-11-01 02:00:00", tz).seconds, 1793516400);
    cr_expect_eq(ok_tz("2060-11-01 01:30:00", tz).seconds, INT64_C(2866512600));
    cr_expect_eq(ok_tz("2060-03-08 02:30:00", tz).seconds, INT64_C(2845956600));
    cr_expect_eq(ok_tz("2026-01-02T05:00:00", tz).seconds, T0);
    sl_tz_free(tz);
}

Test(datetime, other_zones)
{
    sl_tz *tz = load("Asia/Kolkata");
    cr_expect_eq(ok_tz("2026-01-02 15:30:00", tz).seconds, T0);
    sl_tz_free(tz);
    tz = load("UTC");
    cr_expect_eq(ok_tz("2026-01-02 10:00:00", tz).seconds, T0);
    sl_tz_free(tz);
    tz = load("");
    cr_expect_eq(ok_tz("2026-01-02 10:00:00", tz).seconds, T0);
    cr_expect_eq(sl_tz_offset_for_local(tz, 12345), 0);
    sl_tz_free(tz);
    tz = load("Etc/GMT-3"); /* POSIX sign: 3 hours east */
    cr_expect_eq(ok_tz("2026-01-02 13:00:00", tz).seconds, T0);
    sl_tz_free(tz);
    /* Sydney: southern hemisphere, DST over the new year; fold on 2026-04-05 02:00-03:00. */
    tz = load("Australia/Sydney");
    cr_expect_eq(ok_tz("2026-01-02 21:00:00", tz).seconds, T0);
    cr_expect_eq(ok_tz("2026-04-05 02:30:00", tz).seconds, 1775316600);
    cr_expect_eq(ok_tz("2126-01-02 21:00:00", tz).seconds, T0 + INT64_C(3155673600));
    sl_tz_free(tz);
    sl_tz_free(NULL);
}

Test(datetime, tz_names)
{
    static const char *badnames[] = {"../etc/passwd",   "/etc/localtime",   "Europe/../../etc",
                                     "Europe/Madrid ",  "Europe\\Madrid",   "Europe/Ma drid",
                                     "Europe/Madrid\n", "Nowhere/Atlantis", "Europe",
                                     "posixrules.x",    "Europe//Madrid/"};
    for (size_t i = 0; i < sizeof(badnames) / sizeof(badnames[0]); i++) {
        sl_tz *tz = (sl_tz *)1;
        sl_error err = {0};
        cr_expect_eq(sl_tz_load(sl_str_from_cstr(badnames[i]), &tz, &err), SL_EINVAL, "%s",
                     badnames[i]);
        cr_expect_null(tz);
        cr_expect_not_null(err.msg);
    }
    sl_tz *tz = NULL;
    sl_error err = {0};
    cr_expect_eq(sl_tz_load(SL_STR("../x"), &tz, &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "invalid time zone name '../x': expected an IANA name like "
                              "Europe/Madrid");
    cr_expect_eq(sl_tz_load(SL_STR("Nowhere/Atlantis"), &tz, &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "unknown time zone 'Nowhere/Atlantis'");
    cr_expect_eq(sl_tz_load((sl_str){"Europe/Madrid\0", 14}, &tz, &err), SL_EINVAL);
    char longname[300];
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    cr_expect_eq(sl_tz_load(sl_str_from_cstr(longname), &tz, &err), SL_EINVAL);
}

/* A hand-made TZif v2: one transition at t=1000 from +1 h to +2 h, footer "XXX-3". */
static size_t make_tzif(uint8_t *b, bool footer_ok)
{
    size_t n = 0;
    for (int v = 0; v < 2; v++) {
        memcpy(b + n, "TZif2", 5);
        memset(b + n + 5, 0, 15);
        n += 20;
        uint32_t counts[6] = {0, 0, 0, 1, 2, 4}; /* isut, isstd, leap, time, type, char */
        for (int i = 0; i < 6; i++) {
            b[n++] = (uint8_t)(counts[i] >> 24);
            b[n++] = (uint8_t)(counts[i] >> 16);
            b[n++] = (uint8_t)(counts[i] >> 8);
            b[n++] = (uint8_t)counts[i];
        }
        size_t tsize = v == 0 ? 4 : 8;
        memset(b + n, 0, tsize);
        b[n + tsize - 2] = 0x03; /* 1000 = 0x03e8 */
        b[n + tsize - 1] = 0xe8;
        n += tsize;
        b[n++] = 1; /* transition → type 1 */
        uint8_t types[12] = {0, 0, 0x0e, 0x10, 0, 0, 0, 0, 0x1c, 0x20, 1, 0};
        memcpy(b + n, types, 12);
        n += 12;
        memcpy(b + n, "A\0B\0", 4);
        n += 4;
    }
    const char *f = footer_ok ? "\nXXX-3\n" : "\nX-3\n";
    memcpy(b + n, f, strlen(f));
    return n + strlen(f);
}

Test(datetime, tzif_parse)
{
    uint8_t b[256];
    size_t n = make_tzif(b, true);
    sl_tz *tz = NULL;
    sl_error err = {0};
    cr_assert_eq(sl_tz_from_tzif((sl_str){(const char *)b, n}, &tz, &err), 0, "%s", err.msg);
    cr_expect_eq(sl_tz_offset_at(tz, 999), 3600);
    cr_expect_eq(sl_tz_offset_at(tz, 1000), 7200);
    cr_expect_eq(sl_tz_offset_at(tz, 100000000), 10800); /* footer: UTC+3 after the last */
    cr_expect_eq(sl_tz_offset_at(tz, -100000000), 3600);
    sl_tz_free(tz);
    n = make_tzif(b, false); /* unusable footer: ignored */
    cr_assert_eq(sl_tz_from_tzif((sl_str){(const char *)b, n}, &tz, &err), 0, "%s", err.msg);
    cr_expect_eq(sl_tz_offset_at(tz, 100000000), 7200);
    sl_tz_free(tz);
    /* Every truncation fails cleanly (no over-read: ASan). */
    for (size_t cut = 0; cut < 100; cut++) {
        uint8_t *c = malloc(cut ? cut : 1);
        memcpy(c, b, cut);
        tz = (sl_tz *)1;
        int rc = sl_tz_from_tzif((sl_str){(const char *)c, cut}, &tz, &err);
        cr_expect_eq(rc, SL_EINVAL, "cut %zu", cut);
        cr_expect_null(tz);
        free(c);
    }
    cr_expect_eq(sl_tz_from_tzif(SL_STR("TZjf2"), &tz, &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "not a TZif time zone file");
    /* A type index past the type count. */
    n = make_tzif(b, true);
    b[44 + 21 + 44 + 8] = 7; /* the v2 block's index byte */
    cr_expect_eq(sl_tz_from_tzif((sl_str){(const char *)b, n}, &tz, &err), SL_EINVAL);
}

Test(datetime, date)
{
    int64_t d = 0;
    sl_error err = {0};
    cr_assert_eq(sl_datetime_parse_date(guarded("2026-01-02"), &d, &err), 0);
    cr_expect_eq(d, 20455);
    cr_assert_eq(sl_datetime_parse_date(guarded("20260102"), &d, &err), 0);
    cr_expect_eq(d, 20455);
    cr_assert_eq(sl_datetime_parse_date(guarded("2024-02-29"), &d, &err), 0);
    cr_expect_eq(sl_datetime_parse_date(guarded("2023-02-29"), &d, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "day 29 does not exist in 2023-02 (1-28)");
    cr_expect_eq(sl_datetime_parse_date(guarded("20230229"), &d, &err), SL_ERANGE);
    /* ClickHouse refuses a time part, an offset or a unix time in a Date string. */
    cr_expect_eq(sl_datetime_parse_date(guarded("2026-01-02 10:00:00"), &d, &err), SL_EVALUE);
    cr_expect_str_eq(err.msg, "expected the end of the date (a Date column takes no time part) "
                              "at position 11");
    cr_expect_eq(sl_datetime_parse_date(guarded("2026-01-02T23:00:00-05:00"), &d, &err), SL_EVALUE);
    cr_expect_eq(sl_datetime_parse_date(guarded("2026-01-02Z"), &d, &err), SL_EVALUE);
    cr_expect_eq(sl_datetime_parse_date(guarded("1700000000"), &d, &err), SL_EVALUE);
    cr_expect_eq(sl_datetime_parse_date(guarded("2026-1-2"), &d, &err), SL_EVALUE);
    cr_expect_eq(sl_datetime_parse_date(guarded(""), &d, &err), SL_EVALUE);
    cr_expect_str_eq(err.msg, "expected a date like 2026-01-02 at position 1 (end of text)");
    cr_expect_eq(sl_datetime_parse_date(guarded("2026"), &d, &err), SL_EVALUE);
    cr_expect_eq(sl_datetime_parse_date(guarded("2026-01"), &d, &err), SL_EVALUE);
    cr_expect_eq(sl_datetime_parse_date(guarded("2026-13-01"), &d, &err), SL_ERANGE);
    cr_expect_eq(sl_datetime_parse_date(guarded("2026010"), &d, &err), SL_EVALUE);
}

Test(datetime, date_ranges)
{
    sl_error err = {0};
    cr_expect_eq(sl_date_check(0, false, &err), 0);
    cr_expect_eq(sl_date_check(65535, false, &err), 0); /* 2149-06-06 */
    cr_expect_eq(sl_date_check(-1, false, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "date 1969-12-31 is outside Date [1970-01-01, 2149-06-06]");
    cr_expect_eq(sl_date_check(65536, false, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "date 2149-06-07 is outside Date [1970-01-01, 2149-06-06]");
    cr_expect_eq(sl_date_check(-25567, true, &err), 0); /* 1900-01-01 */
    cr_expect_eq(sl_date_check(120529, true, &err), 0); /* 2299-12-31 */
    cr_expect_eq(sl_date_check(-25568, true, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "date 1899-12-31 is outside Date32 [1900-01-01, 2299-12-31]");
    cr_expect_eq(sl_date_check(120530, true, &err), SL_ERANGE);
    cr_expect_eq(sl_date_check(-1, true, &err), 0);
    cr_expect_eq(sl_date_check(INT64_MIN / 2, true, &err), SL_ERANGE);
}

Test(datetime, datetime_ranges)
{
    sl_error err = {0};
    uint32_t s = 1;
    sl_instant t = {0, 0};
    cr_expect_eq(sl_datetime_to_seconds(&t, &s, &err), 0);
    cr_expect_eq(s, 0);
    t = (sl_instant){4294967295, 999999999};
    cr_expect_eq(sl_datetime_to_seconds(&t, &s, &err), 0);
    cr_expect_eq(s, 4294967295u);
    t = (sl_instant){4294967296, 0};
    cr_expect_eq(sl_datetime_to_seconds(&t, &s, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "2106-02-07 06:28:16 UTC is outside DateTime [1970-01-01 "
                              "00:00:00, 2106-02-07 06:28:15] UTC");
    t = ok_tz("1969-12-31 23:59:59", NULL);
    cr_expect_eq(sl_datetime_to_seconds(&t, &s, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "1969-12-31 23:59:59 UTC is outside DateTime [1970-01-01 "
                              "00:00:00, 2106-02-07 06:28:15] UTC");
    t = ok_tz("1970-01-01T00:59:59+01:00", NULL);
    cr_expect_eq(sl_datetime_to_seconds(&t, &s, &err), SL_ERANGE);
    t = ok_tz("2106-02-07 06:28:15", NULL);
    cr_expect_eq(sl_datetime_to_seconds(&t, &s, &err), 0);
    t = ok_tz("2026-01-02T10:00:00.999", NULL); /* fraction truncated */
    cr_expect_eq(sl_datetime_to_seconds(&t, &s, &err), 0);
    cr_expect_eq(s, (uint32_t)T0);
}

Test(datetime, datetime64_ranges)
{
    sl_error err = {0};
    int64_t ticks = 0;
    sl_instant t = ok_tz("2026-01-02T10:00:00.123456789Z", NULL);
    cr_assert_eq(sl_datetime64_to_ticks(&t, 3, &ticks, &err), 0);
    cr_expect_eq(ticks, T0 * 1000 + 123);
    cr_assert_eq(sl_datetime64_to_ticks(&t, 0, &ticks, &err), 0);
    cr_expect_eq(ticks, T0);
    cr_assert_eq(sl_datetime64_to_ticks(&t, 9, &ticks, &err), 0);
    cr_expect_eq(ticks, T0 * 1000000000 + 123456789);
    cr_assert_eq(sl_datetime64_to_ticks(&t, 6, &ticks, &err), 0);
    cr_expect_eq(ticks, T0 * 1000000 + 123456);
    /* Before 1970 the fraction still truncates the digits (ClickHouse: .9999 → .999 = -1 ms). */
    t = ok_tz("1969-12-31 23:59:59.9999", NULL);
    cr_assert_eq(sl_datetime64_to_ticks(&t, 3, &ticks, &err), 0);
    cr_expect_eq(ticks, -1);
    t = ok_tz("1900-01-01 00:00:00", NULL);
    cr_assert_eq(sl_datetime64_to_ticks(&t, 9, &ticks, &err), 0);
    cr_expect_eq(ticks, INT64_C(-2208988800000000000));
    t = ok_tz("1899-12-31 23:59:59.999999999", NULL);
    cr_expect_eq(sl_datetime64_to_ticks(&t, 3, &ticks, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "1899-12-31 23:59:59 UTC is outside DateTime64 [1900-01-01 "
                              "00:00:00, 2299-12-31 23:59:59.999999999] UTC");
    t = ok_tz("2299-12-31 23:59:59.999999999", NULL);
    cr_assert_eq(sl_datetime64_to_ticks(&t, 3, &ticks, &err), 0);
    cr_expect_eq(ticks, INT64_C(10413791999999));
    t = ok_tz("2300-01-01 00:00:00", NULL);
    cr_expect_eq(sl_datetime64_to_ticks(&t, 0, &ticks, &err), SL_ERANGE);
    t = ok_tz("2299-12-31T23:59:59-01:00", NULL); /* 2300-01-01 00:59:59 UTC */
    cr_expect_eq(sl_datetime64_to_ticks(&t, 0, &ticks, &err), SL_ERANGE);
    /* Scale 9 ends where Int64 does. */
    t = ok_tz("2262-04-11 23:47:16.854775807", NULL);
    cr_assert_eq(sl_datetime64_to_ticks(&t, 9, &ticks, &err), 0);
    cr_expect_eq(ticks, INT64_MAX);
    t = ok_tz("2262-04-11 23:47:16.854775808", NULL);
    cr_expect_eq(sl_datetime64_to_ticks(&t, 9, &ticks, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "2262-04-11 23:47:16 UTC is past DateTime64(9)'s last instant, "
                              "2262-04-11 23:47:16.854775807 UTC");
    t = ok_tz("2262-04-11 23:47:16.854775808", NULL);
    cr_expect_eq(sl_datetime64_to_ticks(&t, 8, &ticks, &err), 0);
    t = ok_tz("2026-01-02", NULL);
    cr_expect_eq(sl_datetime64_to_ticks(&t, 10, &ticks, &err), SL_EINVAL);
}

/* DateTime64's range on the column's wall clock (ClickHouse shows and stores "2299-12-31
 * 23:59:59" in America/New_York, 2300-01-01 04:59:59 UTC); ticks stay UTC. */
Test(datetime, datetime64_range_in_local_time)
{
    sl_error err = {0};
    int64_t ticks = 0;
    sl_tz *ny = load("America/New_York");
    sl_tz *kol = load("Asia/Kolkata");
    sl_instant t = ok_tz("2299-12-31 23:59:59", ny);
    cr_expect_eq(sl_datetime64_to_ticks(&t, 0, &ticks, &err), SL_ERANGE); /* UTC check */
    cr_assert_eq(sl_datetime64_to_ticks_tz(&t, 0, ny, &ticks, &err), 0, "%s", err.msg);
    cr_expect_eq(ticks, INT64_C(10413809999));
    t = ok_tz("2300-01-01 00:00:00", ny);
    cr_expect_eq(sl_datetime64_to_ticks_tz(&t, 3, ny, &ticks, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "2300-01-01 00:00:00 (the column's local time) is outside "
                              "DateTime64 [1900-01-01 00:00:00, 2299-12-31 23:59:59.999999999]");
    t = ok_tz("1900-01-01 00:00:00", kol);
    cr_assert_eq(sl_datetime64_to_ticks_tz(&t, 0, kol, &ticks, &err), 0, "%s", err.msg);
    cr_expect_eq(ticks, INT64_C(-2209008070)); /* local mean time +05:21:10 */
    t = ok_tz("1899-12-31 23:59:59.999", kol);
    cr_expect_eq(sl_datetime64_to_ticks_tz(&t, 3, kol, &ticks, &err), SL_ERANGE);
    /* An instant given with an offset is checked where the column shows it. */
    t = ok_tz("2300-01-01T04:59:59Z", NULL);
    cr_expect_eq(sl_datetime64_to_ticks_tz(&t, 0, ny, &ticks, &err), 0);
    cr_expect_eq(sl_datetime64_to_ticks_tz(&t, 0, NULL, &ticks, &err), SL_ERANGE);
    /* Far outside the range no offset is looked up. */
    t = (sl_instant){INT64_MAX / 2, 0};
    cr_expect_eq(sl_datetime64_to_ticks_tz(&t, 0, ny, &ticks, &err), SL_ERANGE);
    t = (sl_instant){INT64_MIN / 2, 0};
    cr_expect_eq(sl_datetime64_to_ticks_tz(&t, 0, ny, &ticks, &err), SL_ERANGE);
    /* Scale 9 still ends where Int64 does, whatever the zone. */
    t = ok_tz("2262-04-11 23:47:16.854775808Z", NULL);
    cr_expect_eq(sl_datetime64_to_ticks_tz(&t, 9, ny, &ticks, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "2262-04-11 23:47:16 UTC is past DateTime64(9)'s last instant, "
                              "2262-04-11 23:47:16.854775807 UTC");
    sl_tz_free(ny);
    sl_tz_free(kol);
}
