/* Fuzz target: the INI policy loader and, when a policy loads, decisions on
 * a few fixed requests. The first byte picks the flavour. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct lb_group groups[] = {
		{ "CORP\\developers", "S-1-5-21-1-2-3-513", 0 }, { "guests", "S-1-5-32-546", 1 },
	};
	static const char *const posix_req[][2] = {
		{ "/home/alice/src/l", "../t" }, { "/srv/work/alice/x", "/opt/tools" }, { "/etc/x", "/tmp" },
	};
	static const char *const win_req[][2] = {
		{ "C:\\Users\\alice\\src\\l", "..\\t" }, { "D:\\work\\alice\\x", "D:\\shared" },
		{ "C:\\Windows\\x", "C:\\t" },
	};
	struct lb_policy *p = NULL;
	struct lb_buf err;
	enum lb_flavor f;
	size_t i, k;

	if (size < 1)
		return 0;
	f = (data[0] & 1) ? LB_FLAVOR_WINDOWS : LB_FLAVOR_POSIX;
	lb_buf_init(&err, 4096);
	if (lb_policy_load_buffer("fuzz.ini", (const char *)data + 1, size - 1, f, &p, &err) == LB_OK) {
		const struct lb_principal who = {
			"alice", f == LB_FLAVOR_WINDOWS ? "S-1-5-21-1-2-3-1001" : "1000",
			f == LB_FLAVOR_WINDOWS ? "C:\\Users\\alice" : "/home/alice", groups, 2,
			f == LB_FLAVOR_WINDOWS ? "CORP" : NULL,
		};

		for (i = 0; i < 3; i++) {
			for (k = LB_KIND_SYMLINK; k <= LB_KIND_MAX; k++) {
				const char *l = f == LB_FLAVOR_WINDOWS ? win_req[i][0] : posix_req[i][0];
				const char *t = f == LB_FLAVOR_WINDOWS ? win_req[i][1] : posix_req[i][1];
				struct lb_decision d;
				struct lb_path lp, tp;
				const char *which;

				if (lb_policy_decide_strings(p, &who, (enum lb_kind)k, l, strlen(l), t,
				    strlen(t), &d, &lp, &tp, &which) == LB_OK) {
					if (d.verdict == LB_VERDICT_ALLOW && d.reason != LB_REASON_RULE_ALLOW)
						abort();   /* only an allow rule allows */
					if (i == 2 && d.verdict == LB_VERDICT_ALLOW)
						abort();   /* floors hold whatever the policy says */
					lb_path_free(&lp);
					lb_path_free(&tp);
				}
			}
		}
		lb_policy_free(p);
	} else if (err.len == 0) {
		abort();   /* every failure explains itself */
	}
	lb_buf_free(&err);
	return 0;
}
