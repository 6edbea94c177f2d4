/* linkbroker_example: the smallest program on liblinkbroker. Asks the
 * broker for a symbolic link LINK -> TARGET, then prints what happened.
 *   cc linkbroker_example.c $(pkg-config --cflags --libs linkbroker)
 *   ./a.out LINK TARGET     exit: linkbroker's exit codes (0 made, 1 denied, ...) */
#include <stdio.h>

#include <linkbroker.h>

int
main(int argc, char **argv)
{
	struct linkbroker *h;
	struct linkbroker_result res;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: %s LINK TARGET\n", argv[0]);
		return 2;
	}
	if ((rc = linkbroker_open(&h, NULL, NULL)) != LINKBROKER_OK) {
		fprintf(stderr, "linkbroker_open: %s\n", linkbroker_strerror(rc));
		return linkbroker_exit_code(rc);
	}
	rc = linkbroker_create(h, LINKBROKER_SYMLINK, argv[1], argv[2], &res);
	if (rc == LINKBROKER_OK)
		printf("created %s -> %s (rule %s)\n", argv[1], argv[2], res.rule);
	else
		fprintf(stderr, "not created: %s%s%s\n", linkbroker_strerror(rc),
		    res.message_len > 0 ? ": " : "", res.message);
	linkbroker_close(h);
	return res.exit_code;
}
