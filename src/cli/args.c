/* cli: command-line flags the way cobra/pflag read them (flags anywhere
 * among the arguments, --name=value, --name value, -f value, -fvalue,
 * "--" ends the flags), with pflag's error texts. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

static flag_def *find_long(flag_def *flags, const char *name, size_t len) {
    for (flag_def *f = flags; f && f->name; f++)
        if (strlen(f->name) == len && strncmp(f->name, name, len) == 0) return f;
    return NULL;
}

static flag_def *find_short(flag_def *flags, char c) {
    for (flag_def *f = flags; f && f->name; f++)
        if (f->shorthand && f->shorthand[0] == c) return f;
    return NULL;
}

static int set_bool(flag_def *f, const char *v, oc_error *err) {
    bool b;
    if (!v || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "t") || !strcmp(v, "T") || !strcmp(v, "TRUE") ||
        !strcmp(v, "True"))
        b = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "f") || !strcmp(v, "F") ||
             !strcmp(v, "FALSE") || !strcmp(v, "False"))
        b = false;
    else
        return oc_fail(err, "invalid argument \"%s\" for \"--%s\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax",
                       v, f->name, v);
    if (f->set) *f->set = b;
    return 0;
}

static void set_value(flag_def *f, const char *v) {
    if (f->value) *f->value = v;
    if (f->set) *f->set = true;
}

/* --name[=value]; *i advances over a separate value. */
static int parse_long(int argc, char **argv, int *i, flag_def *flags, bool *help, oc_error *err) {
    const char *a = argv[*i] + 2, *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    if (len == 4 && strncmp(a, "help", 4) == 0) {
        *help = true;
        return 0;
    }
    flag_def *f = find_long(flags, a, len);
    if (!f) return oc_fail(err, "unknown flag: --%.*s", (int)len, a);
    if (f->kind == FLAG_BOOL) return set_bool(f, eq ? eq + 1 : NULL, err);
    if (f->kind == FLAG_OPTIONAL) {
        set_value(f, eq ? eq + 1 : "true");
        return 0;
    }
    if (eq) set_value(f, eq + 1);
    else if (*i + 1 < argc) set_value(f, argv[++*i]);
    else return oc_fail(err, "flag needs an argument: --%s", f->name);
    return 0;
}

/* -abc, -fvalue, -f value. */
static int parse_short(int argc, char **argv, int *i, flag_def *flags, bool *help, oc_error *err) {
    const char *a = argv[*i] + 1;
    for (size_t k = 0; a[k]; k++) {
        if (a[k] == 'h') {
            *help = true;
            continue;
        }
        flag_def *f = find_short(flags, a[k]);
        if (!f) return oc_fail(err, "unknown shorthand flag: '%c' in -%s", a[k], a);
        if (f->kind == FLAG_BOOL) {
            if (a[k + 1] == '=') return set_bool(f, a + k + 2, err);
            set_bool(f, NULL, err);
            continue;
        }
        if (f->kind == FLAG_OPTIONAL) {
            set_value(f, a[k + 1] == '=' ? a + k + 2 : "true");
            return 0;
        }
        if (a[k + 1]) set_value(f, a[k + 1] == '=' ? a + k + 2 : a + k + 1);
        else if (*i + 1 < argc) set_value(f, argv[++*i]);
        else return oc_fail(err, "flag needs an argument: '%c' in -%s", a[k], a);
        return 0;
    }
    return 0;
}

int args_parse(int argc, char **argv, flag_def *flags, char ***pos, int *n_pos, bool *help, oc_error *err) {
    *pos = oc_calloc((size_t)argc + 1, sizeof **pos);
    *n_pos = 0;
    *help = false;
    bool only_args = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (only_args || a[0] != '-' || a[1] == 0) (*pos)[(*n_pos)++] = argv[i];
        else if (strcmp(a, "--") == 0) only_args = true;
        else if (a[1] == '-') rc = parse_long(argc, argv, &i, flags, help, err);
        else rc = parse_short(argc, argv, &i, flags, help, err);
        if (rc) {
            free(*pos);
            *pos = NULL;
            return -1;
        }
    }
    return 0;
}
