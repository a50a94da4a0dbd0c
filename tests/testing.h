/*
 * testing.h - the one test harness of the C suites. A test case passes when
 * none of its CHECKs fails. run_tests() prints one line per failure and the
 * closing "N passed, N failed" that mk/run-suites.sh adds up.
 *
 *   TEST(erase_refuses_bootloader_page) { CHECK(x == 1, "x is %d", x); }
 *   int main(void) { return run_tests(); }
 *
 * Tests are collected with a constructor, so a file only defines them.
 */
#ifndef TESTING_H
#define TESTING_H

#include <stdio.h>
#include <string.h>

struct test_case {
    const char *name;
    void (*fn)(void);
    struct test_case *next;
};

extern struct test_case *test_list_;
extern int test_failed_now_;

void test_register_(struct test_case *t);
int run_tests(void);
void check_failed_(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define TEST(name)                                                            \
    static void name(void);                                                   \
    static struct test_case name##_case_ = {#name, name, 0};                  \
    __attribute__((constructor)) static void name##_reg_(void)                \
    {                                                                         \
        test_register_(&name##_case_);                                        \
    }                                                                         \
    static void name(void)

/* CHECK(cond, fmt, ...): the message says what was expected and what came. */
#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond))                                                          \
            check_failed_(__FILE__, __LINE__, #cond, __VA_ARGS__);            \
    } while (0)

#define CHECK_EQ(a, b)                                                        \
    do {                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                   \
        if (a_ != b_)                                                         \
            check_failed_(__FILE__, __LINE__, #a " == " #b,                   \
                          "got %lld (0x%llx), want %lld (0x%llx)", a_,        \
                          (unsigned long long)a_, b_, (unsigned long long)b_); \
    } while (0)

#endif
