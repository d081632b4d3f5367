/* test_token.c - unit tests for the run token (common/token.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "token.h"

static const char sample_hex[] = "000102030405060708090a0b0c0d0e0f"
                                 "f0e1d2c3b4a5968778695a4b3c2d1e0f";

static void test_to_hex(void **state)
{
	uint8_t t[PROTO_TOKEN_LEN];
	char hex[TOKEN_HEX_LEN + 1];

	(void)state;
	for (size_t i = 0; i < 16; i++)
		t[i] = (uint8_t)i;
	for (size_t i = 16; i < PROTO_TOKEN_LEN; i++)
		t[i] = (uint8_t)(0xF0 - (i - 16) * 0x0F);
	memset(hex, 'X', sizeof(hex));
	token_to_hex(t, hex);
	assert_int_equal(strlen(hex), TOKEN_HEX_LEN);
	assert_string_equal(hex, sample_hex);
}

static void test_hex_round_trip(void **state)
{
	uint8_t t[PROTO_TOKEN_LEN], back[PROTO_TOKEN_LEN];
	char hex[TOKEN_HEX_LEN + 1];

	(void)state;
	for (int round = 0; round < 256; round++) {
		for (size_t i = 0; i < PROTO_TOKEN_LEN; i++)
			t[i] = (uint8_t)(round + i * 37);
		token_to_hex(t, hex);
		assert_int_equal(token_from_hex(hex, back), 0);
		assert_memory_equal(back, t, PROTO_TOKEN_LEN);
	}
}

static void test_from_hex_upper(void **state)
{
	char upper[TOKEN_HEX_LEN + 1];
	uint8_t a[PROTO_TOKEN_LEN], b[PROTO_TOKEN_LEN];

	(void)state;
	for (size_t i = 0; i <= TOKEN_HEX_LEN; i++)
		upper[i] = (char)(sample_hex[i] >= 'a' ? sample_hex[i] - 32
		                                       : sample_hex[i]);
	assert_int_equal(token_from_hex(sample_hex, a), 0);
	assert_int_equal(token_from_hex(upper, b), 0);
	assert_memory_equal(a, b, PROTO_TOKEN_LEN);
	assert_int_equal(a[0], 0x00);
	assert_int_equal(a[15], 0x0F);
	assert_int_equal(a[16], 0xF0);
	assert_int_equal(a[31], 0x0F);
}

static void test_from_hex_wrong_length(void **state)
{
	char s[2 * TOKEN_HEX_LEN + 1];
	uint8_t t[PROTO_TOKEN_LEN];
	static const size_t lens[] = {0,
	                              1,
	                              2,
	                              32,
	                              TOKEN_HEX_LEN - 1,
	                              TOKEN_HEX_LEN + 1,
	                              TOKEN_HEX_LEN + 2,
	                              2 * TOKEN_HEX_LEN};

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(s, 'a', lens[i]);
		s[lens[i]] = '\0';
		if (token_from_hex(s, t) != -1)
			fail_msg("length %zu accepted", lens[i]);
	}
	assert_int_equal(token_from_hex(NULL, t), -1);
}

static void test_from_hex_not_hex(void **state)
{
	static const char bad[] = {'g', 'G', 'x', ' ', '-',    '+',   '\n',
	                           '/', ':', '@', '`', '\x80', '\xff'};
	uint8_t t[PROTO_TOKEN_LEN];
	char s[TOKEN_HEX_LEN + 1];

	(void)state;
	/* Each bad character at each position, high and low nibble. */
	for (size_t c = 0; c < sizeof(bad); c++) {
		for (size_t pos = 0; pos < TOKEN_HEX_LEN; pos++) {
			memcpy(s, sample_hex, sizeof(s));
			s[pos] = bad[c];
			if (token_from_hex(s, t) != -1)
				fail_msg("'%c' at %zu accepted", bad[c], pos);
		}
	}
	memcpy(s, "0x", 2);
	memcpy(s + 2, sample_hex, TOKEN_HEX_LEN - 2);
	s[TOKEN_HEX_LEN] = '\0';
	assert_int_equal(token_from_hex(s, t), -1);
}

static void test_equal(void **state)
{
	uint8_t a[PROTO_TOKEN_LEN], b[PROTO_TOKEN_LEN];

	(void)state;
	assert_int_equal(token_from_hex(sample_hex, a), 0);
	memcpy(b, a, sizeof(a));
	assert_true(token_equal(a, b));
	assert_true(token_equal(a, a));
	/* Every single flipped bit, first byte to last, is seen. */
	for (size_t i = 0; i < PROTO_TOKEN_LEN; i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			assert_false(token_equal(a, b));
			assert_false(token_equal(b, a));
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_true(token_equal(a, b));
}

static void test_generate(void **state)
{
	static const uint8_t zero[PROTO_TOKEN_LEN];
	uint8_t a[PROTO_TOKEN_LEN], b[PROTO_TOKEN_LEN];

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(token_generate(a), 0);
	assert_int_equal(token_generate(b), 0);
	assert_false(token_equal(a, b));
	assert_memory_not_equal(a, zero, PROTO_TOKEN_LEN);
	assert_memory_not_equal(b, zero, PROTO_TOKEN_LEN);
}

/* Many tokens are all distinct and the bytes are not stuck. */
static void test_generate_many(void **state)
{
	enum { N = 64 };
	uint8_t t[N][PROTO_TOKEN_LEN], or_all[PROTO_TOKEN_LEN] = {0};
	uint8_t and_all[PROTO_TOKEN_LEN];

	(void)state;
	memset(and_all, 0xFF, sizeof(and_all));
	for (int i = 0; i < N; i++) {
		assert_int_equal(token_generate(t[i]), 0);
		for (size_t k = 0; k < PROTO_TOKEN_LEN; k++) {
			or_all[k] |= t[i][k];
			and_all[k] &= t[i][k];
		}
		for (int j = 0; j < i; j++)
			assert_false(token_equal(t[i], t[j]));
	}
	/* With 64 random tokens each bit is 0 and 1 at least once, except
	   with probability about 2^-57 per bit. */
	for (size_t k = 0; k < PROTO_TOKEN_LEN; k++) {
		assert_int_equal(or_all[k], 0xFF);
		assert_int_equal(and_all[k], 0x00);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_to_hex),
	    cmocka_unit_test(test_hex_round_trip),
	    cmocka_unit_test(test_from_hex_upper),
	    cmocka_unit_test(test_from_hex_wrong_length),
	    cmocka_unit_test(test_from_hex_not_hex),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_generate),
	    cmocka_unit_test(test_generate_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
