/* cli: the `ollama` command line. Owns argument parsing and every command;
 * the developer commands (generate-file, bench-file, quantize-file) drive the engine
 * directly on a GGUF file. */
#ifndef OLLAMA_CLI_H
#define OLLAMA_CLI_H

int cli_serve(int argc, char **argv);
int cli_generate_file(int argc, char **argv);
int cli_bench_file(int argc, char **argv);
int cli_quantize_file(int argc, char **argv);

#endif
