/* cli: signin and signout, the ollama.com account commands, through the
 * server's /api/me and /api/signout (which answer for the account). */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_internal.h"

extern char **environ;

/* Best effort, as upstream's browser.OpenURL: xdg-open in the background,
 * quietly, and only where a desktop session could show it. */
static void open_browser(const char *url) {
    if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"xdg-open", (char *)url, NULL};
    pid_t pid;
    posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
}

/* No arguments, or --help: cli_parse_cmd's answer, or -1 to go on. */
static int no_args(const char *name, int argc, char **argv) {
    char **pos = NULL;
    int n = 0;
    int rc = cli_parse_cmd(name, argc, argv, NULL, &pos, &n, 0, 0);
    if (rc < 0) free(pos); /* otherwise cli_parse_cmd has freed it */
    return rc;
}

int cli_signin(int argc, char **argv) {
    int rc = no_args(argv[0], argc, argv);
    if (rc >= 0) return rc;
    client *c = cli_connect();
    if (!c) return 1;
    json_t *out = NULL;
    long status = 0;
    oc_error err = {{0}};
    rc = client_json_any(c, "POST", "/api/me", NULL, &out, &status, &err);
    client_free(c);
    const char *url = json_string_value(json_object_get(out, "signin_url"));
    const char *user = json_string_value(json_object_get(out, "name"));
    if (rc != 0 && status == 401) {
        printf("You need to be signed in to Ollama to run Cloud models.\n\n");
        if (url && *url) {
            open_browser(url);
            printf("If your browser did not open, navigate to:\n    %s\n\n", url);
        }
        rc = 0;
    } else if (rc == 0 && user && *user) {
        printf("You are already signed in as user '%s'\n\n", user);
    }
    json_decref(out);
    return rc ? cli_fail(err.msg) : 0;
}

int cli_signout(int argc, char **argv) {
    int rc = no_args(argv[0], argc, argv);
    if (rc >= 0) return rc;
    client *c = cli_connect();
    if (!c) return 1;
    long status = 0;
    oc_error err = {{0}};
    rc = client_json(c, "POST", "/api/signout", NULL, NULL, &status, &err);
    client_free(c);
    if (rc != 0 && status == 401) {
        printf("You are not signed in to ollama.com\n\n");
        return 0;
    }
    if (rc != 0) return cli_fail(err.msg);
    printf("You have signed out of ollama.com\n\n");
    return 0;
}
