/* cli: the `ollama` command line. Owns argument parsing and every command
 * (serve, create, show, run, stop, pull, push, list, ps, cp, rm, help);
 * the developer commands (generate-file, bench-file, quantize-file) drive the engine
 * directly on a GGUF file. */
#ifndef OLLAMA_CLI_H
#define OLLAMA_CLI_H

int cli_serve(int argc, char **argv);
/* The client commands (src/client talks to the server); argv[0] is the
 * command name. Each returns the process exit status. */
int cli_create(int argc, char **argv);
int cli_show(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_stop(int argc, char **argv);
int cli_pull(int argc, char **argv);
int cli_push(int argc, char **argv);
int cli_signin(int argc, char **argv);
int cli_signout(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_ps(int argc, char **argv);
int cli_cp(int argc, char **argv);
int cli_rm(int argc, char **argv);
int cli_version(void);
int cli_generate_file(int argc, char **argv);
int cli_bench_file(int argc, char **argv);
int cli_quantize_file(int argc, char **argv);

#endif
