/* libFuzzer target for the Modelfile parser: any bytes (UTF-8, UTF-16,
 * garbage) must parse or fail with a message, never crash; what parses must
 * survive formatting, re-parsing, PARAMETER typing and quoting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static volatile size_t sink;

static void walk(const store_modelfile *mf) {
    json_t *params = json_object();
    for (size_t i = 0; i < mf->n; i++) {
        const store_mf_command *c = &mf->commands[i];
        if (!c->name || !c->args) abort();
        sink += strlen(c->name) + strlen(c->args);
        char *q = store_modelfile_quote(c->args);
        sink += strlen(q);
        free(q);
        oc_error err;
        json_t *v; /* store_param_value, not _add: that one logs deprecations */
        if (store_param_value(c->name, c->args, &v, &err) == 0) json_object_set_new(params, c->name, v);
        else if (!err.msg[0]) abort();
    }
    char *enc = store_json_encode(params, NULL, NULL);
    if (!enc) abort(); /* typed parameters are always encodable */
    free(enc);
    json_decref(params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    store_modelfile mf;
    oc_error err;
    if (store_modelfile_parse(data, size, &mf, &err) != 0) {
        if (!err.msg[0]) abort(); /* every failure says why */
        return 0;
    }
    walk(&mf);
    /* The text we write must parse again (upstream's quoting cannot express
     * every value, so the commands may differ, but never crash). */
    char *text = store_modelfile_format(&mf);
    store_modelfile again;
    if (store_modelfile_parse(text, strlen(text), &again, &err) == 0) {
        walk(&again);
        store_modelfile_free(&again);
    }
    free(text);
    store_modelfile_free(&mf);
    return 0;
}
