/* tap: a tiny Test Anything Protocol helper for the unit test programs (one program per file).
 *
 *   plan(3); ok(x == 1, "x is one"); is_int(f(), 2, "f"); is_str(s, "a", "s");
 *   return done_testing();
 *
 * plan() is optional: without it done_testing() prints the plan at the end. done_testing() returns
 * the exit code: 0 when every test passed and the count matches the plan, else 1. */
#ifndef CLAIMD_TAP_H
#define CLAIMD_TAP_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int tap_run, tap_failed, tap_planned = -1;

/* xorshift64 (13, 7, 17): the tests' fixed-seed generator, so a failure reproduces. Advances
 * *state (never 0) and returns it. */
static inline uint64_t tap_xorshift64(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Announces how many tests will run ("1..n"). */
static inline void plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
}

__attribute__((format(printf, 2, 0)))
static inline int tap_vreport(int pass, const char *fmt, va_list ap)
{
    tap_run++;
    if (!pass) tap_failed++;
    printf("%sok %d - ", pass ? "" : "not ", tap_run);
    vprintf(fmt, ap);
    putchar('\n');
    return pass;
}

/* Reports one test; returns cond so callers can add diagnostics on failure. */
__attribute__((format(printf, 2, 3)))
static inline int ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = tap_vreport(cond != 0, fmt, ap);
    va_end(ap);
    return r;
}

/* Prints a diagnostic line ("# ..."), which TAP consumers show but do not count. */
__attribute__((format(printf, 1, 2)))
static inline void diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

/* Passes when got == want; shows both on failure. */
__attribute__((format(printf, 3, 4)))
static inline int is_int(long long got, long long want, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = tap_vreport(got == want, fmt, ap);
    va_end(ap);
    if (!r) diag("  got: %lld, expected: %lld", got, want);
    return r;
}

/* Passes when both strings are equal (two NULLs are equal); shows both on failure. */
__attribute__((format(printf, 3, 4)))
static inline int is_str(const char *got, const char *want, const char *fmt, ...)
{
    int same = (got == NULL || want == NULL) ? got == want : strcmp(got, want) == 0;
    va_list ap;
    va_start(ap, fmt);
    int r = tap_vreport(same, fmt, ap);
    va_end(ap);
    if (!r) diag("  got: \"%s\", expected: \"%s\"", got ? got : "(null)", want ? want : "(null)");
    return r;
}

/* Ends the run: prints the plan if none was given, and returns the process exit code. */
static inline int done_testing(void)
{
    if (tap_planned < 0) printf("1..%d\n", tap_run);
    else if (tap_planned != tap_run) {
        diag("planned %d tests but ran %d", tap_planned, tap_run);
        return 1;
    }
    if (tap_failed) diag("failed %d of %d tests", tap_failed, tap_run);
    return tap_failed ? 1 : 0;
}

#endif
