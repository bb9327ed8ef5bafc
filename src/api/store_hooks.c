/* api: the store's plug-ins that live in other modules — the quantizer
 * of `create --quantize` (model), chat-template autodetection on import
 * and TEMPLATE validation (chat) — installed when the API is set up. */
#include "api/api_internal.h"
#include "model/model.h"

static int quantize_hook(void *ud, const char *in_path, const char *out_path, const char *type,
                         store_quantize_progress_fn progress, void *progress_ctx, oc_error *err) {
    (void)ud;
    return model_quantize_scheme(in_path, out_path, type, progress, progress_ctx, err);
}

/* modelfile.md §7: Ollama's named template nearest the GGUF's. */
static int detect_template_hook(void *ud, const char *chat_template, char **name, char **tmpl, char **stop_json,
                                oc_error *err) {
    (void)ud, (void)err;
    const char *n, *t, *s;
    if (!chat_named_template(chat_template, &n, &t, &s)) return 0;
    *name = oc_strdup(n);
    *tmpl = oc_strdup(t);
    *stop_json = s ? oc_strdup(s) : NULL;
    return 1;
}

/* A TEMPLATE must parse as upstream's template.Parse (named ""). */
static int check_template_hook(void *ud, const char *tmpl, oc_error *err) {
    (void)ud;
    gotmpl *t = gotmpl_parse("", tmpl, err);
    char **vars = NULL;
    size_t n = 0;
    int rc = t && gotmpl_vars(t, &vars, &n, err) == 0 ? 0 : -1;
    gotmpl_vars_free(vars, n);
    gotmpl_free(t);
    return rc;
}

void api_install_store_hooks(struct store *st) {
    store_hooks hooks = {.quantize = quantize_hook, .detect_template = detect_template_hook,
                         .check_template = check_template_hook};
    store_set_hooks(st, &hooks);
}
