/* train_mlp.c - forward and backward of the example MLP with cblas_sgemm, and its random numbers. */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_mlp.h"

void mlp_rng_seed(mlp_rng_t *r, uint64_t seed)
{
    r->s = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
    r->has_spare = 0;
}

uint64_t mlp_rng_u64(mlp_rng_t *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float mlp_rng_normal(mlp_rng_t *r)
{
    double u1, u2, rad;

    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    u1 = ((double)(mlp_rng_u64(r) >> 11) + 0.5) / 9007199254740992.0;
    u2 = (double)(mlp_rng_u64(r) >> 11) / 9007199254740992.0;
    rad = sqrt(-2.0 * log(u1));
    r->spare = (float)(rad * sin(2.0 * M_PI * u2));
    r->has_spare = 1;
    return (float)(rad * cos(2.0 * M_PI * u2));
}

static float **mlp_array(int n)
{
    return calloc((size_t)n, sizeof(float *));
}

int mlp_init(mlp_t *m, int nlayers, const int *dims, enum mlp_act act, int batch, float gain,
             mlp_rng_t *rng)
{
    int maxw = 0;

    memset(m, 0, sizeof(*m));
    m->nlayers = nlayers;
    m->act = act;
    m->batch = batch;
    m->dims = malloc(sizeof(int) * (size_t)(nlayers + 1));
    m->w = mlp_array(nlayers);
    m->b = mlp_array(nlayers);
    m->gw = mlp_array(nlayers);
    m->gb = mlp_array(nlayers);
    m->z = mlp_array(nlayers);
    m->a = mlp_array(nlayers + 1);
    if (!m->dims || !m->w || !m->b || !m->gw || !m->gb || !m->z || !m->a)
        goto nomem;
    memcpy(m->dims, dims, sizeof(int) * (size_t)(nlayers + 1));
    for (int l = 0; l <= nlayers; l++)
        maxw = dims[l] > maxw ? dims[l] : maxw;
    for (int l = 0; l < nlayers; l++) {
        size_t in = (size_t)dims[l], out = (size_t)dims[l + 1];
        float sd = gain / sqrtf((float)in);

        m->w[l] = malloc(in * out * sizeof(float));
        m->b[l] = calloc(out, sizeof(float));
        m->gw[l] = malloc(in * out * sizeof(float));
        m->gb[l] = malloc(out * sizeof(float));
        m->z[l] = malloc((size_t)batch * out * sizeof(float));
        m->a[l + 1] = malloc((size_t)batch * out * sizeof(float));
        if (!m->w[l] || !m->b[l] || !m->gw[l] || !m->gb[l] || !m->z[l] || !m->a[l + 1])
            goto nomem;
        for (size_t i = 0; i < in * out; i++)
            m->w[l][i] = sd * mlp_rng_normal(rng);
    }
    m->dz = malloc((size_t)batch * (size_t)maxw * sizeof(float));
    m->da = malloc((size_t)batch * (size_t)maxw * sizeof(float));
    if (!m->dz || !m->da)
        goto nomem;
    return 0;
nomem:
    mlp_free(m);
    return -ENOMEM;
}

void mlp_free(mlp_t *m)
{
    for (int l = 0; l < m->nlayers; l++) {
        if (m->w)
            free(m->w[l]);
        if (m->b)
            free(m->b[l]);
        if (m->gw)
            free(m->gw[l]);
        if (m->gb)
            free(m->gb[l]);
        if (m->z)
            free(m->z[l]);
        if (m->a)
            free(m->a[l + 1]);
    }
    free(m->w);
    free(m->b);
    free(m->gw);
    free(m->gb);
    free(m->z);
    free(m->a);
    free(m->dims);
    free(m->dz);
    free(m->da);
    memset(m, 0, sizeof(*m));
}

size_t mlp_param_count(const mlp_t *m)
{
    size_t n = 0;

    for (int l = 0; l < m->nlayers; l++)
        n += (size_t)m->dims[l + 1] * ((size_t)m->dims[l] + 1);
    return n;
}

const float *mlp_forward(mlp_t *m, const float *x, int n)
{
    m->a[0] = (float *)x;
    for (int l = 0; l < m->nlayers; l++) {
        int in = m->dims[l], out = m->dims[l + 1], last = l == m->nlayers - 1;
        float *z = m->z[l], *a = m->a[l + 1];

        /* z = a[l] * w^T + b */
        for (int r = 0; r < n; r++)
            memcpy(z + (size_t)r * out, m->b[l], sizeof(float) * (size_t)out);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, m->a[l], in,
                    m->w[l], in, 1.0f, z, out);
        for (size_t i = 0; i < (size_t)n * (size_t)out; i++)
            a[i] = last ? z[i] : m->act == MLP_RELU ? (z[i] > 0.0f ? z[i] : 0.0f) : tanhf(z[i]);
    }
    return m->a[m->nlayers];
}

/* dz of the output layer from the loss; returns the mean loss. */
static float mlp_out_grad(mlp_t *m, enum mlp_loss loss, const int *labels, const float *targets,
                          int n, int *correct)
{
    int k = m->dims[m->nlayers];
    const float *y = m->a[m->nlayers];
    double total = 0.0;
    int ok = 0;

    for (int r = 0; r < n; r++) {
        const float *yr = y + (size_t)r * k;
        float *dr = m->dz + (size_t)r * k;

        if (loss == MLP_CE) {
            float mx = yr[0], sum = 0.0f;
            int arg = 0;

            for (int j = 1; j < k; j++)
                if (yr[j] > mx) {
                    mx = yr[j];
                    arg = j;
                }
            for (int j = 0; j < k; j++)
                sum += (dr[j] = expf(yr[j] - mx));
            for (int j = 0; j < k; j++)
                dr[j] = (dr[j] / sum - (j == labels[r] ? 1.0f : 0.0f)) / (float)n;
            total += (double)(logf(sum) + mx - yr[labels[r]]);
            ok += arg == labels[r];
        } else {
            for (int j = 0; j < k; j++) {
                float e = yr[j] - targets[(size_t)r * k + j];

                total += 0.5 * (double)e * e;
                dr[j] = e / (float)n;
            }
        }
    }
    if (correct)
        *correct = ok;
    return (float)(total / n);
}

float mlp_loss(mlp_t *m, enum mlp_loss loss, const int *labels, const float *targets, int n,
               int grad, int *correct)
{
    float value = mlp_out_grad(m, loss, labels, targets, n, correct);

    if (!grad)
        return value;
    for (int l = m->nlayers - 1; l >= 0; l--) {
        int in = m->dims[l], out = m->dims[l + 1];

        /* gw = dz^T a[l], gb = column sums of dz */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, m->dz, out,
                    m->a[l], in, 0.0f, m->gw[l], in);
        memset(m->gb[l], 0, sizeof(float) * (size_t)out);
        for (int r = 0; r < n; r++)
            for (int j = 0; j < out; j++)
                m->gb[l][j] += m->dz[(size_t)r * out + j];
        if (m->grad_ready)
            m->grad_ready(m->grad_arg, l);
        if (l == 0)
            break;
        /* da = dz w, then dz = da * act'(z[l-1]) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, m->dz, out,
                    m->w[l], in, 0.0f, m->da, in);
        for (size_t i = 0; i < (size_t)n * (size_t)in; i++) {
            float a = m->a[l][i];

            m->dz[i] = m->da[i] * (m->act == MLP_RELU ? (a > 0.0f ? 1.0f : 0.0f) : 1.0f - a * a);
        }
    }
    return value;
}
