/* GGUF facts for create (internal to the store). */
#ifndef OLLAMA_STORE_GGUFINFO_H
#define OLLAMA_STORE_GGUFINFO_H

#include "gguf/gguf.h"
#include "store/store.h"

char *store_gguf_str(const gguf_file *g, const char *key, const char *def);
/* A uint32 key (arch-scoped unless general./tokenizer.); 0 when absent. */
uint32_t store_gguf_u32(const gguf_file *g, const char *key);
/* general.file_type's name; "unknown" when absent or 0 (upstream quirk). */
const char *store_gguf_file_type(const gguf_file *g);
/* "F32", "F16" or "BF16" when every 2-D weight has that type, else
 * "unknown": the source type of a file without general.file_type. */
const char *store_gguf_weights_type(const gguf_file *g);
/* Sum over tensors of their element counts. */
uint64_t store_gguf_param_count(const gguf_file *g);
bool store_gguf_is_projector(const gguf_file *g);
int64_t store_gguf_split_count(const gguf_file *g);
/* "GGUF" magic in either byte order. */
bool store_is_gguf_magic(const unsigned char *b, size_t n);

#endif
