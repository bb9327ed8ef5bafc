/* api: the store's plug-ins that live in other modules — the quantizer
 * of `create --quantize` (model) — installed when the API is set up. */
#include "api/api_internal.h"
#include "model/model.h"

static int quantize_hook(void *ud, const char *in_path, const char *out_path, const char *type, oc_error *err) {
    (void)ud;
    return model_quantize_scheme(in_path, out_path, type, err);
}

void api_install_store_hooks(struct store *st) {
    store_hooks hooks = {.quantize = quantize_hook};
    store_set_hooks(st, &hooks);
}
