/* train_mlp.h - the example trainer's model: a plain MLP with OpenBLAS, its teacher and data. */
#ifndef LC_TRAIN_MLP_H
#define LC_TRAIN_MLP_H

#include <stddef.h>
#include <stdint.h>

enum mlp_act { MLP_RELU = 0, MLP_TANH = 1 };
enum mlp_loss { MLP_CE = 0, MLP_MSE = 1 };

/* A stream of Gaussian numbers from a 64-bit seed (splitmix64 + Box-Muller). */
typedef struct mlp_rng {
    uint64_t s;
    int has_spare;
    float spare;
} mlp_rng_t;

void mlp_rng_seed(mlp_rng_t *r, uint64_t seed);
uint64_t mlp_rng_u64(mlp_rng_t *r);
float mlp_rng_normal(mlp_rng_t *r);

/* An MLP: dims[0] inputs, dims[1..nlayers-1] hidden widths, dims[nlayers] outputs. */
typedef struct mlp {
    int nlayers;
    int *dims;
    enum mlp_act act;
    float **w, **b;     /* layer l: w[l] dims[l+1] x dims[l] row-major, b[l] dims[l+1] */
    float **gw, **gb;   /* gradients, same shapes */
    float **z;          /* pre-activations per layer, batch x dims[l+1] */
    float **a;          /* a[0] = input, a[l+1] = activation of z[l] (last: logits) */
    float *dz, *da;     /* backward scratch, batch x max width */
    int batch;          /* capacity of the activation buffers */
    /* called by backward once layer l's gradients gw[l] and gb[l] are final
     * (last layer first), so that their communication can start; NULL: none */
    void (*grad_ready)(void *arg, int layer);
    void *grad_arg;
} mlp_t;

/* Allocate and initialize (Gaussian, std gain/sqrt(fan_in), zero biases). 0 or -ENOMEM. */
int mlp_init(mlp_t *m, int nlayers, const int *dims, enum mlp_act act, int batch, float gain,
             mlp_rng_t *rng);
void mlp_free(mlp_t *m);
size_t mlp_param_count(const mlp_t *m);

/* Forward n <= batch rows of x (n x dims[0]); returns the output rows (n x dims[nlayers]). */
const float *mlp_forward(mlp_t *m, const float *x, int n);

/*
 * Loss of the last forward pass against targets: class labels (CE) or values
 * (MSE, n x dims[nlayers]); the mean over the rows. With grad != 0 also
 * backpropagates into gw/gb. For CE, *correct (if not NULL) gets the number of
 * rows whose argmax matches the label.
 */
float mlp_loss(mlp_t *m, enum mlp_loss loss, const int *labels, const float *targets, int n,
               int grad, int *correct);

#endif
