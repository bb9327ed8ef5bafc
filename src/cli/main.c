/* cli: entry point, command dispatch and the root help text. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_internal.h"

static void usage(FILE *out) {
    fprintf(out,
            "Large language model runner\n\n"
            "Usage:\n  ollama [flags]\n  ollama [command]\n\n"
            "Available Commands:\n"
            "  serve       Start Ollama\n"
            "  create      Create a model\n"
            "  show        Show information for a model\n"
            "  run         Run a model\n"
            "  stop        Stop a running model\n"
            "  pull        Pull a model from a registry\n"
            "  push        Push a model to a registry\n"
            "  signin      Sign in to ollama.com\n"
            "  signout     Sign out from ollama.com\n"
            "  list        List models\n"
            "  ps          List running models\n"
            "  cp          Copy a model\n"
            "  rm          Remove a model\n"
            "  help        Help about any command\n\n"
            "Developer commands:\n"
            "  generate-file MODEL.gguf PROMPT   Generate text from a GGUF file with the engine\n"
            "  bench-file MODEL.gguf             Measure prompt and generation speed\n"
            "  quantize-file IN OUT TYPE         Write a copy of a model quantized to TYPE\n\n"
            "Flags:\n"
            "  -h, --help         help for ollama\n"
            "      --nowordwrap   Don't wrap words to the next line automatically\n"
            "      --verbose      Show timings for response\n"
            "  -v, --version      Show version information\n\n"
            "Use \"ollama [command] --help\" for more information about a command.\n");
}

typedef struct command {
    const char *name;
    int (*fn)(int, char **);
} command;

static const command commands[] = {
    {"serve", cli_serve}, {"start", cli_serve}, {"create", cli_create}, {"show", cli_show},
    {"run", cli_run},     {"stop", cli_stop},   {"pull", cli_pull},     {"push", cli_push},
    {"list", cli_list},   {"ls", cli_list},     {"ps", cli_ps},         {"cp", cli_cp},
    {"rm", cli_rm},       {"signin", cli_signin}, {"login", cli_signin},  {"signout", cli_signout},
    {"logout", cli_signout}, {"generate-file", cli_generate_file},      {"bench-file", cli_bench_file},
    {"quantize-file", cli_quantize_file},
};

static int help(int argc, char **argv) {
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "serve") == 0 || strcmp(argv[1], "start") == 0) {
        char *args[] = {"serve", "--help", NULL};
        return cli_serve(2, args);
    }
    if (cli_help_for(argv[1], stdout) == 0) return 0;
    fprintf(stderr, "Unknown help topic [`%s`]\n", argv[1]);
    usage(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    const char *cmd = argv[1];
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(cmd, commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    if (strcmp(cmd, "-v") == 0 || strcmp(cmd, "--version") == 0) return cli_version();
    if (strcmp(cmd, "help") == 0) return help(argc - 1, argv + 1);
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (cmd[0] == '-') fprintf(stderr, "Error: unknown flag: %s\n", cmd);
    else fprintf(stderr, "Error: unknown command \"%s\" for \"ollama\"\n", cmd);
    return 1;
}
