/* grow: doubling arrays for the index pass buffers (ixplan.c, search_runs.c, index_runs.c). */
#ifndef CD_GROW_H
#define CD_GROW_H

#include <stdlib.h>

/* Makes *p (an array of *cap items of elem bytes) hold at least need items, doubling from 1024;
 * 0, or -1 when out of memory (*p and *cap unchanged). */
static inline int cd_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap : 1024;
    while (ncap < need) ncap *= 2;
    void *np = realloc(*p, ncap * elem);
    if (!np) return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

#endif
