/*
 * train.c - lc_train: data-parallel training of an MLP with the Lion Cub optimizer.
 *
 * Every rank holds the same MLP (fp32 parameters, one Lion group per tensor)
 * and trains it on its own shard of a synthetic task: Gaussian inputs,
 * labels from a fixed random teacher network (the same on every rank) plus
 * noise. Forward and backward run on OpenBLAS (one thread per rank); the
 * optimizer step and its communication are lc_lion_step, or with --overlap
 * the split step: each layer's votes start as soon as backward produced its
 * gradients (lc_lion_step_group), while backward goes on. At the end rank 0
 * prints a summary, and all ranks compare a hash of their parameters.
 *
 *   build/bin/lc_run -n 4 -- build/bin/lc_train --mode vote --steps 200
 *   build/bin/lc_train --help
 *
 * Without a launcher's environment (LC_SIZE, OMPI_*, PMI_*, SLURM_*) it runs
 * as a single rank.
 */
#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lioncub/lioncub.h"
#include "train_mlp.h"

struct opts {
    lc_lion_mode_t mode;
    long steps, width, depth, batch, in, classes, eval_every, print_every, teacher_width;
    float lr, wd, beta1, beta2, noise;
    unsigned level_bits;
    lc_msync_t msync;
    enum mlp_act act;
    enum mlp_loss loss;
    uint64_t seed;
    const char *csv;
    int overlap;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lc_train [options]   (run under lc_run, mpirun or srun for several ranks)\n"
            "  --mode M          global-fp32 | global-bf16 | vote | vote-avg | vote-l1 (vote)\n"
            "  --steps N         optimizer steps (200)\n"
            "  --width W         hidden width (256)      --depth D   hidden layers (2)\n"
            "  --in N            input features (64)     --classes K outputs (10)\n"
            "  --batch B         samples per rank and step (64)\n"
            "  --act relu|tanh   hidden activation (relu)\n"
            "  --loss ce|mse     softmax cross-entropy on teacher labels, or MSE on its outputs (ce)\n"
            "  --noise S         teacher noise: std added to its outputs (0.5)\n"
            "  --teacher-width W teacher's hidden width (64, two tanh layers)\n"
            "  --lr F (3e-4)  --wd F (0.1)  --beta1 F (0.9)  --beta2 F (0.99)\n"
            "  --level-bits B    vote-l1 level bits 2..8 (4)\n"
            "  --msync P         never | every:N | until:N:M | exp:T0:k[:M] (never)\n"
            "  --msync-dtype T   fp32 | bf16 (fp32)\n"
            "  --seed S          seed of the teacher, the initial weights and the shards (1)\n"
            "  --eval-every N    evaluate on a fixed held-out set every N steps (0: at the end)\n"
            "  --print-every N   print a progress line every N steps (steps/20)\n"
            "  --csv FILE        rank 0 writes the per-step curve (losses averaged over ranks)\n"
            "  --overlap         start each layer's votes during backward (the split step;\n"
            "                    with LC_PROGRESS_THREAD=1 they also move during compute)\n"
            "  --help, --version this text; lioncub's version\n");
}

static int parse_msync(const char *s, lc_msync_t *m)
{
    unsigned long long a = 0, b = 0;
    double k = 0.0;
    char tail;

    m->size = sizeof(*m);
    if (!strcmp(s, "never")) {
        m->kind = LC_MSYNC_NEVER;
        return 0;
    }
    if (sscanf(s, "every:%llu%c", &a, &tail) == 1) {
        *m = (lc_msync_t){.size = sizeof(*m), .kind = LC_MSYNC_EVERY, .every = a,
                          .dtype = m->dtype};
    } else if (sscanf(s, "until:%llu:%llu%c", &a, &b, &tail) == 2) {
        *m = (lc_msync_t){.size = sizeof(*m), .kind = LC_MSYNC_EVERY, .every = a, .until = b,
                          .dtype = m->dtype};
    } else if (sscanf(s, "exp:%llu:%lf:%llu%c", &a, &k, &b, &tail) == 3 ||
               sscanf(s, "exp:%llu:%lf%c", &a, &k, &tail) == 2) {
        *m = (lc_msync_t){.size = sizeof(*m), .kind = LC_MSYNC_EXP, .every = a, .until = b,
                          .k = k, .dtype = m->dtype};
    } else {
        return -EINVAL;
    }
    return lc_msync_due(m, 1) < 0 ? -EINVAL : 0;
}

static long arg_long(const char *name, const char *v, long lo)
{
    char *end;
    long x = strtol(v, &end, 10);

    if (*end || x < lo) {
        fprintf(stderr, "lc_train: --%s needs an integer >= %ld (got '%s')\n", name, lo, v);
        exit(2);
    }
    return x;
}

static float arg_float(const char *name, const char *v)
{
    char *end;
    float x = strtof(v, &end);

    if (*end || !isfinite(x)) {
        fprintf(stderr, "lc_train: --%s needs a number (got '%s')\n", name, v);
        exit(2);
    }
    return x;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option lopts[] = {
        {"mode", 1, 0, 'm'},     {"steps", 1, 0, 's'},       {"width", 1, 0, 'w'},
        {"depth", 1, 0, 'd'},    {"batch", 1, 0, 'b'},       {"in", 1, 0, 'i'},
        {"classes", 1, 0, 'k'},  {"lr", 1, 0, 'l'},          {"wd", 1, 0, 'W'},
        {"beta1", 1, 0, '1'},    {"beta2", 1, 0, '2'},       {"msync", 1, 0, 'y'},
        {"msync-dtype", 1, 0, 'Y'}, {"seed", 1, 0, 'S'},     {"csv", 1, 0, 'c'},
        {"eval-every", 1, 0, 'e'}, {"print-every", 1, 0, 'p'}, {"act", 1, 0, 'a'},
        {"loss", 1, 0, 'L'},     {"noise", 1, 0, 'n'},       {"level-bits", 1, 0, 'B'},
        {"teacher-width", 1, 0, 't'}, {"help", 0, 0, 'h'},   {"version", 0, 0, 'V'},
        {"overlap", 0, 0, 'O'},
        {0, 0, 0, 0},
    };
    const char *msync = "never";
    int c, rc;

    *o = (struct opts){.mode = LC_LION_VOTE, .steps = 200, .width = 256, .depth = 2,
                       .batch = 64, .in = 64, .classes = 10, .teacher_width = 64,
                       .lr = 3e-4f, .wd = 0.1f, .beta1 = 0.9f, .beta2 = 0.99f, .noise = 0.5f,
                       .seed = 1, .print_every = -1};
    o->msync.dtype = LC_FP32;
    while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if ((rc = lc_lion_mode_parse(optarg)) < 0) {
                fprintf(stderr, "lc_train: %s\n", lc_last_error());
                exit(2);
            }
            o->mode = (lc_lion_mode_t)rc;
            break;
        case 's': o->steps = arg_long("steps", optarg, 1); break;
        case 'w': o->width = arg_long("width", optarg, 1); break;
        case 'd': o->depth = arg_long("depth", optarg, 0); break;
        case 'b': o->batch = arg_long("batch", optarg, 1); break;
        case 'i': o->in = arg_long("in", optarg, 1); break;
        case 'k': o->classes = arg_long("classes", optarg, 1); break;
        case 't': o->teacher_width = arg_long("teacher-width", optarg, 1); break;
        case 'e': o->eval_every = arg_long("eval-every", optarg, 0); break;
        case 'p': o->print_every = arg_long("print-every", optarg, 0); break;
        case 'B': o->level_bits = (unsigned)arg_long("level-bits", optarg, 2); break;
        case 'S': o->seed = (uint64_t)arg_long("seed", optarg, 0); break;
        case 'l': o->lr = arg_float("lr", optarg); break;
        case 'W': o->wd = arg_float("wd", optarg); break;
        case '1': o->beta1 = arg_float("beta1", optarg); break;
        case '2': o->beta2 = arg_float("beta2", optarg); break;
        case 'n': o->noise = arg_float("noise", optarg); break;
        case 'c': o->csv = optarg; break;
        case 'O': o->overlap = 1; break;
        case 'y': msync = optarg; break;
        case 'Y':
            if (strcmp(optarg, "fp32") && strcmp(optarg, "bf16")) {
                fprintf(stderr, "lc_train: --msync-dtype is fp32 or bf16\n");
                exit(2);
            }
            o->msync.dtype = strcmp(optarg, "fp32") ? LC_BF16 : LC_FP32;
            break;
        case 'a':
            if (strcmp(optarg, "relu") && strcmp(optarg, "tanh")) {
                fprintf(stderr, "lc_train: --act is relu or tanh\n");
                exit(2);
            }
            o->act = strcmp(optarg, "relu") ? MLP_TANH : MLP_RELU;
            break;
        case 'L':
            if (strcmp(optarg, "ce") && strcmp(optarg, "mse")) {
                fprintf(stderr, "lc_train: --loss is ce or mse\n");
                exit(2);
            }
            o->loss = strcmp(optarg, "ce") ? MLP_MSE : MLP_CE;
            break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("lc_train (lioncub) %s\n", lc_version(NULL)); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lc_train: unexpected argument '%s'\n", argv[optind]);
        exit(2);
    }
    if (parse_msync(msync, &o->msync)) {
        fprintf(stderr, "lc_train: bad --msync '%s' (never, every:N, until:N:M, exp:T0:k[:M])\n",
                msync);
        exit(2);
    }
    if (o->print_every < 0)
        o->print_every = o->steps >= 20 ? o->steps / 20 : 1;
}

/* The synthetic task: inputs, and the teacher that labels them. */
struct task {
    mlp_t teacher;
    enum mlp_loss loss;
    float noise;
    int in, classes;
};

/* Draw n samples from rng into x, labels (CE) or targets (MSE). */
static void task_draw(struct task *t, mlp_rng_t *rng, int n, float *x, int *labels,
                      float *targets)
{
    const float *y;

    for (size_t i = 0; i < (size_t)n * (size_t)t->in; i++)
        x[i] = mlp_rng_normal(rng);
    y = mlp_forward(&t->teacher, x, n);
    for (int r = 0; r < n; r++) {
        int best = 0;
        float bv = -INFINITY;

        for (int j = 0; j < t->classes; j++) {
            float v = y[(size_t)r * t->classes + j] + t->noise * mlp_rng_normal(rng);

            if (t->loss == MLP_MSE)
                targets[(size_t)r * t->classes + j] = v;
            else if (v > bv) {
                bv = v;
                best = j;
            }
        }
        labels[r] = best;
    }
}

/* Mean loss (and accuracy for CE) of the model on a fixed set, in batches. */
static void evaluate(mlp_t *m, struct task *t, int n, int batch, const float *x,
                     const int *labels, const float *targets, double *loss, double *acc)
{
    double sum = 0.0;
    int ok = 0;

    for (int r = 0; r < n; r += batch) {
        int nb = n - r < batch ? n - r : batch, c = 0;

        mlp_forward(m, x + (size_t)r * t->in, nb);
        sum += (double)mlp_loss(m, t->loss, labels + r, targets + (size_t)r * t->classes, nb, 0,
                                &c) * nb;
        ok += c;
    }
    *loss = sum / n;
    *acc = (double)ok / n;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static int launched(void)
{
    static const char *const vars[] = {"LC_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                       "SLURM_NTASKS"};

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

static int comm_open(lc_comm_t **comm)
{
    lc_unique_id_t id;
    lc_comm_config_t cfg = {.size = sizeof(cfg), .rank = 0, .nranks = 1, .id = &id};
    int rc;

    if (launched())
        rc = lc_comm_init(NULL, comm);
    else if ((rc = lc_get_unique_id(&id)) == 0)
        rc = lc_comm_init(&cfg, comm);
    if (rc)
        fprintf(stderr, "lc_train: cannot join the communicator: %s (%s)\n", lc_strerror(rc),
                lc_last_error());
    return rc;
}

#define DIE(...)                                                                                 \
    do {                                                                                         \
        fprintf(stderr, "lc_train[%d]: ", rank);                                                 \
        fprintf(stderr, __VA_ARGS__);                                                            \
        fprintf(stderr, "\n");                                                                   \
        exit(1);                                                                                 \
    } while (0)

/* Per-step records, for the final summary and the CSV curve. */
struct curve {
    float *loss;
    double *step_s, *comm_s, *eval;
    uint64_t *bytes;
};

static void write_csv(const char *path, const struct opts *o, const struct curve *cv)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        fprintf(stderr, "lc_train: cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    fprintf(f, "step,loss,step_ms,compute_ms,comm_ms,bytes_sent,eval_loss\n");
    for (long s = 0; s < o->steps; s++) {
        fprintf(f, "%ld,%.6f,%.3f,%.3f,%.3f,%" PRIu64 ",", s + 1, (double)cv->loss[s],
                1e3 * cv->step_s[s], 1e3 * (cv->step_s[s] - cv->comm_s[s]), 1e3 * cv->comm_s[s],
                cv->bytes[s]);
        if (!isnan(cv->eval[s]))
            fprintf(f, "%.6f", cv->eval[s]);
        fprintf(f, "\n");
    }
    fclose(f);
}

/* --overlap: backward hands each layer's gradients to the split step as they are made. */
struct overlap {
    lc_lion_t *lion;
    mlp_t *model;
    int rc;
};

static void grads_ready(void *arg, int layer)
{
    struct overlap *ov = arg;

    if (!ov->rc)
        ov->rc = lc_lion_step_group(ov->lion, 2 * layer, ov->model->gw[layer]);
    if (!ov->rc)
        ov->rc = lc_lion_step_group(ov->lion, 2 * layer + 1, ov->model->gb[layer]);
}

int main(int argc, char **argv)
{
    enum { NEVAL = 2048 };
    struct opts o;
    struct task t = {0};
    struct curve cv;
    mlp_t model;
    mlp_rng_t rng;
    lc_comm_t *comm;
    lc_lion_t *lion;
    lc_lion_config_t lcfg;
    int rank, nranks, *dims, tdims[4], *labels, *elabels, ngroups;
    float *x, *targets, *ex, *etargets, last;
    const void **grads;
    double t_start, t_total, t_eval = 0.0, comm_total = 0.0, eloss = NAN, eacc = NAN;
    struct overlap ov = {0};
    uint64_t bytes_total = 0, hash = 14695981039346656037ull, *hashes;

    parse_args(argc, argv, &o);
    openblas_set_num_threads(1);
    if (comm_open(&comm))
        return 1;
    rank = lc_comm_rank(comm);
    nranks = lc_comm_size(comm);

    /* the teacher and the initial weights: the same on every rank */
    t.loss = o.loss;
    t.noise = o.noise;
    t.in = (int)o.in;
    t.classes = (int)o.classes;
    tdims[0] = t.in;
    tdims[1] = tdims[2] = (int)o.teacher_width;
    tdims[3] = t.classes;
    mlp_rng_seed(&rng, o.seed);
    if (mlp_init(&t.teacher, 3, tdims, MLP_TANH, (int)(o.batch > NEVAL ? o.batch : NEVAL), 2.0f,
                 &rng))
        DIE("out of memory");
    dims = malloc(sizeof(int) * (size_t)(o.depth + 2));
    dims[0] = t.in;
    for (long l = 1; l <= o.depth; l++)
        dims[l] = (int)o.width;
    dims[o.depth + 1] = t.classes;
    if (mlp_init(&model, (int)o.depth + 1, dims, o.act, (int)o.batch,
                 o.act == MLP_RELU ? sqrtf(2.0f) : 1.0f, &rng))
        DIE("out of memory");

    /* the held-out set (the same everywhere), then this rank's own stream */
    ex = malloc(sizeof(float) * NEVAL * (size_t)t.in);
    etargets = malloc(sizeof(float) * NEVAL * (size_t)t.classes);
    elabels = malloc(sizeof(int) * NEVAL);
    x = malloc(sizeof(float) * (size_t)o.batch * (size_t)t.in);
    targets = malloc(sizeof(float) * (size_t)o.batch * (size_t)t.classes);
    labels = malloc(sizeof(int) * (size_t)o.batch);
    cv.loss = calloc((size_t)o.steps, sizeof(float));
    cv.step_s = calloc((size_t)o.steps, sizeof(double));
    cv.comm_s = calloc((size_t)o.steps, sizeof(double));
    cv.eval = calloc((size_t)o.steps, sizeof(double));
    cv.bytes = calloc((size_t)o.steps, sizeof(uint64_t));
    hashes = calloc((size_t)nranks, sizeof(uint64_t));
    if (!ex || !etargets || !elabels || !x || !targets || !labels || !cv.loss || !cv.step_s ||
        !cv.comm_s || !cv.eval || !cv.bytes || !hashes)
        DIE("out of memory");
    mlp_rng_seed(&rng, o.seed ^ 0x5eed5eed5eedull);
    task_draw(&t, &rng, NEVAL, ex, elabels, etargets);
    mlp_rng_seed(&rng, o.seed + 1000003ull * (uint64_t)(rank + 1));

    lcfg = (lc_lion_config_t){.size = sizeof(lcfg), .mode = o.mode, .lr = o.lr,
                              .beta1 = o.beta1, .beta2 = o.beta2, .weight_decay = o.wd,
                              .level_bits = o.level_bits};
    if (lc_lion_create(comm, &lcfg, &lion))
        DIE("lc_lion_create: %s", lc_last_error());
    ngroups = 2 * model.nlayers;
    grads = malloc(sizeof(void *) * (size_t)ngroups);
    for (int l = 0; l < model.nlayers; l++) {
        char name[32];
        size_t out = (size_t)dims[l + 1];

        snprintf(name, sizeof(name), "layer%d.weight", l);
        if (lc_lion_add_group(lion, model.w[l], out * (size_t)dims[l], LC_FP32, name,
                              &o.msync) < 0)
            DIE("lc_lion_add_group: %s", lc_last_error());
        snprintf(name, sizeof(name), "layer%d.bias", l);
        if (lc_lion_add_group(lion, model.b[l], out, LC_FP32, name, &o.msync) < 0)
            DIE("lc_lion_add_group: %s", lc_last_error());
        grads[2 * l] = model.gw[l];
        grads[2 * l + 1] = model.gb[l];
    }
    if (rank == 0)
        printf("lc_train: mode %s, %d ranks, %zu parameters (%ld hidden layers of %ld), "
               "batch %ld per rank, provider %s%s\n",
               lc_lion_mode_name(o.mode), nranks, mlp_param_count(&model), o.depth, o.width,
               o.batch, lc_comm_provider(comm), o.overlap ? ", overlapped with backward" : "");
    if (o.overlap) {
        ov.lion = lion;
        ov.model = &model;
        model.grad_ready = grads_ready;
        model.grad_arg = &ov;
    }
    if (lc_barrier(comm))
        DIE("lc_barrier: %s", lc_last_error());

    t_start = now_s();
    for (long s = 0; s < o.steps; s++) {
        lc_lion_step_info_t info = {.size = sizeof(info)};
        double t0 = now_s(), tc;
        int rc;

        task_draw(&t, &rng, (int)o.batch, x, labels, targets);
        if (o.overlap && (rc = lc_lion_step_begin(lion, NULL)))
            DIE("lc_lion_step_begin %ld: %s (%s)", s + 1, lc_strerror(rc), lc_last_error());
        mlp_forward(&model, x, (int)o.batch);
        cv.loss[s] = mlp_loss(&model, o.loss, labels, targets, (int)o.batch, 1, NULL);
        tc = now_s() - t0;
        if (o.overlap)
            rc = ov.rc ? ov.rc : lc_lion_step_end(lion, &info);
        else
            rc = lc_lion_step(lion, grads, NULL, &info);
        if (rc)
            DIE("step %ld: %s (%s)", s + 1, lc_strerror(rc), lc_last_error());
        /* the split step's info counts from begin: the whole step */
        cv.step_s[s] = o.overlap ? info.total_seconds : tc + info.total_seconds;
        cv.comm_s[s] = info.comm_seconds;
        cv.bytes[s] = info.bytes_sent;
        cv.eval[s] = NAN;
        comm_total += info.comm_seconds;
        bytes_total += info.bytes_sent;
        if ((o.eval_every && (s + 1) % o.eval_every == 0) || s + 1 == o.steps) {
            double te = now_s();

            evaluate(&model, &t, NEVAL, (int)o.batch, ex, elabels, etargets, &eloss, &eacc);
            cv.eval[s] = eloss;
            t_eval += now_s() - te;
            if (rank == 0 && o.eval_every)
                printf("eval  %6ld  loss %.5f%s%.4f\n", s + 1, eloss,
                       o.loss == MLP_CE ? "  accuracy " : "", o.loss == MLP_CE ? eacc : 0.0);
        }
        if (rank == 0 && o.print_every && ((s + 1) % o.print_every == 0 || s == 0))
            printf("step  %6ld  loss %.5f  compute %8.2f ms  comm %8.2f ms  sent %10" PRIu64
                   " B  msync %d\n",
                   s + 1, (double)cv.loss[s], 1e3 * (cv.step_s[s] - info.comm_seconds),
                   1e3 * info.comm_seconds, info.bytes_sent, info.momentum_synced);
    }
    t_total = now_s() - t_start - t_eval; /* training only */

    /* the final loss and the curve, averaged over ranks: the same on every rank */
    last = 0.0f;
    for (long s = o.steps > 10 ? o.steps - 10 : 0; s < o.steps; s++)
        last += cv.loss[s] / (float)(o.steps > 10 ? 10 : o.steps);
    if (lc_allreduce(comm, &last, &last, 1, LC_FP32, LC_AVG) ||
        lc_allreduce(comm, cv.loss, cv.loss, (size_t)o.steps, LC_FP32, LC_AVG))
        DIE("lc_allreduce: %s", lc_last_error());
    for (int l = 0; l < model.nlayers; l++) {
        hash = fnv1a(hash, model.w[l], sizeof(float) * (size_t)dims[l + 1] * (size_t)dims[l]);
        hash = fnv1a(hash, model.b[l], sizeof(float) * (size_t)dims[l + 1]);
    }
    if (lc_allgather(comm, &hash, hashes, sizeof(hash)))
        DIE("lc_allgather: %s", lc_last_error());
    for (int r = 0; r < nranks; r++)
        if (hashes[r] != hash)
            DIE("parameter checksum mismatch: rank %d has %016" PRIx64 ", rank %d has %016" PRIx64
                " - the replicas diverged", r, hashes[r], rank, hash);
    if (rank == 0) {
        printf("summary mode=%s ranks=%d params=%zu steps=%ld final_loss=%.6f eval_loss=%.6f",
               lc_lion_mode_name(o.mode), nranks, mlp_param_count(&model), o.steps,
               (double)last, eloss);
        if (o.loss == MLP_CE)
            printf(" eval_acc=%.4f", eacc);
        printf(" total_s=%.3f eval_s=%.3f step_ms=%.3f compute_ms=%.3f comm_ms=%.3f"
               " bytes_per_step=%.0f\n",
               t_total, t_eval, 1e3 * t_total / (double)o.steps,
               1e3 * (t_total - comm_total) / (double)o.steps, 1e3 * comm_total / (double)o.steps,
               (double)bytes_total / (double)o.steps);
        printf("checksum %016" PRIx64 " (identical on all %d ranks)\n", hash, nranks);
        if (o.csv)
            write_csv(o.csv, &o, &cv);
    }
    lc_lion_destroy(lion);
    lc_comm_destroy(comm);
    mlp_free(&model);
    mlp_free(&t.teacher);
    free(dims);
    free(grads);
    free(ex);
    free(etargets);
    free(elabels);
    free(x);
    free(targets);
    free(labels);
    free(cv.loss);
    free(cv.step_s);
    free(cv.comm_s);
    free(cv.eval);
    free(cv.bytes);
    free(hashes);
    return 0;
}
