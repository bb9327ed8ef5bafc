/* api: rendering a conversation through a model's Go template the way
 * upstream's template.Execute does: consecutive messages of one role are
 * merged, system messages collected; templates that use .Messages get the
 * whole list, older ones (.System/.Prompt/.Response) are executed once per
 * exchange, the last one cut after .Response. */
#include <string.h>

#include "api/api_internal.h"

static const char *str_of(const json_t *msg, const char *key) {
    const char *s = json_string_value(json_object_get(msg, key));
    return s ? s : "";
}

/* Merges consecutive messages of one role (tool messages excepted). */
static json_t *collate(const json_t *messages, oc_buf *system) {
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m) {
        const char *role = str_of(m, "role"), *content = str_of(m, "content");
        if (strcmp(role, "system") == 0) {
            if (system->len) oc_buf_puts(system, "\n\n");
            oc_buf_puts(system, content);
        }
        json_t *last = json_array_size(out) ? json_array_get(out, json_array_size(out) - 1) : NULL;
        if (last && strcmp(str_of(last, "role"), role) == 0 && strcmp(role, "tool") != 0) {
            oc_buf merged = {0};
            oc_buf_printf(&merged, "%s\n\n%s", str_of(last, "content"), content);
            json_object_set_new(last, "content", json_string(merged.data));
            oc_buf_free(&merged);
        } else {
            json_array_append_new(out, json_deep_copy(m));
        }
    }
    return out;
}

static void set_think(json_t *data, const api_think *think) {
    json_object_set_new(data, "Think", json_boolean(think && think->enabled));
    json_object_set_new(data, "ThinkLevel", json_string(think && think->enabled ? think->level : ""));
    json_object_set_new(data, "IsThinkSet", json_boolean(think && think->set));
}

static int execute(const gotmpl *t, json_t *data, oc_buf *out, oc_error *err) {
    int rc = gotmpl_execute(t, data, out, err);
    json_decref(data);
    return rc;
}

static json_t *legacy_values(const char *system, const char *prompt, const char *response, const api_think *think) {
    json_t *d = json_object();
    json_object_set_new(d, "System", json_string(system));
    json_object_set_new(d, "Prompt", json_string(prompt));
    json_object_set_new(d, "Response", json_string(response));
    set_think(d, think);
    return d;
}

/* One execution per (system, prompt, response) exchange; the last runs
 * the template cut after its .Response (upstream's deleteNode), since the
 * model is about to write the response. */
static int render_legacy(const gotmpl *t, const json_t *msgs, const api_think *think, oc_buf *out, oc_error *err) {
    const char *system = "", *prompt = "", *response = "";
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        const char *role = str_of(m, "role");
        bool flush = (strcmp(role, "system") == 0 && (*prompt || *response)) ||
                     (strcmp(role, "user") == 0 && *response);
        if (flush) {
            if (execute(t, legacy_values(system, prompt, response, think), out, err)) return -1;
            system = prompt = response = "";
        }
        if (strcmp(role, "system") == 0) system = str_of(m, "content");
        else if (strcmp(role, "user") == 0) prompt = str_of(m, "content");
        else if (strcmp(role, "assistant") == 0) response = str_of(m, "content");
    }
    gotmpl *cut = gotmpl_cut_after_response(t);
    int rc = execute(cut ? cut : t, legacy_values(system, prompt, response, think), out, err);
    gotmpl_free(cut);
    return rc;
}

static bool has_var(char **vars, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(vars[i], name) == 0) return true;
    return false;
}

/* Parses as upstream's template.Parse: a template that uses neither
 * .Messages nor .Response gets {{ .Response }} appended. */
static gotmpl *parse_template(const char *text, bool *uses_messages, oc_error *err) {
    gotmpl *t = gotmpl_parse("", text && *text ? text : "{{ .Prompt }}", err);
    char **vars = NULL;
    size_t n = 0;
    if (!t || gotmpl_vars(t, &vars, &n, err)) return gotmpl_free(t), NULL;
    *uses_messages = has_var(vars, n, "messages");
    bool ok = *uses_messages || has_var(vars, n, "response") || gotmpl_append_response(t, err) == 0;
    gotmpl_vars_free(vars, n);
    if (!ok) gotmpl_free(t);
    return ok ? t : NULL;
}

int api_render(const char *tmpl, const json_t *messages, const json_t *tools, const api_think *think,
               oc_buf *out, oc_error *err) {
    bool uses_messages;
    gotmpl *t = parse_template(tmpl, &uses_messages, err);
    if (!t) return -1;
    oc_buf system = {0};
    json_t *msgs = collate(messages, &system);
    int rc;
    if (uses_messages) {
        json_t *d = json_object();
        json_object_set_new(d, "System", json_string(system.data ? system.data : ""));
        json_object_set(d, "Messages", msgs);
        json_object_set_new(d, "Tools", tools ? json_deep_copy(tools) : json_array());
        json_object_set_new(d, "Response", json_string(""));
        set_think(d, think);
        rc = execute(t, d, out, err);
    } else {
        rc = render_legacy(t, msgs, think, out, err);
    }
    json_decref(msgs);
    oc_buf_free(&system);
    gotmpl_free(t);
    return rc;
}
