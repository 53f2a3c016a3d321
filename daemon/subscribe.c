/* subscribe: subscribe/unsubscribe methods and fan-out of committed changes.
 *
 * Gap-free catch-up: `subscribe` answers with the last committed seq S. Every change committed
 * after S is pushed to the subscription; changes up to S are read with `changes {since}`. A
 * change whose commit the daemon has not yet announced when S is read may arrive both ways: a
 * client drops notifications with seq <= the last seq it has seen. */
#include <stdlib.h>
#include <string.h>
#include "conn.h"
#include "db.h"
#include "entity.h"
#include "isotime.h"
#include "methods.h"
#include "params.h"
#include "bytes.h"
#include "record.h"
#include "server.h"
#include "subscribe.h"

/* Where a subscription is filed for fan-out: under its most selective filter, so a change only
 * visits the subscriptions that can match it. A claim filter files it under the claim id, else a
 * speaker filter under the speaker id (both in hash tables), else an ops filter in the list of
 * each op it names, else a types filter in the list of each type, else in the list of
 * unfiltered subscriptions. A change then looks at one bucket per key it has (its claim, its
 * speaker, its op, its type, and the unfiltered list), and no subscription is filed twice
 * under keys one change can have, so each candidate is checked once and the cost of a change is
 * the number of subscriptions sharing its keys, whatever the number of others. */
#define MAX_LINKS 10             /* one per op name at most */

typedef struct sub_link {
    struct sub_link *next, **pprev;
    cd_sub *sub;
} sub_link;

typedef struct {
    sub_link **buckets;          /* heads; nbuckets a power of two, 0 until the first sub */
    size_t nbuckets, count;
} id_table;

typedef struct {
    id_table by_claim, by_speaker;
    sub_link *by_op[16], *by_type[4], *unfiltered;
} sub_index;

struct cd_sub {
    uint64_t id;
    unsigned types;              /* bit per type name; 0: all */
    unsigned ops;                /* bit per op name; 0: all */
    uint64_t speaker, claim;     /* 0: any */
    cd_conn *conn;
    cd_sub *next;                /* the connection's list */
    id_table *table;             /* the hash table it is filed in, or NULL */
    int nlinks;
    sub_link links[MAX_LINKS];
};

static const char *const type_names[] = { "claim", "entity", NULL };
static const char *const op_names[] = {
    "claim.create", "claim.update", "claim.merge", "claim.retract", "verdict.add", "appearance.add",
    "relation.add", "entity.create", "entity.update", "entity.merge", NULL
};
_Static_assert(sizeof op_names / sizeof op_names[0] - 1 <= MAX_LINKS, "raise MAX_LINKS");

/* The daemon has one server and one loop thread: its subscriptions live here. */
static sub_index subs_ix;
static uint64_t next_sub_id = 1;

static void link_into(sub_link *l, sub_link **head, cd_sub *s)
{
    l->sub = s;
    l->next = *head;
    l->pprev = head;
    if (*head) (*head)->pprev = &l->next;
    *head = l;
}

static void link_out(sub_link *l)
{
    *l->pprev = l->next;
    if (l->next) l->next->pprev = l->pprev;
    l->next = NULL;
    l->pprev = NULL;
}

static size_t id_hash(uint64_t id, size_t nbuckets)
{
    id *= 0x9E3779B97F4A7C15ull;   /* Fibonacci hashing: ids are dense, buckets are few */
    return (size_t)(id >> 32) & (nbuckets - 1);
}

static uint64_t filed_id(const cd_sub *s, const id_table *t)
{
    return t == &subs_ix.by_claim ? s->claim : s->speaker;
}

/* Doubles the table (the first time: 64 buckets), moving every link. -1 when out of memory. */
static int id_table_grow(id_table *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 64;
    sub_link **b = calloc(n, sizeof *b);
    if (!b) return -1;
    for (size_t i = 0; i < t->nbuckets; i++)
        while (t->buckets[i]) {
            sub_link *l = t->buckets[i];
            link_out(l);
            link_into(l, &b[id_hash(filed_id(l->sub, t), n)], l->sub);
        }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return 0;
}

static sub_link *id_table_bucket(const id_table *t, uint64_t id)
{
    return t->nbuckets ? t->buckets[id_hash(id, t->nbuckets)] : NULL;
}

/* Files s in the index under its most selective filter. -1 when out of memory. */
static int index_add(cd_sub *s)
{
    id_table *t = s->claim ? &subs_ix.by_claim : s->speaker ? &subs_ix.by_speaker : NULL;
    if (t) {
        if (t->count >= t->nbuckets && id_table_grow(t)) return -1;
        link_into(&s->links[0], &t->buckets[id_hash(filed_id(s, t), t->nbuckets)], s);
        t->count++;
        s->table = t;
        s->nlinks = 1;
    } else if (s->ops) {
        for (int k = 0; op_names[k]; k++)
            if (s->ops & (1u << k)) link_into(&s->links[s->nlinks++], &subs_ix.by_op[k], s);
    } else if (s->types) {
        for (int k = 0; type_names[k]; k++)
            if (s->types & (1u << k)) link_into(&s->links[s->nlinks++], &subs_ix.by_type[k], s);
    } else {
        link_into(&s->links[s->nlinks++], &subs_ix.unfiltered, s);
    }
    return 0;
}

static void sub_free(cd_sub *s)
{
    for (int i = 0; i < s->nlinks; i++) link_out(&s->links[i]);
    if (s->table) s->table->count--;
    free(s);
}

void cd_subs_free(cd_sub *head)
{
    while (head) { cd_sub *n = head->next; sub_free(head); head = n; }
}

/* Reads an optional array of names into a bit mask. */
static int name_mask(cd_call *c, const char *key, const char *const *names, unsigned *mask)
{
    const msgpack_object *arr = NULL;
    if (cd_get_array(c, &c->params, NULL, key, CD_OPTIONAL, 32, &arr)) return -1;
    for (uint32_t i = 0; arr && i < arr->via.array.size; i++) {
        const msgpack_object *o = &arr->via.array.ptr[i];
        int k = o->type == MSGPACK_OBJECT_STR ? cd_enum_index(names, o->via.str.ptr, o->via.str.size) : -1;
        if (k < 0) return cd_fail(c, CLAIMD_E_INVALID, cd_call_printf(c, "%s[%u]", key, i), "unknown name");
        *mask |= 1u << k;
    }
    return 0;
}

void cd_m_subscribe(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "types", "ops", "speaker", "claim", NULL };
    cd_sub s = { 0 };
    const msgpack_object *speaker = cd_map_get(&c->params, "speaker");
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        name_mask(c, "types", type_names, &s.types) || name_mask(c, "ops", op_names, &s.ops) ||
        cd_get_u64(c, &c->params, NULL, "claim", CD_OPTIONAL, 1, UINT64_MAX, &s.claim) ||
        (speaker && cd_entity_resolve(c, txn, speaker, "speaker", 0, &s.speaker)))
        return;
    if (speaker && !s.speaker) { cd_fail(c, CLAIMD_E_NOT_FOUND, "speaker", "no such entity"); return; }
    if (!c->conn) return;
    cd_sub **head = cd_conn_subs(c->conn);
    unsigned held = 0;
    for (const cd_sub *o = *head; o; o = o->next) held++;
    if (held >= c->srv->cfg.max_subscriptions) {
        cd_fail(c, CLAIMD_E_TOO_LARGE, NULL,
                "this connection already holds %u subscriptions (the limit); unsubscribe first", held);
        return;
    }
    cd_sub *sub = malloc(sizeof *sub);
    if (!sub) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); return; }
    *sub = s;
    sub->conn = c->conn;
    if (index_add(sub)) { free(sub); cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); return; }
    sub->id = next_sub_id++;
    sub->next = *head;
    *head = sub;
    msgpack_pack_map(&c->pk, 2);
    cd_pack_cstr(&c->pk, "subscription");
    msgpack_pack_uint64(&c->pk, sub->id);
    cd_pack_cstr(&c->pk, "seq");
    msgpack_pack_uint64(&c->pk, cd_db_next_id(txn, c->srv->db.dbi[CD_DBI_CHANGES]) - 1);
}

void cd_m_unsubscribe(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "subscription", NULL };
    uint64_t id;
    (void)txn;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "subscription", CD_REQUIRED, 1, UINT64_MAX, &id))
        return;
    for (cd_sub **p = cd_conn_subs(c->conn); *p; p = &(*p)->next) {
        if ((*p)->id != id) continue;
        cd_sub *gone = *p;
        *p = gone->next;
        sub_free(gone);
        msgpack_pack_map(&c->pk, 0);
        return;
    }
    cd_fail(c, CLAIMD_E_NOT_FOUND, "subscription", "no such subscription on this connection");
}

static int sub_matches(const cd_sub *s, const cd_change *ch, int type, int op)
{
    if (s->types && (type < 0 || !(s->types & (1u << type)))) return 0;
    if (s->ops && (op < 0 || !(s->ops & (1u << op)))) return 0;
    int is_claim = type == 0;
    if (s->claim && !(is_claim && ch->id == s->claim)) return 0;
    if (s->speaker && !(is_claim && ch->speaker == s->speaker)) return 0;
    return 1;
}

/* A change as `changes` lists it; with a subscription id (nonzero) as a notification carries it. */
static void pack_change(msgpack_packer *pk, const cd_change *ch, uint64_t subscription)
{
    char when[40];
    msgpack_pack_map(pk, subscription ? 6 : 5);
    cd_pack_cstr(pk, "seq"); msgpack_pack_uint64(pk, ch->seq);
    cd_pack_cstr(pk, "at"); cd_pack_cstr(pk, cd_time_format_us(ch->at, when));
    cd_pack_cstr(pk, "op"); cd_pack_cstr(pk, ch->op);
    cd_pack_cstr(pk, "type"); cd_pack_cstr(pk, ch->type);
    cd_pack_cstr(pk, "id"); msgpack_pack_uint64(pk, ch->id);
    if (subscription) { cd_pack_cstr(pk, "subscription"); msgpack_pack_uint64(pk, subscription); }
}

/* Starts [2, method, [ (one param to follow) in sb, emptied first, with pk packing into it. */
static void begin_notification(msgpack_packer *pk, msgpack_sbuffer *sb, const char *method)
{
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint8(pk, 2);
    cd_pack_cstr(pk, method);
    msgpack_pack_array(pk, 1);
}

/* Sends the final notice and drops the subscription from its connection and the index. */
static void cut_off(cd_sub *s, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    begin_notification(&pk, sb, "subscription.closed");
    msgpack_pack_map(&pk, 2);
    cd_pack_cstr(&pk, "subscription"); msgpack_pack_uint64(&pk, s->id);
    cd_pack_cstr(&pk, "reason"); cd_pack_cstr(&pk, "the client did not read its notifications fast enough");
    cd_conn_push(s->conn, sb->data, sb->size);
    for (cd_sub **p = cd_conn_subs(s->conn); *p; p = &(*p)->next)
        if (*p == s) { *p = s->next; break; }
    sub_free(s);
}

/* Pushes ch to every subscription of the list that matches it (id tables: whose id is id). */
static void publish_list(cd_server *srv, sub_link *l, const cd_change *ch, int type, int op,
                         msgpack_sbuffer *sb)
{
    while (l) {
        sub_link *next = l->next;   /* cut_off unlinks l */
        cd_sub *s = l->sub;
        l = next;
        if (!sub_matches(s, ch, type, op)) continue;
        if (cd_conn_backlog(s->conn) > srv->cfg.max_output) {
            cut_off(s, sb);   /* only s's link in this list was l: next stays valid */
            continue;
        }
        msgpack_packer pk;
        begin_notification(&pk, sb, "change");
        pack_change(&pk, ch, s->id);
        cd_conn_push(s->conn, sb->data, sb->size);
    }
}

void cd_subs_publish(cd_server *srv, const cd_call *c)
{
    if (!c->nchanges) return;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (size_t i = 0; i < c->nchanges; i++) {
        const cd_change *ch = &c->changes[i];
        int type = cd_enum_index(type_names, ch->type, strlen(ch->type));
        int op = cd_enum_index(op_names, ch->op, strlen(ch->op));
        if (type == 0) {   /* only claim changes can match a claim or speaker filter */
            publish_list(srv, id_table_bucket(&subs_ix.by_claim, ch->id), ch, type, op, &sb);
            if (ch->speaker)
                publish_list(srv, id_table_bucket(&subs_ix.by_speaker, ch->speaker), ch, type, op, &sb);
        }
        if (op >= 0) publish_list(srv, subs_ix.by_op[op], ch, type, op, &sb);
        if (type >= 0) publish_list(srv, subs_ix.by_type[type], ch, type, op, &sb);
        publish_list(srv, subs_ix.unfiltered, ch, type, op, &sb);
    }
    msgpack_sbuffer_destroy(&sb);
}

void cd_m_changes(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "since", "limit", NULL };
    uint64_t since = 0, limit = 100;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "since", CD_OPTIONAL, 0, UINT64_MAX - 1, &since) ||
        cd_get_u64(c, &c->params, NULL, "limit", CD_OPTIONAL, 1, 10000, &limit))
        return;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_CHANGES], &cur);
    if (rc) { cd_fail_mdb(c, rc, "reading changes"); return; }
    cd_change *items = cd_call_alloc(c, limit * sizeof *items);
    size_t n = 0;
    unsigned char key[8];
    cd_put_u64be(key, since + 1);
    MDB_val k = { 8, key }, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); items && rc == 0 && n < limit;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        msgpack_object o;
        if (cd_rec_unpack(c, &v, 4, &o)) break;
        const msgpack_object *f = o.via.array.ptr;
        cd_str op = cd_rec_str(&f[1]), type = cd_rec_str(&f[2]);
        items[n++] = (cd_change){ cd_get_u64be(k.mv_data), cd_rec_i64(&f[0]),
            cd_call_strndup(c, op.p, op.n), cd_call_strndup(c, type.p, type.n), cd_rec_u64(&f[3]), 0 };
    }
    mdb_cursor_close(cur);
    if (c->err) return;
    msgpack_pack_map(&c->pk, 2);
    cd_pack_cstr(&c->pk, "items");
    msgpack_pack_array(&c->pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) pack_change(&c->pk, &items[i], 0);
    cd_pack_cstr(&c->pk, "next");
    msgpack_pack_uint64(&c->pk, n ? items[n - 1].seq : since);
}
