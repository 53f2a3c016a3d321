/* rng: the seeded generator and the Zipf sampler behind the deterministic corpus. */
#include <math.h>
#include <stdlib.h>
#include "bench.h"

void rng_seed(bench_rng *r, uint64_t seed)
{
    r->s = seed ^ 0x9e3779b97f4a7c15ULL;
    rng_next(r);
}

uint64_t rng_next(bench_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t rng_below(bench_rng *r, uint64_t n)
{
    /* The modulo bias is below 2^-40 for the n we use, far under the noise of a benchmark. */
    return n ? rng_next(r) % n : 0;
}

double rng_unit(bench_rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int zipf_init(bench_zipf *z, size_t n, double s)
{
    z->n = n;
    z->cdf = malloc(n * sizeof *z->cdf);
    if (!z->cdf) return -1;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += 1.0 / pow((double)(i + 1), s);
        z->cdf[i] = sum;
    }
    for (size_t i = 0; i < n; i++) z->cdf[i] /= sum;
    return 0;
}

size_t zipf_draw(const bench_zipf *z, bench_rng *r)
{
    double u = rng_unit(r);
    size_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] < u) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

void zipf_free(bench_zipf *z)
{
    free(z->cdf);
    z->cdf = NULL;
    z->n = 0;
}
