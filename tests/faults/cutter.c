/*
 * cutter - runs vboard with its output on a pipe, copies every line to a log
 * file, and cuts the power (SIGKILL) at a chosen instant:
 *
 *   cutter [--op K] [--line TEXT [--nth N]] [--delay-us D] [--timeout-s S]
 *          --log FILE -- VBOARD ARGS...
 *
 *   --op K        trigger on the K-th completed flash operation, i.e. the
 *                 K-th "flash: erased page|programmed|option byte|mass erase"
 *                 trace line (vboard prints it once the operation is in the
 *                 flash file; run vboard with --trace flash)
 *   --line TEXT   trigger on the N-th (default 1st) line containing TEXT
 *   --delay-us D  wait D microseconds (wall clock) after the trigger, then kill
 *   --timeout-s S kill anyway after S seconds (reported as "timeout")
 *   --signal SIG  send SIG (a number or KILL, TERM, USR1, ...) instead of
 *                 SIGKILL; vboard keeps running unless SIG is KILL
 *   --pidfile F   send the signal to the process whose pid is in file F
 *                 (e.g. dfu-util) instead of vboard; vboard keeps running
 *
 * SIGTERM/SIGINT sent to the cutter are passed on to vboard (clean stop).
 * Without a trigger (only --delay-us) the delay counts from the start.
 * On exit it prints one line to stdout:
 *   cut=<trigger|timeout|exited> ops_at_trigger=N ops_total=M
 * where ops_total counts every flash operation vboard reported before it
 * died: the number of operations the flash file holds after the cut.
 * Exit status 0 when the signal was sent, 1 when vboard ended before that.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static volatile pid_t child;
static void forward(int sig)
{
    if (child > 0)
        kill(child, sig);
}

static int signum(const char *s)
{
    static const struct { const char *n; int v; } t[] = {
        {"KILL", SIGKILL}, {"TERM", SIGTERM}, {"INT", SIGINT}, {"USR1", SIGUSR1},
        {"USR2", SIGUSR2}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"HUP", SIGHUP}};
    if (!strncmp(s, "SIG", 3))
        s += 3;
    for (unsigned i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(s, t[i].n))
            return t[i].v;
    return atoi(s);
}

static int is_op(const char *l)
{
    const char *p = strstr(l, "] flash: ");
    if (!p)
        return 0;
    p += 9;
    return !strncmp(p, "erased page", 11) || !strncmp(p, "programmed", 10) ||
           !strncmp(p, "option byte", 11) || !strncmp(p, "mass erase", 10);
}

/* Sends the signal: to vboard, or to the pid read from pidfile. */
static void fire(pid_t board, int sig, const char *pidfile)
{
    if (!pidfile) {
        kill(board, sig);
        return;
    }
    FILE *f = fopen(pidfile, "r");
    long p = 0;
    if (f) {
        if (fscanf(f, "%ld", &p) != 1)
            p = 0;
        fclose(f);
    }
    if (p > 0)
        kill((pid_t)p, sig);
    else
        fprintf(stderr, "cutter: no pid in %s\n", pidfile);
}

int main(int argc, char **argv)
{
    long op_k = 0, nth = 1;
    long long delay = -1, timeout_us = 0;
    const char *text = NULL, *logname = NULL, *pidfile = NULL;
    int sig = SIGKILL;
    int i;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            goto usage;
        if (!strcmp(argv[i], "--op"))
            op_k = atol(argv[++i]);
        else if (!strcmp(argv[i], "--line"))
            text = argv[++i];
        else if (!strcmp(argv[i], "--nth"))
            nth = atol(argv[++i]);
        else if (!strcmp(argv[i], "--delay-us"))
            delay = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--timeout-s"))
            timeout_us = (long long)(atof(argv[++i]) * 1e6);
        else if (!strcmp(argv[i], "--signal"))
            sig = signum(argv[++i]);
        else if (!strcmp(argv[i], "--pidfile"))
            pidfile = argv[++i];
        else if (!strcmp(argv[i], "--log"))
            logname = argv[++i];
        else
            goto usage;
    }
    if (i >= argc || !logname)
        goto usage;
    FILE *log = fopen(logname, "a");
    if (log)
        setvbuf(log, NULL, _IOLBF, 0);
    if (!log) {
        perror(logname);
        return 2;
    }
    /* React to a trace line before vboard gets much further: a real-time
     * priority for the cutter where allowed (not inherited by vboard). */
    struct sched_param sp = {.sched_priority = 1};
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) != 0)
        (void)nice(-10);
    int fd[2];
    if (pipe(fd))
        return 2;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphan board if we are killed */
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        execv(argv[i], argv + i);
        perror(argv[i]);
        _exit(127);
    }
    close(fd[1]);
    child = pid;
    struct sigaction sa = {0};
    sa.sa_handler = forward;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    long long t0 = now_us(), kill_at = -1;
    int armed = op_k > 0 || text;
    if (!armed && delay >= 0)
        kill_at = t0 + delay;
    long ops = 0, ops_trigger = -1, seen = 0;
    int killed = 0, timed_out = 0;
    char buf[65536], line[4096];
    size_t ll = 0;
    for (;;) {
        long long t = now_us();
        if (!killed && kill_at >= 0 && t >= kill_at) {
            fire(pid, sig, pidfile);
            killed = 1;
        }
        if (!killed && timeout_us > 0 && t - t0 >= timeout_us) {
            kill(pid, SIGKILL);
            killed = timed_out = 1;
        }
        int wait_ms = 50;
        if (!killed && kill_at >= 0) {
            long long left = kill_at - t;
            wait_ms = left <= 0 ? 0 : (int)(left / 1000);
            if (left > 0 && left < 1000) {
                /* sub-millisecond delay: sleep it exactly */
                struct timespec ts = {0, (long)left * 1000};
                nanosleep(&ts, NULL);
                continue;
            }
        }
        struct pollfd p = {fd[0], POLLIN, 0};
        int r = poll(&p, 1, wait_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(fd[0], buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t j = 0; j < n; j++) {
            char c = buf[j];
            if (ll < sizeof line - 1)
                line[ll++] = c;
            if (c != '\n')
                continue;
            line[ll] = 0;
            fputs(line, log);
            if (is_op(line))
                ops++;
            if (!killed && kill_at < 0 && armed) {
                int hit = 0;
                if (op_k > 0 && is_op(line) && ops == op_k)
                    hit = 1;
                if (text && strstr(line, text) && ++seen == nth)
                    hit = 1;
                if (hit) {
                    ops_trigger = ops;
                    if (delay <= 0) {
                        fire(pid, sig, pidfile);
                        killed = 1;
                    } else {
                        kill_at = now_us() + delay;
                    }
                }
            }
            ll = 0;
        }
    }
    fflush(log);
    int st = 0;
    waitpid(pid, &st, 0);
    const char *how = timed_out ? "timeout" : killed ? "trigger" : "exited";
    fprintf(log, "cutter: cut=%s ops_at_trigger=%ld ops_total=%ld\n", how, ops_trigger, ops);
    fclose(log);
    printf("cut=%s ops_at_trigger=%ld ops_total=%ld\n", how, ops_trigger, ops);
    return killed ? 0 : 1;
usage:
    fprintf(stderr, "usage: cutter [--op K] [--line TEXT [--nth N]] [--delay-us D] [--timeout-s S]\n"
                    "              [--signal SIG] [--pidfile FILE] --log FILE -- VBOARD ARGS...\n");
    return 2;
}
