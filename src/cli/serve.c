/* cli: `ollama serve` (alias `start`): runs the REST API server on
 * OLLAMA_HOST until SIGINT or SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cli/cli.h"
#include "compat/compat.h"
#include "registry/registry.h"
#include "sched/sched.h"
#include "server/server.h"
#include "store/store.h"

static const char *serve_env[][2] = {
    {"OLLAMA_DEBUG", "Show additional debug information (e.g. OLLAMA_DEBUG=1)"},
    {"OLLAMA_HOST", "IP Address for the ollama server (default 127.0.0.1:11434)"},
    {"OLLAMA_CONTEXT_LENGTH", "Context length to use unless otherwise specified (default: 4k/32k/256k based on VRAM)"},
    {"OLLAMA_KEEP_ALIVE", "The duration that models stay loaded in memory (default \"5m\")"},
    {"OLLAMA_MAX_LOADED_MODELS", "Maximum number of loaded models per GPU"},
    {"OLLAMA_MAX_TRANSFER_STREAMS", "Maximum parallel transfer streams for safetensors model pulls/pushes (default 4)"},
    {"OLLAMA_MAX_QUEUE", "Maximum number of queued requests"},
    {"OLLAMA_MODELS", "The path to the models directory"},
    {"OLLAMA_NUM_PARALLEL", "Maximum number of parallel requests"},
    {"OLLAMA_NO_CLOUD", "Disable Ollama cloud features (remote inference and web search)"},
    {"OLLAMA_NOPRUNE", "Do not prune model blobs on startup"},
    {"OLLAMA_ORIGINS", "A comma separated list of allowed origins"},
    {"OLLAMA_SCHED_SPREAD", "Always schedule model across all GPUs"},
    {"OLLAMA_FLASH_ATTENTION", "Enabled flash attention"},
    {"OLLAMA_KV_CACHE_TYPE", "Quantization type for the K/V cache (default: f16)"},
    {"OLLAMA_LLM_LIBRARY", "Set LLM library to bypass autodetection"},
    {"OLLAMA_GPU_OVERHEAD", "Reserve a portion of VRAM per GPU (bytes)"},
    {"OLLAMA_IGPU_ENABLE", "Enable integrated GPUs"},
    {"LLAMA_ARG_FIT", "Auto-fit unset memory options"},
    {"LLAMA_ARG_FIT_TARGET", "Free-VRAM margin per device (MiB)"},
    {"OLLAMA_LOAD_TIMEOUT", "How long to allow model loads to stall before giving up (default \"5m\")"},
};

static void serve_help(void) {
    printf("Start Ollama\n\nUsage:\n  ollama serve [flags]\n\nAliases:\n  serve, start\n\n"
           "Flags:\n  -h, --help   help for serve\n\nEnvironment Variables:\n");
    for (size_t i = 0; i < sizeof serve_env / sizeof *serve_env; i++)
        printf("      %-27s   %s\n", serve_env[i][0], serve_env[i][1]);
}

static void log_config(const server_config *cfg) {
    char url[600], models[4096];
    server_host_url(&cfg->addr, url, sizeof url);
    server_env("OLLAMA_MODELS", models, sizeof models);
    if (!*models) snprintf(models, sizeof models, "%s/.ollama/models", getenv("HOME") ? getenv("HOME") : "");
    oc_log(OC_LOG_INFO, "server config env=map[OLLAMA_HOST:%s OLLAMA_MODELS:%s OLLAMA_ORIGINS:%s]", url, models,
           cfg->origins ? cfg->origins : "");
}

int cli_serve(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            serve_help();
            return 0;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "Error: unknown flag: %s\n", argv[i]);
            return 1;
        }
    }
    if (argc > 1) {
        fprintf(stderr, "Error: accepts 0 arg(s), received %d\n", argc - 1);
        return 1;
    }
    /* Blocked before any thread exists, so every thread inherits the mask
     * and the signals reach server_wait alone. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    char origins[4096];
    server_config cfg = {.origins = server_env("OLLAMA_ORIGINS", origins, sizeof origins)};
    server_host_from_env(&cfg.addr);
    oc_error err;
    store *st = store_open(NULL, &err);
    if (!st) {
        fprintf(stderr, "Error: %s\n", err.msg);
        return 1;
    }
    sched_config sc_cfg = sched_config_from_env();
    sched *sc = sched_new(&sc_cfg);
    api_ctx *api = api_ctx_new(st, sc);
    server *s = server_new(&cfg, &err);
    if (!s || api_register(s, api) != 0 || compat_register(s) != 0 || server_listen(s, &err) != 0) {
        fprintf(stderr, "Error: %s\n", err.msg);
        server_stop(s);
        api_ctx_free(api);
        sched_free(sc);
        store_close(st);
        return 1;
    }
    /* As upstream: the port first, so a taken one fails before any work. */
    if (store_prune(st, &err) != 0) oc_log(OC_LOG_WARN, "prune: %s", err.msg);
    log_config(&cfg);
    oc_log(OC_LOG_INFO, "Listening on %s (version %s)", server_address(s), SERVER_VERSION);
    server_wait(s);
    server_stop(s);
    registry_wait_idle(10000); /* pulls and pushes cancelled by the stop */
    api_ctx_free(api);
    sched_free(sc);
    store_close(st);
    return 0;
}
