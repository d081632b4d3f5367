/*
 * fuzz_config.c - libFuzzer target for the configuration parser.
 *
 * Parses the input as an INI file. Whatever it holds, parsing must end
 * with either a valid configuration (every value in its documented range)
 * or one "t.ini:..." message, NUL-terminated inside its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort unless every value of c is in its documented range. */
static void check_ranges(const struct config *c)
{
	if (c->num_clients < 1 || c->num_clients > CONFIG_MAX_NODES ||
	    c->base_port < 1 || c->base_port + c->num_clients - 1 > 65535 ||
	    c->host[0] == '\0' || c->retry_initial_ms > c->retry_max_ms ||
	    c->max_message_bytes < 1 ||
	    c->max_message_bytes > PROTO_MAX_PAYLOAD ||
	    memchr(c->host, '\0', sizeof(c->host)) == NULL ||
	    memchr(c->command, '\0', sizeof(c->command)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char err[256];
	struct config c;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(err, 'x', sizeof(err));
	config_defaults(&c);
	if (config_parse_string(&c, text, "t.ini", err, sizeof(err)) == 0)
		check_ranges(&c);
	else if (memchr(err, '\0', sizeof(err)) == NULL ||
	         strncmp(err, "t.ini", 5) != 0)
		abort();
	free(text);
	return 0;
}
