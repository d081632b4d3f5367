/* token.c - see token.h. */
#include "token.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

int token_generate(uint8_t t[PROTO_TOKEN_LEN])
{
	size_t got = 0;

	while (got < PROTO_TOKEN_LEN) {
		ssize_t r = getrandom(t + got, PROTO_TOKEN_LEN - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

void token_to_hex(const uint8_t t[PROTO_TOKEN_LEN], char hex[TOKEN_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < PROTO_TOKEN_LEN; i++) {
		hex[2 * i] = digits[t[i] >> 4];
		hex[2 * i + 1] = digits[t[i] & 15];
	}
	hex[TOKEN_HEX_LEN] = '\0';
}

/* Return the value of hex digit c, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int token_from_hex(const char *s, uint8_t t[PROTO_TOKEN_LEN])
{
	if (!s || strlen(s) != TOKEN_HEX_LEN)
		return -1;
	for (size_t i = 0; i < PROTO_TOKEN_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		t[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

bool token_equal(const uint8_t a[PROTO_TOKEN_LEN],
                 const uint8_t b[PROTO_TOKEN_LEN])
{
	uint8_t diff = 0;

	for (size_t i = 0; i < PROTO_TOKEN_LEN; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}
