/* Date-time text and epoch parsing, TZif time zones, and the range-checked conversions to
 * ClickHouse's Date, Date32, DateTime and DateTime64 values. The accepted forms are a strict
 * subset of ClickHouse's best_effort parser (see sl_datetime.h); every field is validated
 * instead of being rolled over. The only I/O is sl_tz_load reading one zone file. */
#include "sl_datetime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONEINFO_DIR    "/usr/share/zoneinfo/"
#define TZ_NAME_MAX     128
#define TZIF_MAX_BYTES  (1u << 20)
#define TZIF_MAX_TIMES  100000u
#define MAX_OFFSET      (14 * 3600)
#define RULE_LAST_YEAR  2300 /* footer rules are expanded into transitions up to here */
#define RULE_FIRST_YEAR 1800

struct sl_tz {
    size_t n;        /* transitions */
    int64_t *at;     /* UTC second of transition i, increasing */
    int32_t *after;  /* offset in effect from at[i] on */
    int32_t initial; /* offset before at[0] (or always when n == 0) */
};

/* ---- civil calendar ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t sl_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Shift the year to start in March so the leap day is the last day of the year. */
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = (int64_t)((m + 9) % 12);
    int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29u : dim[m - 1];
}

/* 0 = Sunday. 1970-01-01 was a Thursday. */
static unsigned weekday(int64_t days)
{
    return (unsigned)(days - floor_div(days + 4, 7) * 7 + 4);
}

/* "YYYY-MM-DD hh:mm:ss" for messages; buf holds at least 32 bytes. */
static void format_utc(int64_t seconds, char *buf, size_t size)
{
    /* Beyond year ±30 million the calendar arithmetic below would overflow: show the number. */
    if (seconds > INT64_C(1000000000000000) || seconds < -INT64_C(1000000000000000)) {
        snprintf(buf, size, "%lld s since 1970", (long long)seconds);
        return;
    }
    int64_t days = floor_div(seconds, 86400);
    int64_t rem = seconds - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, size, "%04lld-%02u-%02u %02u:%02u:%02u", (long long)y, m, d,
             (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
}

/* ---- time zones ---- */

void sl_tz_free(sl_tz *tz)
{
    if (!tz)
        return;
    free(tz->at);
    free(tz->after);
    free(tz);
}

int32_t sl_tz_offset_at(const sl_tz *tz, int64_t utc_seconds)
{
    if (!tz || tz->n == 0 || utc_seconds < tz->at[0])
        return tz ? tz->initial : 0;
    size_t lo = 0, hi = tz->n; /* invariant: at[lo] <= t, at[hi] > t (hi == n: none) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= utc_seconds)
            lo = mid;
        else
            hi = mid;
    }
    return tz->after[lo];
}

int32_t sl_tz_offset_for_local(const sl_tz *tz, int64_t local_seconds)
{
    if (!tz || tz->n == 0)
        return tz ? tz->initial : 0;
    /* Far outside any calendar we parse: no transitions matter, avoid overflow below. */
    const int64_t limit = INT64_C(1) << 50;
    if (local_seconds < -limit || local_seconds > limit)
        return sl_tz_offset_at(tz, local_seconds < 0 ? INT64_MIN : INT64_MAX);
    /* The instant is within ±26 h of the local reading; only transitions there matter. */
    const int64_t window = 26 * 3600;
    size_t lo = 0, hi = tz->n; /* first transition after local - window */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= local_seconds - window)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Walk the segments in time order; the first that holds the instant is the earliest. */
    size_t i = lo;
    int32_t off = lo == 0 ? tz->initial : tz->after[lo - 1];
    int64_t seg_start = INT64_MIN;
    for (;;) {
        int64_t seg_end = i < tz->n ? tz->at[i] : INT64_MAX;
        int64_t u = local_seconds - off;
        if (u >= seg_start && u < seg_end)
            return off;
        if (i >= tz->n || tz->at[i] >= local_seconds + window)
            break;
        seg_start = tz->at[i];
        off = tz->after[i];
        i++;
    }
    /* A gap: the local time was skipped by a forward transition; use the offset after it. */
    for (i = lo; i < tz->n && tz->at[i] < local_seconds + window; i++) {
        int32_t before = i == 0 ? tz->initial : tz->after[i - 1];
        if (tz->after[i] > before && local_seconds >= tz->at[i] + before &&
            local_seconds < tz->at[i] + tz->after[i])
            return tz->after[i];
    }
    return sl_tz_offset_at(tz, local_seconds - off);
}

typedef struct {
    const uint8_t *p;
    size_t len, pos;
} reader;

static bool rd_has(const reader *r, size_t n)
{
    return r->len - r->pos >= n;
}

static uint32_t rd_u32(reader *r)
{
    const uint8_t *p = r->p + r->pos;
    r->pos += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t rd_i64(reader *r)
{
    uint64_t hi = rd_u32(r);
    uint64_t lo = rd_u32(r);
    return (int64_t)(hi << 32 | lo);
}

typedef struct {
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
    char version;
} tzif_header;

static bool read_header(reader *r, tzif_header *h)
{
    if (!rd_has(r, 44) || memcmp(r->p + r->pos, "TZif", 4) != 0)
        return false;
    h->version = (char)r->p[r->pos + 4];
    r->pos += 20;
    h->isutcnt = rd_u32(r);
    h->isstdcnt = rd_u32(r);
    h->leapcnt = rd_u32(r);
    h->timecnt = rd_u32(r);
    h->typecnt = rd_u32(r);
    h->charcnt = rd_u32(r);
    return true;
}

/* Bytes of the data block that follows a header, for times of `tsize` bytes; 0 if absurd. */
static size_t block_size(const tzif_header *h, size_t tsize)
{
    if (h->timecnt > TZIF_MAX_TIMES || h->typecnt == 0 || h->typecnt > 256 || h->charcnt > 65536 ||
        h->leapcnt > 65536 || h->isutcnt > 256 || h->isstdcnt > 256)
        return 0;
    return (size_t)h->timecnt * (tsize + 1) + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* A growable transition list while building a zone. */
typedef struct {
    int64_t *at;
    int32_t *after;
    size_t n, cap;
} tlist;

static void tl_push(tlist *t, int64_t at, int32_t after)
{
    if (t->n > 0 && at <= t->at[t->n - 1])
        return; /* keep strictly increasing; the file's own data wins */
    if (t->n > 0 && after == t->after[t->n - 1])
        return; /* no change of offset: not a transition for us */
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->at = sl_xrealloc(t->at, t->cap * sizeof(*t->at));
        t->after = sl_xrealloc(t->after, t->cap * sizeof(*t->after));
    }
    t->at[t->n] = at;
    t->after[t->n] = after;
    t->n++;
}

/* ---- POSIX TZ rule strings (the TZif footer) ---- */

typedef struct {
    char kind; /* 'J' (1..365, no leap day), 'N' (0..365), 'M' */
    int day, week, month;
    int32_t time; /* seconds after local midnight; may be negative or > 24 h */
} tz_rule_date;

typedef struct {
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    tz_rule_date start, end;
} tz_rule;

static bool rule_num(const char **s, const char *e, int max, int *out)
{
    int v = 0;
    const char *p = *s;
    if (p >= e || *p < '0' || *p > '9')
        return false;
    while (p < e && *p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > max)
            return false;
        p++;
    }
    *s = p;
    *out = v;
    return true;
}

/* [+-]hh[:mm[:ss]] → seconds (sign as written). */
static bool rule_time(const char **s, const char *e, int max_hours, int32_t *out)
{
    int sign = 1, h, m = 0, sec = 0;
    if (*s < e && (**s == '+' || **s == '-')) {
        sign = **s == '-' ? -1 : 1;
        (*s)++;
    }
    if (!rule_num(s, e, max_hours, &h))
        return false;
    if (*s < e && **s == ':') {
        (*s)++;
        if (!rule_num(s, e, 59, &m))
            return false;
        if (*s < e && **s == ':') {
            (*s)++;
            if (!rule_num(s, e, 59, &sec))
                return false;
        }
    }
    *out = (int32_t)(sign * (h * 3600 + m * 60 + sec));
    return true;
}

static bool rule_name(const char **s, const char *e)
{
    const char *p = *s;
    if (p < e && *p == '<') {
        while (p < e && *p != '>')
            p++;
        if (p >= e)
            return false;
        *s = p + 1;
        return true;
    }
    while (p < e && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
        p++;
    if (p - *s < 3)
        return false;
    *s = p;
    return true;
}

static bool rule_date(const char **s, const char *e, tz_rule_date *d)
{
    d->time = 7200;
    if (*s < e && **s == 'M') {
        (*s)++;
        d->kind = 'M';
        if (!rule_num(s, e, 12, &d->month) || d->month < 1 || *s >= e || **s != '.')
            return false;
        (*s)++;
        if (!rule_num(s, e, 5, &d->week) || d->week < 1 || *s >= e || **s != '.')
            return false;
        (*s)++;
        if (!rule_num(s, e, 6, &d->day))
            return false;
    } else if (*s < e && **s == 'J') {
        (*s)++;
        d->kind = 'J';
        if (!rule_num(s, e, 365, &d->day) || d->day < 1)
            return false;
    } else {
        d->kind = 'N';
        if (!rule_num(s, e, 365, &d->day))
            return false;
    }
    if (*s < e && **s == '/') {
        (*s)++;
        if (!rule_time(s, e, 167, &d->time))
            return false;
    }
    return true;
}

static bool parse_rule(const char *s, const char *e, tz_rule *r)
{
    int32_t t;
    memset(r, 0, sizeof(*r));
    if (!rule_name(&s, e) || !rule_time(&s, e, 24, &t))
        return false;
    r->std_off = -t;
    if (s == e)
        return true;
    if (!rule_name(&s, e))
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (s < e && *s != ',') {
        if (!rule_time(&s, e, 24, &t))
            return false;
        r->dst_off = -t;
    }
    if (s == e) {
        /* No rule given: POSIX leaves the default to the implementation; use US rules. */
        r->start = (tz_rule_date){'M', 0, 2, 3, 7200};
        r->end = (tz_rule_date){'M', 0, 1, 11, 7200};
        return true;
    }
    if (*s != ',')
        return false;
    s++;
    if (!rule_date(&s, e, &r->start) || s >= e || *s != ',')
        return false;
    s++;
    return rule_date(&s, e, &r->end) && s == e;
}

/* Days since the epoch of a rule date in year y. */
static int64_t rule_day(const tz_rule_date *d, int64_t y)
{
    int64_t jan1 = sl_days_from_civil(y, 1, 1);
    if (d->kind == 'J')
        return jan1 + d->day - 1 + (is_leap(y) && d->day >= 60 ? 1 : 0);
    if (d->kind == 'N')
        return jan1 + d->day;
    unsigned m = (unsigned)d->month;
    int64_t first = sl_days_from_civil(y, m, 1);
    unsigned wd = weekday(first);
    int64_t mday = 1 + (int64_t)(((unsigned)d->day + 7 - wd) % 7) + 7 * (d->week - 1);
    while (mday > days_in_month(y, m))
        mday -= 7;
    return first + mday - 1;
}

static void expand_rule(tlist *t, const tz_rule *r, int64_t from_year)
{
    if (!r->has_dst) {
        tl_push(t, t->n ? t->at[t->n - 1] + 1 : INT64_MIN, r->std_off);
        return;
    }
    for (int64_t y = from_year; y <= RULE_LAST_YEAR; y++) {
        /* Start is read on the standard clock, end on the daylight clock. */
        int64_t s = rule_day(&r->start, y) * 86400 + r->start.time - r->std_off;
        int64_t e = rule_day(&r->end, y) * 86400 + r->end.time - r->dst_off;
        if (s < e) {
            tl_push(t, s, r->dst_off);
            tl_push(t, e, r->std_off);
        } else {
            tl_push(t, e, r->std_off);
            tl_push(t, s, r->dst_off);
        }
    }
}

int sl_tz_from_tzif(sl_str data, sl_tz **out, sl_error *err)
{
    *out = NULL;
    reader r = {(const uint8_t *)data.ptr, data.len, 0};
    tzif_header h;
    if (!read_header(&r, &h))
        return sl_error_set(err, SL_EINVAL, "not a TZif time zone file", 0);
    size_t tsize = 4;
    size_t bs = block_size(&h, 4);
    if (bs == 0 || !rd_has(&r, bs))
        return sl_error_set(err, SL_EINVAL, "truncated or malformed TZif data", r.pos);
    if (h.version >= '2') {
        r.pos += bs;
        if (!read_header(&r, &h))
            return sl_error_set(err, SL_EINVAL, "malformed TZif v2 header", r.pos);
        tsize = 8;
        bs = block_size(&h, 8);
        if (bs == 0 || !rd_has(&r, bs))
            return sl_error_set(err, SL_EINVAL, "truncated or malformed TZif data", r.pos);
    }
    if (h.leapcnt > 0)
        return sl_error_set(err, SL_EINVAL, "time zones with leap seconds are not supported",
                            r.pos);
    size_t times = r.pos, idx = times + h.timecnt * tsize, types = idx + h.timecnt;
    int32_t type_off[256];
    for (uint32_t i = 0; i < h.typecnt; i++) {
        reader tr = {r.p, r.len, types + i * 6};
        uint32_t u = rd_u32(&tr);
        type_off[i] = (int32_t)u;
        if (type_off[i] < -26 * 3600 || type_off[i] > 26 * 3600)
            return sl_error_set(err, SL_EINVAL, "TZif offset out of range", types + i * 6);
    }
    tlist t = {0};
    reader tr = {r.p, r.len, times};
    for (uint32_t i = 0; i < h.timecnt; i++) {
        int64_t at = tsize == 8 ? rd_i64(&tr) : (int64_t)(int32_t)rd_u32(&tr);
        uint8_t ti = r.p[idx + i];
        if (ti >= h.typecnt) {
            free(t.at);
            free(t.after);
            return sl_error_set(err, SL_EINVAL, "TZif transition names an unknown type", idx + i);
        }
        tl_push(&t, at, type_off[ti]);
    }
    r.pos += bs;
    int32_t initial = type_off[0];
    /* The footer rule (v2+) covers instants after the last transition. */
    if (tsize == 8 && rd_has(&r, 2) && r.p[r.pos] == '\n') {
        const char *fs = (const char *)r.p + r.pos + 1;
        const char *fe = memchr(fs, '\n', r.len - r.pos - 1);
        tz_rule rule;
        if (fe && fe > fs && parse_rule(fs, fe, &rule)) {
            int64_t from = RULE_FIRST_YEAR;
            if (t.n > 0) {
                int64_t y;
                unsigned m, d;
                civil_from_days(floor_div(t.at[t.n - 1], 86400), &y, &m, &d);
                from = y < RULE_FIRST_YEAR ? RULE_FIRST_YEAR : y;
            } else {
                initial = rule.std_off;
            }
            if (rule.has_dst || t.n > 0)
                expand_rule(&t, &rule, from);
        }
    }
    sl_tz *tz = sl_xcalloc(1, sizeof(*tz));
    tz->n = t.n;
    tz->at = t.at;
    tz->after = t.after;
    tz->initial = initial;
    *out = tz;
    return 0;
}

static bool tz_name_ok(sl_str name)
{
    if (name.len == 0 || name.len > TZ_NAME_MAX || name.ptr[0] == '/')
        return false;
    for (size_t i = 0; i < name.len; i++) {
        char c = name.ptr[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '/' || c == '_' || c == '+' || c == '-';
        if (!ok)
            return false;
    }
    return true; /* '.' is refused, so ".." cannot occur */
}

int sl_tz_load(sl_str name, sl_tz **out, sl_error *err)
{
    *out = NULL;
    if (name.len == 0 || sl_str_eq_cstr(name, "UTC")) {
        *out = sl_xcalloc(1, sizeof(sl_tz));
        return 0;
    }
    if (!tz_name_ok(name))
        return sl_error_setf(err, SL_EINVAL, 0,
                             "invalid time zone name '%.*s': expected an IANA name like "
                             "Europe/Madrid",
                             (int)(name.len > 64 ? 64 : name.len), name.ptr);
    char path[sizeof(ZONEINFO_DIR) + TZ_NAME_MAX];
    snprintf(path, sizeof(path), "%s%.*s", ZONEINFO_DIR, (int)name.len, name.ptr);
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0;
    if (f) {
        buf = sl_xmalloc(TZIF_MAX_BYTES);
        n = fread(buf, 1, TZIF_MAX_BYTES, f);
        fclose(f);
    }
    if (!f || n == 0 || n == TZIF_MAX_BYTES) {
        free(buf);
        return sl_error_setf(err, SL_EINVAL, 0, "unknown time zone '%.*s'", (int)name.len,
                             name.ptr);
    }
    int rc = sl_tz_from_tzif((sl_str){(const char *)buf, n}, out, err);
    free(buf);
    if (rc)
        return sl_error_setf(err, SL_EINVAL, 0, "unknown time zone '%.*s'", (int)name.len,
                             name.ptr);
    return 0;
}

/* ---- text parsing ---- */

typedef struct {
    const char *p;
    size_t len, pos;
} cursor;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly n digits. */
static bool digits(cursor *c, unsigned n, unsigned *out)
{
    *out = 0;
    if (c->len - c->pos < n)
        return false;
    unsigned v = 0;
    for (unsigned i = 0; i < n; i++) {
        char ch = c->p[c->pos + i];
        if (!is_digit(ch))
            return false;
        v = v * 10 + (unsigned)(ch - '0');
    }
    c->pos += n;
    *out = v;
    return true;
}

static bool peek(const cursor *c, char ch)
{
    return c->pos < c->len && c->p[c->pos] == ch;
}

static int expected(sl_error *err, const cursor *c, const char *what)
{
    if (c->pos >= c->len)
        return sl_error_setf(err, SL_EVALUE, c->pos, "expected %s at position %zu (end of text)",
                             what, c->pos + 1);
    return sl_error_setf(err, SL_EVALUE, c->pos, "expected %s at position %zu", what, c->pos + 1);
}

typedef struct {
    int64_t year;
    unsigned month, day, hour, minute, second;
    uint32_t nanos;
    bool has_offset;
    int32_t offset;
} fields;

static int check_date(const fields *f, size_t at, sl_error *err)
{
    if (f->month < 1 || f->month > 12)
        return sl_error_setf(err, SL_ERANGE, at, "month %u is not 1-12", f->month);
    unsigned dim = days_in_month(f->year, f->month);
    if (f->day < 1 || f->day > dim)
        return sl_error_setf(err, SL_ERANGE, at, "day %u does not exist in %04lld-%02u (1-%u)",
                             f->day, (long long)f->year, f->month, dim);
    return 0;
}

static int check_time(const fields *f, size_t at, sl_error *err)
{
    if (f->hour > 23)
        return sl_error_setf(err, SL_ERANGE, at, "hour %u is not 0-23", f->hour);
    if (f->minute > 59)
        return sl_error_setf(err, SL_ERANGE, at, "minute %u is not 0-59", f->minute);
    if (f->second > 59)
        return sl_error_setf(err, SL_ERANGE, at, "second %u is not 0-59", f->second);
    return 0;
}

/* Fraction digits after the '.', truncated past the 9th. */
static uint32_t read_fraction(cursor *c)
{
    uint32_t v = 0;
    unsigned n = 0;
    while (c->pos < c->len && is_digit(c->p[c->pos])) {
        if (n < 9) {
            v = v * 10 + (uint32_t)(c->p[c->pos] - '0');
            n++;
        }
        c->pos++;
    }
    for (; n < 9; n++)
        v *= 10;
    return v;
}

static int parse_offset(cursor *c, fields *f, sl_error *err)
{
    size_t start = c->pos;
    if (peek(c, 'Z')) {
        c->pos++;
        f->has_offset = true;
        f->offset = 0;
        return 0;
    }
    int sign = c->p[c->pos] == '-' ? -1 : 1;
    c->pos++;
    unsigned hh, mm = 0;
    if (!digits(c, 2, &hh))
        return expected(err, c, "2 digits of offset hours");
    if (peek(c, ':')) {
        c->pos++;
        if (!digits(c, 2, &mm))
            return expected(err, c, "2 digits of offset minutes");
    } else if (c->pos < c->len && is_digit(c->p[c->pos])) {
        if (!digits(c, 2, &mm))
            return expected(err, c, "2 digits of offset minutes");
    }
    if (mm > 59)
        return sl_error_setf(err, SL_ERANGE, start, "offset minutes %u are not 0-59", mm);
    int32_t off = (int32_t)(hh * 3600 + mm * 60);
    if (off > MAX_OFFSET)
        return sl_error_setf(err, SL_ERANGE, start, "offset %c%02u:%02u is beyond ±14:00",
                             sign < 0 ? '-' : '+', hh, mm);
    f->has_offset = true;
    f->offset = sign * off;
    return 0;
}

/* ISO form: YYYY-MM-DD[(T| )hh:mm[:ss[.f*]]][ ][Z|±hh[[:]mm]] */
static int parse_iso(cursor *c, fields *f, sl_error *err)
{
    unsigned y;
    if (!digits(c, 4, &y))
        return expected(err, c, "a 4-digit year (a date-time like 2026-01-02 10:00:00)");
    f->year = y;
    if (!peek(c, '-'))
        return expected(err, c, "'-' after the year (a date like 2026-01-02)");
    c->pos++;
    if (!digits(c, 2, &f->month))
        return expected(err, c, "2 digits of month");
    if (!peek(c, '-'))
        return expected(err, c, "'-' after the month");
    c->pos++;
    if (!digits(c, 2, &f->day))
        return expected(err, c, "2 digits of day");
    int rc = check_date(f, 0, err);
    if (rc)
        return rc;
    if (c->pos == c->len)
        return 0;
    if (!peek(c, 'T') && !peek(c, ' '))
        return expected(err, c, "'T' or ' ' between date and time");
    c->pos++;
    size_t tstart = c->pos;
    if (!digits(c, 2, &f->hour))
        return expected(err, c, "2 digits of hour");
    if (!peek(c, ':'))
        return expected(err, c, "':' after the hour");
    c->pos++;
    if (!digits(c, 2, &f->minute))
        return expected(err, c, "2 digits of minutes");
    if (peek(c, ':')) {
        c->pos++;
        if (!digits(c, 2, &f->second))
            return expected(err, c, "2 digits of seconds");
        if (peek(c, '.')) {
            c->pos++;
            f->nanos = read_fraction(c);
        }
    }
    rc = check_time(f, tstart, err);
    if (rc)
        return rc;
    if (c->pos == c->len)
        return 0;
    if (peek(c, ' '))
        c->pos++;
    if (!peek(c, 'Z') && !peek(c, '+') && !peek(c, '-'))
        return expected(err, c, "'Z', '+hh:mm' or '-hh:mm' after the time");
    rc = parse_offset(c, f, err);
    if (rc)
        return rc;
    if (c->pos != c->len)
        return expected(err, c, "the end of the date-time");
    return 0;
}

static int to_instant(const fields *f, const sl_tz *tz, sl_instant *out)
{
    int64_t local = sl_days_from_civil(f->year, f->month, f->day) * 86400 +
                    (int64_t)(f->hour * 3600 + f->minute * 60 + f->second);
    int32_t off = f->has_offset ? f->offset : tz ? sl_tz_offset_for_local(tz, local) : 0;
    out->seconds = local - off;
    out->nanos = f->nanos;
    return 0;
}

int sl_datetime_parse_epoch(sl_str text, sl_instant *out, sl_error *err)
{
    cursor c = {text.ptr, text.len, 0};
    int64_t v = 0;
    while (c.pos < c.len && is_digit(c.p[c.pos])) {
        if (c.pos >= 12)
            return sl_error_set(err, SL_ERANGE, "unix time has more than 12 digits", 0);
        v = v * 10 + (c.p[c.pos] - '0');
        c.pos++;
    }
    if (c.pos == 0)
        return expected(err, &c, "digits of a unix time in seconds");
    uint32_t nanos = 0;
    if (peek(&c, '.')) {
        c.pos++;
        nanos = read_fraction(&c);
    }
    if (c.pos != c.len)
        return expected(err, &c, "only digits and an optional fraction in a unix time");
    out->seconds = v;
    out->nanos = nanos;
    return 0;
}

/* Whole text is digits, optionally followed by '.' and digits: the best_effort numeric forms. */
static int parse_digits(sl_str text, const sl_tz *tz, bool allow_frac, sl_instant *out,
                        sl_error *err)
{
    size_t n = 0;
    while (n < text.len && is_digit(text.ptr[n]))
        n++;
    bool frac = n < text.len;
    if ((n == 9 || n == 10)) {
        if (frac && !allow_frac)
            return sl_error_set(err, SL_EVALUE,
                                "a unix time with a fraction is accepted only by DateTime64", n);
        return sl_datetime_parse_epoch(text, out, err);
    }
    cursor c = {text.ptr, text.len, 0};
    fields f = {0};
    if ((n == 8 || n == 14) && !frac) {
        unsigned y;
        digits(&c, 4, &y);
        f.year = y;
        digits(&c, 2, &f.month);
        digits(&c, 2, &f.day);
        int rc = check_date(&f, 0, err);
        if (rc)
            return rc;
        if (n == 14) {
            digits(&c, 2, &f.hour);
            digits(&c, 2, &f.minute);
            digits(&c, 2, &f.second);
            rc = check_time(&f, 8, err);
            if (rc)
                return rc;
        }
        return to_instant(&f, tz, out);
    }
    return sl_error_setf(err, SL_EVALUE, 0,
                         "expected a date-time like 2026-01-02 10:00:00 or a unix time of 9-10 "
                         "digits, got %zu digits",
                         n);
}

static int parse_text(sl_str text, const sl_tz *tz, bool allow_frac, sl_instant *out, sl_error *err)
{
    out->seconds = 0;
    out->nanos = 0;
    size_t n = 0;
    while (n < text.len && is_digit(text.ptr[n]))
        n++;
    if (n > 0 && n != 4) {
        /* Digit strings (and 9-10 digit epochs with a fraction) are best_effort numbers. */
        size_t m = n;
        if (m < text.len && text.ptr[m] == '.') {
            m++;
            while (m < text.len && is_digit(text.ptr[m]))
                m++;
        }
        if (m == text.len)
            return parse_digits(text, tz, allow_frac, out, err);
    }
    cursor c = {text.ptr, text.len, 0};
    fields f = {0};
    int rc = parse_iso(&c, &f, err);
    if (rc)
        return rc;
    return to_instant(&f, tz, out);
}

int sl_datetime_parse_text(sl_str text, const sl_tz *tz, sl_instant *out, sl_error *err)
{
    return parse_text(text, tz, false, out, err);
}

int sl_datetime_parse_text64(sl_str text, const sl_tz *tz, sl_instant *out, sl_error *err)
{
    return parse_text(text, tz, true, out, err);
}

int sl_datetime_parse_date(sl_str text, int64_t *days, sl_error *err)
{
    cursor c = {text.ptr, text.len, 0};
    fields f = {0};
    unsigned y;
    if (!digits(&c, 4, &y))
        return expected(err, &c, "a date like 2026-01-02");
    f.year = y;
    if (text.len == 8 && digits(&c, 2, &f.month) && digits(&c, 2, &f.day)) {
        /* YYYYMMDD */
    } else {
        c.pos = 4;
        if (!peek(&c, '-'))
            return expected(err, &c, "'-' after the year (a date like 2026-01-02)");
        c.pos++;
        if (!digits(&c, 2, &f.month))
            return expected(err, &c, "2 digits of month");
        if (!peek(&c, '-'))
            return expected(err, &c, "'-' after the month");
        c.pos++;
        if (!digits(&c, 2, &f.day))
            return expected(err, &c, "2 digits of day");
        if (c.pos != c.len)
            return expected(err, &c, "the end of the date (a Date column takes no time part)");
    }
    int rc = check_date(&f, 0, err);
    if (rc)
        return rc;
    *days = sl_days_from_civil(f.year, f.month, f.day);
    return 0;
}

/* ---- range-checked conversions ---- */

int sl_date_check(int64_t days, bool date32, sl_error *err)
{
    int64_t lo = date32 ? sl_days_from_civil(1900, 1, 1) : 0;
    int64_t hi = date32 ? sl_days_from_civil(2299, 12, 31) : 65535;
    if (days < lo || days > hi) {
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        return sl_error_setf(
            err, SL_ERANGE, 0, "date %04lld-%02u-%02u is outside %s", (long long)y, m, d,
            date32 ? "Date32 [1900-01-01, 2299-12-31]" : "Date [1970-01-01, 2149-06-06]");
    }
    return 0;
}

int sl_datetime_to_seconds(const sl_instant *t, uint32_t *out, sl_error *err)
{
    if (t->seconds < 0 || t->seconds > (int64_t)UINT32_MAX) {
        char buf[64];
        format_utc(t->seconds, buf, sizeof(buf));
        return sl_error_setf(err, SL_ERANGE, 0,
                             "%s UTC is outside DateTime [1970-01-01 00:00:00, 2106-02-07 "
                             "06:28:15] UTC",
                             buf);
    }
    *out = (uint32_t)t->seconds;
    return 0;
}

int sl_datetime64_to_ticks(const sl_instant *t, unsigned scale, int64_t *out, sl_error *err)
{
    return sl_datetime64_to_ticks_tz(t, scale, NULL, out, err);
}

int sl_datetime64_to_ticks_tz(const sl_instant *t, unsigned scale, const sl_tz *tz, int64_t *out,
                              sl_error *err)
{
    if (scale > 9 || t->nanos > 999999999u)
        return sl_error_set(err, SL_EINVAL, "DateTime64 scale must be 0-9", 0);
    int64_t p = 1;
    for (unsigned i = 0; i < scale; i++)
        p *= 10;
    int64_t lo = sl_days_from_civil(1900, 1, 1) * 86400;
    int64_t hi = sl_days_from_civil(2300, 1, 1) * 86400;
    int64_t frac = (int64_t)(t->nanos / (uint32_t)(1000000000 / p));
    /* The range is the column's wall clock, as ClickHouse shows it ("2299-12-31 23:59:59" in
     * America/New_York is in range although it is 2300-01-01 04:59:59 UTC). Offsets are under a
     * day, so seconds that far from the range are out without computing the local time. */
    int64_t local = t->seconds;
    if (tz && t->seconds > lo - 86400 && t->seconds < hi + 86400)
        local += sl_tz_offset_at(tz, t->seconds);
    bool in_range = local >= lo && local < hi;
    if (!in_range || t->seconds > (INT64_MAX - frac) / p) {
        char buf[64];
        format_utc(in_range || !tz ? t->seconds : local, buf, sizeof(buf));
        if (in_range)
            return sl_error_setf(err, SL_ERANGE, 0,
                                 "%s UTC is past DateTime64(9)'s last instant, 2262-04-11 "
                                 "23:47:16.854775807 UTC",
                                 buf);
        if (tz)
            return sl_error_setf(err, SL_ERANGE, 0,
                                 "%s (the column's local time) is outside DateTime64 "
                                 "[1900-01-01 00:00:00, 2299-12-31 23:59:59.999999999]",
                                 buf);
        return sl_error_setf(err, SL_ERANGE, 0,
                             "%s UTC is outside DateTime64 [1900-01-01 00:00:00, 2299-12-31 "
                             "23:59:59.999999999] UTC",
                             buf);
    }
    *out = t->seconds * p + frac;
    return 0;
}
