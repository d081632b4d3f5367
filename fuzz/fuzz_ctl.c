/*
 * fuzz_ctl.c - libFuzzer target for the console protocol's decoder.
 *
 * Decodes frames back to back until the input is used up or invalid; each
 * frame decoded must encode back to exactly the bytes it came from, never
 * be larger than the input that held it nor than CTL_MAX_FRAME, and point
 * its byte fields inside that frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		const uint8_t *in = data + off;
		const struct ctl_bytes *b;
		struct ctl_frame f;
		size_t used = 0;
		int r = ctl_decode(in, size - off, &f, &used);

		if (r <= 0)
			break;
		if (used > size - off || used > CTL_MAX_FRAME ||
		    ctl_version_of(in, used) != CTL_VERSION)
			abort();
		b = ctl_bytes_of(&f);
		if (b && (b->p < in + CTL_HEADER_LEN || b->len > used ||
		          b->p + b->len != in + used))
			abort();
		uint8_t *out = malloc(used);
		if (!out)
			abort();
		if (ctl_frame_size(&f) != used ||
		    ctl_encode(out, used, &f) != used ||
		    memcmp(out, in, used) != 0)
			abort();
		free(out);
		off += used;
	}
	return 0;
}
