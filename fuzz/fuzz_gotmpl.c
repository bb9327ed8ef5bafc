/* libFuzzer target for the Go text/template engine: any bytes must parse
 * or fail cleanly, and a template that parses must execute or fail
 * cleanly, within the engine's output, depth and step limits, against a
 * small fixed chat (messages with a tool call, tools, assorted values);
 * so must upstream's tree operations (vars, the cut after .Response, the
 * appended .Response). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"

static const char DATA[] =
    "{\"System\":\"sys\",\"Prompt\":\"p\",\"Response\":\"\",\"Think\":true,\"ThinkLevel\":\"high\","
    "\"IsThinkSet\":true,\"Messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
    "{\"role\":\"user\",\"content\":\"hi <b> & 'q'\",\"images\":[\"aGk=\"]},"
    "{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"hmm\",\"tool_calls\":[{\"id\":\"c1\","
    "\"function\":{\"index\":0,\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\",\"n\":3,"
    "\"f\":1.5,\"nested\":{\"a\":null,\"b\":[1,2]}}}}]},"
    "{\"role\":\"tool\",\"content\":\"sunny\",\"tool_name\":\"get_weather\"}],"
    "\"Tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"d\","
    "\"parameters\":{\"type\":\"object\",\"required\":[\"city\"],\"properties\":{\"city\":{\"type\":"
    "\"string\",\"description\":\"c\"},\"unit\":{\"type\":[\"string\",\"null\"],\"enum\":[\"c\",\"f\"]},"
    "\"o\":{\"type\":\"object\",\"properties\":{\"z\":{\"type\":\"integer\"}}},"
    "\"any\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"number\"}]}}}}}],"
    "\"Arr\":[1,\"a\",true,null,{\"k\":\"v\"}],\"Map\":{\"b\":2,\"a\":1},\"Num\":3,\"F\":2.5,\"E\":\"\"}";

static json_t *data(void) {
    static json_t *d;
    if (!d) d = json_loads(DATA, 0, NULL);
    if (!d) abort();
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, bytes, size);
    text[size] = 0;
    oc_error err;
    gotmpl *t = gotmpl_parse("fuzz", text, &err);
    if (t) {
        oc_buf out = {0};
        if (gotmpl_execute(t, data(), &out, &err) == 0 && out.len > (16u << 20)) abort();
        char **vars;
        size_t n;
        if (gotmpl_vars(t, &vars, &n, &err) == 0) gotmpl_vars_free(vars, n);
        gotmpl *cut = gotmpl_cut_after_response(t);
        if (!cut) abort(); /* the source parsed once already */
        gotmpl_execute(cut, data(), &out, &err);
        gotmpl_free(cut);
        if (size < 4096 && gotmpl_append_response(t, &err) == 0) gotmpl_execute(t, data(), &out, &err);
        oc_buf_free(&out);
        gotmpl_free(t);
    } else if (strncmp(err.msg, "template: fuzz:", 15) != 0) {
        abort(); /* parse errors always name the template and position */
    }
    free(text);
    return 0;
}
