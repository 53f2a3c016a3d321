/* log: stderr lines with a syslog-style priority prefix ("<3>") when stderr is the journal,
 * so journald keeps the level; a plain "level:" word otherwise. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"

static cd_log_level min_level = CD_LOG_INFO;
static int use_priority_prefix = -1;

static const char *const level_names[] = { "debug", "info", "warn", "error" };
static const int syslog_prio[] = { 7, 6, 4, 3 };

void cd_log_set_level(cd_log_level level) { min_level = level; }

int cd_log_parse_level(const char *name, cd_log_level *out)
{
    for (int i = 0; i <= CD_LOG_ERROR; i++)
        if (strcmp(name, level_names[i]) == 0) { *out = (cd_log_level)i; return 0; }
    return -1;
}

void cd_log(cd_log_level level, const char *fmt, ...)
{
    if (level < min_level) return;
    if (use_priority_prefix < 0) use_priority_prefix = getenv("JOURNAL_STREAM") != NULL;
    char line[1024];
    int n;
    if (use_priority_prefix)
        n = snprintf(line, sizeof line, "<%d>", syslog_prio[level]);
    else
        n = snprintf(line, sizeof line, "claimd[%d]: %s: ", (int)getpid(), level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    /* One write per line keeps lines from different threads whole. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
