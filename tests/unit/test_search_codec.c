/* Unit tests for daemon/search/search_codec.c and search_cursor.c: language spaces, varints, norms,
 * postings, keys, documents and forward records, BM25 arithmetic, cursors. */
#include "tap.h"
#include "search.h"
#include "search_runs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_spaces(void)
{
    char tag[4];
    cd_search_space_of("en", 2, tag);
    is_str(tag, "en", "space of en");
    cd_search_space_of("pt-BR", 5, tag);
    ok(memcmp(tag, "pt\0", 4) == 0, "space of pt-BR is pt, NUL-padded");
    cd_search_space_of("EN_gb", 5, tag);
    is_str(tag, "en", "space of EN_gb is en (lower-cased, underscore separator)");
    cd_search_space_of("cnr", 3, tag);
    is_str(tag, "cnr", "three-letter primary subtags are kept");
    cd_search_space_of("", 0, tag);
    ok(memcmp(tag, "\0\0\0", 4) == 0, "no lang: the empty space");
    cd_search_space_of("x-klingon", 9, tag);
    ok(tag[0] == 0 && tag[1] == 0 && tag[2] == 0, "a one-letter primary subtag: the empty space");
    cd_search_space_of("english", 7, tag);
    ok(tag[0] == 0, "a primary subtag longer than 3 letters: the empty space");
    ok(cd_search_space_lang("\0\0\0") == NULL, "the empty space tokenizes without a language");
    is_str(cd_search_space_lang("ru\0"), "ru", "a space tokenizes with its tag");
}

static void test_varints(void)
{
    static const uint64_t values[] = { 0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX };
    int good = 1;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        unsigned char buf[10];
        size_t n = cd_search_put_varint(buf, values[i]);
        const unsigned char *p = buf;
        uint64_t v = 0;
        if (cd_search_get_varint(&p, buf + n, &v) || v != values[i] || p != buf + n) good = 0;
    }
    ok(good, "varints round-trip from 0 to UINT64_MAX");
    unsigned char buf[10];
    is_int((long long)cd_search_put_varint(buf, 127), 1, "127 takes one byte");
    is_int((long long)cd_search_put_varint(buf, 128), 2, "128 takes two bytes");
    is_int((long long)cd_search_put_varint(buf, UINT64_MAX), 10, "UINT64_MAX takes ten bytes");
    const unsigned char trunc[] = { 0x80, 0x80 }, *p = trunc;
    uint64_t v;
    ok(cd_search_get_varint(&p, trunc + 2, &v) == -1, "a truncated varint is refused");
    unsigned char longer[11];
    memset(longer, 0xff, sizeof longer);
    p = longer;
    ok(cd_search_get_varint(&p, longer + 11, &v) == -1, "an over-long varint is refused");
    const unsigned char padded[] = { 0x85, 0x00 };
    p = padded;
    ok(cd_search_get_varint(&p, padded + 2, &v) == -1, "a varint with a zero last byte (not shortest) is refused");
    const unsigned char zero[] = { 0x00 };
    p = zero;
    ok(cd_search_get_varint(&p, zero + 1, &v) == 0 && v == 0, "zero is one zero byte");
    unsigned char wide[10];
    memset(wide, 0xff, 9);
    wide[9] = 0x02;
    p = wide;
    ok(cd_search_get_varint(&p, wide + 10, &v) == -1, "a tenth byte above 1 (past bit 63) is refused");
    wide[9] = 0x01;
    p = wide;
    ok(cd_search_get_varint(&p, wide + 10, &v) == 0 && v == UINT64_MAX, "but UINT64_MAX's own tenth byte is fine");
}

static void test_norms(void)
{
    int exact = 1, mono = 1, bounded = 1;
    for (uint32_t n = 0; n < 64; n++) exact &= cd_search_norm_encode(n) == n && cd_search_norm_decode((uint8_t)n) == n;
    ok(exact, "token counts below 64 are stored exactly");
    uint8_t prev = 0;
    for (uint32_t n = 0; n < 100000; n++) {
        uint8_t code = cd_search_norm_encode(n);
        mono &= code >= prev;
        prev = code;
        /* A code stands for the smallest count giving it: decode(encode(n)) <= n < decode(code+1). */
        bounded &= cd_search_norm_decode(code) <= n && (code == 255 || n < cd_search_norm_decode((uint8_t)(code + 1)));
    }
    ok(mono, "norm codes never decrease as counts grow");
    ok(bounded, "each code decodes to the smallest count of its bucket");
    ok(cd_search_norm_encode(64) == 64 && cd_search_norm_encode(128) == 84, "64 tokens -> 64, 128 -> 84 (20 steps per doubling)");
    ok(cd_search_norm_encode(40000) < 255 && cd_search_norm_encode(UINT32_MAX) == 255, "the longest claims fit below the cap");
}

static void test_postings_keys(void)
{
    unsigned char p[CD_SEARCH_POSTING];
    cd_search_posting(p, 0x0102030405060708ULL, 3, 0, 17);
    ok(p[0] == 1 && p[7] == 8, "posting starts with the big-endian id");
    ok(cd_search_posting_tf(p) == 3 && !cd_search_posting_retracted(p) && cd_search_posting_norm(p) == 17,
       "tf, flag and norm read back");
    cd_search_posting(p, 9, 1000, 1, 200);
    ok(cd_search_posting_tf(p) == CD_SEARCH_TF_MAX && cd_search_posting_retracted(p), "tf saturates at 127, retracted flag set");
    unsigned char a[CD_SEARCH_POSTING], b[CD_SEARCH_POSTING];
    cd_search_posting(a, 255, 127, 1, 255);
    cd_search_posting(b, 256, 1, 0, 0);
    ok(memcmp(a, b, CD_SEARCH_POSTING) < 0, "postings sort by claim id first");
    unsigned char key[CD_RUN_KEY_MAX];
    size_t n = cd_search_term_key(key, "ru\0", "письм", strlen("письм"));
    ok(n == 3 + strlen("письм") && memcmp(key, "ru\0письм", n) == 0, "term key is space|term");
    unsigned char t1[CD_SEARCH_TERM_KEY], t2[CD_SEARCH_TERM_KEY];
    size_t tl = cd_search_term_key(t1, "en\0", "letter", 6);
    n = cd_run_key(key, t1, tl, 0x0102030405060708ULL);
    ok(n == 3 + 6 + 1 + 8 && key[9] == 0 && key[10] == 1 && key[17] == 8, "chunk key is space|term|0|first id");
    unsigned char k1[CD_RUN_KEY_MAX], k2[CD_RUN_KEY_MAX];
    size_t n1 = cd_run_key(k1, t1, cd_search_term_key(t1, "en\0", "let", 3), UINT64_MAX);
    size_t n2 = cd_run_key(k2, t2, cd_search_term_key(t2, "en\0", "letter", 6), 0);
    ok(memcmp(k1, k2, n1 < n2 ? n1 : n2) < 0, "all chunks of a term sort before a longer term's");
    char big[300];
    memset(big, 'a', sizeof big);
    ok(cd_search_term_key(key, "en\0", big, sizeof big) == CD_SEARCH_TERM_KEY, "term keys are capped");
}

static void test_bm25(void)
{
    ok(cd_search_idf(100, 1) > cd_search_idf(100, 50), "a rarer term has a higher idf");
    ok(fabs(cd_search_idf(10, 2) - log(1 + 8.5 / 2.5)) < 1e-12, "idf is ln(1 + (N - df + 0.5) / (df + 0.5))");
    ok(cd_search_idf(1, 5) > 0, "idf stays positive when df exceeds N (stale statistics)");
    double k[256];
    cd_search_norm_table(k, 10, 100);            /* average length 10 */
    ok(fabs(k[10] - CD_SEARCH_BM25_K1) < 1e-12, "a claim of average length has k = k1");
    ok(k[5] < k[10] && k[10] < k[20], "shorter claims have a smaller length part");
    ok(cd_search_bm25(1.0, 2, k[10]) > cd_search_bm25(1.0, 1, k[10]), "more occurrences score more");
    ok(cd_search_bm25(1.0, 1000, k[10]) < 1.0 * (CD_SEARCH_BM25_K1 + 1), "a term's score is bounded by idf * (k1 + 1)");
}

static void test_documents(void)
{
    cd_search_doc d = { 0 };
    const char *text = "The letters, the LETTER and the letter's envelope.";
    ok(cd_search_doc_build(&d, text, strlen(text), "en") == 0, "document built");
    is_int(d.tokens, 8, "8 tokens");
    size_t len;
    unsigned char *rec = cd_search_fwd_encode(&d, "en\0", 1, &len);
    ok(rec != NULL, "forward record encoded");
    cd_search_fwd f;
    ok(cd_search_fwd_open(&f, rec, len) == 0, "forward record opens");
    ok(strcmp(f.tag, "en") == 0 && f.retracted && f.tokens == 8, "header: space, retracted flag, tokens");
    cd_search_fwd_term t;
    char seen[256] = "";
    int rc, sorted = 1;
    char last[64] = "";
    uint32_t letter_pos[8];
    size_t nletter = 0;
    while ((rc = cd_search_fwd_next(&f, &t)) == 1) {
        char term[64];
        snprintf(term, sizeof term, "%.*s", (int)t.len, t.term);
        if (strcmp(last, term) >= 0) sorted = 0;
        snprintf(last, sizeof last, "%s", term);
        char item[80];
        snprintf(item, sizeof item, "%s:%u ", term, t.tf);
        strncat(seen, item, sizeof seen - strlen(seen) - 1);
        if (!strcmp(term, "letter")) nletter = cd_search_fwd_positions(&t, letter_pos, 8);
    }
    is_int(rc, 0, "every term entry reads back");
    ok(sorted, "terms are in byte order");
    is_str(seen, "and:1 envelop:1 letter:3 the:3 ", "distinct stemmed terms with their tf");
    ok(nletter == 3 && letter_pos[0] == 1 && letter_pos[1] == 3 && letter_pos[2] == 6,
       "positions of 'letter' are 1, 3, 6");
    ok(cd_search_fwd_open(&f, rec, 2) == -1, "a short record is refused");
    rec[len - 1] = 0x80;                        /* a varint running off the end */
    cd_search_fwd_open(&f, rec, len);
    while ((rc = cd_search_fwd_next(&f, &t)) == 1) {}
    is_int(rc, -1, "a damaged record reports an error, never reads past its end");
    free(rec);
    cd_search_doc_free(&d);
    ok(cd_search_doc_build(&d, "\xff", 1, NULL) == -1, "invalid UTF-8 is refused");
    cd_search_doc_free(&d);
    ok(cd_search_doc_build(&d, "", 0, NULL) == 0 && d.tokens == 0 && d.ntoks == 0, "an empty text has no tokens");
    cd_search_doc_free(&d);
}

static void test_cursor(void)
{
    cd_search_frozen sp[2] = { { "", 1, 5, 1, { 1 } }, { "en", 10, 100, 2, { 3, 4 } } };
    cd_search_cursor cur = { 0x1122334455667788ULL, 1.2345678901234567, 42, 99, 2, sp };
    size_t len;
    char *hex = cd_search_cursor_encode(&cur, &len);
    ok(hex && strlen(hex) == len && len % 2 == 0, "cursor encodes as hex");
    cd_search_cursor back;
    ok(cd_search_cursor_decode(hex, len, &back) == 0, "cursor decodes");
    ok(back.qhash == cur.qhash && back.score == cur.score && back.id == 42 && back.max_id == 99 &&
       back.nspaces == 2, "header round-trips, score bit for bit");
    ok(strcmp(back.spaces[1].tag, "en") == 0 && back.spaces[1].ndocs == 10 && back.spaces[1].ntokens == 100 &&
       back.spaces[1].nclauses == 2 && back.spaces[1].df[1] == 4 && back.spaces[0].tag[0] == 0 &&
       back.spaces[0].df[0] == 1, "frozen statistics round-trip");
    cd_search_cursor_free(&back);
    ok(cd_search_cursor_decode(hex, len - 2, &back) == -1, "a truncated cursor is refused");
    hex[0] = '7';
    ok(cd_search_cursor_decode(hex, len, &back) == -1, "another version is refused");
    ok(cd_search_cursor_decode("zz", 2, &back) == -1 && cd_search_cursor_decode("abc", 3, &back) == -1,
       "non-hex and odd lengths are refused");
    free(hex);
    /* Fields no daemon makes (the fuzzer's range property, tests/fuzz/fuzz_search_cursor.c). */
    cd_search_frozen two[2] = { sp[1], sp[1] };
    cd_search_cursor bad = cur;
    bad.spaces = two;
    hex = cd_search_cursor_encode(&bad, &len);
    ok(hex && cd_search_cursor_decode(hex, len, &back) == -1, "a space given twice is refused");
    free(hex);
    two[0] = sp[1];
    two[1] = sp[0];
    hex = cd_search_cursor_encode(&bad, &len);
    ok(hex && cd_search_cursor_decode(hex, len, &back) == -1, "spaces out of key order are refused");
    free(hex);
    bad = cur;
    bad.id = 100;
    hex = cd_search_cursor_encode(&bad, &len);
    ok(hex && cd_search_cursor_decode(hex, len, &back) == -1, "an id above max_id is refused");
    free(hex);
    bad = cur;
    bad.score = -1;
    hex = cd_search_cursor_encode(&bad, &len);
    ok(hex && cd_search_cursor_decode(hex, len, &back) == -1, "a negative score is refused");
    free(hex);
    hex = cd_search_cursor_encode(&cur, &len);
    for (size_t i = 0; i < len; i++) if (hex[i] >= 'a') hex[i] = (char)(hex[i] - 'a' + 'A');
    ok(cd_search_cursor_decode(hex, len, &back) == -1, "upper-case hex is refused (one spelling)");
    free(hex);
}

int main(void)
{
    test_spaces();
    test_varints();
    test_norms();
    test_postings_keys();
    test_bm25();
    test_documents();
    test_cursor();
    return done_testing();
}
