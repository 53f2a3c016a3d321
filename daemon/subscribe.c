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

struct cd_sub {
    uint64_t id;
    unsigned types;              /* bit per type name; 0: all */
    unsigned ops;                /* bit per op name; 0: all */
    uint64_t speaker, claim;     /* 0: any */
    cd_sub *next;
};

static const char *const type_names[] = { "claim", "entity", NULL };
static const char *const op_names[] = {
    "claim.create", "claim.update", "claim.merge", "claim.retract", "verdict.add", "appearance.add",
    "relation.add", "entity.create", "entity.update", "entity.merge", NULL
};

static uint64_t next_sub_id = 1;

void cd_subs_free(cd_sub *head)
{
    while (head) { cd_sub *n = head->next; free(head); head = n; }
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
    cd_sub *sub = malloc(sizeof *sub);
    if (!sub) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); return; }
    *sub = s;
    sub->id = next_sub_id++;
    cd_sub **head = cd_conn_subs(c->conn);
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
        free(gone);
        msgpack_pack_map(&c->pk, 0);
        return;
    }
    cd_fail(c, CLAIMD_E_NOT_FOUND, "subscription", "no such subscription on this connection");
}

static int sub_matches(const cd_sub *s, const cd_change *ch)
{
    int type = cd_enum_index(type_names, ch->type, strlen(ch->type));
    int op = cd_enum_index(op_names, ch->op, strlen(ch->op));
    if (s->types && (type < 0 || !(s->types & (1u << type)))) return 0;
    if (s->ops && (op < 0 || !(s->ops & (1u << op)))) return 0;
    int is_claim = strcmp(ch->type, "claim") == 0;
    if (s->claim && !(is_claim && ch->id == s->claim)) return 0;
    if (s->speaker && !(is_claim && ch->speaker == s->speaker)) return 0;
    return 1;
}

static void pack_change(msgpack_packer *pk, const cd_change *ch)
{
    char when[40];
    msgpack_pack_map(pk, 5);
    cd_pack_cstr(pk, "seq"); msgpack_pack_uint64(pk, ch->seq);
    cd_pack_cstr(pk, "at"); cd_pack_cstr(pk, cd_time_format_us(ch->at, when));
    cd_pack_cstr(pk, "op"); cd_pack_cstr(pk, ch->op);
    cd_pack_cstr(pk, "type"); cd_pack_cstr(pk, ch->type);
    cd_pack_cstr(pk, "id"); msgpack_pack_uint64(pk, ch->id);
}

/* Sends the final notice and drops the subscription. */
static void cut_off(cd_conn *conn, cd_sub **link, msgpack_sbuffer *sb)
{
    cd_sub *s = *link;
    msgpack_packer pk;
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, 2);
    cd_pack_cstr(&pk, "subscription.closed");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    cd_pack_cstr(&pk, "subscription"); msgpack_pack_uint64(&pk, s->id);
    cd_pack_cstr(&pk, "reason"); cd_pack_cstr(&pk, "the client did not read its notifications fast enough");
    cd_conn_push(conn, sb->data, sb->size);
    *link = s->next;
    free(s);
}

void cd_subs_publish(cd_server *srv, const cd_call *c)
{
    if (!c->nchanges) return;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (cd_conn *conn = cd_conn_next(srv, NULL); conn; conn = cd_conn_next(srv, conn)) {
        cd_sub **link = cd_conn_subs(conn);
        while (*link) {
            if (cd_conn_backlog(conn) > srv->cfg.max_output) { cut_off(conn, link, &sb); continue; }
            for (size_t i = 0; i < c->nchanges; i++) {
                if (!sub_matches(*link, &c->changes[i])) continue;
                msgpack_packer pk;
                msgpack_sbuffer_clear(&sb);
                msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
                msgpack_pack_array(&pk, 3);
                msgpack_pack_uint8(&pk, 2);
                cd_pack_cstr(&pk, "change");
                msgpack_pack_array(&pk, 1);
                pack_change(&pk, &c->changes[i]);
                cd_conn_push(conn, sb.data, sb.size);
            }
            link = &(*link)->next;
        }
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
    for (size_t i = 0; i < n; i++) pack_change(&c->pk, &items[i]);
    cd_pack_cstr(&c->pk, "next");
    msgpack_pack_uint64(&c->pk, n ? items[n - 1].seq : since);
}
