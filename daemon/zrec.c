/* zrec: record compression with trained zstd dictionaries (zrec.h). */
#define ZSTD_STATIC_LINKING_ONLY   /* ZSTD_c_format: frames without their 4-byte magic number */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zdict.h>
#include <zstd.h>
#include "bytes.h"
#include "checksum.h"
#include "log.h"
#include "zrec.h"

#define ZREC_LEVEL 3
#define ZREC_IDS 256
#define ZREC_KEY "zdict"
#define ZREC_KEY_LEN 5

/* Dictionaries by id. A reader only meets an id once a record packed with it committed, and
 * by then the dictionary committed with or before it and is never replaced; the writer may
 * replace one that an aborted txn made (crcs[] tells it from the stored one). */
static _Atomic(ZSTD_DDict *) ddicts[ZREC_IDS];
static _Atomic(ZSTD_CDict *) cdicts[ZREC_IDS];
static _Atomic uint32_t crcs[ZREC_IDS];                 /* checksum of each one's meta value */
static int untrainable[CD_ZREC_FAMILIES];         /* training failed in this process */

static pthread_once_t keys_once = PTHREAD_ONCE_INIT;
static pthread_key_t cctx_key, dctx_key;

static void free_cctx(void *p) { ZSTD_freeCCtx(p); }
static void free_dctx(void *p) { ZSTD_freeDCtx(p); }
static void make_keys(void)
{
    pthread_key_create(&cctx_key, free_cctx);
    pthread_key_create(&dctx_key, free_dctx);
}

/* This thread's compression context, set up once for the packed frame format. */
static ZSTD_CCtx *thread_cctx(void)
{
    pthread_once(&keys_once, make_keys);
    ZSTD_CCtx *cc = pthread_getspecific(cctx_key);
    if (cc) return cc;
    if (!(cc = ZSTD_createCCtx())) return NULL;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_format, ZSTD_f_zstd1_magicless)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_dictIDFlag, 0)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1)) ||
        pthread_setspecific(cctx_key, cc)) {
        ZSTD_freeCCtx(cc);
        return NULL;
    }
    return cc;
}

static ZSTD_DCtx *thread_dctx(void)
{
    pthread_once(&keys_once, make_keys);
    ZSTD_DCtx *dc = pthread_getspecific(dctx_key);
    if (dc) return dc;
    if (!(dc = ZSTD_createDCtx())) return NULL;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dc, ZSTD_d_format, ZSTD_f_zstd1_magicless)) ||
        pthread_setspecific(dctx_key, dc)) {
        ZSTD_freeDCtx(dc);
        return NULL;
    }
    return dc;
}

/* Makes both halves of dictionary id from its meta value v[0..n) (family, dictionary, crc);
 * the decompression half is published first. 0, or -1 (out of memory). */
static int register_dict(unsigned id, const unsigned char *v, size_t n)
{
    const unsigned char *dict = v + 1;
    size_t dn = n - 1 - CD_CHECKSUM_BYTES;
    ZSTD_DDict *dd = ZSTD_createDDict(dict, dn);
    ZSTD_CDict *cd = ZSTD_createCDict(dict, dn, ZREC_LEVEL);
    if (!dd || !cd) {
        ZSTD_freeDDict(dd);
        ZSTD_freeCDict(cd);
        return -1;
    }
    ZSTD_freeDDict(atomic_exchange(&ddicts[id], dd));
    ZSTD_freeCDict(atomic_exchange(&cdicts[id], cd));
    crcs[id] = cd_get_u32be(v + n - CD_CHECKSUM_BYTES);
    return 0;
}

void cd_zrec_unload(void)
{
    for (unsigned f = 0; f < CD_ZREC_FAMILIES; f++) untrainable[f] = 0;
    for (unsigned i = 0; i < ZREC_IDS; i++) {
        ZSTD_freeDDict(atomic_exchange(&ddicts[i], NULL));
        ZSTD_freeCDict(atomic_exchange(&cdicts[i], NULL));
        crcs[i] = 0;
    }
    pthread_once(&keys_once, make_keys);
    free_cctx(pthread_getspecific(cctx_key));
    free_dctx(pthread_getspecific(dctx_key));
    pthread_setspecific(cctx_key, NULL);
    pthread_setspecific(dctx_key, NULL);
}

/* Whether meta value v[0..n) is a sound dictionary of family id - 1. */
static int dict_value_ok(unsigned id, const MDB_val *v)
{
    const unsigned char *p = v->mv_data;
    return id >= 1 && id <= CD_ZREC_FAMILIES && v->mv_size >= 1 + CD_CHECKSUM_BYTES + 8 &&
           cd_checksum_ok(v->mv_data, v->mv_size) && p[0] == id - 1;
}

int cd_zrec_load(MDB_txn *txn, MDB_dbi meta)
{
    cd_zrec_unload();
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, meta, &cur);
    if (rc) return rc;
    MDB_val k = { ZREC_KEY_LEN, (void *)ZREC_KEY }, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < ZREC_KEY_LEN || memcmp(k.mv_data, ZREC_KEY, ZREC_KEY_LEN) != 0) break;
        unsigned id = k.mv_size == ZREC_KEY_LEN + 1 ? ((const unsigned char *)k.mv_data)[ZREC_KEY_LEN] : 0;
        if (!dict_value_ok(id, &v)) {
            cd_error("meta: compression dictionary %u is damaged", id);
            rc = MDB_CORRUPTED;
            break;
        }
        if (register_dict(id, v.mv_data, v.mv_size)) { rc = ENOMEM; break; }
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) rc = 0;
    if (rc) cd_zrec_unload();
    return rc;
}

int cd_zrec_is_packed(const void *p, size_t n)
{
    return n > 0 && *(const unsigned char *)p == CD_ZREC_TAG;
}

size_t cd_zrec_bound(size_t n)
{
    return CD_ZREC_HEAD + ZSTD_compressBound(n);
}

size_t cd_zrec_pack(unsigned id, const void *src, size_t n, void *dst, size_t cap)
{
    ZSTD_CDict *cd = id && id < ZREC_IDS ? atomic_load(&cdicts[id]) : NULL;
    ZSTD_CCtx *cc = cd ? thread_cctx() : NULL;
    /* A frame that failed (no room) leaves the context mid-frame, where no dictionary can be
     * set: every frame starts from a reset session. */
    if (!cc || cap <= CD_ZREC_HEAD || ZSTD_isError(ZSTD_CCtx_reset(cc, ZSTD_reset_session_only)) ||
        ZSTD_isError(ZSTD_CCtx_refCDict(cc, cd)))
        return 0;
    unsigned char *out = dst;
    size_t r = ZSTD_compress2(cc, out + CD_ZREC_HEAD, cap - CD_ZREC_HEAD, src, n);
    if (ZSTD_isError(r) || CD_ZREC_HEAD + r >= n) return 0;
    out[0] = CD_ZREC_TAG;
    out[1] = (unsigned char)id;
    return CD_ZREC_HEAD + r;
}

size_t cd_zrec_plain_size(const void *p, size_t n, const char **why)
{
    const unsigned char *b = p;
    ZSTD_frameHeader h;
    if (n <= CD_ZREC_HEAD || b[0] != CD_ZREC_TAG) { *why = "not a packed record"; return 0; }
    if (!atomic_load(&ddicts[b[1]])) { *why = "packed with a dictionary this database does not have"; return 0; }
    if (ZSTD_getFrameHeader_advanced(&h, b + CD_ZREC_HEAD, n - CD_ZREC_HEAD, ZSTD_f_zstd1_magicless) != 0 ||
        h.frameType != ZSTD_frame || h.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN ||
        h.frameContentSize == 0 || h.frameContentSize > CD_ZREC_PLAIN_MAX) {
        *why = "damaged packed record header";
        return 0;
    }
    return (size_t)h.frameContentSize;
}

int cd_zrec_unpack(const void *p, size_t n, void *dst, size_t size, const char **why)
{
    const unsigned char *b = p;
    ZSTD_DDict *dd = n > CD_ZREC_HEAD ? atomic_load(&ddicts[b[1]]) : NULL;
    ZSTD_DCtx *dc = dd ? thread_dctx() : NULL;
    if (!dc || ZSTD_isError(ZSTD_DCtx_reset(dc, ZSTD_reset_session_only)) || ZSTD_isError(ZSTD_DCtx_refDDict(dc, dd))) {
        *why = "cannot unpack a packed record";
        return -1;
    }
    size_t r = ZSTD_decompressDCtx(dc, dst, size, b + CD_ZREC_HEAD, n - CD_ZREC_HEAD);
    if (ZSTD_isError(r) || r != size) { *why = "damaged packed record"; return -1; }
    return 0;
}

/* Family f's meta key ("zdict" id). */
static MDB_val dict_key(cd_zrec_family f, unsigned char key[ZREC_KEY_LEN + 1])
{
    memcpy(key, ZREC_KEY, ZREC_KEY_LEN);
    key[ZREC_KEY_LEN] = (unsigned char)(f + 1);
    return (MDB_val){ ZREC_KEY_LEN + 1, key };
}

void *cd_zrec_unpack_malloc(const void *p, size_t n, size_t *size, const char **why)
{
    size_t m = cd_zrec_plain_size(p, n, why);
    void *out = m ? malloc(m) : NULL;
    if (m && !out) *why = "out of memory";
    if (!out || cd_zrec_unpack(p, n, out, m, why)) {
        free(out);
        return NULL;
    }
    *size = m;
    return out;
}

/* Collects the plain bodies of the first CD_ZREC_TRAIN_AT values of dbi, one after the other
 * in *buf, their sizes in sizes[]. Returns how many, or -1 (out of memory / LMDB). */
static long collect_samples(MDB_txn *txn, MDB_dbi dbi, size_t tail, char **buf, size_t *sizes)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, dbi, &cur)) return -1;
    size_t used = 0, cap = 0;
    long n = 0;
    MDB_val k, v;
    *buf = NULL;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n < CD_ZREC_TRAIN_AT;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (v.mv_size <= tail || cd_zrec_is_packed(v.mv_data, v.mv_size)) continue;
        size_t len = v.mv_size - tail;
        if (used + len > cap) {
            size_t ncap = cap ? cap * 2 : (size_t)1 << 20;
            while (ncap < used + len) ncap *= 2;
            char *nb = realloc(*buf, ncap);
            if (!nb) { n = -1; break; }
            *buf = nb;
            cap = ncap;
        }
        memcpy(*buf + used, v.mv_data, len);
        used += len;
        sizes[n++] = len;
    }
    mdb_cursor_close(cur);
    return n;
}

/* Trains family f's dictionary from dbi's first records and puts it into meta as id. Returns
 * 0, or -1 when the records do not train one or on a failure (nothing put). */
static int train(MDB_txn *txn, MDB_dbi meta, MDB_dbi dbi, size_t tail, cd_zrec_family f, unsigned id)
{
    static size_t sizes[CD_ZREC_TRAIN_AT];      /* write txn owner only */
    char *samples = NULL;
    unsigned char *val = malloc(1 + CD_ZREC_DICT_BYTES + CD_CHECKSUM_BYTES);
    long n = val ? collect_samples(txn, dbi, tail, &samples, sizes) : -1;
    size_t dn = n > 0 ? ZDICT_trainFromBuffer(val + 1, CD_ZREC_DICT_BYTES, samples, sizes, (unsigned)n) : 0;
    free(samples);
    int rc = -1;
    if (n > 0 && !ZDICT_isError(dn)) {
        unsigned char key[ZREC_KEY_LEN + 1];
        val[0] = (unsigned char)f;
        cd_checksum_put(val + 1 + dn, val, 1 + dn);
        MDB_val k = dict_key(f, key), v = { 1 + dn + CD_CHECKSUM_BYTES, val };
        /* Registered before the put is committed: no committed record names id yet. */
        rc = register_dict(id, val, v.mv_size) ? -1 : mdb_put(txn, meta, &k, &v, MDB_NOOVERWRITE) ? -1 : 0;
        if (!rc) cd_info("compression dictionary %u (%zu bytes) made from %ld records", id, dn, n);
    } else if (n > 0) {
        /* Too few or too alike to learn from: plain it stays, in this process. */
        cd_info("no compression dictionary from %ld records: %s", n, ZDICT_getErrorName(dn));
        untrainable[f] = 1;
    }
    free(val);
    return rc;
}

/* Whether the loaded dictionary id is the one in meta value v: by the checksum it ends with,
 * not recomputed (it runs for every record stored; the loaded one was checked when loaded). */
static int loaded_is(unsigned id, const MDB_val *v)
{
    return atomic_load(&cdicts[id]) && v->mv_size >= 1 + CD_CHECKSUM_BYTES + 8 &&
           crcs[id] == cd_get_u32be((const unsigned char *)v->mv_data + v->mv_size - CD_CHECKSUM_BYTES);
}

unsigned cd_zrec_stored(MDB_txn *txn, MDB_dbi meta, cd_zrec_family f)
{
    unsigned char key[ZREC_KEY_LEN + 1];
    MDB_val k = dict_key(f, key), v;
    return mdb_get(txn, meta, &k, &v) == 0 && loaded_is((unsigned)f + 1, &v) ? (unsigned)f + 1 : 0;
}

unsigned cd_zrec_dict_for(MDB_txn *txn, MDB_dbi meta, MDB_dbi dbi, size_t tail, cd_zrec_family f, int may_train)
{
    unsigned id = (unsigned)f + 1;
    unsigned char key[ZREC_KEY_LEN + 1];
    MDB_val k = dict_key(f, key), v;
    int rc = mdb_get(txn, meta, &k, &v);
    if (rc == 0) {
        /* Stored: the loaded one is it, unless an aborted txn left another under its id. */
        if (loaded_is(id, &v)) return id;
        return dict_value_ok(id, &v) && register_dict(id, v.mv_data, v.mv_size) == 0 ? id : 0;
    }
    if (rc != MDB_NOTFOUND || !may_train || untrainable[f]) return 0;
    MDB_stat st;
    if (mdb_stat(txn, dbi, &st) || st.ms_entries < CD_ZREC_TRAIN_AT) return 0;
    return train(txn, meta, dbi, tail, f, id) ? 0 : id;
}
