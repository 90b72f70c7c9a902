/* metrics.c: counters and histograms in Prometheus text format (metrics.h). */
#include "base/metrics.h"

#include "base/base.h"

static const uint64_t latency_bounds_ns[] = {
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000u, 5000000000u,
};
static const uint64_t size_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096,
                                       8192};

static void init(struct pb_histogram *h, const uint64_t *bounds, unsigned n, double scale)
{
    PB_ASSERT(n <= PB_HISTOGRAM_BUCKETS_MAX);
    h->bounds = bounds;
    h->nbounds = n;
    h->scale = scale;
    for (unsigned i = 0; i <= PB_HISTOGRAM_BUCKETS_MAX; i++)
        atomic_init(&h->buckets[i], 0);
    atomic_init(&h->count, 0);
    atomic_init(&h->sum, 0);
}

void pb_histogram_init_latency(struct pb_histogram *h)
{
    init(h, latency_bounds_ns, PB_ARRAY_LEN(latency_bounds_ns), 1e9);
}

void pb_histogram_init_size(struct pb_histogram *h)
{
    init(h, size_bounds, PB_ARRAY_LEN(size_bounds), 1.0);
}

void pb_histogram_observe(struct pb_histogram *h, uint64_t value)
{
    unsigned i = 0;
    while (i < h->nbounds && value > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, value, memory_order_relaxed);
}

uint64_t pb_histogram_quantile(const struct pb_histogram *h, double q)
{
    uint64_t total = atomic_load(&h->count);
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)total + 0.999999);
    if (want < 1)
        want = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < h->nbounds; i++) {
        seen += atomic_load(&h->buckets[i]);
        if (seen >= want)
            return h->bounds[i];
    }
    return UINT64_MAX;
}

void pb_metric_type(struct pb_buf *out, const char *name, const char *kind)
{
    pb_buf_printf(out, "# TYPE %s %s\n", name, kind);
}

void pb_histogram_render(const struct pb_histogram *h, const char *name, const char *labels,
                         struct pb_buf *out)
{
    const char *sep = labels && labels[0] ? "," : "";
    const char *lab = labels ? labels : "";
    uint64_t cumulative = 0;
    for (unsigned i = 0; i < h->nbounds; i++) {
        cumulative += atomic_load(&h->buckets[i]);
        pb_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, lab, sep,
                      (double)h->bounds[i] / h->scale, (unsigned long long)cumulative);
    }
    cumulative += atomic_load(&h->buckets[h->nbounds]);
    pb_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, lab, sep,
                  (unsigned long long)cumulative);
    pb_buf_printf(out, "%s_sum{%s} %.9g\n", name, lab, (double)atomic_load(&h->sum) / h->scale);
    pb_buf_printf(out, "%s_count{%s} %llu\n", name, lab,
                  (unsigned long long)atomic_load(&h->count));
}
