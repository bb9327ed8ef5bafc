/* cli: entry point and command dispatch. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define OLLAMA_VERSION "0.1.0"

static void usage(FILE *out) {
    fprintf(out,
            "Large language model runner\n\n"
            "Usage:\n  ollama [command]\n\n"
            "Available Commands:\n"
            "  serve       Start Ollama\n\n"
            "Developer commands:\n"
            "  generate-file MODEL.gguf PROMPT   Generate text from a GGUF file with the engine\n"
            "  bench-file MODEL.gguf             Measure prompt and generation speed\n"
            "  quantize-file IN OUT TYPE         Write a copy of a model quantized to TYPE\n\n"
            "Flags:\n  -h, --help      help for ollama\n  -v, --version   Show version information\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "start") == 0) return cli_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "generate-file") == 0) return cli_generate_file(argc - 1, argv + 1);
    if (strcmp(cmd, "bench-file") == 0) return cli_bench_file(argc - 1, argv + 1);
    if (strcmp(cmd, "quantize-file") == 0) return cli_quantize_file(argc - 1, argv + 1);
    if (strcmp(cmd, "-v") == 0 || strcmp(cmd, "--version") == 0) {
        printf("ollama version is %s\n", OLLAMA_VERSION);
        return 0;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "Error: unknown command \"%s\" for \"ollama\"\n", cmd);
    return 1;
}
