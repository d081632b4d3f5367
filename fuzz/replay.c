/*
 * replay.c - run a fuzz target over files, without libFuzzer.
 *
 * Linked with a target, it feeds it every file named on the command line
 * (or found in a directory named there), so the seed corpus and every
 * input a fuzzer ever crashed on run as regression tests in any build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replayed; /* files fed to the target */

/* Feed the file at path to the target; return 0, or -1 if unreadable. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long size;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0 || !(data = malloc((size_t)size + 1)) ||
	    fread(data, 1, (size_t)size, f) != (size_t)size) {
		perror(path);
		if (f)
			fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	printf("ok %s\n", path);
	replayed++;
	return 0;
}

/* Replay path, a file or a directory of files; return the failures. */
static int replay(const char *path)
{
	struct stat st;
	struct dirent *e;
	int failures = 0;
	DIR *d;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return replay_file(path) < 0;
	d = opendir(path);
	if (!d) {
		perror(path);
		return 1;
	}
	while ((e = readdir(d))) {
		char sub[4096];
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		failures += replay_file(sub) < 0;
	}
	closedir(d);
	return failures;
}

int main(int argc, char **argv)
{
	int failures = 0;

	for (int i = 1; i < argc; i++)
		failures += replay(argv[i]);
	printf("%d passed, %d failed\n", replayed, failures);
	return failures || !replayed ? 1 : 0;
}
