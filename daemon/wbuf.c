/* wbuf: index entries held back during a write call and written sorted (see wbuf.h). */
#include <stdlib.h>
#include <string.h>
#include "call.h"
#include "grow.h"
#include "wbuf.h"

typedef struct {
    uint64_t head;               /* the key's first 8 bytes as a big-endian number: most
                                  * comparisons end here, without touching bytes[] */
    MDB_dbi dbi;
    unsigned flags;
    uint32_t off;                /* key then value, in bytes[] */
    uint8_t klen, vlen;
} entry;

struct cd_wbuf {
    entry *e;
    size_t n, cap;
    unsigned char *bytes;
    size_t used, size;
    entry *tmp;                  /* radix sort's second array */
    size_t tmp_cap;
    size_t *count;               /* radix sort's buckets */
};

/* qsort has no context argument: the bytes of the buffer being sorted (writer thread only). */
static const unsigned char *sort_bytes;

static int entry_cmp(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    if (a->dbi != b->dbi) return a->dbi < b->dbi ? -1 : 1;
    if (a->head != b->head) return a->head < b->head ? -1 : 1;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int r = n > 8 ? memcmp(sort_bytes + a->off + 8, sort_bytes + b->off + 8, n - 8) : 0;
    if (r) return r;
    if (a->klen != b->klen) return a->klen < b->klen ? -1 : 1;
    n = a->vlen < b->vlen ? a->vlen : b->vlen;
    r = memcmp(sort_bytes + a->off + a->klen, sort_bytes + b->off + b->klen, n);
    if (r) return r;
    if (a->vlen != b->vlen) return a->vlen < b->vlen ? -1 : 1;
    return a->off < b->off ? -1 : a->off > b->off;      /* stable: equal entries keep their order */
}

cd_wbuf *cd_wbuf_new(void)
{
    return calloc(1, sizeof(cd_wbuf));
}

void cd_wbuf_free(cd_wbuf *b)
{
    if (!b) return;
    free(b->e);
    free(b->bytes);
    free(b->tmp);
    free(b->count);
    free(b);
}

int cd_wbuf_put(cd_call *c, cd_wbuf *b, MDB_dbi dbi, const void *key, size_t klen, const void *val,
                size_t vlen, unsigned flags)
{
    if (klen > 255 || vlen > 255 || b->used + klen + vlen > UINT32_MAX)
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "index entry too large");
    if (cd_grow((void **)&b->e, &b->cap, b->n + 1, sizeof *b->e) ||
        cd_grow((void **)&b->bytes, &b->size, b->used + klen + vlen, 1))
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    unsigned char h[8] = { 0 };
    memcpy(h, key, klen < 8 ? klen : 8);
    uint64_t head = 0;
    for (int i = 0; i < 8; i++) head = head << 8 | h[i];
    entry *e = &b->e[b->n++];
    *e = (entry){ head, dbi, flags, (uint32_t)b->used, (uint8_t)klen, (uint8_t)vlen };
    memcpy(b->bytes + b->used, key, klen);
    memcpy(b->bytes + b->used + klen, val, vlen);
    b->used += klen + vlen;
    return 0;
}

void cd_wbuf_clear(cd_wbuf *b)
{
    b->n = 0;
    b->used = 0;
}

#define RADIX_BITS 16
#define RADIX_BUCKETS ((size_t)1 << RADIX_BITS)

/* The 16-bit digit d (0-3: of head, least significant first; 4: the table) of an entry. */
static size_t digit(const entry *e, int d)
{
    return d < 4 ? (size_t)(e->head >> (16 * d)) & (RADIX_BUCKETS - 1) : (size_t)e->dbi & (RADIX_BUCKETS - 1);
}

/* Sorts the entries by entry_cmp: a stable LSD radix sort on (table, head) (glibc's qsort was a
 * tenth of an import), then each run of equal heads by the whole key and value. -1 when out of
 * memory (nothing sorted). */
static int sort_entries(cd_wbuf *b)
{
    if ((!b->count && !(b->count = malloc(RADIX_BUCKETS * sizeof *b->count))) ||
        cd_grow((void **)&b->tmp, &b->tmp_cap, b->n, sizeof *b->tmp))
        return -1;
    entry *src = b->e, *dst = b->tmp;
    for (int d = 0; d < 5; d++) {
        memset(b->count, 0, RADIX_BUCKETS * sizeof *b->count);
        for (size_t i = 0; i < b->n; i++) b->count[digit(&src[i], d)]++;
        if (b->count[digit(&src[0], d)] == b->n) continue;      /* one value: nothing moves */
        size_t sum = 0;
        for (size_t k = 0; k < RADIX_BUCKETS; k++) { size_t c = b->count[k]; b->count[k] = sum; sum += c; }
        for (size_t i = 0; i < b->n; i++) dst[b->count[digit(&src[i], d)]++] = src[i];
        entry *t = src; src = dst; dst = t;
    }
    if (src != b->e) memcpy(b->e, src, b->n * sizeof *b->e);
    for (size_t i = 0, j; i < b->n; i = j) {
        for (j = i + 1; j < b->n && b->e[j].head == b->e[i].head && b->e[j].dbi == b->e[i].dbi; j++) {}
        if (j - i > 1) qsort(b->e + i, j - i, sizeof *b->e, entry_cmp);
    }
    return 0;
}

static MDB_val key_of(const cd_wbuf *b, const entry *e) { return (MDB_val){ e->klen, b->bytes + e->off }; }
static MDB_val val_of(const cd_wbuf *b, const entry *e) { return (MDB_val){ e->vlen, b->bytes + e->off + e->klen }; }

/* Writes the entries [i, j) of one table through cur. */
static int write_table(cd_call *c, cd_wbuf *b, MDB_cursor *cur, size_t i, size_t j)
{
    for (; i < j; i++) {
        MDB_val k = key_of(b, &b->e[i]), v = val_of(b, &b->e[i]);
        int rc = mdb_cursor_put(cur, &k, &v, b->e[i].flags);
        if (rc && rc != MDB_KEYEXIST) return cd_fail_mdb(c, rc, "writing an index");
    }
    return 0;
}

int cd_wbuf_flush(cd_call *c, cd_wbuf *b, MDB_txn *txn)
{
    if (!b->n) return 0;
    sort_bytes = b->bytes;
    if (sort_entries(b)) {
        cd_wbuf_clear(b);
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    }
    int rc = 0;
    for (size_t i = 0, j; i < b->n && !rc; i = j) {
        for (j = i + 1; j < b->n && b->e[j].dbi == b->e[i].dbi; j++) {}
        MDB_cursor *cur;
        int mrc = mdb_cursor_open(txn, b->e[i].dbi, &cur);
        if (mrc) { rc = cd_fail_mdb(c, mrc, "writing an index"); break; }
        rc = write_table(c, b, cur, i, j);
        mdb_cursor_close(cur);
    }
    cd_wbuf_clear(b);
    return rc;
}
