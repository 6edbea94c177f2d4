/* Corpus replay: runs a fuzz target over every file in the given
 * directories, so the corpora run as ordinary tests in every build (gcc,
 * clang, MinGW) without libFuzzer. Prints "N passed, 0 failed"; a crash or
 * abort fails the test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned long ran = 0;
	int i;

	for (i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		char path[4096];

		if (d == NULL) {
			fprintf(stderr, "replay: cannot open corpus %s\n", argv[i]);
			return 1;
		}
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name) >= (int)sizeof(path) ||
			    run_file(path) != 0) {
				fprintf(stderr, "replay: cannot read %s/%s\n", argv[i], e->d_name);
				closedir(d);
				return 1;
			}
			ran++;
		}
		closedir(d);
	}
	if (ran == 0) {
		fprintf(stderr, "replay: empty corpus\n");
		return 1;
	}
	printf("%lu passed, 0 failed\n", ran);
	return 0;
}
