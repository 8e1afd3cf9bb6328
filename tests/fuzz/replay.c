/* replay: every kept input of one harness, one TAP line each (no libFuzzer, any compiler) */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "store.h"
#include "util.h"

static int n;

static int
regular(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void
feed(FILE *tap, const char *path)
{
	size_t len;
	char *data = store_slurp(path, &len);

	if (!data) {
		fprintf(tap, "not ok %d - cannot read %s\n", ++n, path);
		return;
	}
	fprintf(tap, "# %s\n", path);
	fflush(tap);
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	fprintf(tap, "ok %d - %s\n", ++n, path);
	fflush(tap);
}

static void
feed_dir(FILE *tap, const char *dir)
{
	struct dirent **list;
	int k = scandir(dir, &list, regular, alphasort);

	for (int i = 0; i < k; i++) {
		char *path = xasprintf("%s/%s", dir, list[i]->d_name);

		feed(tap, path);
		free(path);
		free(list[i]);
	}
	if (k >= 0)
		free(list);
}

/* with no arguments the kept inputs; else the files named */
int
main(int argc, char **argv)
{
	FILE *tap = fdopen(dup(1), "w");

	/* a harness may print what it reads (events, findings): not into the TAP stream */
	if (!tap || !freopen("/dev/null", "w", stdout))
		return 1;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			feed(tap, argv[i]);
	} else {
		feed_dir(tap, FUZZ_DIR "/crashes/" FUZZ_NAME);
		feed_dir(tap, FUZZ_DIR "/corpus/" FUZZ_NAME);
	}
	fprintf(tap, "1..%d\n", n);
	return fclose(tap) ? 1 : 0;
}
