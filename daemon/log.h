/* log: levelled log lines on stderr, one line per event, fit for journald. */
#ifndef CD_LOG_H
#define CD_LOG_H

typedef enum { CD_LOG_DEBUG = 0, CD_LOG_INFO, CD_LOG_WARN, CD_LOG_ERROR } cd_log_level;

/* Sets the lowest level that is written. */
void cd_log_set_level(cd_log_level level);

/* Parses "debug", "info", "warn" or "error"; returns 0 and sets *out, or -1. */
int cd_log_parse_level(const char *name, cd_log_level *out);

/* Writes one line "claimd[pid]: <level>: <message>" to stderr if level is enabled. Thread-safe. */
void cd_log(cd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cd_debug(...) cd_log(CD_LOG_DEBUG, __VA_ARGS__)
#define cd_info(...)  cd_log(CD_LOG_INFO, __VA_ARGS__)
#define cd_warn(...)  cd_log(CD_LOG_WARN, __VA_ARGS__)
#define cd_error(...) cd_log(CD_LOG_ERROR, __VA_ARGS__)

#endif
