/* Fuzz target: request JSON as the API reads it — the options object
 * (types, coercion, stop lists), keep_alive and think values — from
 * arbitrary bytes parsed by Jansson. */
#include <stdint.h>
#include <stdlib.h>

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, NULL);
    if (!v) return 0;
    api_options o;
    oc_error err;
    api_options_default(&o);
    api_options_apply(&o, v, &err);
    api_options_apply(&o, json_object_get(v, "options"), &err);
    sample_params sp = api_options_sampling(&o);
    (void)sp;
    api_options_free(&o);
    int64_t ns;
    api_parse_keep_alive(v, &ns, &err);
    api_parse_keep_alive(json_object_get(v, "keep_alive"), &ns, &err);
    api_think t;
    api_parse_think(v, &t, &err);
    api_parse_think(json_object_get(v, "think"), &t, &err);
    json_decref(v);
    return 0;
}
