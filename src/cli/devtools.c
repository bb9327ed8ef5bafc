/* cli: developer commands that run the engine on a GGUF file directly,
 * without the server: generate-file (text generation) and bench-file
 * (prompt-processing and generation speed as one JSON line, in the shape
 * that ../shared/tools/llamacpp-bench.mjs prints, so bench/ can compare). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/model.h"
#include "sample/sample.h"

typedef struct dev_opts {
    const char *model_path, *prompt;
    model_params mp;
    sample_params sp;
    int n_predict, pp, tg, reps;
    int seqs; /* bench-file: sequences decoded together in the generation run */
    bool verbose;
} dev_opts;

static int parse_kv_type(const char *s) {
    if (strcmp(s, "f16") == 0) return TENSOR_F16;
    if (strcmp(s, "f32") == 0) return TENSOR_F32;
    if (strcmp(s, "q8_0") == 0) return TENSOR_Q8_0;
    return -1;
}

/* Parses flags shared by both commands; positional args fill path, prompt. */
static int parse_opts(int argc, char **argv, dev_opts *o) {
    o->mp = model_default_params();
    o->sp = sample_default_params();
    o->n_predict = 128;
    o->pp = 512, o->tg = 128, o->reps = 3;
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define FLAG(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (FLAG("--threads") || FLAG("-t")) o->mp.n_threads = atoi(v);
        else if (FLAG("--ctx")) o->mp.n_ctx = atoi(v);
        else if (FLAG("--batch")) o->mp.n_batch = atoi(v);
        else if (FLAG("--kv")) {
            int t = parse_kv_type(v);
            if (t < 0) return fprintf(stderr, "Error: --kv must be f16, f32 or q8_0\n"), -1;
            o->mp.kv_type = (enum tensor_type)t;
        } else if (FLAG("-n") || FLAG("--num-predict")) o->n_predict = atoi(v);
        else if (FLAG("--temperature")) o->sp.temperature = (float)atof(v);
        else if (FLAG("--top-k")) o->sp.top_k = atoi(v);
        else if (FLAG("--top-p")) o->sp.top_p = (float)atof(v);
        else if (FLAG("--seed")) o->sp.seed = atoll(v);
        else if (FLAG("--repeat-penalty")) o->sp.repeat_penalty = (float)atof(v);
        else if (FLAG("--pp")) o->pp = atoi(v);
        else if (FLAG("--tg")) o->tg = atoi(v);
        else if (FLAG("--reps")) o->reps = atoi(v);
        else if (FLAG("--seqs")) o->seqs = atoi(v);
        else if (strcmp(a, "--greedy") == 0) o->sp.temperature = 0, o->sp.repeat_penalty = 1; /* pure argmax */
        else if (strcmp(a, "--verbose") == 0) o->verbose = true;
        else if (strcmp(a, "--no-pack") == 0) o->mp.no_pack = true; /* weights in the file's layout */
        else if (a[0] == '-' && a[1]) return fprintf(stderr, "Error: unknown flag: %s\n", a), -1;
        else if (npos == 0) o->model_path = a, npos++;
        else if (npos == 1) o->prompt = a, npos++;
        else return fprintf(stderr, "Error: unexpected argument: %s\n", a), -1;
#undef FLAG
    }
    if (!o->model_path) return fprintf(stderr, "Error: a model file is required\n"), -1;
    return 0;
}

static model *load_or_report(dev_opts *o) {
    oc_error err;
    model *m = model_load(o->model_path, &o->mp, &err);
    if (!m) fprintf(stderr, "Error: %s\n", err.msg);
    return m;
}

static int generate_loop(model *m, dev_opts *o, const int32_t *ids, int n_ids) {
    const tokenizer *tok = model_tokenizer(m);
    int n_vocab = model_hparams_of(m)->n_vocab;
    float *logits = oc_malloc((size_t)n_vocab * sizeof(float));
    sampler *smp = sampler_new(&o->sp, n_vocab);
    for (int i = 0; i < n_ids; i++) sampler_accept(smp, ids[i]);
    tokenizer_stream ts;
    tokenizer_stream_init(&ts, tok, false);
    ts.first = false; /* the reply continues the prompt: keep its leading space */
    oc_buf piece = {0};
    oc_error err;
    int pos = 0, n_gen = 0, rc = 0;
    uint64_t t0 = oc_now_ns(), t_prompt = 0;
    if (model_eval(m, ids, n_ids, 0, logits, &err)) goto fail;
    pos = n_ids;
    t_prompt = oc_now_ns() - t0;
    while (n_gen < o->n_predict || o->n_predict < 0) {
        int32_t next = sampler_sample(smp, logits);
        if (tokenizer_is_eog(tok, next)) break;
        sampler_accept(smp, next);
        n_gen++;
        oc_buf_clear(&piece);
        tokenizer_stream_push(&ts, next, &piece);
        fwrite(piece.data ? piece.data : "", 1, piece.len, stdout);
        fflush(stdout);
        if (pos >= model_n_ctx(m)) break;
        if (model_eval(m, &next, 1, pos++, logits, &err)) goto fail;
    }
    oc_buf_clear(&piece);
    tokenizer_stream_flush(&ts, &piece);
    fwrite(piece.data ? piece.data : "", 1, piece.len, stdout);
    printf("\n");
    if (o->verbose) {
        double tp = (double)t_prompt / 1e9, tg = (double)(oc_now_ns() - t0 - t_prompt) / 1e9;
        fprintf(stderr, "prompt eval count: %d token(s), %.2f tokens/s\neval count: %d token(s), %.2f tokens/s\n",
                n_ids, n_ids / tp, n_gen, n_gen / (tg > 0 ? tg : 1e-9));
    }
    goto done;
fail:
    fprintf(stderr, "Error: %s\n", err.msg);
    rc = 1;
done:
    oc_buf_free(&piece);
    tokenizer_stream_free(&ts);
    sampler_free(smp);
    free(logits);
    return rc;
}

int cli_generate_file(int argc, char **argv) {
    dev_opts o = {0};
    if (parse_opts(argc, argv, &o)) return 1;
    if (!o.prompt) o.prompt = "";
    model *m = load_or_report(&o);
    if (!m) return 1;
    int32_t *ids = NULL;
    oc_error err;
    const tokenizer *tok = model_tokenizer(m);
    int n = tokenizer_encode(tok, o.prompt, strlen(o.prompt), true, true, &ids, &err);
    int rc = 1;
    if (n < 0) fprintf(stderr, "Error: %s\n", err.msg);
    else if (n == 0) fprintf(stderr, "Error: empty prompt\n");
    else rc = generate_loop(m, &o, ids, n);
    free(ids);
    model_free(m);
    return rc;
}

/* ---- bench-file ---- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_stats(const char *name, double *s, int n) {
    double sorted[64];
    memcpy(sorted, s, (size_t)n * sizeof(double));
    qsort(sorted, (size_t)n, sizeof(double), cmp_double);
    printf("\"%s\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f,\"samples\":[", name,
           n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2, sorted[0], sorted[n - 1]);
    for (int i = 0; i < n; i++) printf("%s%.3f", i ? "," : "", s[i]);
    printf("]}");
}

/* One prompt-processing run of n random tokens into an empty cache. */
static double bench_pp(model *m, int n, float *logits, uint64_t *rng) {
    int32_t *ids = oc_malloc((size_t)n * sizeof(int32_t));
    int n_vocab = model_hparams_of(m)->n_vocab;
    int32_t bos = tokenizer_bos(model_tokenizer(m));
    for (int i = 0; i < n; i++) {
        *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((*rng >> 33) % (uint64_t)n_vocab);
    }
    if (bos >= 0 && tokenizer_add_bos(model_tokenizer(m))) ids[0] = bos;
    uint64_t t0 = oc_now_ns();
    model_eval(m, ids, n, 0, logits, NULL);
    double secs = (double)(oc_now_ns() - t0) / 1e9;
    free(ids);
    return n / secs;
}

/* n decode steps from empty caches, each feeding back the argmax: one
 * token of each of nseq sequences a step, decoded together in one batch
 * as the server's parallel requests are. Returns tokens/s over all of them. */
static double bench_tg(model *m, int n, int nseq, float *logits) {
    int n_vocab = model_hparams_of(m)->n_vocab;
    int32_t tok[64], pos[64], seq[64];
    bool want[64];
    int32_t bos = tokenizer_bos(model_tokenizer(m));
    for (int s = 0; s < nseq; s++) tok[s] = bos < 0 ? s : (bos + s) % n_vocab, seq[s] = s, want[s] = true;
    uint64_t t0 = oc_now_ns();
    for (int i = 0; i < n; i++) {
        for (int s = 0; s < nseq; s++) pos[s] = i;
        model_batch b = {.n = nseq, .tokens = tok, .pos = pos, .seq = seq, .logits = want};
        oc_error err;
        if (model_decode(m, &b, logits, &err) != 0) {
            fprintf(stderr, "Error: %s\n", err.msg);
            return 0;
        }
        for (int s = 0; s < nseq; s++) {
            const float *l = logits + (size_t)s * n_vocab;
            int best = 0;
            for (int j = 1; j < n_vocab; j++) best = l[j] > l[best] ? j : best;
            tok[s] = best;
        }
    }
    return (double)n * nseq / ((double)(oc_now_ns() - t0) / 1e9);
}

int cli_bench_file(int argc, char **argv) {
    dev_opts o = {0};
    if (parse_opts(argc, argv, &o)) return 1;
    if (o.reps < 1 || o.reps > 64) o.reps = 3;
    if (o.mp.n_ctx <= 0) o.mp.n_ctx = o.pp + o.tg > 0 ? o.pp + o.tg : 64;
    if (o.seqs < 1 || o.seqs > 64) o.seqs = 1;
    if (o.mp.n_batch <= 0 || o.mp.n_batch < o.pp) o.mp.n_batch = o.pp > 0 ? o.pp : 1;
    if (o.mp.n_batch < o.seqs) o.mp.n_batch = o.seqs;
    o.mp.n_seq = o.seqs;
    model *m = load_or_report(&o);
    if (!m) return 1;
    float *logits = oc_malloc((size_t)model_hparams_of(m)->n_vocab * (size_t)o.seqs * sizeof(float));
    uint64_t rng = 1;
    double pp[64], tg[64];
    if (o.pp > 0) bench_pp(m, o.pp, logits, &rng); /* warm-up */
    if (o.tg > 0) bench_tg(m, o.tg < 8 ? o.tg : 8, o.seqs, logits);
    for (int r = 0; r < o.reps; r++) {
        if (o.pp > 0) pp[r] = bench_pp(m, o.pp, logits, &rng);
        if (o.tg > 0) tg[r] = bench_tg(m, o.tg, o.seqs, logits);
    }
    printf("{\"engine\":\"ollama.c\",\"model\":\"%s\",\"threads\":%d,\"isa\":\"%s\"", o.model_path,
           model_n_threads(m), tensor_isa_name(tensor_isa_active()));
    char name[32];
    if (o.pp > 0) {
        snprintf(name, sizeof name, "pp%d", o.pp);
        printf(",");
        print_stats(name, pp, o.reps);
    }
    if (o.tg > 0) {
        if (o.seqs > 1) snprintf(name, sizeof name, "tg%dx%d", o.tg, o.seqs);
        else snprintf(name, sizeof name, "tg%d", o.tg);
        printf(",");
        print_stats(name, tg, o.reps);
    }
    printf("}\n");
    free(logits);
    model_free(m);
    return 0;
}

/* ---- quantize-file ---- */

int cli_quantize_file(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "Usage: ollama quantize-file IN.gguf OUT.gguf TYPE (e.g. q8_0, q4_k, q6_k)\n");
        return 1;
    }
    int type = tensor_type_from_name(argv[3]);
    if (type < 0) {
        fprintf(stderr, "Error: unknown type %s\n", argv[3]);
        return 1;
    }
    oc_error err;
    if (model_quantize_file(argv[1], argv[2], (enum tensor_type)type, &err) != 0) {
        fprintf(stderr, "Error: %s\n", err.msg);
        return 1;
    }
    return 0;
}
