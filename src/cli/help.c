/* cli: help texts in cobra's layout (description, Usage, Aliases, Flags in
 * pflag's column format, Environment Variables) for every command. */
#include <stdio.h>
#include <string.h>

#include "cli/cli_internal.h"

typedef struct help_flag {
    const char *left; /* "  -f, --file string" */
    const char *usage;
} help_flag;

typedef struct help_cmd {
    const char *name, *use, *short_text, *aliases;
    help_flag flags[12];
    const char *env; /* "run", "serve", "none" (no section) or NULL for OLLAMA_HOST */
} help_cmd;

#define HOST_ENV "OLLAMA_HOST", "IP Address for the ollama server (default 127.0.0.1:11434)"

static const help_cmd cmds[] = {
    {"create", "create MODEL", "Create a model", NULL,
     {{"      --draft-quantize string", "Quantize draft model to this level"},
      {"      --experimental", "Enable experimental safetensors model creation"},
      {"  -f, --file string", "Name of the Modelfile (default \"Modelfile\")"},
      {"  -h, --help", "help for create"},
      {"  -q, --quantize string", "Quantize model to this level (e.g. q4_K_M)"}},
     NULL},
    {"show", "show MODEL", "Show information for a model", NULL,
     {{"  -h, --help", "help for show"},
      {"      --license", "Show license of a model"},
      {"      --modelfile", "Show Modelfile of a model"},
      {"      --parameters", "Show parameters of a model"},
      {"      --system", "Show system message of a model"},
      {"      --template", "Show template of a model"},
      {"  -v, --verbose", "Show detailed model information"}},
     NULL},
    {"run", "run MODEL [PROMPT]", "Run a model", NULL,
     {{"      --dimensions int", "Truncate output embeddings to specified dimension (embedding models only)"},
      {"      --format string", "Response format (e.g. json)"},
      {"  -h, --help", "help for run"},
      {"      --hidethinking", "Hide thinking output (if provided)"},
      {"      --insecure", "Use an insecure registry"},
      {"      --keepalive string", "Duration to keep a model loaded (e.g. 5m)"},
      {"      --nowordwrap", "Don't wrap words to the next line automatically"},
      {"      --think string[=\"true\"]", "Enable thinking mode: true/false or high/medium/low for supported models"},
      {"      --truncate", "For embedding models: truncate inputs exceeding context length (default: true). "
                           "Set --truncate=false to error instead"},
      {"      --verbose", "Show timings for response"}},
     "run"},
    {"stop", "stop MODEL", "Stop a running model", NULL, {{"  -h, --help", "help for stop"}}, NULL},
    {"pull", "pull MODEL", "Pull a model from a registry", NULL,
     {{"  -h, --help", "help for pull"}, {"      --insecure", "Use an insecure registry"}}, NULL},
    {"push", "push MODEL", "Push a model to a registry", NULL,
     {{"  -h, --help", "help for push"}, {"      --insecure", "Use an insecure registry"}}, NULL},
    {"signin", "signin", "Sign in to ollama.com", NULL, {{"  -h, --help", "help for signin"}}, "none"},
    {"signout", "signout", "Sign out from ollama.com", NULL, {{"  -h, --help", "help for signout"}}, "none"},
    {"login", "login", "Sign in to ollama.com", NULL, {{"  -h, --help", "help for login"}}, "none"},
    {"logout", "logout", "Sign out from ollama.com", NULL, {{"  -h, --help", "help for logout"}}, "none"},
    {"list", "list", "List models", "list, ls", {{"  -h, --help", "help for list"}}, NULL},
    {"ps", "ps", "List running models", NULL, {{"  -h, --help", "help for ps"}}, NULL},
    {"cp", "cp SOURCE DESTINATION", "Copy a model", NULL, {{"  -h, --help", "help for cp"}}, NULL},
    {"rm", "rm MODEL [MODEL...]", "Remove a model", NULL,
     {{"      --all", "Remove every local model (asks first)"},
      {"  -f, --force", "Do not ask for confirmation"},
      {"  -h, --help", "help for rm"}},
     NULL},
};

static void print_flags(const help_flag *flags, FILE *out) {
    size_t maxlen = 0;
    for (const help_flag *f = flags; f->left; f++)
        if (strlen(f->left) + 1 > maxlen) maxlen = strlen(f->left) + 1;
    for (const help_flag *f = flags; f->left; f++)
        fprintf(out, "%s %*s %s\n", f->left, (int)(maxlen - strlen(f->left)), "", f->usage);
}

int cli_help_for(const char *name, FILE *out) {
    if (strcmp(name, "ls") == 0) name = "list";
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        const help_cmd *c = &cmds[i];
        if (strcmp(c->name, name) != 0) continue;
        fprintf(out, "%s\n\nUsage:\n  ollama %s [flags]\n\n", c->short_text, c->use);
        if (c->aliases) fprintf(out, "Aliases:\n  %s\n\n", c->aliases);
        fprintf(out, "Flags:\n");
        print_flags(c->flags, out);
        if (c->env && strcmp(c->env, "none") == 0) return 0;
        fprintf(out, "\nEnvironment Variables:\n");
        if (c->env && strcmp(c->env, "run") == 0)
            fprintf(out, "      %-27s   %s\n", "OLLAMA_EDITOR",
                    "Path to editor for interactive prompt editing (Ctrl+G)");
        fprintf(out, "      %-27s   %s\n", HOST_ENV);
        if (c->env && strcmp(c->env, "run") == 0)
            fprintf(out, "      %-27s   %s\n", "OLLAMA_NOHISTORY", "Do not preserve readline history");
        return 0;
    }
    return -1;
}
