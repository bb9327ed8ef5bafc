/* api: the chat front end of a model, as upstream decides it per model —
 * which template renders the prompt (the Modelfile's Go template, or the
 * GGUF's Jinja chat_template when there is none or it offers more), the
 * capabilities that follow (store.md §8), and which output parser turns
 * the model's text into content, thinking and tool calls
 * (capabilities.md §1). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "gguf/gguf.h"

/* Built-in parsers (config `parser`) we read with the generic machinery. */
typedef struct builtin {
    const char *name;
    bool tools, thinking, started; /* started: qwen3's quirks too (a stray <think>, <tool_call> ends thinking) */
    const char *open, *close;
    int kind;
    const char *tag;
} builtin;

static const builtin BUILTINS[] = {
    {"qwen3", true, false, false, NULL, NULL, CHAT_TOOLS_TAG, "<tool_call>"},
    {"qwen3-thinking", true, true, true, "<think>", "</think>", CHAT_TOOLS_TAG, "<tool_call>"},
    {"qwen3.5", true, true, false, "<think>", "</think>", CHAT_TOOLS_TAG, "<tool_call>"},
    {"ornith", true, true, false, "<think>", "</think>", CHAT_TOOLS_TAG, "<tool_call>"},
    {"qwen3-coder", true, false, false, NULL, NULL, CHAT_TOOLS_QWEN3_CODER, NULL},
    {"qwen3-vl-instruct", true, false, false, NULL, NULL, CHAT_TOOLS_TAG, "<tool_call>"},
    {"qwen3-vl-thinking", true, true, true, "<think>", "</think>", CHAT_TOOLS_TAG, "<tool_call>"},
    {"ministral", true, true, false, "[THINK]", "[/THINK]", CHAT_TOOLS_TAG, "[TOOL_CALLS]"},
    {"deepseek3", true, true, true, "<think>", "</think>", CHAT_TOOLS_TAG, "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c>"},
    {"cogito", true, true, false, "<think>", "</think>", CHAT_TOOLS_TAG, "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c>"},
    {"nemotron-3-nano", true, true, false, "<think>", "</think>", CHAT_TOOLS_TAG, "<tool_call>"},
    {"nemotron-3.5-nano", true, true, false, "<think>", "</think>", CHAT_TOOLS_TAG, "<tool_call>"},
    {"olmo3-think", false, true, true, "<think>", "</think>", CHAT_TOOLS_NONE, NULL},
    {"cohere", true, true, false, "<|START_THINKING|>", "<|END_THINKING|>", CHAT_TOOLS_TAG, "<|START_ACTION|>"},
    {"glm-4.7", true, true, true, "<think>", "</think>", CHAT_TOOLS_QWEN3_CODER, NULL},
    {"laguna", true, true, false, "<think>", "</think>", CHAT_TOOLS_QWEN3_CODER, NULL},
    {"poolside-v1", true, true, false, "<think>", "</think>", CHAT_TOOLS_QWEN3_CODER, NULL},
    /* Formats not parsed here yet: their capabilities still count. */
    {"lfm2", true, false, false, NULL, NULL, CHAT_TOOLS_PYTHON, "<|tool_call_start|>"},
    {"lfm2-thinking", true, true, false, "<think>", "</think>", CHAT_TOOLS_PYTHON, "<|tool_call_start|>"},
    {"olmo3", true, false, false, NULL, NULL, CHAT_TOOLS_PYTHON, "<function_calls>"},
    {"gemma4", true, true, false, "<|channel>thought\n", "<channel|>", CHAT_TOOLS_NONE, NULL},
    {"gemma4-no-thinking", true, false, false, NULL, NULL, CHAT_TOOLS_NONE, NULL},
    {"functiongemma", true, false, false, NULL, NULL, CHAT_TOOLS_NONE, NULL},
    {"glimmer", true, true, false, NULL, NULL, CHAT_TOOLS_NONE, NULL},
    {"glm-ocr", false, false, false, NULL, NULL, CHAT_TOOLS_NONE, NULL},
    {"harmony", true, true, false, NULL, NULL, CHAT_TOOLS_NONE, NULL},
    {"passthrough", false, false, false, NULL, NULL, CHAT_TOOLS_NONE, NULL},
};

static const builtin *builtin_for(const char *name) {
    for (size_t i = 0; name && i < sizeof BUILTINS / sizeof *BUILTINS; i++)
        if (!strcmp(BUILTINS[i].name, name)) return &BUILTINS[i];
    return NULL;
}

struct api_front {
    bool has_go, has_chat, use_go, harmony;
    gotmpl *go;          /* the Modelfile template, parsed (NULL: none or invalid) */
    char *go_text;       /* its text (NULL: none) */
    char *chat_template; /* tokenizer.chat_template */
    char *bos, *eos;
    bool add_bos;        /* the tokenizer adds BOS itself */
    char *arch;
    bool embedding, vision, audio;
    const builtin *parser;
    bool renderer, parser_set;
    bool strip_think; /* qwen3 family or deepseek-r1: older answers lose their <think> */
};

static void add_cap(char ***caps, int *n, const char *cap) {
    for (int i = 0; i < *n; i++)
        if (!strcmp((*caps)[i], cap)) return;
    *caps = oc_realloc(*caps, (size_t)(*n + 1) * sizeof(char *));
    (*caps)[(*n)++] = oc_strdup(cap);
}

static char *token_text(gguf_file *f, const char *id_key) {
    const gguf_value *toks = gguf_get(f, "tokenizer.ggml.tokens");
    int64_t id = gguf_get_int(f, id_key, -1);
    if (!toks || toks->type != GGUF_TYPE_ARRAY || toks->arr.type != GGUF_TYPE_STRING || id < 0 ||
        (uint64_t)id >= toks->arr.n)
        return oc_strdup("");
    return oc_strndup(toks->arr.strs[id].data, toks->arr.strs[id].len);
}

/* What the front end needs from a model's GGUF. Parsing the file decodes
 * every vocabulary string (hundreds of thousands for Llama 3), milliseconds
 * per request, so the facts are kept per blob path: blobs are named by
 * their digest, so a path's content never changes. */
typedef struct gguf_facts {
    char *path, *arch, *chat_template, *bos, *eos;
    bool embedding, vision, audio, add_bos;
} gguf_facts;

#define FACTS_CACHED 32
static gguf_facts facts_cache[FACTS_CACHED];
static int facts_next; /* the slot replaced next (round robin) */
static pthread_mutex_t facts_mu = PTHREAD_MUTEX_INITIALIZER;

static bool parse_facts(const char *path, gguf_facts *x) {
    gguf_file *g = gguf_open(path, NULL);
    if (!g) return false;
    x->arch = gguf_get_string(g, "general.architecture");
    char key[200];
    const char *a = x->arch ? x->arch : "";
    snprintf(key, sizeof key, "%s.pooling_type", a);
    x->embedding = gguf_get(g, key) != NULL;
    snprintf(key, sizeof key, "%s.vision.block_count", a);
    x->vision = gguf_get(g, key) != NULL;
    snprintf(key, sizeof key, "%s.audio.block_count", a);
    x->audio = gguf_get(g, key) != NULL;
    x->chat_template = gguf_get_string(g, "tokenizer.chat_template");
    if (x->chat_template && !*x->chat_template) free(x->chat_template), x->chat_template = NULL;
    x->bos = token_text(g, "tokenizer.ggml.bos_token_id");
    char *tm = gguf_get_string(g, "tokenizer.ggml.model");
    bool spm_like = tm && (!strcmp(tm, "llama") || !strcmp(tm, "bert"));
    x->add_bos = gguf_get_bool(g, "tokenizer.ggml.add_bos_token", spm_like);
    free(tm);
    x->eos = token_text(g, "tokenizer.ggml.eos_token_id");
    x->path = oc_strdup(path);
    gguf_close(g);
    return true;
}

static void facts_free(gguf_facts *x) {
    free(x->path), free(x->arch), free(x->chat_template), free(x->bos), free(x->eos);
    memset(x, 0, sizeof *x);
}

static char *dup_or_null(const char *s) { return s ? oc_strdup(s) : NULL; }

static void copy_facts(api_front *f, const gguf_facts *x) {
    f->arch = dup_or_null(x->arch);
    f->chat_template = dup_or_null(x->chat_template);
    f->bos = dup_or_null(x->bos);
    f->eos = dup_or_null(x->eos);
    f->embedding = x->embedding, f->vision = x->vision, f->audio = x->audio, f->add_bos = x->add_bos;
}

static void read_gguf(api_front *f, const store_model *m) {
    const char *fmt = m->config.model_format;
    if (!m->model_path || (fmt && *fmt && strcmp(fmt, "gguf") != 0)) return;
    pthread_mutex_lock(&facts_mu);
    for (int i = 0; i < FACTS_CACHED; i++)
        if (facts_cache[i].path && !strcmp(facts_cache[i].path, m->model_path)) {
            copy_facts(f, &facts_cache[i]);
            pthread_mutex_unlock(&facts_mu);
            return;
        }
    pthread_mutex_unlock(&facts_mu);
    gguf_facts x = {0};
    if (!parse_facts(m->model_path, &x)) return;
    copy_facts(f, &x);
    pthread_mutex_lock(&facts_mu);
    facts_free(&facts_cache[facts_next]);
    facts_cache[facts_next] = x;
    facts_next = (facts_next + 1) % FACTS_CACHED;
    pthread_mutex_unlock(&facts_mu);
}

/* OLLAMA_GO_TEMPLATE as Go's strconv.ParseBool: 1 true, 0 false, -1 unset. */
static int go_template_env(void) {
    const char *v = getenv("OLLAMA_GO_TEMPLATE");
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"}, *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (int i = 0; v && i < 6; i++) {
        if (!strcmp(v, yes[i])) return 1;
        if (!strcmp(v, no[i])) return 0;
    }
    return -1;
}

enum { SRC_SELECTED, SRC_GO, SRC_CHAT };

static bool ollama_rendered(const api_front *f, const store_model *m) {
    return (m->config.renderer && *m->config.renderer) || (m->config.parser && *m->config.parser) || f->harmony ||
           f->use_go;
}

static void go_caps(const api_front *f, char ***caps, int *n) {
    char **vars = NULL;
    size_t nv = 0;
    oc_error err;
    if (!f->go || gotmpl_vars(f->go, &vars, &nv, &err)) return;
    for (size_t i = 0; i < nv; i++) {
        if (!strcmp(vars[i], "tools")) add_cap(caps, n, "tools");
        if (!strcmp(vars[i], "suffix")) add_cap(caps, n, "insert");
    }
    gotmpl_vars_free(vars, nv);
    char *open, *close;
    gotmpl_think_tags(f->go, &open, &close);
    if (*open && *close) add_cap(caps, n, "thinking");
    free(open), free(close);
}

/* upstream's capabilitiesForTemplate: the list in its order, for the
 * template actually selected or for one of the two candidates. */
static int caps_for(const api_front *f, const store_model *m, int src, char ***out) {
    char **caps = NULL;
    int n = 0;
    for (size_t i = 0; i < m->config.n_capabilities; i++) add_cap(&caps, &n, m->config.capabilities[i]);
    if (f->arch) {
        if (f->chat_template && ((src == SRC_SELECTED && !ollama_rendered(f, m)) || src == SRC_CHAT)) {
            if (chat_jinja_has_tools(f->chat_template)) add_cap(&caps, &n, "tools");
            if (chat_jinja_has_thinking(f->chat_template)) add_cap(&caps, &n, "thinking");
        }
        add_cap(&caps, &n, f->embedding ? "embedding" : "completion");
        if (f->vision) add_cap(&caps, &n, "vision");
        if (f->audio) add_cap(&caps, &n, "audio");
    }
    if (m->n_projectors) add_cap(&caps, &n, "vision");
    bool templ = src == SRC_GO ? f->has_go : src == SRC_SELECTED ? !(f->has_go && !f->use_go) : false;
    if (templ) go_caps(f, &caps, &n);
    if (f->parser && f->parser->tools) add_cap(&caps, &n, "tools");
    if (f->parser && f->parser->thinking) add_cap(&caps, &n, "thinking");
    const char *fam = m->config.model_family;
    if (fam && (!strcmp(fam, "gptoss") || !strcmp(fam, "gpt-oss"))) add_cap(&caps, &n, "thinking");
    *out = caps;
    return n;
}

static bool has(char **caps, int n, const char *c) {
    for (int i = 0; i < n; i++)
        if (!strcmp(caps[i], c)) return true;
    return false;
}

/* upstream's shouldPreferChatTemplate. */
static bool prefer_chat(const api_front *f, const store_model *m) {
    char **gc, **cc;
    int ng = caps_for(f, m, SRC_GO, &gc), nc = caps_for(f, m, SRC_CHAT, &cc);
    bool go_rt = f->go && gotmpl_tool_round_trip(f->go), chat_rt = chat_jinja_tool_round_trip(f->chat_template);
    bool prefer;
    if (nc > ng) {
        prefer = !go_rt || chat_rt;
    } else {
        bool same = nc == ng;
        for (int i = 0; same && i < nc; i++) same = has(gc, ng, cc[i]);
        prefer = same && has(cc, nc, "tools") && has(gc, ng, "tools") && chat_rt && !go_rt;
    }
    api_capabilities_free(gc, ng);
    api_capabilities_free(cc, nc);
    return prefer;
}

api_front *api_front_open(const store_model *m) {
    api_front *f = oc_calloc(1, sizeof *f);
    read_gguf(f, m);
    f->has_chat = f->chat_template != NULL;
    f->has_go = m->template_text != NULL;
    f->go_text = m->template_text ? oc_strdup(m->template_text) : NULL;
    if (f->has_go) {
        oc_error err;
        f->go = gotmpl_parse("", m->template_text, &err);
        if (!f->go) oc_log(OC_LOG_WARN, "model template contains errors error=\"%s\"", err.msg);
    }
    f->parser = builtin_for(m->config.parser);
    f->renderer = m->config.renderer && *m->config.renderer;
    f->parser_set = m->config.parser && *m->config.parser;
    const char *fam = m->config.model_family, *t = m->template_text;
    f->harmony = fam && (!strcmp(fam, "gptoss") || !strcmp(fam, "gpt-oss")) && t && strstr(t, "<|start|>") &&
                 strstr(t, "<|end|>");
    f->strip_think = (fam && !strcmp(fam, "qwen3")) || !strcmp(m->name.model, "deepseek-r1");
    int env = go_template_env();
    bool builtin = f->renderer || (m->config.parser && *m->config.parser) || f->harmony;
    if (f->has_go)
        f->use_go = env >= 0 ? env == 1
                             : !(f->has_chat && !builtin && prefer_chat(f, m));
    return f;
}

void api_front_free(api_front *f) {
    if (!f) return;
    gotmpl_free(f->go);
    free(f->go_text);
    free(f->chat_template), free(f->bos), free(f->eos), free(f->arch);
    free(f);
}

int api_front_capabilities(const api_front *f, const store_model *m, char ***out) {
    return caps_for(f, m, SRC_SELECTED, out);
}

/* Native (Jinja) rendering: nothing of Ollama's own applies. A built-in
 * renderer we do not have falls back to the GGUF template too. */
bool api_front_uses_jinja(const api_front *f) {
    return f->has_chat && !f->use_go && !f->harmony && (f->renderer || !f->parser_set);
}

const char *api_front_chat_template(const api_front *f) { return f->chat_template; }

/* ---- rendering ---- */

/* A message as Hugging Face templates expect it: tool_calls (arguments as
 * objects), tool_call_id, name for tool results, reasoning_content. */
static json_t *jinja_message(const json_t *m) {
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v) {
        if (!strcmp(k, "images")) continue; /* (k drives the iteration: rename in a copy) */
        const char *name = !strcmp(k, "thinking") ? "reasoning_content" : !strcmp(k, "tool_name") ? "name" : k;
        json_object_set(o, name, v);
    }
    json_t *calls = json_object_get(o, "tool_calls");
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c) if (!json_object_get(c, "type")) json_object_set_new(c, "type", json_string("function"));
    return o;
}

static int render_jinja(const api_front *f, const json_t *msgs, const json_t *tools, const api_think *think,
                        const char *effort, oc_buf *out, oc_error *err) {
    jinja_template *t = jinja_parse(f->chat_template, err);
    if (!t) return oc_error_prefix(err, "chat template"), -1;
    json_t *ctx = json_object(), *ms = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) json_array_append_new(ms, jinja_message(m));
    json_object_set_new(ctx, "messages", ms);
    if (json_array_size(tools)) json_object_set_new(ctx, "tools", json_deep_copy(tools));
    json_object_set_new(ctx, "add_generation_prompt", json_true());
    json_object_set_new(ctx, "bos_token", json_string(f->bos ? f->bos : ""));
    json_object_set_new(ctx, "eos_token", json_string(f->eos ? f->eos : ""));
    if (think && think->set) {
        json_object_set_new(ctx, "enable_thinking", json_boolean(think->enabled));
        if (effort && *effort) json_object_set_new(ctx, "reasoning_effort", json_string(effort));
    }
    size_t before = out->len;
    int rc = jinja_render(t, ctx, out, err);
    if (rc) oc_error_prefix(err, "chat template");
    /* The tokenizer adds BOS: a template's own bos_token would double it
     * (llama.cpp drops it the same way). */
    size_t lb = f->bos ? strlen(f->bos) : 0;
    if (!rc && f->add_bos && lb && out->len - before >= lb && !memcmp(out->data + before, f->bos, lb)) {
        memmove(out->data + before, out->data + before + lb, out->len - before - lb + 1);
        out->len -= lb;
    }
    json_decref(ctx);
    jinja_free(t);
    return rc;
}

/* upstream's filterThinkTags: assistant messages before the last user
 * message keep only what follows their thinking block. */
static bool role_is(const json_t *m, const char *role) {
    const char *r = json_string_value(json_object_get(m, "role"));
    return r && !strcmp(r, role);
}

static json_t *strip_think(const json_t *msgs) {
    json_t *out = json_deep_copy(msgs), *m;
    size_t i, last_user = 0;
    bool any = false;
    json_array_foreach(out, i, m) if (role_is(m, "user")) last_user = i, any = true;
    json_array_foreach(out, i, m) {
        const char *c = json_string_value(json_object_get(m, "content"));
        if (!any || i >= last_user || !c || !role_is(m, "assistant")) continue;
        chat_parser *p = chat_parser_new(&(chat_parser_opts){.think_open = "<think>", .think_close = "</think>"});
        chat_delta d;
        chat_delta_init(&d);
        chat_parser_add(p, c, strlen(c), &d);
        json_object_set_new(m, "content", json_string(d.content.data));
        chat_delta_free(&d);
        chat_parser_free(p);
    }
    return out;
}

int api_front_render(const api_front *f, const char *go_template, const json_t *msgs, const json_t *tools,
                     const api_think *think, const char *effort, oc_buf *out, oc_error *err) {
    json_t *own = f->strip_think ? strip_think(msgs) : NULL;
    if (own) msgs = own;
    api_think capped;
    if (f->harmony && think && !strcmp(think->level, "max")) { /* harmony knows low/medium/high */
        capped = *think;
        snprintf(capped.level, sizeof capped.level, "high");
        think = &capped;
    }
    int rc = !go_template && api_front_uses_jinja(f) ? render_jinja(f, msgs, tools, think, effort, out, err)
                                                     : api_render(go_template ? go_template : f->go_text, msgs, tools,
                                                                  think, out, err);
    json_decref(own);
    return rc;
}

/* ---- output parsing ---- */

static bool ends_with_tag(const char *prompt, const char *tag) {
    size_t n = prompt ? strlen(prompt) : 0, lt = strlen(tag);
    while (n && strchr(" \t\n\r\v\f", prompt[n - 1])) n--;
    return lt && n >= lt && !memcmp(prompt + n - lt, tag, lt);
}

chat_parser *api_front_parser(const api_front *f, const api_think *think, json_t *tools, const char *prompt) {
    bool want_tools = json_array_size(tools) > 0, thinking = think && think->enabled;
    chat_parser_opts o = {.tool_list = tools};
    char *open = NULL, *close = NULL, *tag = NULL;
    if (f->harmony || (f->parser && !strcmp(f->parser->name, "harmony"))) {
        o.harmony = true;
    } else if (f->parser) {
        if (thinking && f->parser->thinking) o.think_open = f->parser->open, o.think_close = f->parser->close;
        o.think_started = f->parser->started;
        if (f->parser->started && f->parser->kind == CHAT_TOOLS_TAG && f->parser->tag && !strcmp(f->parser->tag, "<tool_call>")) {
            o.think_drop_stray = true;
            if (want_tools) o.think_abort = "<tool_call>";
        }
        if (want_tools && f->parser->tools) o.tools = f->parser->kind, o.tool_tag = f->parser->tag;
    } else if (api_front_uses_jinja(f) && strstr(f->chat_template, "<|channel|>")) {
        o.harmony = true; /* gpt-oss's own template: llama.cpp reads its output as harmony too */
    } else if (api_front_uses_jinja(f)) {
        if (thinking && chat_jinja_has_thinking(f->chat_template)) o.think_open = "<think>", o.think_close = "</think>";
        if (want_tools) o.tools = chat_jinja_tool_format(f->chat_template, &o.tool_tag);
    } else if (f->go) {
        if (thinking) {
            gotmpl_think_tags(f->go, &open, &close);
            o.think_open = open, o.think_close = close;
        }
        if (want_tools) o.tools = CHAT_TOOLS_TAG, o.tool_tag = tag = gotmpl_tool_tag(f->go);
    }
    if (o.think_open && *o.think_open && ends_with_tag(prompt, o.think_open)) o.think_started = true;
    bool any = o.harmony || o.tools != CHAT_TOOLS_NONE || (o.think_open && *o.think_open && o.think_close && *o.think_close);
    chat_parser *p = any ? chat_parser_new(&o) : NULL;
    free(open), free(close), free(tag);
    return p;
}
