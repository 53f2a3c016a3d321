/* output: results as JSON on stdout, one object per line (lists: one line per item) so that jq
 * and line-oriented tools can consume them; --pretty indents instead. */
#include "ctl.h"

int ctl_print_json(ctl_env *env, json_t *j)
{
    size_t flags = JSON_ENCODE_ANY | (env->pretty ? JSON_INDENT(2) : JSON_COMPACT);
    if (!j || json_dumpf(j, stdout, flags) < 0 || fputc('\n', stdout) == EOF) {
        ctl_warn("cannot write the output");
        return CTL_EXIT_FAILED;
    }
    return CTL_EXIT_OK;
}

int ctl_print_json_line(FILE *f, json_t *j)
{
    if (json_dumpf(j, f, JSON_COMPACT | JSON_ENCODE_ANY) < 0 || fputc('\n', f) == EOF) return -1;
    return 0;
}

int ctl_print_value(ctl_env *env, const claimd_value *v)
{
    json_t *j = ctl_json_from_value(v);
    int rc = ctl_print_json(env, j);
    json_decref(j);
    return rc;
}

int ctl_print_items(ctl_env *env, const claimd_value *result, const char *key)
{
    const claimd_value *list = key ? claimd_value_get(result, key) : result;
    if (claimd_value_type(list) != CLAIMD_T_ARRAY) {
        ctl_warn("the result has no \"%s\" list", key ? key : "");
        return CTL_EXIT_FAILED;
    }
    for (size_t i = 0; i < claimd_value_len(list); i++) {
        int rc = ctl_print_value(env, claimd_value_at(list, i));
        if (rc) return rc;
    }
    return CTL_EXIT_OK;
}

int ctl_call_and_print(ctl_env *env, const char *method, const claimd_args *params,
                       const char *list_key)
{
    int rc = ctl_connect(env);
    if (rc) return rc;
    claimd_value *result = NULL;
    if (claimd_call(env->ctx, method, params, &result) != CLAIMD_OK)
        return ctl_report_call_error(env);
    rc = list_key ? ctl_print_items(env, result, list_key) : ctl_print_value(env, result);
    claimd_value_free(result);
    return rc;
}

int ctl_print_id_rev(ctl_env *env, uint64_t id, uint64_t rev)
{
    json_t *j = json_pack("{sI sI}", "id", (json_int_t)id, "rev", (json_int_t)rev);
    int rc = ctl_print_json(env, j);
    json_decref(j);
    return rc;
}
