/* Modelfile parser, PARAMETER typing and the Modelfile writer, against the
 * cases of upstream parser/parser_test.go and modelfile.md §1-3. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store/store.h"

/* Parses text and compares the commands with pairs of (name, args),
 * terminated by NULL. */
static void expect_cmds(const char *text, ...) {
    store_modelfile mf;
    oc_error err = {{0}};
    int rc = store_modelfile_parse(text, strlen(text), &mf, &err);
    CHECK_MSG(rc == 0, "parse failed: %s\n---\n%s", err.msg, text);
    if (rc != 0) return;
    va_list ap;
    va_start(ap, text);
    size_t i = 0;
    for (const char *name; (name = va_arg(ap, const char *)); i++) {
        const char *args = va_arg(ap, const char *);
        CHECK_MSG(i < mf.n, "missing command %zu (%s) in\n%s", i, name, text);
        if (i >= mf.n) break;
        CHECK_EQ_STR(mf.commands[i].name, name);
        CHECK_EQ_STR(mf.commands[i].args, args);
    }
    va_end(ap);
    CHECK_MSG(i == mf.n, "%zu commands, expected %zu in\n%s", mf.n, i, text);
    store_modelfile_free(&mf);
}

static void expect_err(const char *text, const char *msg) {
    store_modelfile mf;
    oc_error err = {{0}};
    int rc = store_modelfile_parse(text, strlen(text), &mf, &err);
    CHECK_EQ_INT(rc, STORE_ERR_INVALID);
    CHECK_EQ_STR(err.msg, msg);
}

static const char *CMD_ERR =
    "command must be one of \"from\", \"license\", \"template\", \"system\", \"adapter\", \"draft\", "
    "\"renderer\", \"parser\", \"parameter\", \"message\", or \"requires\"";

static void test_basic(void) {
    expect_cmds("\nFROM model1\nADAPTER adapter1\nLICENSE MIT\nPARAMETER param1 value1\nPARAMETER param2 value2\n"
                "TEMPLATE \"\"\"{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}\"\"\"    \n",
                "model", "model1", "adapter", "adapter1", "license", "MIT", "param1", "value1", "param2", "value2",
                "template", "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}", NULL);
    expect_cmds("\nFROM base\nDRAFT ./assistant\n", "model", "base", "draft", "./assistant", NULL);
    expect_cmds("\nFROM foo\nRENDERER renderer1\nPARSER parser1\nREQUIRES 0.14.0\n", "model", "foo", "renderer",
                "renderer1", "parser", "parser1", "requires", "0.14.0", NULL);
    /* instruction names are case-insensitive */
    expect_cmds("from a\nFrom b\nsYsTeM hi\n", "model", "a", "model", "b", "system", "hi", NULL);
}

static void test_trim_and_from(void) {
    expect_cmds("\nFROM \"     model 1\"\nADAPTER      adapter3\nLICENSE \"MIT       \"\nPARAMETER param1        value1\n"
                "TEMPLATE \"\"\"   {{ .Prompt }}   \"\"\"    \n",
                "model", "     model 1", "adapter", "adapter3", "license", "MIT       ", "param1", "value1", "template",
                "   {{ .Prompt }}   ", NULL);
    expect_cmds("FROM \"FOO  BAR  \"", "model", "FOO  BAR  ", NULL);
    expect_cmds("FROM \"FOO BAR\"\nPARAMETER param1 value1", "model", "FOO BAR", "param1", "value1", NULL);
    expect_cmds("FROM     FOOO BAR    ", "model", "FOOO BAR", NULL);
    expect_cmds("FROM /what/is/the path ", "model", "/what/is/the path", NULL);
    expect_cmds("FROM llama3:7b-instruct-q4_K_M", "model", "llama3:7b-instruct-q4_K_M", NULL);
    expect_cmds("PARAMETER param1 value1\nFROM foo", "param1", "value1", "model", "foo", NULL);
    expect_cmds("PARAMETER what the \nFROM lemons make lemonade ", "what", "the", "model", "lemons make lemonade", NULL);
    expect_cmds("FROM x # c", "model", "x # c", NULL);
    expect_cmds("\n# comment\nFROM foo\n\t", "model", "foo", NULL);
    expect_err("", "no FROM line");
    expect_err("PARAMETER param1 value1", "no FROM line");
    expect_err("# only a comment\n", "no FROM line");
}

static void test_quotes(void) {
    expect_cmds("\nFROM foo\nSYSTEM \"\"\"\nThis is a\nmultiline system.\n\"\"\"\n\t\t\t", "model", "foo", "system",
                "\nThis is a\nmultiline system.\n", NULL);
    expect_cmds("\nFROM foo\nSYSTEM \"\"\"This is a\nmultiline system.\"\"\"\n", "model", "foo", "system",
                "This is a\nmultiline system.", NULL);
    expect_cmds("FROM foo\nSYSTEM \"\"\"\nThis is a multiline system with \"quotes\".\n\"\"\"\n", "model", "foo",
                "system", "\nThis is a multiline system with \"quotes\".\n", NULL);
    expect_cmds("FROM foo\nSYSTEM \"\"\"\"\"\"\n", "model", "foo", "system", "", NULL);
    expect_cmds("FROM foo\nSYSTEM \"\"\n", "model", "foo", "system", "", NULL);
    expect_cmds("FROM foo\nSYSTEM \"'\"\n", "model", "foo", "system", "'", NULL);
    expect_cmds("FROM foo\nSYSTEM \"\"\"''\"'\"\"'\"\"'\"'''''\"\"'\"\"'\"\"\"\n", "model", "foo", "system",
                "''\"'\"\"'\"\"'\"'''''\"\"'\"\"'", NULL);
    expect_cmds("FROM foo\nTEMPLATE \"\"\"\n{{ .Prompt }}\n\"\"\"", "model", "foo", "template", "\n{{ .Prompt }}\n",
                NULL);
    expect_err("\nFROM foo\nSYSTEM \"\"\"This is a multiline system.\"\"\n\t\t\t", "unexpected EOF");
    expect_err("\nFROM foo\nSYSTEM \"\n\t\t\t", "unexpected EOF");
    /* "a" b never closes: it swallows the rest of the file */
    expect_err("FROM foo\nSYSTEM \"a\" b\nPARAMETER x y\n", "unexpected EOF");
}

static void test_messages(void) {
    expect_cmds("\nFROM foo\nMESSAGE system You are a file parser. Always parse things.\n", "model", "foo", "message",
                "system: You are a file parser. Always parse things.", NULL);
    expect_cmds("\nFROM foo\nMESSAGE system You are a file parser. Always parse things.", "model", "foo", "message",
                "system: You are a file parser. Always parse things.", NULL);
    expect_cmds("FROM foo\nMESSAGE system A\nMESSAGE user Hey there!\nMESSAGE assistant Hello!\n", "model", "foo",
                "message", "system: A", "message", "user: Hey there!", "message", "assistant: Hello!", NULL);
    expect_cmds("\nFROM foo\nMESSAGE system \"\"\"\nYou are a multiline file parser.\n\"\"\"\n\t\t\t", "model", "foo",
                "message", "system: \nYou are a multiline file parser.\n", NULL);
    expect_err("\nFROM foo\nMESSAGE badguy I'm a bad guy!\n",
               "(line 3): message role must be one of \"system\", \"user\", or \"assistant\"");
    expect_err("\nFROM foo\nMESSAGE User hi\n",
               "(line 3): message role must be one of \"system\", \"user\", or \"assistant\"");
    expect_err("\nFROM foo\nMESSAGE system\n", "unexpected EOF: system");
    expect_err("\nFROM foo\nMESSAGE system", "unexpected EOF");
}

static void test_parameters(void) {
    static const char *cases[][3] = {
        {"num_ctx 1", "num_ctx", "1"},
        {"top_p 1.0", "top_p", "1.0"},
        {"stop ### User:", "stop", "### User:"},
        {"stop ### User: ", "stop", "### User:"},
        {"stop \"### User:\"", "stop", "### User:"},
        {"stop \"### User: \"", "stop", "### User: "},
        {"stop \"\"\"### User:\"\"\"", "stop", "### User:"},
        {"stop \"\"\"### User:\n\"\"\"", "stop", "### User:\n"},
        {"stop <|endoftext|>", "stop", "<|endoftext|>"},
        {"stop </s>", "stop", "</s>"},
        {"numa true", "numa", "true"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[128];
        snprintf(text, sizeof text, "FROM foo\nPARAMETER %s\n", cases[i][0]);
        expect_cmds(text, "model", "foo", cases[i][1], cases[i][2], NULL);
    }
    expect_err("\nFROM foo\nPARAMETER param1\n", "unexpected EOF: param1");
    expect_err("FROM foo\nPARAMETER param-1 x\n", "unexpected EOF: param");
}

static void test_errors_and_lines(void) {
    char want[512];
    snprintf(want, sizeof want, "(line 3): %s", CMD_ERR);
    expect_err("\nFROM foo\nBADCOMMAND param1 value1\n", want);
    /* the newline that ends a bare word is already counted */
    snprintf(want, sizeof want, "(line 2): %s", CMD_ERR);
    expect_err("FROM\nx", want);
    /* CR and LF each count: CRLF files over-count (the word is on line 2) */
    snprintf(want, sizeof want, "(line 3): %s", CMD_ERR);
    expect_err("FROM a\r\nBAD b\r\n", want);
    snprintf(want, sizeof want, "(line 1): %s", CMD_ERR);
    expect_err("FR0M x\n", want);
    expect_err("FROM x\nSYSTEM", "unexpected EOF");
    expect_err("FROM x\nPARAMETER", "unexpected EOF");
    /* CRLF values end at the CR */
    expect_cmds("FROM a\r\nSYSTEM b c\r\n", "model", "a", "system", "b c", NULL);
}

static void test_encodings(void) {
    /* UTF-8 BOM skipped; UTF-16 LE and BE by BOM */
    expect_cmds("\xEF\xBB\xBF" "FROM bom\n", "model", "bom", NULL);
    const char *src = "FROM bob\nPARAMETER param1 1\nSYSTEM \xE4\xBD\xA0\xE5\xA5\xBD\n";
    unsigned char le[256], be[256];
    size_t n = 2;
    le[0] = 0xFF, le[1] = 0xFE, be[0] = 0xFE, be[1] = 0xFF;
    for (const unsigned char *p = (const unsigned char *)src; *p;) {
        unsigned cp = *p;
        int k = cp < 0x80 ? 1 : 3;
        if (k == 3) cp = ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        p += k;
        le[n] = cp & 0xFF, le[n + 1] = cp >> 8, be[n] = cp >> 8, be[n + 1] = cp & 0xFF;
        n += 2;
    }
    for (int pass = 0; pass < 2; pass++) {
        store_modelfile mf;
        CHECK_EQ_INT(store_modelfile_parse(pass ? be : le, n, &mf, NULL), 0);
        CHECK_EQ_INT(mf.n, 3);
        if (mf.n == 3) CHECK_EQ_STR(mf.commands[2].args, "\xE4\xBD\xA0\xE5\xA5\xBD");
        store_modelfile_free(&mf);
    }
    /* control and format characters are dropped, even inside quotes */
    expect_cmds("FROM a\xE2\x80\x8B" "b\nSYSTEM \"x\xC2\xA0y\x01z\"\n", "model", "ab", "system", "xyz", NULL);
    /* invalid UTF-8 becomes U+FFFD (printable) */
    expect_cmds("FROM a\xFF" "b\n", "model", "a\xEF\xBF\xBD" "b", NULL);
    /* a NUL where a word may start begins the word without adding to it */
    store_modelfile mf;
    CHECK_EQ_INT(store_modelfile_parse("FROM a\n\0SYSTEM b\n", 17, &mf, NULL), 0);
    CHECK_EQ_INT(mf.n, 2);
    if (mf.n == 2) CHECK_EQ_STR(mf.commands[1].args, "b");
    store_modelfile_free(&mf);
}

static void test_format_roundtrip(void) {
    const char *inputs[] = {
        "\nFROM foo\nADAPTER adapter1\nLICENSE MIT\nPARAMETER param1 value1\nTEMPLATE template1\n"
        "MESSAGE system You are a file parser. Always parse things.\nMESSAGE user Hey there!\n",
        "\nFROM foo\nLICENSE \"\"\"\nVery long and boring legal text.\n\"Oh look, a quote!\"\n\"\"\"\n\n"
        "MESSAGE system \"\"\"\nYou are a store greeter. Always respond with \"Hello!\".\n\"\"\"\n",
        "\nFROM foo\nSYSTEM \"\"\n",
        "FROM foo\nSYSTEM \" leading\"\nTEMPLATE \"trailing \"\n",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        store_modelfile a, b;
        CHECK_EQ_INT(store_modelfile_parse(inputs[i], strlen(inputs[i]), &a, NULL), 0);
        char *text = store_modelfile_format(&a);
        CHECK_EQ_INT(store_modelfile_parse(text, strlen(text), &b, NULL), 0);
        CHECK_EQ_INT(a.n, b.n);
        for (size_t k = 0; k < a.n && k < b.n; k++) {
            CHECK_EQ_STR(a.commands[k].name, b.commands[k].name);
            CHECK_EQ_STR(a.commands[k].args, b.commands[k].args);
        }
        free(text);
        store_modelfile_free(&a);
        store_modelfile_free(&b);
    }
    char *q = store_modelfile_quote("{{ .Prompt }}");
    CHECK_EQ_STR(q, "{{ .Prompt }}");
    free(q);
    q = store_modelfile_quote("a\nb");
    CHECK_EQ_STR(q, "\"a\nb\"");
    free(q);
    q = store_modelfile_quote(" say \"hi\"");
    CHECK_EQ_STR(q, "\"\"\" say \"hi\"\"\"\"");
    free(q);
    store_modelfile mf;
    const char *src = "FROM /m\nPARAMETER stop <|eot_id|>\nMESSAGE user hi there\nTEMPLATE x\n";
    CHECK_EQ_INT(store_modelfile_parse(src, strlen(src), &mf, NULL), 0);
    char *text = store_modelfile_format(&mf);
    CHECK_EQ_STR(text, "FROM /m\nPARAMETER stop <|eot_id|>\nMESSAGE user hi there\nTEMPLATE x\n");
    free(text);
    store_modelfile_free(&mf);
}

/* One PARAMETER through FormatParams; want is the Go JSON of the value. */
static void expect_param(const char *name, const char *value, const char *want) {
    json_t *v = NULL;
    oc_error err = {{0}};
    int rc = store_param_value(name, value, &v, &err);
    CHECK_MSG(rc == 0, "%s %s: %s", name, value, err.msg);
    if (rc != 0) return;
    size_t len;
    char *got = store_json_encode(v, &len, NULL);
    got[len - 1] = 0; /* drop the newline */
    CHECK_EQ_STR(got, want);
    free(got);
    json_decref(v);
}

static void expect_param_err(const char *name, const char *value, const char *msg) {
    json_t *v = NULL;
    oc_error err = {{0}};
    CHECK_EQ_INT(store_param_value(name, value, &v, &err), STORE_ERR_INVALID);
    CHECK_EQ_STR(err.msg, msg);
}

static void test_param_types(void) {
    expect_param("num_ctx", "4096", "4096");
    expect_param("seed", "-1", "-1");
    expect_param("num_predict", "+42", "42");
    expect_param("temperature", "0.7", "0.7");
    expect_param("top_p", "1.0", "1");
    expect_param("min_p", "0.05", "0.05");
    expect_param("repeat_penalty", "1.1", "1.1");
    expect_param("temperature", "1e-7", "1e-7");
    expect_param("temperature", "1_0.5", "10.5");
    expect_param("temperature", "0x1p-2", "0.25");
    expect_param("temperature", ".5", "0.5");
    expect_param("temperature", "3.4028235e38", "3.4028235e+38");
    expect_param("num_ctx", "9223372036854775807", "9223372036854776000"); /* via float64 */
    expect_param("temperature", "123456789", "123456790");
    expect_param("use_mmap", "true", "true");
    expect_param("use_mmap", "F", "false");
    expect_param("stop", "<|eot_id|>", "[\"\\u003c|eot_id|\\u003e\"]");
    expect_param_err("numa", "true", "unknown parameter 'numa'");
    expect_param_err("num_ctx", "4k", "invalid int value [4k]");
    expect_param_err("num_ctx", "1_000", "invalid int value [1_000]");
    expect_param_err("num_ctx", "99999999999999999999", "invalid int value [99999999999999999999]");
    expect_param_err("num_ctx", " 1", "invalid int value [ 1]");
    expect_param_err("temperature", "hot", "invalid float value [hot]");
    expect_param_err("temperature", "1e39", "invalid float value [1e39]");
    expect_param_err("temperature", "0x10", "invalid float value [0x10]");
    expect_param_err("temperature", "1__0", "invalid float value [1__0]");
    expect_param_err("temperature", "nan", "json: unsupported value: NaN");
    expect_param_err("use_mmap", "yes", "invalid bool value [yes]");

    /* stop accumulates; other names replace; deprecated ones are dropped */
    json_t *p = json_object();
    CHECK_EQ_INT(store_params_add(p, "stop", "<|im_start|>", NULL), 0);
    CHECK_EQ_INT(store_params_add(p, "stop", "<|im_end|>", NULL), 0);
    CHECK_EQ_INT(store_params_add(p, "top_k", "10", NULL), 0);
    CHECK_EQ_INT(store_params_add(p, "top_k", "40", NULL), 0);
    CHECK_EQ_INT(store_params_add(p, "temperature", "0.7", NULL), 0);
    CHECK_EQ_INT(store_params_add(p, "mirostat", "2", NULL), 0);
    char *enc = store_json_encode(p, NULL, NULL);
    CHECK_EQ_STR(enc, "{\"stop\":[\"\\u003c|im_start|\\u003e\",\"\\u003c|im_end|\\u003e\"],\"temperature\":0.7,"
                      "\"top_k\":40}\n");
    free(enc);
    json_decref(p);
}

int main(void) {
    test_basic();
    test_trim_and_from();
    test_quotes();
    test_messages();
    test_parameters();
    test_errors_and_lines();
    test_encodings();
    test_format_roundtrip();
    test_param_types();
    return check_done();
}
