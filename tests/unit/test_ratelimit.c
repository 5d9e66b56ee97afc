/* Tests of sl_ratelimit: token buckets per key for requests and bytes, with explicit times. */
#include "sl_ratelimit.h"

#include <criterion/criterion.h>
#include <stdio.h>

Test(ratelimit, requests_refill)
{
    sl_ratelimit_config c = {10, -1};
    sl_ratelimit *rl = sl_ratelimit_new(&c);
    sl_ratelimit_state st;
    for (int i = 0; i < 10; i++) {
        sl_ratelimit_take(rl, SL_STR("a"), 100.0, &st);
        cr_assert(st.allowed, "request %d", i);
        cr_assert_eq(st.limit, 10);
        cr_assert_eq(st.remaining, (uint64_t)(9 - i));
    }
    sl_ratelimit_take(rl, SL_STR("a"), 100.0, &st);
    cr_assert(!st.allowed);
    cr_assert_eq(st.remaining, 0);
    cr_assert_eq(st.retry_after, 1);
    cr_assert_eq(st.reset_s, 1);
    /* Another key has its own bucket. */
    sl_ratelimit_take(rl, SL_STR("b"), 100.0, &st);
    cr_assert(st.allowed);
    /* 0.25 s later, 2.5 tokens are back. */
    sl_ratelimit_take(rl, SL_STR("a"), 100.25, &st);
    cr_assert(st.allowed);
    cr_assert_eq(st.remaining, 1);
    /* Refill never passes one second's worth. */
    sl_ratelimit_take(rl, SL_STR("a"), 200.0, &st);
    cr_assert_eq(st.remaining, 9);
    cr_assert_eq(st.reset_s, 1);
    sl_ratelimit_free(rl);
}

Test(ratelimit, bytes_debt)
{
    sl_ratelimit_config c = {-1, 1000};
    sl_ratelimit *rl = sl_ratelimit_new(&c);
    sl_ratelimit_state st;
    sl_ratelimit_take(rl, SL_STR("a"), 10.0, &st);
    cr_assert(st.allowed);
    /* One large request passes and leaves 4000 bytes of debt: 4 s at 1000 B/s. */
    sl_ratelimit_charge_bytes(rl, SL_STR("a"), 10.0, 5000);
    sl_ratelimit_take(rl, SL_STR("a"), 10.0, &st);
    cr_assert(!st.allowed);
    cr_assert_eq(st.retry_after, 4);
    sl_ratelimit_take(rl, SL_STR("a"), 13.0, &st);
    cr_assert(!st.allowed);
    cr_assert_eq(st.retry_after, 1);
    sl_ratelimit_take(rl, SL_STR("a"), 14.5, &st);
    cr_assert(st.allowed);
    sl_ratelimit_free(rl);
}

Test(ratelimit, unlimited)
{
    sl_ratelimit_config c = {-1, -1};
    sl_ratelimit *rl = sl_ratelimit_new(&c);
    sl_ratelimit_state st;
    for (int i = 0; i < 100000; i++)
        sl_ratelimit_take(rl, SL_STR("a"), 1.0, &st);
    cr_assert(st.allowed);
    sl_ratelimit_free(rl);
}

Test(ratelimit, many_keys_and_prune)
{
    sl_ratelimit_config c = {2, -1};
    sl_ratelimit *rl = sl_ratelimit_new(&c);
    sl_ratelimit_state st;
    char key[32];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof(key), "ds_%d", i);
        sl_ratelimit_take(rl, (sl_str){key, (size_t)n}, 1.0, &st);
        cr_assert(st.allowed);
    }
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof(key), "ds_%d", i);
        sl_ratelimit_take(rl, (sl_str){key, (size_t)n}, 1.0, &st);
        cr_assert(st.allowed);
        sl_ratelimit_take(rl, (sl_str){key, (size_t)n}, 1.0, &st);
        cr_assert(!st.allowed, "key %d", i);
    }
    /* Keep ds_0 fresh, prune the rest; ds_0 keeps its empty bucket, others start full. */
    sl_ratelimit_take(rl, SL_STR("ds_0"), 50.0, &st);
    sl_ratelimit_take(rl, SL_STR("ds_0"), 50.0, &st);
    sl_ratelimit_prune(rl, 50.0, 10.0);
    sl_ratelimit_take(rl, SL_STR("ds_0"), 50.0, &st);
    cr_assert(!st.allowed);
    sl_ratelimit_take(rl, SL_STR("ds_7"), 50.0, &st);
    cr_assert(st.allowed);
    cr_assert_eq(st.remaining, 1);
    sl_ratelimit_free(rl);
}
