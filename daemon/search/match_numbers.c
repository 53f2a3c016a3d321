/* match_numbers: numbers written one way, so "5,000,000", "5 million" and "five million" compare
 * alike in claim.match (match.h). Pure text rewriting: digits and the words next to them. */
#include <stdlib.h>
#include <string.h>
#include "match.h"

typedef struct { char *p; size_t n, cap; int oom; } out_buf;

static void emit(out_buf *o, const char *s, size_t n)
{
    if (o->oom) return;
    if (o->n + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (o->n + n + 1 > cap) cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p) { o->oom = 1; return; }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
    o->p[o->n] = 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
/* A byte that can be part of a word: ASCII letters and digits, and any byte of a non-ASCII
 * character (letters of other scripts). */
static int is_wordish(char c) { return is_alpha(c) || is_digit(c) || (unsigned char)c >= 0x80; }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* Languages that write the decimal separator as a comma and group thousands with a dot. */
static int decimal_comma(const char *lang)
{
    static const char *const langs[] = { "de", "es", "fr", "it", "pt", "ro", "tr", "pl", "ru", "uk", "el", "nl",
                                         "cs", "sk", "bg", "be", "sr", "hr", "sl", "hu", "da", "sv", "no", "fi",
                                         "id", "vi", "kk", NULL };
    if (!lang || !lang[0] || !lang[1] || is_alpha(lang[2])) return 0;
    for (int i = 0; langs[i]; i++)
        if (lower(lang[0]) == langs[i][0] && lower(lang[1]) == langs[i][1]) return 1;
    return 0;
}

/* A word at s[i..n) equal (ASCII case aside) to w, ending at a non-word byte when whole is set
 * or at the end of w's letters otherwise (plurals and inflections follow). Returns the bytes the
 * word spans (to the end of its letters), 0 when it does not match. */
static size_t word_at(const char *s, size_t n, size_t i, const char *w, int whole)
{
    size_t k = 0, wl = strlen(w);
    if (i + wl > n) return 0;
    for (; k < wl; k++)
        if (lower(s[i + k]) != w[k]) return 0;
    if (whole) return i + k < n && is_wordish(s[i + k]) ? 0 : k;
    while (i + k < n && is_wordish(s[i + k])) k++;
    return k;
}

typedef struct { const char *word; int exp; int whole; int attached; } multiplier;

/* Multiplier words: whole words (or stems that take endings: "millions", "Millionen",
 * "миллиона"); the short abbreviations only written straight after the digits ("5m", "3bn"). */
static const multiplier multipliers[] = {
    { "thousand", 3, 0, 0 },  { "million", 6, 0, 0 },    { "billion", 9, 0, 0 },   { "trillion", 12, 0, 0 },
    { "millón", 6, 0, 0 },    { "millon", 6, 0, 0 },     { "milliard", 9, 0, 0 },  { "miliard", 9, 0, 0 },
    { "milion", 6, 0, 0 },    { "milhão", 6, 0, 0 },     { "milhões", 6, 0, 0 },   { "bilhão", 9, 0, 0 },
    { "bilhões", 9, 0, 0 },   { "tausend", 3, 0, 0 },    { "mille", 3, 1, 0 },     { "mil", 3, 1, 0 },
    { "миллион", 6, 0, 0 },   { "мільйон", 6, 0, 0 },    { "миллиард", 9, 0, 0 },  { "мільярд", 9, 0, 0 },
    { "млн", 6, 1, 0 },       { "млрд", 9, 1, 0 },       { "тысяч", 3, 0, 0 },     { "тисяч", 3, 0, 0 },
    { "тыс", 3, 1, 0 },       { "тис", 3, 1, 0 },        { "mln", 6, 1, 0 },       { "mld", 9, 1, 0 },
    { "mrd", 9, 1, 0 },       { "mio", 6, 1, 0 },       { "bn", 9, 1, 1 },         { "mn", 6, 1, 1 },        { "tn", 12, 1, 1 },
    { "m", 6, 1, 1 },         { "k", 3, 1, 1 },          { "b", 9, 1, 1 },
};

static const char *const percent_words[] = { "percent", "per cent", "pct", "por ciento", "pour cent", "prozent",
                                             "per cento", "por cento", "procent", "la sută", "la suta", "процент", "відсот",
                                             "τοις εκατό", NULL };

/* Currencies, as a symbol before the number or a word after it: one code for both, so "$5m" and
 * "5 million dollars" are the same terms. */
typedef struct { const char *word; const char *code; } currency;
static const currency currency_symbols[] = { { "$", "usd" }, { "£", "gbp" }, { "€", "eur" }, { "¥", "jpy" },
                                             { "₹", "inr" }, { "₽", "rub" }, { "₴", "uah" }, { NULL, NULL } };
static const currency currency_words[] = { { "dollar", "usd" }, { "pound", "gbp" }, { "euro", "eur" },
                                           { "евро", "eur" }, { "євро", "eur" }, { "доллар", "usd" },
                                           { "долар", "usd" }, { "рубл", "rub" }, { "гривен", "uah" },
                                           { "гривн", "uah" }, { "rupee", "inr" }, { "naira", "ngn" },
                                           { NULL, NULL } };

/* English number words: units and teens, then the tens. */
static const char *const small_words[] = { "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                           "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                                           "sixteen", "seventeen", "eighteen", "nineteen", NULL };
static const char *const tens_words[] = { "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
                                          "ninety", NULL };

/* A number being read: its digits before and after the decimal point (no separators). */
typedef struct { char ip[64], fp[64]; size_t ni, nf; } decimal;

static int dec_push(char *buf, size_t *n, char c)
{
    if (*n + 1 >= 64) return -1;
    buf[(*n)++] = c;
    buf[*n] = 0;
    return 0;
}

/* Reads digits with separators at s[i..n) into d; returns the bytes read, 0 when it is not a
 * number this knows how to read (then the text is left as it is). */
static size_t read_digits(const char *s, size_t n, size_t i, int comma_decimal, decimal *d)
{
    size_t j = i, groups = 0;
    char seps[16];
    size_t glen[17];
    size_t start[17];
    memset(d, 0, sizeof *d);
    for (;;) {
        start[groups] = j;
        while (j < n && is_digit(s[j])) j++;
        glen[groups] = j - start[groups];
        if (glen[groups] == 0 || groups == 16) return 0;
        groups++;
        if (j + 1 < n && (s[j] == ',' || s[j] == '.') && is_digit(s[j + 1]) && groups <= 15) {
            seps[groups - 1] = s[j];
            j++;
            continue;
        }
        break;
    }
    /* Which separator, if any, is the decimal point: the last one when it differs from the
     * others or is not followed by three digits; a lone one by the language's custom. */
    long dec = -1;
    size_t k = groups - 1;
    if (k >= 1) {
        char last = seps[k - 1];
        int all_same = 1;
        for (size_t g = 0; g + 1 < k; g++) if (seps[g] != last) all_same = 0;
        if (!all_same || glen[k] != 3) dec = (long)k;
        else if (k == 1) dec = (last == (comma_decimal ? ',' : '.')) ? (long)k : -1;
        /* every earlier group after the first must be a full thousands group */
        for (size_t g = 1; g < (dec >= 0 ? (size_t)dec : groups); g++) if (glen[g] != 3) return 0;
        if (dec >= 0)
            for (size_t g = 0; g + 1 < (size_t)dec; g++) if (seps[g] != seps[0]) return 0;
    }
    for (size_t g = 0; g < groups; g++)
        for (size_t x = 0; x < glen[g]; x++)
            if (dec_push((long)g == dec ? d->fp : d->ip, (long)g == dec ? &d->nf : &d->ni, s[start[g] + x])) return 0;
    return j - i;
}

/* Multiplies d by 10^exp (moves digits from the fraction into the integer part). */
static int dec_shift(decimal *d, int exp)
{
    for (int e = 0; e < exp; e++) {
        char c = '0';
        if (d->nf) {
            c = d->fp[0];
            memmove(d->fp, d->fp + 1, d->nf);
            d->nf--;
        }
        if (dec_push(d->ip, &d->ni, c)) return -1;
    }
    return 0;
}

/* Writes d canonically: no leading zeros, no trailing fraction zeros, 'd' for the decimal point
 * (a letter keeps "3d5" one token where "3.5" would be split), "pct" after a percentage. */
static void dec_emit(out_buf *o, decimal *d, int pct, const char *cur)
{
    while (d->nf && d->fp[d->nf - 1] == '0') d->fp[--d->nf] = 0;
    size_t lead = 0;
    while (lead + 1 < d->ni && d->ip[lead] == '0') lead++;
    emit(o, " ", 1);
    if (d->ni) emit(o, d->ip + lead, d->ni - lead);
    else emit(o, "0", 1);
    if (d->nf) { emit(o, "d", 1); emit(o, d->fp, d->nf); }
    if (pct) emit(o, "pct", 3);
    if (cur) { emit(o, " ", 1); emit(o, cur, strlen(cur)); }
    emit(o, " ", 1);
}

static size_t skip_spaces(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '-')) i++;
    /* a no-break or narrow no-break space (U+00A0, U+202F) between a number and its word */
    while (i + 1 < n && (unsigned char)s[i] == 0xc2 && (unsigned char)s[i + 1] == 0xa0) i += 2;
    while (i + 2 < n && (unsigned char)s[i] == 0xe2 && (unsigned char)s[i + 1] == 0x80 && (unsigned char)s[i + 2] == 0xaf) i += 3;
    return i;
}

/* After a number ending at s[i]: an optional multiplier and percent; returns the new end. */
static size_t read_suffixes(const char *s, size_t n, size_t i, decimal *d, int *pct, const char **cur)
{
    size_t j = skip_spaces(s, n, i), w;
    for (size_t m = 0; m < sizeof multipliers / sizeof *multipliers; m++) {
        const multiplier *mu = &multipliers[m];
        size_t at = mu->attached ? i : j;
        if ((w = word_at(s, n, at, mu->word, mu->whole))) {
            /* On a copy: a number too long to shift keeps its digits and its word as written. */
            decimal t = *d;
            if (dec_shift(&t, mu->exp) == 0) { *d = t; i = at + w; j = skip_spaces(s, n, i); }
            break;
        }
    }
    if (j < n && s[j] == '%') { *pct = 1; return j + 1; }
    if (i < n && s[i] == '%') { *pct = 1; return i + 1; }
    for (int p = 0; percent_words[p]; p++)
        if ((w = word_at(s, n, j, percent_words[p], 0))) { *pct = 1; return j + w; }
    for (int k = 0; !*cur && currency_words[k].word; k++)
        if ((w = word_at(s, n, j, currency_words[k].word, 0))) { *cur = currency_words[k].code; return j + w; }
    return i;
}

/* A currency symbol (and spaces) right before s[i]: its code, or NULL; *at is where it starts. */
static const char *currency_before(const char *s, size_t copied, size_t i, size_t *at)
{
    size_t j = i;
    while (j > copied && s[j - 1] == ' ') j--;
    for (int k = 0; currency_symbols[k].word; k++) {
        size_t l = strlen(currency_symbols[k].word);
        if (j >= copied + l && memcmp(s + j - l, currency_symbols[k].word, l) == 0) {
            *at = j - l;
            return currency_symbols[k].code;
        }
    }
    return NULL;
}

/* A percent sign or word right before s[i] ("%50" in Turkish, "yüzde 50"): *at is where it starts. */
static int percent_before(const char *s, size_t copied, size_t i, size_t *at)
{
    static const char *const before[] = { "%", "yüzde ", "yuzde ", NULL };
    for (int k = 0; before[k]; k++) {
        size_t l = strlen(before[k]);
        if (i >= copied + l && memcmp(s + i - l, before[k], l) == 0 && (i - l == 0 || !is_wordish(s[i - l - 1]))) {
            *at = i - l;
            return 1;
        }
    }
    return 0;
}

/* An English number word (or "twenty-five") at s[i]: its value into d and the bytes read. */
static size_t read_number_word(const char *s, size_t n, size_t i, decimal *d)
{
    size_t w;
    int value = -1;
    size_t used = 0;
    for (int t = 0; tens_words[t]; t++)
        if ((w = word_at(s, n, i, tens_words[t], 1))) {
            value = 20 + 10 * t;
            used = w;
            size_t j = i + w;
            if (j < n && (s[j] == '-' || s[j] == ' ')) {
                for (int u = 1; u < 10; u++)
                    if ((w = word_at(s, n, j + 1, small_words[u], 1))) { value += u; used = j + 1 + w - i; break; }
            }
            break;
        }
    if (value < 0)
        for (int u = 0; small_words[u]; u++)
            if ((w = word_at(s, n, i, small_words[u], 1))) { value = u; used = w; break; }
    /* "a thousand", "a million": the article stands for one before a multiplier */
    if (value < 0 && (w = word_at(s, n, i, "a", 1)) && i + 2 < n && s[i + 1] == ' ')
        for (size_t m = 0; m < sizeof multipliers / sizeof *multipliers; m++)
            if (!multipliers[m].attached && multipliers[m].exp >= 3 && word_at(s, n, i + 2, multipliers[m].word, multipliers[m].whole)) {
                value = 1;
                used = 1;
                break;
            }
    if (value < 0) return 0;
    memset(d, 0, sizeof *d);
    char buf[4];
    int len = value >= 10 ? 2 : 1;
    buf[0] = (char)(value >= 10 ? '0' + value / 10 : '0' + value);
    buf[1] = (char)('0' + value % 10);
    for (int k = 0; k < len; k++) dec_push(d->ip, &d->ni, buf[k]);
    return used;
}

char *cd_match_canon_numbers(const char *s, size_t n, const char *lang, size_t *out_n)
{
    out_buf o = { 0 };
    int comma = decimal_comma(lang);
    size_t i = 0, copied = 0;
    emit(&o, "", 0);
    while (i < n && !o.oom) {
        size_t at;
        int starts_word = i == 0 || !is_wordish(s[i - 1]) || currency_before(s, copied, i, &at);
        if (!starts_word) { i++; continue; }
        decimal d;
        size_t used = 0;
        if (is_digit(s[i])) used = read_digits(s, n, i, comma, &d);
        else if (is_alpha(s[i])) used = read_number_word(s, n, i, &d);
        size_t end = i + used;
        /* a number glued to letters ("covid19", "g7", "5g") is a name, not a quantity, unless
         * the letters are a multiplier ("5m") */
        if (used && end < n && is_wordish(s[end]) && !is_digit(s[i])) used = 0;
        if (!used) { i++; continue; }
        int pct = 0;
        size_t from = i;
        const char *cur = currency_before(s, copied, i, &at);
        if (cur) from = at;
        else if (percent_before(s, copied, i, &at)) { pct = 1; from = at; }
        size_t after = read_suffixes(s, n, end, &d, &pct, &cur);
        if (after < n && is_wordish(s[after]) && is_wordish(s[after - 1])) { i++; continue; }
        emit(&o, s + copied, from - copied);
        dec_emit(&o, &d, pct, cur);
        i = copied = after;
    }
    emit(&o, s + copied, n - copied);
    if (o.oom) { free(o.p); return NULL; }
    *out_n = o.n;
    return o.p;
}
