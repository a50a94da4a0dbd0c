#include "testing.h"

#include <stdarg.h>
#include <stdlib.h>

struct test_case *test_list_;
int test_failed_now_;
static const char *current_;

void test_register_(struct test_case *t)
{
    /* Append, so tests run in file order. */
    struct test_case **p = &test_list_;
    while (*p)
        p = &(*p)->next;
    *p = t;
}

void check_failed_(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL %s (%s:%d): %s: ", current_, file, line, cond);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    test_failed_now_ = 1;
}

int run_tests(void)
{
    int passed = 0, failed = 0;
    const char *only = getenv("TEST_ONLY");
    for (struct test_case *t = test_list_; t; t = t->next) {
        if (only && !strstr(t->name, only))
            continue;
        current_ = t->name;
        test_failed_now_ = 0;
        t->fn();
        if (test_failed_now_)
            failed++;
        else {
            passed++;
            if (getenv("TEST_VERBOSE"))
                printf("ok   %s\n", t->name);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
