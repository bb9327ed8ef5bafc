/* client: starting a local `ollama serve` when no server answers, so that
 * `ollama run` on a fresh machine just works. Only for loopback hosts: a
 * remote OLLAMA_HOST that does not answer is the user's to fix. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "server/server.h"

static bool host_is_local(void) {
    server_host h;
    server_host_from_env(&h);
    const char *local[] = {"", "127.0.0.1", "localhost", "::1", "0.0.0.0", "::"};
    for (size_t i = 0; i < sizeof local / sizeof *local; i++)
        if (strcmp(h.host, local[i]) == 0) return true;
    return false;
}

/* ~/.ollama/logs/server.log, its folders created. */
static int log_path(char *buf, size_t n) {
    const char *home = getenv("HOME");
    if (!home || !*home) return -1;
    snprintf(buf, n, "%s/.ollama", home);
    mkdir(buf, 0755);
    snprintf(buf, n, "%s/.ollama/logs", home);
    mkdir(buf, 0755);
    snprintf(buf, n, "%s/.ollama/logs/server.log", home);
    return 0;
}

/* Double fork so the server is nobody's zombie and outlives this command;
 * setsid so a Ctrl-C in this terminal does not reach it. */
static int spawn_server(const char *exe, const char *log) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (fork() != 0) _exit(0);
        setsid();
        int in = open("/dev/null", O_RDONLY);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in >= 0) dup2(in, 0);
        if (out >= 0) {
            dup2(out, 1);
            dup2(out, 2);
        }
        execl(exe, "ollama", "serve", (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return 0;
}

int client_ensure_server(client *c, oc_error *err) {
    if (client_heartbeat(c, err) == 0) return 0;
    if (!strstr(err->msg, "could not connect") || !host_is_local()) return -1;
    char exe[PATH_MAX], log[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || log_path(log, sizeof log) != 0) return -1;
    exe[n] = 0;
    if (spawn_server(exe, log) != 0) return -1;
    /* Start-up prunes the store before it answers: give it time. */
    for (int i = 0; i < 300; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (client_canceled()) break;
        if (client_heartbeat(c, NULL) == 0) return 0;
    }
    return oc_fail(err, "could not connect to ollama server (a local one was started, see %s)", log);
}
