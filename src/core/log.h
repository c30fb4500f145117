/* log.h - leveled logging to stderr, one line per message, thread-safe. */
#pragma once

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARNING, LOG_ERROR, LOG_CRITICAL };

/* Sets the lowest level written (default LOG_INFO). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "debug", "info", "warning"/"warn", "error", "critical" (any case).
 * Returns -1 for anything else. */
int log_level_parse(const char *s);

/* Sends every line to fd instead of stderr (harnesses that drive the server
 * in-process, fuzz/). The caller keeps fd open. */
void log_set_fd(int fd);

/* Writes "<time> <LEVEL> <message>\n" to stderr in one write(2). */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes the line as is (already formatted, no prefix) — the access log. */
void log_raw(const char *line);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
