/* metrics.h: lock-free counters and histograms rendered in Prometheus text format.
 * Histograms have fixed upper bounds (in the observed unit); rendering divides by a scale so
 * nanosecond observations come out in seconds, as Prometheus expects. */
#ifndef PB_METRICS_H
#define PB_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/buf.h"

#define PB_HISTOGRAM_BUCKETS_MAX 16

struct pb_histogram {
    const uint64_t *bounds; /* ascending upper bounds, nbounds of them; +Inf is implicit */
    unsigned nbounds;
    double scale;           /* rendered value = observed / scale */
    _Atomic uint64_t buckets[PB_HISTOGRAM_BUCKETS_MAX + 1];
    _Atomic uint64_t count;
    _Atomic uint64_t sum;
};

/* Latency buckets in nanoseconds (100 us .. 5 s), rendered as seconds. */
void pb_histogram_init_latency(struct pb_histogram *h);
/* Size buckets 1, 2, 4, ... 8192 (counts), rendered as is. */
void pb_histogram_init_size(struct pb_histogram *h);
void pb_histogram_observe(struct pb_histogram *h, uint64_t value);
/* The value at quantile q (0..1) as the upper bound of its bucket (unscaled); for benchmarks. */
uint64_t pb_histogram_quantile(const struct pb_histogram *h, double q);
/* Appends "# TYPE name histogram" (when labels is NULL or first is true) and the bucket, sum
 * and count lines. labels: "" or 'route="/x",method="GET"'. */
void pb_histogram_render(const struct pb_histogram *h, const char *name, const char *labels,
                         struct pb_buf *out);
/* Appends a "# TYPE" line: kind is "counter", "gauge" or "histogram". */
void pb_metric_type(struct pb_buf *out, const char *name, const char *kind);

#endif
