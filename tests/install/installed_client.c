/* installed_client: a program built only from what `make install` installs (claimd.h, the
 * library, claimd.pc), as a user's program would be. It checks that the header and the library
 * it runs with agree, then records a claim and a verdict and reads them back through the daemon
 * at $CLAIMD_SOCKET. Prints "runtime MAJOR.MINOR.PATCH" and one line per call; exit 0 when all
 * worked. */
#include <stdio.h>
#include <string.h>

#include <claimd.h>

static int fail(claimd_ctx *ctx, const char *what)
{
    fprintf(stderr, "installed_client: %s: %s: %s\n", what,
            claimd_code_name((claimd_code)claimd_errcode(ctx)), claimd_errstr(ctx));
    claimd_free(ctx);
    return 1;
}

int main(int argc, char **argv)
{
    int major = -1, minor = -1, patch = -1;
    claimd_version_numbers(&major, &minor, &patch);
    printf("runtime %d.%d.%d\n", major, minor, patch);
    char numbers[64];
    snprintf(numbers, sizeof numbers, "%d.%d.%d", major, minor, patch);
    if (major != CLAIMD_VERSION_MAJOR || minor < CLAIMD_VERSION_MINOR ||
        strcmp(numbers, claimd_version()) != 0) {
        fprintf(stderr, "installed_client: header %d.%d, library %s\n", CLAIMD_VERSION_MAJOR,
                CLAIMD_VERSION_MINOR, claimd_version());
        return 1;
    }
    claimd_ctx *ctx = claimd_new();
    if (!ctx || claimd_set_timeout_ms(ctx, 10000) != CLAIMD_OK) return 1;
    if (claimd_connect(ctx, NULL) != CLAIMD_OK) return fail(ctx, "connect");

    claimd_claim cl = CLAIMD_CLAIM_INIT;
    cl.text = argc > 1 ? argv[1] : "A claim from a program built against the installed library";
    cl.speaker = "Installed Client";
    uint64_t id = 0;
    int created = 0;
    if (claimd_claim_put(ctx, &cl, NULL, &id, NULL, &created) != CLAIMD_OK)
        return fail(ctx, "claim.put");
    printf("put id=%llu created=%d\n", (unsigned long long)id, created);

    claimd_verdict vd = CLAIMD_VERDICT_INIT;
    vd.claim = id;
    vd.rating = "false";
    vd.score = 1;
    uint64_t vid = 0;
    if (claimd_verdict_add(ctx, &vd, &vid) != CLAIMD_OK) return fail(ctx, "verdict.add");
    printf("verdict id=%llu\n", (unsigned long long)vid);

    claimd_value *got = NULL;
    if (claimd_claim_get(ctx, id, &got) != CLAIMD_OK) return fail(ctx, "claim.get");
    printf("get text=%s\n", claimd_value_get_str(got, "text"));
    claimd_value_free(got);
    claimd_free(ctx);
    return 0;
}
