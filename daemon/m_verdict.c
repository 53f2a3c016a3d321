/* m_verdict: verdict.add and verdict.list; a claim's status is its newest rated verdict's rating.
 *
 * A verdict given a `label` and no `rating` gets the rating the vocabulary (rating_vocab.h,
 * plus the operator's --ratings file) finds for the label, else none: it is "unrated", kept
 * with its label, and does not count for the status. The ClaimReview numbers (rating_value,
 * best_rating, worst_rating) are stored as the MessagePack number they came as (integer or
 * float), so they come back exactly. Record: version 1 had V_FIELDS up to V_RECORDED; version 2
 * adds V_RATING_VALUE..V_BY_URL and a nil V_RATING for unrated. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "claim.h"
#include "db.h"
#include "isotime.h"
#include "methods.h"
#include "params.h"
#include "rating_vocab.h"
#include "record.h"
#include "record_valid.h"
#include "server.h"
#include "verdict.h"

#define EVIDENCE_MAX 64

enum { V_VER, V_CLAIM, V_RATING, V_LABEL, V_SCORE, V_BY, V_AT, V_AT_US, V_SUMMARY, V_URL,
       V_EVIDENCE, V_RECORDED, V_FIELDS_1, V_RATING_VALUE = V_FIELDS_1, V_BEST, V_WORST, V_BY_URL,
       V_FIELDS };

typedef struct {
    uint64_t id, claim;
    int rating;                 /* index in cd_rating_names; -1: unrated */
    cd_str label, by, at, summary, url, by_url;
    msgpack_object value, best, worst; /* as given; type NIL when absent */
    double score;               /* 0: none */
    int64_t at_us, recorded_at;
    cd_str *evidence;
    size_t nevidence;
} verdict;

/* Unpacks the stored verdict v into *o and checks every field's type and the rating's range. */
static int verdict_fields(cd_call *c, const MDB_val *v, msgpack_object *o)
{
    if (cd_rec_unpack(c, v, V_FIELDS_1, o)) return -1;
    const msgpack_object *f = o->via.array.ptr;
    const msgpack_object *score = &f[V_SCORE];
    if (cd_rv_uint(c, &f[V_CLAIM], "claim") || (f[V_RATING].type != MSGPACK_OBJECT_NIL && cd_rv_enum(c, &f[V_RATING], "rating", cd_names_count(cd_rating_names), 0)) ||
        cd_rv_str(c, &f[V_LABEL], "label", 0) || cd_rv_str(c, &f[V_BY], "by", 0) || cd_rv_str(c, &f[V_AT], "at", 0) ||
        cd_rv_int(c, &f[V_AT_US], "at_us") || cd_rv_str(c, &f[V_SUMMARY], "summary", 0) ||
        cd_rv_str(c, &f[V_URL], "url", 0) || cd_rv_array(c, &f[V_EVIDENCE], "evidence") ||
        cd_rv_int(c, &f[V_RECORDED], "recorded_at"))
        return -1;
    if (score->type != MSGPACK_OBJECT_NIL && score->type != MSGPACK_OBJECT_FLOAT64 && score->type != MSGPACK_OBJECT_FLOAT32)
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "damaged record: field score is not a number");
    if (o->via.array.size >= V_FIELDS && cd_rv_str(c, &f[V_BY_URL], "by_url", 0)) return -1;
    for (uint32_t i = 0; i < f[V_EVIDENCE].via.array.size; i++)
        if (cd_rv_str(c, &f[V_EVIDENCE].via.array.ptr[i], "evidence", 0)) return -1;
    return 0;
}

int cd_verdict_validate(cd_call *c, const MDB_val *v)
{
    msgpack_object o;
    return verdict_fields(c, v, &o);
}

static int verdict_load(cd_call *c, MDB_txn *txn, uint64_t id, verdict *out)
{
    MDB_val v;
    int rc = cd_rec_get_id(c, txn, c->srv->db.dbi[CD_DBI_VERDICTS], id, &v, "reading a verdict");
    if (rc) return rc;
    msgpack_object o;
    if (verdict_fields(c, &v, &o)) {
        unsigned char key[8];
        cd_put_u64be(key, id);
        MDB_val k = { 8, key };
        return cd_rec_report(c, "verdicts", &k);
    }
    const msgpack_object *f = o.via.array.ptr;
    memset(out, 0, sizeof *out);
    out->id = id;
    out->claim = cd_rec_u64(&f[V_CLAIM]);
    out->rating = f[V_RATING].type == MSGPACK_OBJECT_NIL ? -1 : (int)cd_rec_u64(&f[V_RATING]);
    if (o.via.array.size >= V_FIELDS) {
        out->value = f[V_RATING_VALUE];
        out->best = f[V_BEST];
        out->worst = f[V_WORST];
        out->by_url = cd_rec_str(&f[V_BY_URL]);
    }
    out->label = cd_rec_str(&f[V_LABEL]);
    out->score = f[V_SCORE].type == MSGPACK_OBJECT_FLOAT64 ? f[V_SCORE].via.f64 : 0;
    out->by = cd_rec_str(&f[V_BY]);
    out->at = cd_rec_str(&f[V_AT]);
    out->at_us = cd_rec_i64(&f[V_AT_US]);
    out->summary = cd_rec_str(&f[V_SUMMARY]);
    out->url = cd_rec_str(&f[V_URL]);
    out->recorded_at = cd_rec_i64(&f[V_RECORDED]);
    if (f[V_EVIDENCE].type == MSGPACK_OBJECT_ARRAY) {
        out->nevidence = f[V_EVIDENCE].via.array.size;
        out->evidence = cd_call_alloc(c, (out->nevidence + 1) * sizeof *out->evidence);
        if (!out->evidence) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
        for (size_t i = 0; i < out->nevidence; i++) out->evidence[i] = cd_rec_str(&f[V_EVIDENCE].via.array.ptr[i]);
    }
    return 0;
}

/* Loads every verdict of a claim, sorted oldest first by `at`, ties by recording order. */
static int load_claim_verdicts(cd_call *c, MDB_txn *txn, uint64_t claim, verdict **out, size_t *n)
{
    MDB_cursor *cur;
    unsigned char key[16];
    cd_put_u64be(key, claim);
    cd_put_u64be(key + 8, 0);
    size_t cap = 8;
    *n = 0;
    *out = cd_call_alloc(c, cap * sizeof **out);
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_CLAIM_VERDICTS], &cur);
    if (rc || !*out) return rc ? cd_fail_mdb(c, rc, "listing verdicts") : cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    MDB_val k = { 16, key }, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 16 || cd_get_u64be(k.mv_data) != claim) break;
        if (*n == cap) {
            verdict *bigger = cd_call_alloc(c, cap * 2 * sizeof *bigger);
            if (!bigger) break;
            memcpy(bigger, *out, cap * sizeof *bigger);
            *out = bigger;
            cap *= 2;
        }
        if (verdict_load(c, txn, cd_get_u64be((unsigned char *)k.mv_data + 8), &(*out)[*n]) == 0) (*n)++;
    }
    mdb_cursor_close(cur);
    /* Insertion sort: a claim has a handful of verdicts, already in recording order. */
    for (size_t i = 1; i < *n; i++) {
        verdict t = (*out)[i];
        size_t j = i;
        while (j > 0 && (*out)[j - 1].at_us > t.at_us) { (*out)[j] = (*out)[j - 1]; j--; }
        (*out)[j] = t;
    }
    return c->err ? -1 : 0;
}

static int store_verdict(cd_call *c, MDB_txn *txn, const verdict *vd)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, V_FIELDS);
    msgpack_pack_uint8(&pk, 2);
    msgpack_pack_uint64(&pk, vd->claim);
    if (vd->rating >= 0) msgpack_pack_uint8(&pk, (uint8_t)vd->rating); else msgpack_pack_nil(&pk);
    cd_rec_pack_str(&pk, vd->label);
    if (vd->score > 0) msgpack_pack_double(&pk, vd->score); else msgpack_pack_nil(&pk);
    cd_rec_pack_str(&pk, vd->by);
    cd_rec_pack_str(&pk, vd->at);
    msgpack_pack_int64(&pk, vd->at_us);
    cd_rec_pack_str(&pk, vd->summary);
    cd_rec_pack_str(&pk, vd->url);
    msgpack_pack_array(&pk, (uint32_t)vd->nevidence);
    for (size_t i = 0; i < vd->nevidence; i++) cd_rec_pack_str(&pk, vd->evidence[i]);
    msgpack_pack_int64(&pk, vd->recorded_at);
    msgpack_pack_object(&pk, vd->value);
    msgpack_pack_object(&pk, vd->best);
    msgpack_pack_object(&pk, vd->worst);
    cd_rec_pack_str(&pk, vd->by_url);
    unsigned char key[16];
    cd_put_u64be(key, vd->id);
    int rc = cd_rec_put(c, txn, c->srv->db.dbi[CD_DBI_VERDICTS], key, 8, &sb, MDB_APPEND, "storing a verdict");
    msgpack_sbuffer_destroy(&sb);
    if (rc) return rc;
    cd_put_u64be(key, vd->claim);
    cd_put_u64be(key + 8, vd->id);
    MDB_val k = { 16, key }, v = { 0, NULL };
    rc = mdb_put(txn, c->srv->db.dbi[CD_DBI_CLAIM_VERDICTS], &k, &v, 0);
    return rc ? cd_fail_mdb(c, rc, "indexing a verdict") : 0;
}

/* Reads an optional number parameter as given (integer or float), NIL when absent. */
static int get_number_as_given(cd_call *c, const char *key, msgpack_object *out)
{
    const msgpack_object *o = cd_map_get(&c->params, key);
    out->type = MSGPACK_OBJECT_NIL;
    if (!o) return 0;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = *o;
        return 0;
    case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64:
        if (o->via.f64 == o->via.f64 && o->via.f64 - o->via.f64 == 0) { /* not NaN, not infinite */
            out->type = MSGPACK_OBJECT_FLOAT64;
            out->via.f64 = o->via.f64;
            return 0;
        }
        /* fall through */
    default:
        return cd_fail(c, CLAIMD_E_INVALID, key, "must be a finite number");
    }
}

static int parse_verdict(cd_call *c, verdict *vd)
{
    static const char *const allowed[] = { "claim", "rating", "label", "score", "by", "at", "summary",
                                           "url", "evidence", "rating_value", "best_rating",
                                           "worst_rating", "by_url", NULL };
    const msgpack_object *ev = NULL;
    memset(vd, 0, sizeof *vd);
    vd->rating = -1;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "claim", CD_REQUIRED, 1, UINT64_MAX, &vd->claim) ||
        cd_get_str(c, &c->params, NULL, "label", CD_OPTIONAL, CD_SHORT_MAX, &vd->label) ||
        cd_get_enum(c, &c->params, NULL, "rating", vd->label.n ? CD_OPTIONAL : CD_REQUIRED,
                    cd_rating_names, &vd->rating) ||
        get_number_as_given(c, "rating_value", &vd->value) ||
        get_number_as_given(c, "best_rating", &vd->best) ||
        get_number_as_given(c, "worst_rating", &vd->worst) ||
        cd_get_str(c, &c->params, NULL, "by_url", CD_OPTIONAL, CD_URL_MAX, &vd->by_url) ||
        cd_get_num(c, &c->params, NULL, "score", CD_OPTIONAL, 1, 5, &vd->score) ||
        cd_get_str(c, &c->params, NULL, "by", CD_OPTIONAL, CD_SHORT_MAX, &vd->by) ||
        cd_get_time(c, &c->params, NULL, "at", 0, &vd->at, &vd->at_us) ||
        cd_get_str(c, &c->params, NULL, "summary", CD_OPTIONAL, 16384, &vd->summary) ||
        cd_get_str(c, &c->params, NULL, "url", CD_OPTIONAL, CD_URL_MAX, &vd->url) ||
        cd_get_array(c, &c->params, NULL, "evidence", CD_OPTIONAL, EVIDENCE_MAX, &ev))
        return -1;
    if (ev) {
        vd->evidence = cd_call_alloc(c, (ev->via.array.size + 1) * sizeof *vd->evidence);
        if (!vd->evidence) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
        for (uint32_t i = 0; i < ev->via.array.size; i++)
            if (cd_check_str(c, &ev->via.array.ptr[i], cd_call_printf(c, "evidence[%u]", i), CD_URL_MAX,
                             &vd->evidence[vd->nevidence++]))
                return -1;
    }
    if (vd->rating < 0) {
        /* A label alone: the vocabulary's rating for it, or none (unrated). */
        const char *r = cd_vocab_rating(c->srv->cfg.ratings, vd->label.p, vd->label.n);
        vd->rating = r ? cd_enum_index(cd_rating_names, r, strlen(r)) : -1;
    }
    return 0;
}

void cd_m_verdict_add(cd_call *c, MDB_txn *txn)
{
    verdict vd;
    if (parse_verdict(c, &vd)) return;
    cd_claim old;
    int rc = cd_claim_load(c, txn, vd.claim, &old);
    if (rc == MDB_NOTFOUND) { cd_fail(c, CLAIMD_E_NOT_FOUND, "claim", "no claim with id %llu", (unsigned long long)vd.claim); return; }
    if (rc) return;
    vd.id = cd_db_next_id(txn, c->srv->db.dbi[CD_DBI_VERDICTS]);
    vd.recorded_at = c->at_us;
    if (!vd.at.n) {
        /* No `at`: the verdict is dated when it was recorded. */
        char buf[40];
        cd_time_format_us(c->at_us, buf);
        vd.at = (cd_str){ cd_call_strndup(c, buf, strlen(buf)), strlen(buf) };
        vd.at_us = c->at_us;
    }
    if (store_verdict(c, txn, &vd)) return;
    verdict *all;
    size_t n;
    if (load_claim_verdicts(c, txn, vd.claim, &all, &n)) return;
    cd_claim cl = old;
    /* The newest by `at`; ties go to the later recorded, which the stable sort leaves last. */
    cl.status = -1;
    for (size_t i = n; i-- > 0;)
        if (all[i].rating >= 0) { cl.status = all[i].rating; break; }
    if (cd_claim_store(c, txn, &old, &cl, "verdict.add", vd.by)) return;
    msgpack_pack_map(&c->pk, 2);
    cd_pack_cstr(&c->pk, "id");
    msgpack_pack_uint64(&c->pk, vd.id);
    cd_pack_cstr(&c->pk, "claim_rev");
    msgpack_pack_uint32(&c->pk, cl.rev);
}

static void pack_verdict(msgpack_packer *pk, const verdict *vd)
{
    unsigned n = 5 + (vd->rating >= 0) + !!vd->label.n + (vd->score > 0) + !!vd->by.n + !!vd->summary.n +
                 !!vd->url.n + (vd->value.type != MSGPACK_OBJECT_NIL) + (vd->best.type != MSGPACK_OBJECT_NIL) +
                 (vd->worst.type != MSGPACK_OBJECT_NIL) + !!vd->by_url.n;
    char when[40];
    msgpack_pack_map(pk, n);
    cd_pack_cstr(pk, "id"); msgpack_pack_uint64(pk, vd->id);
    cd_pack_cstr(pk, "claim"); msgpack_pack_uint64(pk, vd->claim);
    if (vd->rating >= 0) { cd_pack_cstr(pk, "rating"); cd_pack_cstr(pk, cd_rating_names[vd->rating]); }
    cd_pack_cstr(pk, "at"); cd_pack_strn(pk, vd->at.p, vd->at.n);
    cd_pack_cstr(pk, "recorded_at"); cd_pack_cstr(pk, cd_time_format_us(vd->recorded_at, when));
    cd_pack_cstr(pk, "evidence");
    msgpack_pack_array(pk, (uint32_t)vd->nevidence);
    for (size_t i = 0; i < vd->nevidence; i++) cd_pack_strn(pk, vd->evidence[i].p, vd->evidence[i].n);
    if (vd->label.n) { cd_pack_cstr(pk, "label"); cd_pack_strn(pk, vd->label.p, vd->label.n); }
    if (vd->score > 0) {
        cd_pack_cstr(pk, "score");
        if (vd->score == (double)(int)vd->score) msgpack_pack_int(pk, (int)vd->score);
        else msgpack_pack_double(pk, vd->score);
    }
    if (vd->by.n) { cd_pack_cstr(pk, "by"); cd_pack_strn(pk, vd->by.p, vd->by.n); }
    if (vd->summary.n) { cd_pack_cstr(pk, "summary"); cd_pack_strn(pk, vd->summary.p, vd->summary.n); }
    if (vd->url.n) { cd_pack_cstr(pk, "url"); cd_pack_strn(pk, vd->url.p, vd->url.n); }
    if (vd->value.type != MSGPACK_OBJECT_NIL) { cd_pack_cstr(pk, "rating_value"); msgpack_pack_object(pk, vd->value); }
    if (vd->best.type != MSGPACK_OBJECT_NIL) { cd_pack_cstr(pk, "best_rating"); msgpack_pack_object(pk, vd->best); }
    if (vd->worst.type != MSGPACK_OBJECT_NIL) { cd_pack_cstr(pk, "worst_rating"); msgpack_pack_object(pk, vd->worst); }
    if (vd->by_url.n) { cd_pack_cstr(pk, "by_url"); cd_pack_strn(pk, vd->by_url.p, vd->by_url.n); }
}

int cd_verdicts_pack(cd_call *c, MDB_txn *txn, uint64_t claim, int64_t as_of_us)
{
    verdict *all;
    size_t n, shown = 0;
    if (load_claim_verdicts(c, txn, claim, &all, &n)) return -1;
    for (size_t i = 0; i < n; i++) shown += all[i].recorded_at < as_of_us;
    msgpack_pack_array(&c->pk, (uint32_t)shown);
    for (size_t i = 0; i < n; i++)
        if (all[i].recorded_at < as_of_us) pack_verdict(&c->pk, &all[i]);
    return 0;
}

void cd_m_verdict_list(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "claim", "as_of", NULL };
    uint64_t id;
    int64_t as_of_us = INT64_MAX;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "claim", CD_REQUIRED, 1, UINT64_MAX, &id) ||
        cd_get_as_of(c, &c->params, &as_of_us))
        return;
    cd_claim cl;
    int rc = cd_claim_load(c, txn, id, &cl);
    if (rc == MDB_NOTFOUND) { cd_fail(c, CLAIMD_E_NOT_FOUND, "claim", "no claim with id %llu", (unsigned long long)id); return; }
    if (rc) return;
    msgpack_pack_map(&c->pk, 1);
    cd_pack_cstr(&c->pk, "items");
    cd_verdicts_pack(c, txn, id, as_of_us);
}

int cd_get_as_of(cd_call *c, const msgpack_object *params, int64_t *as_of_us)
{
    cd_str s = { 0 };
    if (cd_get_str(c, params, NULL, "as_of", CD_OPTIONAL, 64, &s)) return -1;
    if (!s.n) return 0;
    cd_time t;
    if (cd_time_parse(s.p, s.n, &t) < 0) return cd_fail(c, CLAIMD_E_INVALID, "as_of", "not an ISO 8601 time");
    *as_of_us = t.end_us;
    return 0;
}
