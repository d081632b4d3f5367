/*
 * fuzz_proto.c - libFuzzer target for the frame decoder.
 *
 * Decodes frames back to back until the input is used up or invalid; each
 * frame decoded must encode back to exactly the bytes it came from, and
 * never be larger than the input that held it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct frame f;
		size_t used = 0;
		int r = proto_decode(data + off, size - off, &f, &used);

		if (r <= 0)
			break;
		if (used > size - off || used > PROTO_MAX_FRAME)
			abort();
		uint8_t *out = malloc(used);
		if (!out)
			abort();
		if (proto_encode(out, used, &f) != used ||
		    memcmp(out, data + off, used) != 0)
			abort();
		free(out);
		off += used;
	}
	return 0;
}
