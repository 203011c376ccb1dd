/*
 * Every seed script (corpora/scripts, every .pkt) compiles into the binary fuzz
 * form the way the seed corpora are made: script -> events -> binary ->
 * events -> binary is stable, and the compiled input drives the engine
 * through the same scenario without tripping an invariant. (Whether each
 * script passes its own expectations is the per-script ctest
 * tools.script.<name>, which runs `synfin run` on it.)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary.h"
#include "check.h"
#include "run.h"

static int compiled;

static void check_seed(const char *path)
{
	sc_scenario scn, dec, dec2;
	sc_run_result res;
	sc_error err;
	uint8_t *b1, *b2;
	size_t n1, n2;

	memset(&err, 0, sizeof(err));
	if (sc_script_parse_file(path, &scn, &err) != 0)
		CHECK_FAIL_("%s", err.msg);
	ASSERT_EQ(sc_binary_encode(&scn, &b1, &n1), 0);
	ASSERT_EQ(sc_binary_decode(b1, n1, path, &dec), 0);
	ASSERT_EQ(sc_binary_encode(&dec, &b2, &n2), 0);
	ASSERT_EQ(n1, n2);
	ASSERT_MEM_EQ(b1, b2, n1);
	ASSERT_EQ(sc_binary_decode(b2, n2, path, &dec2), 0);
	ASSERT_EQ(dec.count, dec2.count);
	/* The compiled form carries no expectations: it must run clean. */
	if (sc_run(&dec, NULL, &res) != SC_RUN_PASS)
		CHECK_FAIL_("compiled %s: %s", path, res.msg);
	printf("  %s: %zu events -> %zu bytes, %zu events; replays clean\n", path, scn.count, n1,
	       dec.count);
	compiled++;
	free(b1);
	free(b2);
	sc_scenario_free(&scn);
	sc_scenario_free(&dec);
	sc_scenario_free(&dec2);
}

static void test_every_seed(void)
{
	const char *src = getenv("SYNFIN_SOURCE_DIR");
	char dir[1024], path[2048];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/corpora/scripts", src && *src ? src : ".");
	d = opendir(dir);
	if (!d) {
		printf("  (no %s yet)\n", dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n < 5 || strcmp(de->d_name + n - 4, ".pkt") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		check_seed(path);
	}
	closedir(d);
	printf("  %d seed scripts compiled\n", compiled);
}

int main(void)
{
	RUN_TEST(test_every_seed);
	return 0;
}
