/* Tests for common/isotime.c: each precision and its period, zones, leap days, invalid inputs,
 * canonical text, ordering, and formatting of server-side stamps. */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "isotime.h"
#include "tap.h"

#define S(x) (INT64_C(x) * 1000000)   /* seconds to microseconds */

static int parse(const char *s, cd_time *t)
{
    return cd_time_parse(s, strlen(s), t);
}

/* Parses s and checks the whole result; one test. */
static void check(const char *s, const char *canon, cd_time_prec prec, int64_t start, int64_t end)
{
    cd_time t;
    memset(&t, 0, sizeof t);
    int r = parse(s, &t);
    if (!ok(r == 0 && strcmp(t.canon, canon) == 0 && t.prec == prec && t.start_us == start
                && t.end_us == end,
            "\"%s\" -> \"%s\" [%lld, %lld)", s, canon, (long long)start, (long long)end))
        diag("  got r=%d \"%s\" prec=%d [%lld, %lld)", r, t.canon, (int)t.prec,
             (long long)t.start_us, (long long)t.end_us);
}

static void test_precisions(void)
{
    check("2018", "2018", CD_PREC_YEAR, S(1514764800), S(1546300800));
    check("2018-08", "2018-08", CD_PREC_MONTH, S(1533081600), S(1535760000));
    check("2018-12", "2018-12", CD_PREC_MONTH, S(1543622400), S(1546300800));
    check("2018-08-08", "2018-08-08", CD_PREC_DAY, S(1533686400), S(1533772800));
    check("2018-08-08T14:05Z", "2018-08-08T14:05Z", CD_PREC_MINUTE, S(1533737100), S(1533737160));
    check("2018-08-08T14:05:09Z", "2018-08-08T14:05:09Z", CD_PREC_SECOND, S(1533737109),
          S(1533737110));
    check("2018-08-08T14:05:09.5Z", "2018-08-08T14:05:09.5Z", CD_PREC_FRACTION,
          S(1533737109) + 500000, S(1533737109) + 600000);
    check("2018-08-08T14:05:09.120Z", "2018-08-08T14:05:09.120Z", CD_PREC_FRACTION,
          S(1533737109) + 120000, S(1533737109) + 121000);
    check("2018-08-08T14:05:09.123456Z", "2018-08-08T14:05:09.123456Z", CD_PREC_FRACTION,
          S(1533737109) + 123456, S(1533737109) + 123457);
    /* Past microseconds: digits kept in the text, start truncated, end rounded up. */
    check("2018-08-08T14:05:09.1234567Z", "2018-08-08T14:05:09.1234567Z", CD_PREC_FRACTION,
          S(1533737109) + 123456, S(1533737109) + 123457);
    check("2018-08-08T14:05:09.123456999Z", "2018-08-08T14:05:09.123456999Z", CD_PREC_FRACTION,
          S(1533737109) + 123456, S(1533737109) + 123457);
    check("2018-08-08T14:05:09.999999999Z", "2018-08-08T14:05:09.999999999Z", CD_PREC_FRACTION,
          S(1533737109) + 999999, S(1533737110));
    check("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z", CD_PREC_FRACTION, -500000, -400000);
    check("1970", "1970", CD_PREC_YEAR, 0, S(31536000));
    check("0001", "0001", CD_PREC_YEAR, S(-62135596800), S(-62104060800));
    check("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999Z", CD_PREC_FRACTION,
          S(253402300799) + 999999, S(253402300800));
}

static void test_zones(void)
{
    check("2018-08-08T14:05:09+03:00", "2018-08-08T11:05:09Z", CD_PREC_SECOND, S(1533726309),
          S(1533726310));
    check("2018-08-08T14:05+0300", "2018-08-08T11:05Z", CD_PREC_MINUTE, S(1533726300),
          S(1533726360));
    check("2018-08-08T14:05+03", "2018-08-08T11:05Z", CD_PREC_MINUTE, S(1533726300), S(1533726360));
    check("2018-08-08T14:05-05:30", "2018-08-08T19:35Z", CD_PREC_MINUTE, S(1533756900),
          S(1533756960));
    check("2018-08-08T14:05:09.25+05:45", "2018-08-08T08:20:09.25Z", CD_PREC_FRACTION,
          S(1533716409) + 250000, S(1533716409) + 260000);
    check("2018-08-08t14:05z", "2018-08-08T14:05Z", CD_PREC_MINUTE, S(1533737100), S(1533737160));
    check("2018-08-08 14:05Z", "2018-08-08T14:05Z", CD_PREC_MINUTE, S(1533737100), S(1533737160));
    check("2018-08-08T14:05-00:00", "2018-08-08T14:05Z", CD_PREC_MINUTE, S(1533737100),
          S(1533737160));
    /* A zone shift can move the date, month and year. */
    check("2018-01-01T01:00+03:00", "2017-12-31T22:00Z", CD_PREC_MINUTE, S(1514757600),
          S(1514757660));
    check("2018-12-31T23:30-01:00", "2019-01-01T00:30Z", CD_PREC_MINUTE, S(1546302600),
          S(1546302660));
    check("2018-02-28T23:00-02:00", "2018-03-01T01:00Z", CD_PREC_MINUTE, S(1519866000),
          S(1519866060));
    check("2016-02-28T23:00-02:00", "2016-02-29T01:00Z", CD_PREC_MINUTE, S(1456707600),
          S(1456707660));
    check("2018-08-08T00:00+14:00", "2018-08-07T10:00Z", CD_PREC_MINUTE, S(1533636000),
          S(1533636060));
    check("2018-08-08T00:00-14:00", "2018-08-08T14:00Z", CD_PREC_MINUTE, S(1533736800),
          S(1533736860));
}

static void test_leap_days(void)
{
    cd_time t;
    ok(parse("2016-02-29", &t) == 0, "2016-02-29 (divisible by 4) is valid");
    ok(parse("2000-02-29", &t) == 0, "2000-02-29 (divisible by 400) is valid");
    ok(parse("2400-02-29", &t) == 0, "2400-02-29 is valid");
    ok(parse("2018-02-29", &t) == -1, "2018-02-29 is invalid");
    ok(parse("1900-02-29", &t) == -1, "1900-02-29 (century) is invalid");
    ok(parse("2100-02-29", &t) == -1, "2100-02-29 (century) is invalid");
    check("2016-02-29", "2016-02-29", CD_PREC_DAY, S(1456704000), S(1456790400));
    check("2016-02", "2016-02", CD_PREC_MONTH, S(1454284800), S(1456790400));
    check("2016", "2016", CD_PREC_YEAR, S(1451606400), S(1483228800));
}

static void test_invalid(void)
{
    static const char *const bad[] = {
        "", "2018-02-30", "2018-04-31", "2018-13", "2018-00", "2018-08-00", "2018-08-32",
        "2018-08-08T14:05", "2018-08-08T14:05:09", "2018-08-08T14:05:09.5",
        "2018-08-08T14:05Zjunk", "2018-08-08junk", "2018x", "2018-", "2018-08-", "2018-08-08T",
        "0000", "201", "18-08-08", "2018-8-8", "20180808", "+2018", " 2018", "2018 ",
        "2018-08-08T24:00Z", "2018-08-08T14:60Z", "2018-08-08T14:05:60Z", "2018-08-08T1:05Z",
        "2018-08-08T14Z", "2018-08-08Z", "2018-08-08T14:05.5Z", "2018-08-08T14:05:09.Z",
        "2018-08-08T14:05:09.1234567890Z", "2018-08-08T14:05:09,5Z", "2018-08-08T14:05:9Z",
        "2018-08-08T14:05+14:01", "2018-08-08T14:05+15", "2018-08-08T14:05+03:60",
        "2018-08-08T14:05+3", "2018-08-08T14:05+03:", "2018-08-08T14:05+03:0", "2018-08-08T14:05+",
        "2018-08-08T14:05UTC", "2018-08-08X14:05Z", "0001-01-01T00:30+01:00",
        "9999-12-31T23:30-01:00", "２０１８",
    };
    cd_time t;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(parse(bad[i], &t) == -1, "invalid: \"%s\"", bad[i]);
    ok(cd_time_parse("2018\0", 5, &t) == -1, "invalid: embedded NUL");
    ok(cd_time_parse(NULL, 0, &t) == -1, "invalid: NULL");
    /* Only n bytes are read: a longer buffer with a valid prefix of length n parses. */
    ok(cd_time_parse("2018-08-08T14:05Zjunk", 17, &t) == 0 && strcmp(t.canon, "2018-08-08T14:05Z") == 0,
       "the first 17 bytes of \"2018-08-08T14:05Zjunk\" parse");
    ok(cd_time_parse("2018-08-08", 7, &t) == 0 && t.prec == CD_PREC_MONTH,
       "the first 7 bytes of \"2018-08-08\" are a month");
}

/* start_us orders periods by their first instant, whatever the zone and precision. */
static void test_ordering(void)
{
    static const char *const in_order[] = {
        "0001", "1066-10-14", "1969-07-20T20:17Z", "1969-12-31T23:59:59.999999Z", "1970",
        "1970-01-01T00:00:00.000001Z", "2017-12-31T23:59Z", "2018-01-01T00:59:30+01:00",
        "2018", "2018-01-01T00:00:00.001Z", "2018-01-01T03:00:01+03:00", "2018-08",
        "2018-08-08T10:00:00-03:00", "2018-08-08T13:00:00.5Z", "2018-08-08T14:05Z", "2018-08-09",
        "9999-12-31T23:59:59.999999Z",
    };
    size_t n = sizeof in_order / sizeof in_order[0];
    int sorted = 1;
    cd_time prev, cur;
    if (parse(in_order[0], &prev) != 0) sorted = 0;
    for (size_t i = 1; i < n && sorted; i++) {
        if (parse(in_order[i], &cur) != 0 || cur.start_us <= prev.start_us) {
            diag("out of order at \"%s\"", in_order[i]);
            sorted = 0;
        }
        prev = cur;
    }
    ok(sorted, "start_us strictly increases over %zu times in chronological order", n);

    cd_time a, b;
    ok(parse("2018-01-01T03:00+03:00", &a) == 0 && parse("2018", &b) == 0
           && a.start_us == b.start_us && a.end_us < b.end_us,
       "same first instant, different precision: same start, different end");

    /* Every canonical text parses back to itself with the same period. */
    static const char *const samples[] = {
        "2018", "2018-08", "2018-08-08", "2018-08-08T14:05+03:00", "2018-01-01T00:30:01+01:00",
        "2018-08-08T14:05:09.000100-12:00", "2018-08-08T14:05:09.987654321Z",
    };
    int stable = 1;
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        if (parse(samples[i], &a) != 0 || parse(a.canon, &b) != 0 || strcmp(a.canon, b.canon) != 0
            || a.start_us != b.start_us || a.end_us != b.end_us || a.prec != b.prec) {
            diag("not stable: \"%s\"", samples[i]);
            stable = 0;
        }
    }
    ok(stable, "canonical texts are fixed points of parsing");
}

static void test_format(void)
{
    char buf[40];
    is_str(cd_time_format_us(0, buf), "1970-01-01T00:00:00Z", "format 0");
    is_str(cd_time_format_us(S(1533726309) + 123456, buf), "2018-08-08T11:05:09.123456Z",
           "format with microseconds");
    is_str(cd_time_format_us(S(1533726309) + 1, buf), "2018-08-08T11:05:09.000001Z",
           "format keeps leading zeros of the fraction");
    is_str(cd_time_format_us(-1, buf), "1969-12-31T23:59:59.999999Z", "format -1 us");
    is_str(cd_time_format_us(S(951782400), buf), "2000-02-29T00:00:00Z", "format a leap day");
    is_str(cd_time_format_us(S(-62135596800), buf), "0001-01-01T00:00:00Z", "format year 1");
    ok(cd_time_format_us(INT64_MAX, buf) == buf && strlen(buf) < 40, "format INT64_MAX fits");
    ok(cd_time_format_us(INT64_MIN, buf) == buf && strlen(buf) < 40, "format INT64_MIN fits");

    /* Format then parse gives the same instant, for every day of 1600-2500 and a stride of
     * days over the whole range of years, at varying times of day. */
    int64_t first = -11676096000LL / 86400, last = 16725225600LL / 86400;  /* 1600, 2500 */
    int bad = 0;
    cd_time t;
    for (int64_t day = -719162; day < 2932897 && bad < 5; day += (day >= first && day < last) ? 1 : 97) {
        int64_t sod = ((day * 7919) % 86400 + 86400) % 86400;
        int64_t frac = day % 3 ? ((day * 104729) % 1000000 + 1000000) % 1000000 : 0;
        int64_t us = (day * 86400 + sod) * INT64_C(1000000) + frac;
        cd_time_format_us(us, buf);
        if (parse(buf, &t) != 0 || t.start_us != us) {
            diag("round trip failed for %lld: \"%s\"", (long long)us, buf);
            bad++;
        }
    }
    is_int(bad, 0, "format -> parse round trip from year 1 to 9999");

    int64_t now = cd_time_now_us();
    int64_t wall = (int64_t)time(NULL) * 1000000;
    ok(now > S(1577836800) && now - wall < S(2) && wall - now < S(2),
       "cd_time_now_us is the wall clock in microseconds");
}

/* Times as publishers write them: padded, zoneless date-times keep their date, still strict
 * about what a date can be. */
static void test_loose(void)
{
    static const struct { const char *in, *canon; } good[] = {
        {"2021-7-20", "2021-07-20"}, {"2021-07-9", "2021-07-09"}, {"2021-7", "2021-07"},
        {"2021", "2021"}, {" 2021-7-20 ", "2021-07-20"}, {"2021-07-20T10:00:00", "2021-07-20"},
        {"2021-7-20T23:59:59.123456", "2021-07-20"}, {"2021-07-20 9:05", "2021-07-20"},
        {"2021-07-20T9:05Z", "2021-07-20T09:05Z"}, {"2021-7-20T10:00:00+02:00", "2021-07-20T08:00:00Z"},
        {"2022-03-09T18:42:07.123+01:00", "2022-03-09T17:42:07.123Z"},
        {"2021-07-20T10:00:00-0400", "2021-07-20T14:00:00Z"},
    };
    static const char *const bad[] = {"2021-13-01", "2021-02-30", "2021-7-32", "21-7-20", "2021-007-01",
                                      "2021-07-20T25:00:00", "2021-07-20T10:61", "2021-07-20Tnoon",
                                      "July 20, 2021", "2021-07-20T", "", "2021-07-20T10:00:00+25:00"};
    cd_time t;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ok(cd_time_parse_loose(good[i].in, strlen(good[i].in), &t) == 0 && !strcmp(t.canon, good[i].canon),
           "loose: \"%s\" is %s", good[i].in, good[i].canon);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(cd_time_parse_loose(bad[i], strlen(bad[i]), &t) == -1, "loose: \"%s\" is invalid", bad[i]);
    ok(cd_time_parse("2021-7-20", 9, &t) == -1, "the strict parser (the daemon's) still refuses 2021-7-20");
}

int main(void)
{
    test_loose();
    test_precisions();
    test_zones();
    test_leap_days();
    test_invalid();
    test_ordering();
    test_format();
    return done_testing();
}
