/* ClickHouse data types: the grammar (parse and print, nested to any depth) and, per type, the
 * encoder that turns one JSON value into that type's RowBinary bytes.
 *
 * The conversion rules follow ClickHouse's JSONEachRow parser with
 * date_time_input_format='best_effort' (SPEC §5, docs/conversion.md), except where ClickHouse
 * would silently corrupt data: there the encoder rejects the value.
 *
 * Types are immutable after parsing and live in the arena given to sl_type_parse; they may be
 * shared by any number of threads. */
#ifndef SL_TYPES_H
#define SL_TYPES_H

#include "sl_common.h"
#include "sl_datetime.h"
#include "sl_json.h"

typedef enum {
    SL_TYPE_STRING,
    SL_TYPE_FIXED_STRING, /* size = N */
    SL_TYPE_BOOL,
    SL_TYPE_INT, /* size = bytes (1,2,4,8,16,32), is_signed */
    SL_TYPE_FLOAT32,
    SL_TYPE_FLOAT64,
    SL_TYPE_DECIMAL, /* precision, scale; size = 4, 8, 16 or 32 bytes from the precision */
    SL_TYPE_DATE,
    SL_TYPE_DATE32,
    SL_TYPE_DATETIME,   /* timezone (may be empty) */
    SL_TYPE_DATETIME64, /* scale = precision 0..9, timezone */
    SL_TYPE_UUID,
    SL_TYPE_IPV4,
    SL_TYPE_IPV6,
    SL_TYPE_ENUM,            /* size = 1 (Enum8) or 2 (Enum16); enum_names/enum_values */
    SL_TYPE_LOW_CARDINALITY, /* children[0] */
    SL_TYPE_NULLABLE,        /* children[0] */
    SL_TYPE_ARRAY,           /* children[0] */
    SL_TYPE_TUPLE,           /* children[0..n), names[] or NULL when unnamed */
    SL_TYPE_MAP,             /* children[0] key, children[1] value */
    SL_TYPE_JSON,            /* stored as its JSON text (SPEC §5) */
} sl_type_kind;

typedef struct sl_type sl_type;
struct sl_type {
    sl_type_kind kind;
    bool is_signed;
    uint32_t size;
    uint32_t precision;
    uint32_t scale;
    sl_str timezone; /* without quotes; empty = server default (UTC for sluice) */
    uint32_t n_children;
    const sl_type **children;
    const sl_str *names;      /* tuple element names, n_children entries, or NULL */
    uint32_t n_enum;          /* enum entries */
    const sl_str *enum_names; /* decoded names */
    const int32_t *enum_values;
};

/* Parses a type such as "Array(Nullable(Tuple(a Int32, b Map(String, Array(UInt8)))))".
 * Accepts ClickHouse's spellings and aliases (case of names as ClickHouse allows, spaces,
 * Decimal32(S) .. Decimal256(S), DateTime64(P[, 'tz']), Enum8('a' = 1, ...) and Enum without
 * explicit values where ClickHouse allows it). Allocates from `arena`; *out lives as long as it.
 * Errors: SL_ETYPE with err->offset at the offending byte and a message saying what was expected
 * (e.g. "expected ')' after the arguments of Array"). Nesting is limited to 32 levels. Time zone
 * arguments are checked by loading them once with sl_tz_load (the only I/O here). Map keys are
 * limited to types a JSON object key can express (no Array/Tuple/Map/JSON/Nullable keys). */
int sl_type_parse(sl_str text, sl_arena *arena, const sl_type **out, sl_error *err);

/* Appends the canonical spelling ClickHouse prints for the type (e.g. "Nullable(String)",
 * "DateTime64(3, 'UTC')", "Tuple(a Int32, b String)"). */
int sl_type_format(const sl_type *t, sl_buf *out);

/* True for types that can be wrapped in Nullable (ClickHouse refuses Array, Map, Tuple, ...). */
bool sl_type_can_be_nullable(const sl_type *t);

/* The value a non-Nullable column takes when its JSON value is absent, if the type has a natural
 * empty value that SPEC §5 allows (Array and Map: empty). Appends its RowBinary and returns 1;
 * returns 0 (appending nothing) for every other type. */
int sl_type_encode_empty(const sl_type *t, sl_buf *out);

/* Per-thread scratch space the encoders reuse (decoded strings, digits, tuple members, loaded
 * time zones); no allocation per value once warm. Owned by the caller; not shared between
 * threads; sl_encode_scratch_free releases it (and the zones it loaded). */
/* Time zones named by DateTime columns are loaded on first use and cached here (a few per
 * scratch, evicted round-robin), so the shared, const types need no per-thread state. */
#define SL_ENCODE_TZ_CACHE  8
#define SL_TYPE_TZ_NAME_MAX 64 /* time zone names are shorter than this (checked when parsing) */

typedef struct {
    sl_buf text;  /* decoded strings, normalised numbers */
    sl_buf stack; /* tuple members found in a JSON object, nested tuples stacked */
    struct {
        char name[SL_TYPE_TZ_NAME_MAX];
        sl_tz *tz;
    } zones[SL_ENCODE_TZ_CACHE];
    uint32_t n_zones;
    uint32_t next_zone;
} sl_encode_scratch;

void sl_encode_scratch_init(sl_encode_scratch *s);
void sl_encode_scratch_free(sl_encode_scratch *s);

/* Encodes one validated JSON value as RowBinary of type `t`, appended to `out`.
 * A JSON null is accepted only by Nullable (and gives the NULL marker); for other types it is
 * SL_EMISSING (the converter decides what absence means before calling this).
 * On a value that does not fit: returns SL_EVALUE or SL_ERANGE with err->msg saying why in
 * words a user can act on ("expected a UUID like 8f14e45f-ceea-467f-a0e6-...", "300 is outside
 * UInt8 [0, 255]"); `out` may then hold a partial encoding: the caller truncates it.
 * SL_ETOOBIG/SL_ENOMEM come from `out`. */
int sl_type_encode(const sl_type *t, const sl_json_value *v, sl_encode_scratch *scratch,
                   sl_buf *out, sl_error *err);

#endif
