/* chat_named: the table of Ollama's named templates (chat_named_data.c,
 * generated) that chat_named.c matches GGUF chat templates against. */
#ifndef OLLAMA_CHAT_NAMED_H
#define OLLAMA_CHAT_NAMED_H

#include <stddef.h>

typedef struct chat_named_tmpl {
    const char *name, *text, *stop_json; /* stop_json: NULL when none */
} chat_named_tmpl;
typedef struct chat_named_entry {
    const char *name, *jinja;
} chat_named_entry;

extern const chat_named_tmpl chat_named_templates[];
extern const int chat_named_n_templates;
extern const chat_named_entry chat_named_index[];
extern const int chat_named_n_index;

#endif
