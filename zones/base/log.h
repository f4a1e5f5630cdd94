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
/**
 * Is stderr the systemd journal? True when $JOURNAL_STREAM names the device
 * and inode stderr is (systemd.exec(5)); then every later line starts with
 * its syslog priority, "<3>" error, "<4>" warning, "<6>" info, "<7>" debug
 * (sd-daemon(3)), and carries no time stamp (the journal keeps its own).
 * Call once, early, on the main thread (dnsd's main()).
 * @return whether the journal format is now on.
 */
bool log_journal_detect(void);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   do { if (log_level >= LOG_LVL_ERR)   log_msg(LOG_LVL_ERR, __VA_ARGS__); } while (0)
#define log_warn(...)  do { if (log_level >= LOG_LVL_WARN)  log_msg(LOG_LVL_WARN, __VA_ARGS__); } while (0)
#define log_info(...)  do { if (log_level >= LOG_LVL_INFO)  log_msg(LOG_LVL_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) do { if (log_level >= LOG_LVL_DEBUG) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

#endif
