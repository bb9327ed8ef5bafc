/* Unit tests of the command line's texts: human sizes, counts, durations
 * and times, the tablewriter layout with word wrap, the progress bar line,
 * the flag parser, and the client's status texts (cli.md §5, §10, §11). */
#include "check.h"

#include "cli/cli_internal.h"

static void test_bytes(void) {
    char b[32];
    int64_t in[] = {0, 999, 1000, 1500, 2019377376, 26900000000ll, 2000000000, 4700000000ll, 1000000000000ll};
    const char *want[] = {"0 B", "999 B", "1 KB", "1.5 KB", "2.0 GB", "26 GB", "2 GB", "4.7 GB", "1 TB"};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        fmt_bytes(in[i], b, sizeof b);
        CHECK_EQ_STR(b, want[i]);
    }
}

static void test_number(void) {
    char b[32];
    uint64_t in[] = {999, 293000, 8030261248ull, 8000000000ull, 15730000, 7000000, 1500};
    const char *want[] = {"999", "293K", "8.0B", "8B", "15.73M", "7M", "2K"};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        fmt_number(in[i], b, sizeof b);
        CHECK_EQ_STR(b, want[i]);
    }
}

static void test_duration(void) {
    char b[64];
    int64_t in[] = {0, 300, 850000, 290062000, 5163391291ll, 123500000000ll, 3600000000000ll, -1500000000ll};
    const char *want[] = {"0s", "300ns", "850\xc2\xb5s", "290.062ms", "5.163391291s", "2m3.5s", "1h0m0s", "-1.5s"};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        fmt_go_duration(in[i], b, sizeof b);
        CHECK_EQ_STR(b, want[i]);
    }
}

static void test_human_time(void) {
    char b[64];
    double now = 1700000000;
    struct { double delta; const char *want; } cases[] = {
        {0.5, "Less than a second ago"}, {1, "1 second ago"}, {45, "45 seconds ago"},
        {61, "About a minute ago"}, {300, "5 minutes ago"}, {3600, "About an hour ago"},
        {5 * 3600, "5 hours ago"}, {2 * 86400, "2 days ago"}, {20 * 86400, "2 weeks ago"},
        {90 * 86400, "3 months ago"}, {800 * 86400, "2 years ago"}, {-290, "4 minutes from now"},
        {-30.0 * 365 * 86400, "Forever"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fmt_human_time(now - cases[i].delta, now, "Never", b, sizeof b);
        CHECK_EQ_STR(b, cases[i].want);
    }
    fmt_human_time(0, now, "Never", b, sizeof b);
    CHECK_EQ_STR(b, "Never");
    CHECK_NEAR(fmt_parse_time("2023-11-14T22:13:20Z"), 1700000000, 1e-6);
    CHECK_NEAR(fmt_parse_time("2023-11-14T23:13:20.5+01:00"), 1700000000.5, 1e-6);
    CHECK_NEAR(fmt_parse_time("0001-01-01T00:00:00Z"), 0, 0);
    CHECK_NEAR(fmt_parse_time("garbage"), 0, 0);
    CHECK_EQ_INT(fmt_width("abc"), 3);
    CHECK_EQ_INT(fmt_width("\xe4\xb8\xad\xe6\x96\x87"), 4); /* two wide CJK characters */
}

static void test_table(void) {
    fmt_table t;
    fmt_table_init(&t, 4, true);
    const char *h[] = {"NAME", "ID", "SIZE", "MODIFIED"};
    const char *r[] = {"llama3.2:latest", "a80c4f17acd5", "2.0 GB", "2 days ago"};
    fmt_table_add(&t, h);
    fmt_table_add(&t, r);
    oc_buf out = {0};
    fmt_table_print(&t, &out);
    CHECK_EQ_STR(out.data, "NAME               ID              SIZE      MODIFIED   \n"
                           "llama3.2:latest    a80c4f17acd5    2.0 GB    2 days ago    \n");
    fmt_table_free(&t);
    oc_buf_free(&out);

    /* A cell over 30 columns wraps at spaces; other cells continue blank. */
    fmt_table_init(&t, 2, false);
    const char *w[] = {"", "one two three four five six seven eight nine ten"};
    fmt_table_add(&t, w);
    fmt_table_print(&t, &out);
    /* The column is as wide as the limit (tablewriter starts from it). */
    CHECK_EQ_STR(out.data, "    one two three four five six       \n"
                           "    seven eight nine ten              \n");
    fmt_table_free(&t);
    oc_buf_free(&out);

    /* A word longer than the limit widens the column instead of breaking. */
    fmt_table_init(&t, 1, false);
    const char *long_word[] = {"abcdefghijklmnopqrstuvwxyz0123456789 x"};
    fmt_table_add(&t, long_word);
    fmt_table_print(&t, &out);
    CHECK_EQ_STR(out.data, "abcdefghijklmnopqrstuvwxyz0123456789    \nx                                       \n");
    fmt_table_free(&t);
    oc_buf_free(&out);
}

static void test_bar(void) {
    char b[1024];
    progress_render_bar(b, sizeof b, 80, "pulling dde5aa3fc5ff:", 2019377376, 2019377376, 0, true);
    CHECK_EQ_STR(b, "pulling dde5aa3fc5ff: 100% \xe2\x96\x95"
                    "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88"
                    "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88"
                    "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x8f 2.0 GB                         ");
    /* Running, half done at 10 MB/s: 100 MB left -> 10s. */
    progress_render_bar(b, sizeof b, 80, "pulling abc:", 200000000, 100000000, 10000000, false);
    CHECK_EQ_STR(b, "pulling abc:  50% \xe2\x96\x95"
                    "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88"
                    "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88"
                    "              \xe2\x96\x8f 100 MB/200 MB   10 MB/s     10s");
    char e[32];
    progress_eta(90, e, sizeof e);
    CHECK_EQ_STR(e, "1m30s");
    progress_eta(2 * 3600 + 5 * 60, e, sizeof e);
    CHECK_EQ_STR(e, "2h5m");
    progress_eta(200 * 3600, e, sizeof e);
    CHECK_EQ_STR(e, "99h+");
}

static void test_args(void) {
    const char *file = NULL, *think = NULL;
    bool verbose = false, help = false;
    flag_def flags[] = {{"f", "file", FLAG_STRING, &file, NULL},
                        {NULL, "think", FLAG_OPTIONAL, &think, NULL},
                        {"v", "verbose", FLAG_BOOL, NULL, &verbose},
                        {0}};
    char *argv[] = {"run", "model", "-f", "Modelfile", "--think", "high", "-v", "--", "-x", NULL};
    char **pos;
    int n;
    oc_error err = {{0}};
    CHECK_EQ_INT(args_parse(9, argv, flags, &pos, &n, &help, &err), 0);
    CHECK_EQ_STR(file, "Modelfile");
    CHECK_EQ_STR(think, "true"); /* bare --think; "high" is an argument, as pflag */
    CHECK(verbose && !help);
    CHECK_EQ_INT(n, 3);
    if (n == 3) CHECK(!strcmp(pos[0], "model") && !strcmp(pos[1], "high") && !strcmp(pos[2], "-x"));
    free(pos);
    char *bad[] = {"run", "--nope", NULL};
    CHECK_EQ_INT(args_parse(2, bad, flags, &pos, &n, &help, &err), -1);
    CHECK_EQ_STR(err.msg, "unknown flag: --nope");
    char *missing[] = {"create", "x", "-f", NULL};
    CHECK_EQ_INT(args_parse(3, missing, flags, &pos, &n, &help, &err), -1);
    CHECK_EQ_STR(err.msg, "flag needs an argument: 'f' in -f");
    char *eq[] = {"run", "--think=low", "--file=a b", "-h", NULL};
    CHECK_EQ_INT(args_parse(4, eq, flags, &pos, &n, &help, &err), 0);
    CHECK_EQ_STR(think, "low");
    CHECK_EQ_STR(file, "a b");
    CHECK(help);
    free(pos);
}

static void test_status_text(void) {
    char b[64];
    client_status_text(400, b, sizeof b);
    CHECK_EQ_STR(b, "400 Bad Request");
    client_status_text(404, b, sizeof b);
    CHECK_EQ_STR(b, "404 Not Found");
    client_status_text(599, b, sizeof b);
    CHECK_EQ_STR(b, "599 status code 599");
}

static int count_line(void *ud, const char *line, size_t len) {
    oc_buf *b = ud;
    oc_buf_append(b, line, len);
    oc_buf_puts(b, "|");
    return len == 4 && !memcmp(line, "stop", 4);
}

static void test_ndjson(void) {
    oc_buf pending = {0}, seen = {0};
    CHECK_EQ_INT(client_ndjson_feed(&pending, "{\"a\":1}\n{\"b\"", 12, count_line, &seen), 0);
    CHECK_EQ_STR(seen.data, "{\"a\":1}|");
    CHECK_EQ_STR(pending.data, "{\"b\"");
    CHECK_EQ_INT(client_ndjson_feed(&pending, ":2}\n\nstop\nmore\n", 16, count_line, &seen), 1);
    CHECK_EQ_STR(seen.data, "{\"a\":1}|{\"b\":2}||stop|"); /* stops at the line fn refused */
    CHECK_EQ_STR(pending.data, "more\n");
    oc_buf_free(&pending);
    oc_buf_free(&seen);
}

int main(void) {
    test_ndjson();
    test_bytes();
    test_number();
    test_duration();
    test_human_time();
    test_table();
    test_bar();
    test_args();
    test_status_text();
    return check_done();
}
