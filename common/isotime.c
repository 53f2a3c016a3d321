/* isotime: ISO 8601 times with their precision kept, as periods [start_us, end_us).
 *
 * Civil-date arithmetic is done here on the proleptic Gregorian calendar rather than with
 * mktime/timegm, so results never depend on the process's TZ or locale.
 *
 * Choices the header leaves open:
 * - Seconds run 00-59: a leap second ":60" is rejected (Unix time cannot represent it).
 * - Zone offsets run up to 14:00 either way, minutes 00-59; "-00:00" is read as UTC.
 * - A time whose UTC form falls outside years 0001-9999 (e.g. "0001-01-01T00:30+01:00") is
 *   rejected, so that every canonical text is again a valid input.
 * - Fractions keep every digit given (1-9) in the canonical text. Past 6 digits, start_us is
 *   truncated to the microsecond and end_us rounded up, so the period in microseconds still
 *   covers the instant given and is never empty.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "isotime.h"

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const unsigned char len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Days from 0001-01-01 to the first day of year y (y >= 1). */
static int64_t days_before_year(int64_t y)
{
    int64_t p = y - 1;
    return 365 * p + p / 4 - p / 100 + p / 400;
}

/* Days from 1970-01-01 to y-m-d (negative before it). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t days = days_before_year(y) - days_before_year(1970);
    for (int i = 1; i < m; i++) days += days_in_month(y, i);
    return days + d - 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Inverse of days_from_civil, for any day count: walks 400-, 100-, 4- and 1-year cycles. */
static void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t n = days + days_before_year(1970);         /* days since 0001-01-01 */
    int64_t cycles400 = floor_div(n, 146097);
    int64_t r = n - cycles400 * 146097;                 /* 0 .. 146096 */
    int64_t c100 = r / 36524;
    if (c100 == 4) c100 = 3;                            /* last day of a 400-year cycle */
    r -= c100 * 36524;
    int64_t c4 = r / 1461;
    r -= c4 * 1461;
    int64_t c1 = r / 365;
    if (c1 == 4) c1 = 3;                                /* last day of a leap year */
    r -= c1 * 365;
    *y = 1 + 400 * cycles400 + 100 * c100 + 4 * c4 + c1;
    int month = 1;
    while (r >= days_in_month(*y, month)) r -= days_in_month(*y, month++);
    *m = month;
    *d = (int)r + 1;
}

/* Reads exactly `width` decimal digits at s[*i] (bounded by n); returns -1 if they are not there. */
static int64_t digits(const char *s, size_t n, size_t *i, int width)
{
    int64_t v = 0;
    if (n - *i < (size_t)width) return -1;
    for (int k = 0; k < width; k++) {
        char c = s[*i + (size_t)k];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    *i += (size_t)width;
    return v;
}

/* Reads a "-NN" component in [lo, hi]; returns it or -1. */
static int dash_field(const char *s, size_t n, size_t *i, int lo, int hi)
{
    if (*i >= n || s[*i] != '-') return -1;
    (*i)++;
    int64_t v = digits(s, n, i, 2);
    return v < lo || v > hi ? -1 : (int)v;
}

/* Reads the zone at s[*i]: Z, +hh:mm, -hh:mm, +hhmm or +hh. Stores the offset east of UTC in
 * minutes; returns 0, or -1 when there is no valid zone. */
static int parse_zone(const char *s, size_t n, size_t *i, int *offset_min)
{
    if (*i >= n) return -1;
    char c = s[*i];
    if (c == 'Z' || c == 'z') { (*i)++; *offset_min = 0; return 0; }
    if (c != '+' && c != '-') return -1;
    (*i)++;
    int64_t hh = digits(s, n, i, 2), mm = 0;
    if (hh < 0) return -1;
    if (*i < n) {
        if (s[*i] == ':') (*i)++;
        if ((mm = digits(s, n, i, 2)) < 0) return -1;
    }
    if (mm > 59 || hh * 60 + mm > 14 * 60) return -1;
    *offset_min = (int)((c == '-' ? -1 : 1) * (hh * 60 + mm));
    return 0;
}

int cd_time_parse(const char *s, size_t n, cd_time *out)
{
    size_t i = 0;
    int month = 1, day = 1, hour = 0, minute = 0, second = 0, offset_min = 0;
    int frac_digits = 0;
    int64_t frac_ns = 0;
    const char *frac = NULL;

    if (s == NULL) return -1;
    int64_t year = digits(s, n, &i, 4);
    if (year < 1) return -1;
    cd_time_prec prec = CD_PREC_YEAR;
    if (i < n) {
        if ((month = dash_field(s, n, &i, 1, 12)) < 0) return -1;
        prec = CD_PREC_MONTH;
    }
    if (i < n) {
        if ((day = dash_field(s, n, &i, 1, days_in_month(year, month))) < 0) return -1;
        prec = CD_PREC_DAY;
    }
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return -1;
        i++;
        int64_t hh = digits(s, n, &i, 2);
        if (hh < 0 || hh > 23 || i >= n || s[i] != ':') return -1;
        i++;
        int64_t mi = digits(s, n, &i, 2);
        if (mi < 0 || mi > 59) return -1;
        hour = (int)hh, minute = (int)mi;
        prec = CD_PREC_MINUTE;
        if (i < n && s[i] == ':') {
            i++;
            int64_t ss = digits(s, n, &i, 2);
            if (ss < 0 || ss > 59) return -1;
            second = (int)ss;
            prec = CD_PREC_SECOND;
            if (i < n && s[i] == '.') {
                frac = s + ++i;
                while (i < n && s[i] >= '0' && s[i] <= '9' && frac_digits < 10) {
                    frac_ns = frac_ns * 10 + (s[i] - '0');
                    frac_digits++, i++;
                }
                if (frac_digits < 1 || frac_digits > 9) return -1;
                for (int k = frac_digits; k < 9; k++) frac_ns *= 10;
                prec = CD_PREC_FRACTION;
            }
        }
        if (parse_zone(s, n, &i, &offset_min) < 0) return -1;
    }
    if (i != n) return -1;

    int64_t start_s = days_from_civil(year, month, day) * 86400
                      + hour * 3600 + minute * 60 + second - (int64_t)offset_min * 60;
    out->start_us = start_s * US_PER_SEC + frac_ns / 1000;   /* sub-microsecond digits dropped */
    switch (prec) {
    case CD_PREC_YEAR: out->end_us = days_from_civil(year + 1, 1, 1) * US_PER_DAY; break;
    case CD_PREC_MONTH:
        out->end_us = (month == 12 ? days_from_civil(year + 1, 1, 1)
                                   : days_from_civil(year, month + 1, 1)) * US_PER_DAY;
        break;
    case CD_PREC_DAY: out->end_us = out->start_us + US_PER_DAY; break;
    case CD_PREC_MINUTE: out->end_us = out->start_us + 60 * US_PER_SEC; break;
    case CD_PREC_SECOND: out->end_us = out->start_us + US_PER_SEC; break;
    default: {
        int64_t unit_ns = 1;                            /* one unit of the last digit given */
        for (int k = frac_digits; k < 9; k++) unit_ns *= 10;
        out->end_us = start_s * US_PER_SEC + (frac_ns + unit_ns + 999) / 1000;   /* rounded up */
    }
    }
    out->prec = prec;

    /* Canonical text: the UTC date and time, to the precision given. */
    int64_t y;
    int m, d;
    civil_from_days(floor_div(start_s, 86400), &y, &m, &d);
    if (y < 1 || y > 9999) return -1;
    int64_t sod = start_s - floor_div(start_s, 86400) * 86400;   /* second of the UTC day */
    int len;
    switch (prec) {
    case CD_PREC_YEAR: len = snprintf(out->canon, sizeof out->canon, "%04d", (int)y); break;
    case CD_PREC_MONTH: len = snprintf(out->canon, sizeof out->canon, "%04d-%02d", (int)y, m); break;
    case CD_PREC_DAY:
        len = snprintf(out->canon, sizeof out->canon, "%04d-%02d-%02d", (int)y, m, d);
        break;
    case CD_PREC_MINUTE:
        len = snprintf(out->canon, sizeof out->canon, "%04d-%02d-%02dT%02d:%02dZ", (int)y, m, d,
                       (int)(sod / 3600), (int)(sod / 60 % 60));
        break;
    case CD_PREC_SECOND:
        len = snprintf(out->canon, sizeof out->canon, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m,
                       d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
        break;
    default:
        len = snprintf(out->canon, sizeof out->canon, "%04d-%02d-%02dT%02d:%02d:%02d.%.*sZ",
                       (int)y, m, d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
                       frac_digits, frac);
    }
    return len > 0 && (size_t)len < sizeof out->canon ? 0 : -1;
}

/* Writes v (0 <= v < 10^width) as exactly width decimal digits and advances *p. */
static void put_digits(char **p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) { (*p)[i] = (char)('0' + v % 10); v /= 10; }
    *p += width;
}

char *cd_time_format_us(int64_t us, char *buf)
{
    int64_t days = floor_div(us, US_PER_DAY);
    int64_t in_day = us % US_PER_DAY;                   /* not us - days * ...: INT64_MIN */
    if (in_day < 0) in_day += US_PER_DAY;
    int64_t sod = in_day / US_PER_SEC, frac = in_day % US_PER_SEC;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        /* Outside the years claims carry: the general (slower) formatting. int64 microseconds
         * span about +-292,000 years, so the year always fits an int. */
        int len = snprintf(buf, 40, "%04d-%02d-%02dT%02d:%02d:%02d", (int)y, m, d, (int)(sod / 3600),
                           (int)(sod / 60 % 60), (int)(sod % 60));
        if (len < 0 || len > 28) len = 28;
        if (frac) snprintf(buf + len, (size_t)(40 - len), ".%06dZ", (int)frac);
        else snprintf(buf + len, (size_t)(40 - len), "Z");
        return buf;
    }
    /* Every claim read formats a time or two: digits by hand, no snprintf. */
    char *p = buf;
    put_digits(&p, y, 4); *p++ = '-';
    put_digits(&p, m, 2); *p++ = '-';
    put_digits(&p, d, 2); *p++ = 'T';
    put_digits(&p, sod / 3600, 2); *p++ = ':';
    put_digits(&p, sod / 60 % 60, 2); *p++ = ':';
    put_digits(&p, sod % 60, 2);
    if (frac) { *p++ = '.'; put_digits(&p, frac, 6); }
    *p++ = 'Z';
    *p = 0;
    return buf;
}

int64_t cd_time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

/* ---- times as publishers write them (importers; the wire contract stays strict) ---- */

int cd_time_parse_loose(const char *s, size_t n, cd_time *out)
{
    char buf[64];
    size_t i = 0, o = 0;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    /* The year, then up to two '-'-separated fields of one or two digits, padded to two. */
    size_t y0 = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i - y0 != 4) return -1;
    memcpy(buf, s + y0, 4);
    o = 4;
    for (int part = 0; part < 2 && i < n && s[i] == '-'; part++) {
        size_t d0 = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        size_t w = i - d0;
        if (w < 1 || w > 2) return -1;
        buf[o++] = '-';
        if (w == 1) buf[o++] = '0';
        memcpy(buf + o, s + d0, w);
        o += w;
    }
    if (i < n) {
        if (o != 10 || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) return -1;
        /* A time of day: an hour of one digit is padded; without a zone only the date is kept
         * (the date as the publisher gave it, no conversion to UTC). */
        size_t t0 = i + 1, h = t0;
        while (h < n && s[h] >= '0' && s[h] <= '9') h++;
        if (h - t0 < 1 || h - t0 > 2 || h >= n || s[h] != ':') return -1;
        int zoned = 0;
        for (size_t k = h; k < n; k++)
            if (s[k] == 'Z' || s[k] == 'z' || s[k] == '+' || s[k] == '-') zoned = 1;
        if (zoned) {
            if (n - t0 + o + 3 > sizeof buf) return -1;
            buf[o++] = 'T';
            if (h - t0 == 1) buf[o++] = '0';
            memcpy(buf + o, s + t0, n - t0);
            o += n - t0;
        } else {
            /* Still a valid time of day? Check it with a UTC zone, then keep the date. */
            char probe[64];
            cd_time t;
            if (n - t0 + 16 > sizeof probe) return -1;
            int pn = snprintf(probe, sizeof probe, "%.10sT%s%.*sZ", buf, h - t0 == 1 ? "0" : "",
                              (int)(n - t0), s + t0);
            if (pn < 0 || cd_time_parse(probe, (size_t)pn, &t) < 0) return -1;
        }
    }
    return cd_time_parse(buf, o, out);
}
