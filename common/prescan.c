/* prescan: bounded validation of one MessagePack object before msgpack-c allocates for it.
 *
 * The walk keeps one number per open array/map (elements still to come) and a running count of
 * every element announced but not yet started ("pending"). Each of those needs at least one byte,
 * so the invariant  pos + pending <= max_bytes  lets a hostile header such as array32 with 4G
 * elements be refused from its five bytes alone, with no allocation and no waiting for its body.
 * Arithmetic is done in uint64_t from quantities that are each below 2^34 or already bounded by
 * max_bytes, and budgets are formed by subtraction, so nothing can wrap even with a 32-bit size_t.
 */
#include "prescan.h"

/* Open containers tracked at once. msgpack-c itself refuses nesting past 32
 * (MSGPACK_EMBED_STACK_SIZE), so a max_depth above this cap would gain nothing: it is clamped. */
#define SCAN_STACK_MAX 64

typedef enum { V_FIXED, V_BLOB, V_ARRAY, V_MAP, V_BAD } value_kind;

/* What the type byte says: the header size (type byte plus any length field), the width of the
 * length field, and for fixed-size values the payload size that follows the header. */
typedef struct {
    value_kind kind;
    unsigned header;     /* bytes before the payload or the first element, incl. ext type byte */
    unsigned len_width;  /* 0, 1, 2 or 4: big-endian length/count at buf[pos + 1] */
    uint32_t inline_n;   /* payload bytes (V_FIXED / fixstr) or count (fixarray / fixmap) */
} value_head;

static value_head classify(unsigned char b)
{
    value_head h = { V_FIXED, 1, 0, 0 };
    if (b <= 0x7f || b >= 0xe0) return h;                          /* fixint */
    if (b <= 0x8f) { h.kind = V_MAP; h.inline_n = b & 0x0f; return h; }
    if (b <= 0x9f) { h.kind = V_ARRAY; h.inline_n = b & 0x0f; return h; }
    if (b <= 0xbf) { h.kind = V_BLOB; h.inline_n = b & 0x1f; return h; }  /* fixstr */
    switch (b) {
    case 0xc0: case 0xc2: case 0xc3: return h;                     /* nil, false, true */
    case 0xc4: case 0xd9: h.kind = V_BLOB; h.header = 2; h.len_width = 1; return h;
    case 0xc5: case 0xda: h.kind = V_BLOB; h.header = 3; h.len_width = 2; return h;
    case 0xc6: case 0xdb: h.kind = V_BLOB; h.header = 5; h.len_width = 4; return h;
    case 0xc7: h.kind = V_BLOB; h.header = 3; h.len_width = 1; return h;   /* ext8 + type */
    case 0xc8: h.kind = V_BLOB; h.header = 4; h.len_width = 2; return h;   /* ext16 + type */
    case 0xc9: h.kind = V_BLOB; h.header = 6; h.len_width = 4; return h;   /* ext32 + type */
    case 0xca: h.inline_n = 4; return h;                           /* float32 */
    case 0xcb: h.inline_n = 8; return h;                           /* float64 */
    case 0xcc: case 0xd0: h.inline_n = 1; return h;
    case 0xcd: case 0xd1: h.inline_n = 2; return h;
    case 0xce: case 0xd2: h.inline_n = 4; return h;
    case 0xcf: case 0xd3: h.inline_n = 8; return h;
    case 0xd4: h.header = 2; h.inline_n = 1; return h;             /* fixext1..16 + type */
    case 0xd5: h.header = 2; h.inline_n = 2; return h;
    case 0xd6: h.header = 2; h.inline_n = 4; return h;
    case 0xd7: h.header = 2; h.inline_n = 8; return h;
    case 0xd8: h.header = 2; h.inline_n = 16; return h;
    case 0xdc: h.kind = V_ARRAY; h.header = 3; h.len_width = 2; return h;
    case 0xdd: h.kind = V_ARRAY; h.header = 5; h.len_width = 4; return h;
    case 0xde: h.kind = V_MAP; h.header = 3; h.len_width = 2; return h;
    case 0xdf: h.kind = V_MAP; h.header = 5; h.len_width = 4; return h;
    default: h.kind = V_BAD; return h;                             /* 0xc1, never used */
    }
}

static uint32_t read_be(const unsigned char *p, unsigned width)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < width; i++) v = (v << 8) | p[i];
    return v;
}

cd_scan_result cd_prescan(const char *buf, size_t len, size_t max_bytes, unsigned max_depth,
                          size_t *object_len)
{
    return cd_prescan_bounded(buf, len, max_bytes, max_depth, UINT64_MAX, object_len);
}

cd_scan_result cd_prescan_bounded(const char *buf, size_t len, size_t max_bytes, unsigned max_depth,
                                  uint64_t max_elements, size_t *object_len)
{
    return cd_prescan_counted(buf, len, max_bytes, max_depth, max_elements, object_len, NULL);
}

cd_scan_result cd_prescan_counted(const char *buf, size_t len, size_t max_bytes, unsigned max_depth,
                                  uint64_t max_elements, size_t *object_len, uint64_t *elements)
{
    const unsigned char *p = (const unsigned char *)buf;
    uint64_t left[SCAN_STACK_MAX];  /* elements still to come in each open container */
    unsigned top = 0;               /* open containers */
    uint64_t pending = 1;           /* elements announced and not started, incl. the next one */
    uint64_t announced = 0;         /* elements announced by every container so far */
    uint64_t max = max_bytes;
    size_t pos = 0;

    if (max_depth > SCAN_STACK_MAX) max_depth = SCAN_STACK_MAX;
    if (max < 1) return CD_SCAN_TOO_LARGE;
    for (;;) {
        /* Bytes this value may take: the rest of max_bytes minus one byte for every other
         * pending element. Never underflows thanks to the invariant pos + pending <= max. */
        uint64_t budget = max - pos - (pending - 1);
        if (pos >= len) return CD_SCAN_NEED_MORE;
        value_head h = classify(p[pos]);
        if (h.kind == V_BAD) return CD_SCAN_MALFORMED;
        if (h.header > budget) return CD_SCAN_TOO_LARGE;
        int container = h.kind == V_ARRAY || h.kind == V_MAP;
        if (container && top + 1 > max_depth) return CD_SCAN_TOO_DEEP;
        if (h.header > len - pos) return CD_SCAN_NEED_MORE;
        uint64_t n = h.len_width ? read_be(p + pos + 1, h.len_width) : h.inline_n;

        pending--;
        if (container) {
            uint64_t elems = h.kind == V_MAP ? 2 * n : n;
            if (h.header + elems > budget) return CD_SCAN_TOO_LARGE;
            announced += elems;
            if (announced > max_elements) return CD_SCAN_TOO_LARGE;
            pos += h.header;
            if (elems > 0) {
                left[top++] = elems;
                pending += elems;
                continue;               /* the container is not complete yet */
            }
        } else {
            uint64_t size = h.header + n;   /* n is the payload size */
            if (size > budget) return CD_SCAN_TOO_LARGE;
            if (size > len - pos) return CD_SCAN_NEED_MORE;
            pos += (size_t)size;
        }
        /* A value just completed: count it off its container, closing every container that
         * this completes in turn; when nothing is open, the top-level object is whole. */
        for (;;) {
            if (top == 0) {
                if (object_len) *object_len = pos;
                if (elements) *elements = announced + 1;   /* + the top-level value */
                return CD_SCAN_OK;
            }
            if (--left[top - 1] > 0) break;
            top--;
        }
    }
}

/* Reads one MessagePack integer at buf[*pos] into *v if it is in [0, UINT32_MAX]; returns 1 if
 * it did, 0 if it is something else or has not fully arrived. */
static int read_small_uint(const unsigned char *p, size_t len, size_t *pos, uint32_t *v)
{
    if (*pos >= len) return 0;
    unsigned char b = p[*pos];
    if (b <= 0x7f) { *v = b; (*pos)++; return 1; }
    unsigned width;
    int is_signed = 0;
    switch (b) {
    case 0xcc: width = 1; break;
    case 0xcd: width = 2; break;
    case 0xce: width = 4; break;
    case 0xcf: width = 8; break;
    case 0xd0: width = 1; is_signed = 1; break;
    case 0xd1: width = 2; is_signed = 1; break;
    case 0xd2: width = 4; is_signed = 1; break;
    case 0xd3: width = 8; is_signed = 1; break;
    default: return 0;
    }
    if (len - *pos - 1 < width) return 0;
    uint64_t u = 0;
    for (unsigned i = 0; i < width; i++) u = (u << 8) | p[*pos + 1 + i];
    if (is_signed && (p[*pos + 1] & 0x80)) return 0;   /* negative */
    if (u > UINT32_MAX) return 0;
    *v = (uint32_t)u;
    *pos += 1 + width;
    return 1;
}

int cd_prescan_msgid(const char *buf, size_t len, uint32_t *msgid)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t pos;
    uint32_t count, type, id;

    /* Any array of two or more elements: a request with the wrong element count still deserves
     * a bad_request reply that names it. */
    if (len < 1) return 0;
    if (p[0] >= 0x90 && p[0] <= 0x9f) { count = p[0] & 0x0f; pos = 1; }
    else if (p[0] == 0xdc && len >= 3) { count = read_be(p + 1, 2); pos = 3; }
    else if (p[0] == 0xdd && len >= 5) { count = read_be(p + 1, 4); pos = 5; }
    else return 0;
    if (count < 2) return 0;
    if (!read_small_uint(p, len, &pos, &type) || type != 0) return 0;
    if (!read_small_uint(p, len, &pos, &id)) return 0;
    *msgid = id;
    return 1;
}

const char *cd_scan_result_name(cd_scan_result r)
{
    switch (r) {
    case CD_SCAN_OK: return "ok";
    case CD_SCAN_NEED_MORE: return "need_more";
    case CD_SCAN_TOO_LARGE: return "too_large";
    case CD_SCAN_TOO_DEEP: return "too_deep";
    case CD_SCAN_MALFORMED: return "malformed";
    }
    return "unknown";
}
