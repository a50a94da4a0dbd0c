/*
 * tool_fuzz.h - what the libFuzzer targets over the host tools
 * (fuzz_stamp.c, fuzz_dfuse.c) share: the violation report and the
 * FUZZ_STATS counters, in the same words as the core fuzzer's so
 * short.sh and run.sh read them the same way.
 */
#ifndef TOOL_FUZZ_H
#define TOOL_FUZZ_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FUZZ_BREAK
#define FUZZ_BREAK 0 /* 1: the harness breaks what it checks (self-test) */
#endif

/* Prints "INVARIANT VIOLATED: ..." and aborts: libFuzzer keeps the input. */
static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void violation(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "INVARIANT VIOLATED: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* Counters: a target lists its names and bumps stat[i]; at exit one line
 * "name value name value ..." is appended to $FUZZ_STATS. */
struct tool_stats {
    const char *const *names;
    unsigned n;
    unsigned long long *v;
};
static struct tool_stats tool_stats;

static void tool_stats_write(void)
{
    const char *path = getenv("FUZZ_STATS");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f)
        return;
    for (unsigned i = 0; i < tool_stats.n; i++)
        fprintf(f, "%s%s %llu", i ? " " : "", tool_stats.names[i], tool_stats.v[i]);
    fputc('\n', f);
    fclose(f);
}

static void tool_stats_init(const char *const *names, unsigned n, unsigned long long *v)
{
    if (tool_stats.names)
        return;
    tool_stats.names = names;
    tool_stats.n = n;
    tool_stats.v = v;
    if (getenv("FUZZ_STATS"))
        atexit(tool_stats_write);
}

#endif
