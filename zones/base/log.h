/* SPDX-License-Identifier: MIT */
/*
 * log.h -- leveled logging to stderr (one line per call, with a UTC time
 * stamp and the level). The level is checked before anything is formatted.
 * Never called from the per-query path: that path counts, it does not log.
 */
#ifndef DNSD_LOG_H
#define DNSD_LOG_H

#include <stdbool.h>

enum { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern int log_level;

/** Parse "err|warn|info|debug"; -1 if unknown. */
int log_level_parse(const char *s);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   do { if (log_level >= LOG_LVL_ERR)   log_msg(LOG_LVL_ERR, __VA_ARGS__); } while (0)
#define log_warn(...)  do { if (log_level >= LOG_LVL_WARN)  log_msg(LOG_LVL_WARN, __VA_ARGS__); } while (0)
#define log_info(...)  do { if (log_level >= LOG_LVL_INFO)  log_msg(LOG_LVL_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) do { if (log_level >= LOG_LVL_DEBUG) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

#endif
