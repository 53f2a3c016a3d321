/* isotime: ISO 8601 times that keep their precision (PROTOCOL.md "Values").
 *
 * Accepted: "YYYY", "YYYY-MM", "YYYY-MM-DD", "YYYY-MM-DDThh:mm", "...Thh:mm:ss", "...Thh:mm:ss.fff"
 * (1-9 fraction digits), each time-of-day form with a zone: "Z", "+hh:mm", "-hh:mm", "+hhmm" or
 * "+hh". A lower-case 't'/'z' or a space instead of 'T' are accepted too. Years 0001-9999.
 * Times of day are normalised to UTC; the canonical text keeps the precision given:
 *   "2018-08-08T14:05:09+03:00" -> "2018-08-08T11:05:09Z", "2018-08" -> "2018-08".
 * A time of day without a zone is invalid (ambiguous for a newsroom spread over time zones).
 */
#ifndef CLAIMD_ISOTIME_H
#define CLAIMD_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CD_PREC_YEAR = 1, CD_PREC_MONTH, CD_PREC_DAY, CD_PREC_MINUTE, CD_PREC_SECOND, CD_PREC_FRACTION
} cd_time_prec;

typedef struct {
    int64_t start_us;        /* first instant of the period, microseconds since 1970-01-01Z */
    int64_t end_us;          /* first instant after the period (exclusive) */
    cd_time_prec prec;
    char canon[40];          /* canonical text, NUL-terminated */
} cd_time;

/* Parses s[0..n) into *out. Returns 0, or -1 if it is not a valid time (then *out is undefined). */
int cd_time_parse(const char *s, size_t n, cd_time *out);

/* The same, for times as publishers write them (ClaimReview, CSV): months, days and hours of
 * one digit ("2021-7-20", "2021-07-20T9:05Z") are padded, and a time of day without a zone keeps
 * only its date ("2021-07-20T10:00:00" -> "2021-07-20": the date as given, no zone conversion).
 * Impossible dates (month 13, 31 April) are still -1. Importers only: the daemon is strict. */
int cd_time_parse_loose(const char *s, size_t n, cd_time *out);

/* Formats a microsecond UTC instant as "YYYY-MM-DDThh:mm:ss.ffffffZ" (fraction dropped when 0)
 * into buf (>= 40 bytes); returns buf. Used for server-side stamps such as recorded_at. */
char *cd_time_format_us(int64_t us, char *buf);

/* The current time in microseconds since the epoch (CLOCK_REALTIME). */
int64_t cd_time_now_us(void);

#endif
