/* Speed reference for the converter: simdjson on-demand extracting the fields that the
 * datasets' .datasource columns name, on one thread, from the same in-memory NDJSON.
 *
 *   bench_simdjson [-n RUNS] [--many] web|wide|arrays FILE.ndjson
 *
 * Default: each line is parsed on its own (parser.iterate on a padded view; no threads).
 * --many: parser.iterate_many over the whole buffer (built without -pthread, so it is also one
 * thread). Every value is really read (strings unescaped, numbers parsed, raw JSON of objects
 * taken) and folded into a checksum, which is printed so nothing is optimised away.
 * Keys are matched order-agnostically (iterating each object's fields), as a converter must.
 * C++ (simdjson is C++); only the benchmark uses it. */
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <sys/resource.h>
#include <time.h>
#include <vector>

#ifndef TOOL_NAME
#define TOOL_NAME "simdjson"
#endif

#define STRINGIFY2(x) #x
#define STRINGIFY(x)  STRINGIFY2(x)
#define BUILTIN_NAME  STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION)

using namespace simdjson;

namespace
{

struct Sink {
    uint64_t sum = 0;
    void str(std::string_view v)
    {
        sum += v.size();
        if (!v.empty())
            sum += static_cast<uint8_t>(v.back());
    }
    void u64(uint64_t v)
    {
        sum += v;
    }
    void i64(int64_t v)
    {
        sum += static_cast<uint64_t>(v);
    }
    void f64(double v)
    {
        uint64_t b;
        std::memcpy(&b, &v, sizeof b);
        sum += b;
    }
    void boolean(bool v)
    {
        sum += v;
    }
};

void strings(ondemand::array a, Sink &s)
{
    for (auto v : a)
        s.str(v.get_string().value());
}

void web_row(ondemand::object row, Sink &s)
{
    for (auto field : row) {
        std::string_view k = field.unescaped_key().value();
        ondemand::value v = field.value();
        if (k == "timestamp" || k == "session_id" || k == "action" || k == "version" ||
            k == "tenant_id") {
            s.str(v.get_string().value());
        } else if (k == "payload") {
            ondemand::object p = v.get_object().value();
            for (auto pf : p) {
                std::string_view pk = pf.unescaped_key().value();
                if (pk == "user-agent" || pk == "locale" || pk == "location" || pk == "referrer" ||
                    pk == "pathname" || pk == "href")
                    s.str(pf.value().get_string().value());
            }
            p.reset();
            s.str(p.raw_json().value());
        } else if (k == "user_id") {
            s.u64(v.get_uint64().value());
        } else if (k == "duration_ms") {
            s.f64(v.get_double().value());
        } else if (k == "tags") {
            strings(v.get_array().value(), s);
        }
    }
}

/* gen_events.py's wide dataset: column cNN has type WIDE_TYPES[NN % 24], at any depth under the
 * l<k>/m<k> objects. */
void wide_value(int k, ondemand::value v, Sink &s)
{
    switch (k % 24) {
    case 0:
    case 2:
    case 4:
    case 6: s.i64(v.get_int64().value()); break;
    case 1:
    case 3:
    case 5:
    case 7: s.u64(v.get_uint64().value()); break;
    case 8:
    case 9:
    case 11: s.f64(v.get_double().value()); break;
    case 10: s.boolean(v.get_bool().value()); break;
    case 21:
        if (!v.is_null())
            s.i64(v.get_int64().value());
        break;
    case 22:
        if (!v.is_null())
            s.str(v.get_string().value());
        break;
    default: s.str(v.get_string().value()); break; /* dates, UUID, IPs, enum, strings */
    }
}

void wide_obj(ondemand::object o, Sink &s)
{
    for (auto field : o) {
        std::string_view k = field.unescaped_key().value();
        ondemand::value v = field.value();
        if (k == "id")
            s.u64(v.get_uint64().value());
        else if (k.size() == 3 && k[0] == 'c')
            wide_value((k[1] - '0') * 10 + (k[2] - '0'), v, s);
        else if (!k.empty() && (k[0] == 'l' || k[0] == 'm'))
            wide_obj(v.get_object().value(), s);
    }
}

void arrays_row(ondemand::object row, Sink &s)
{
    for (auto field : row) {
        std::string_view k = field.unescaped_key().value();
        ondemand::value v = field.value();
        if (k == "id") {
            s.u64(v.get_uint64().value());
        } else if (k == "ints") {
            for (auto e : v.get_array())
                s.i64(e.get_int64().value());
        } else if (k == "words") {
            strings(v.get_array().value(), s);
        } else if (k == "matrix") {
            for (auto r : v.get_array())
                for (auto e : r.get_array())
                    s.f64(e.get_double().value());
        } else if (k == "counters") {
            for (auto f : v.get_object()) {
                s.str(f.unescaped_key().value());
                s.u64(f.value().get_uint64().value());
            }
        } else if (k == "pair") {
            for (auto f : v.get_object()) {
                std::string_view pk = f.unescaped_key().value();
                if (pk == "a")
                    s.i64(f.value().get_int64().value());
                else if (pk == "b")
                    s.str(f.value().get_string().value());
            }
        } else if (k == "items") {
            ondemand::array items = v.get_array().value();
            for (auto item : items) {
                for (auto f : item.get_object()) {
                    std::string_view ik = f.unescaped_key().value();
                    if (ik == "sku")
                        s.str(f.value().get_string().value());
                    else if (ik == "price")
                        s.f64(f.value().get_double().value());
                }
            }
            items.reset();
            s.str(items.raw_json().value());
        }
    }
}

using RowFn = void (*)(ondemand::object, Sink &);

double now()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double cpu()
{
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

struct Counts {
    uint64_t rows = 0, bad = 0, sum = 0;
};

/* One document; a row that fails (invalid JSON, wrong type) counts as bad. */
template <typename Doc> void one_row(Doc &&doc, RowFn fn, Counts &c)
{
    Sink s;
    try {
        fn(doc.get_object().value(), s);
        c.rows++;
        c.sum += s.sum;
    } catch (simdjson_error &) {
        c.bad++;
    }
}

Counts run_lines(ondemand::parser &parser, const char *buf, size_t len, RowFn fn)
{
    Counts c;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = static_cast<const char *>(std::memchr(p, '\n', end - p));
        const char *le = nl ? nl : end;
        if (le > p) {
            /* The buffer is padded, so every line has at least SIMDJSON_PADDING readable bytes
             * after it. */
            auto doc = parser.iterate(p, le - p, (end - p) + SIMDJSON_PADDING);
            if (doc.error())
                c.bad++;
            else
                one_row(doc.value_unsafe(), fn, c);
        }
        p = le + 1;
    }
    return c;
}

Counts run_many(ondemand::parser &parser, const char *buf, size_t len, RowFn fn)
{
    Counts c;
    ondemand::document_stream stream;
    if (parser.iterate_many(buf, len, 4 << 20).get(stream)) {
        std::fprintf(stderr, "iterate_many failed\n");
        std::exit(1);
    }
    for (auto doc : stream) {
        if (doc.error()) {
            c.bad++;
            continue;
        }
        one_row(doc.value_unsafe(), fn, c);
    }
    return c;
}

} // namespace

int main(int argc, char **argv)
{
    int runs = 5, many = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!std::strcmp(argv[i], "-n") && i + 1 < argc)
            runs = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--many"))
            many = 1;
        else
            break;
    }
    if (argc - i != 2 || runs < 1) {
        std::fprintf(stderr, "usage: bench_simdjson [-n RUNS] [--many] web|wide|arrays FILE\n");
        return 2;
    }
    std::string_view ds = argv[i];
    RowFn fn = ds == "web"      ? web_row
               : ds == "wide"   ? wide_obj
               : ds == "arrays" ? arrays_row
                                : nullptr;
    if (!fn) {
        std::fprintf(stderr, "unknown dataset %s\n", argv[i]);
        return 2;
    }
    padded_string data;
    if (padded_string::load(argv[i + 1]).get(data)) {
        std::fprintf(stderr, "cannot read %s\n", argv[i + 1]);
        return 2;
    }
    ondemand::parser parser;
    /* Stage 1 is dispatched at run time; the on-demand front end is compiled into this
     * program for SIMDJSON_BUILTIN_IMPLEMENTATION, which depends on -march. */
    std::printf("simdjson %d.%d.%d, stage 1 %s, on-demand compiled for %s\n",
                SIMDJSON_VERSION_MAJOR, SIMDJSON_VERSION_MINOR, SIMDJSON_VERSION_REVISION,
                get_active_implementation()->name().c_str(), BUILTIN_NAME);

    auto run = [&]() {
        return many ? run_many(parser, data.data(), data.size(), fn)
                    : run_lines(parser, data.data(), data.size(), fn);
    };
    Counts first = run(); /* warm-up, untimed */
    std::vector<double> secs, cpus;
    for (int r = 0; r < runs; r++) {
        double t0 = now(), c0 = cpu();
        Counts c = run();
        secs.push_back(now() - t0);
        cpus.push_back(cpu() - c0);
        if (c.rows != first.rows || c.sum != first.sum) {
            std::fprintf(stderr, "run %d: different counts\n", r);
            return 1;
        }
        std::printf("run %d: %.3f s %.1f MB/s %.0f rows/s\n", r, secs.back(),
                    data.size() / secs.back() / 1e6, c.rows / secs.back());
    }
    std::printf("checksum %llu\n", static_cast<unsigned long long>(first.sum));
    std::vector<double> t = secs, cu = cpus;
    std::sort(t.begin(), t.end());
    std::sort(cu.begin(), cu.end());
    double med = t[(runs - 1) / 2], best = t[0], cpu_med = cu[(runs - 1) / 2];
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    std::printf("RESULT tool=%s dataset=%s bytes=%zu rows=%llu bad=%llu runs=%d best_s=%.4f "
                "median_s=%.4f best_mbps=%.1f median_mbps=%.1f best_rows_s=%.0f "
                "median_rows_s=%.0f cpu_s=%.4f cores=%.2f maxrss_kb=%ld\n",
                TOOL_NAME, argv[i], data.size(), static_cast<unsigned long long>(first.rows),
                static_cast<unsigned long long>(first.bad), runs, best, med,
                data.size() / best / 1e6, data.size() / med / 1e6, first.rows / best,
                first.rows / med, cpu_med, cpu_med / med, ru.ru_maxrss);
    return 0;
}
