/* ds_dataset.h - training and test data for the workloads engine: an in-memory image set
 * (uint8 pixels, uint16 labels) loaded from IDX (MNIST family), CIFAR-10/100 binary files or
 * made up from a seed, and the per-step batch filler that turns it into normalised float32
 * NCHW tensors (with optional CIFAR augmentation) for the layers in nn_*.
 *
 * Where the files go (users bring CIFAR; Debian's dataset-fashion-mnist brings Fashion-MNIST):
 *
 *   fashion-mnist   train-images-idx3-ubyte  train-labels-idx1-ubyte   (each optionally .gz)
 *                   t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte
 *                   default /usr/share/datasets/fashion-mnist, or $ESSIM_DATA_DIR/fashion-mnist/
 *   mnist           same four names, in $ESSIM_DATA_DIR/mnist/
 *   cifar10         data_batch_1.bin ... data_batch_5.bin, test_batch.bin
 *                   in $ESSIM_DATA_DIR/cifar-10-batches-bin/  (what cifar-10-binary.tar.gz
 *                   unpacks to)
 *   cifar100        train.bin, test.bin in $ESSIM_DATA_DIR/cifar-100-binary/  (what
 *                   cifar-100-binary.tar.gz unpacks to); the fine label (100 classes) is used
 *
 * Search order for a dataset's directory (the first that holds the split's first file wins):
 *   1. the `dir` argument, if not NULL: `dir` itself, then `dir/<subdir>` (nothing else is
 *      searched, so an explicit directory never silently falls back to another copy);
 *   2. otherwise $ESSIM_DATA_DIR/<subdir>, then $ESSIM_DATA_DIR itself;
 *   3. then the system default, which only Fashion-MNIST has (/usr/share/datasets/fashion-mnist).
 * <subdir> is the name in the table above. Every file is read through zlib, so each may be
 * stored gzipped ("<name>.gz") or plain; the plain name is tried first. */
#ifndef ES_DS_DATASET_H
#define ES_DS_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "es_common.h"
#include "rng.h"

#define DS_MAX_CHANNELS 16
/* The system location of Debian's dataset-fashion-mnist package. */
#define DS_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef enum { DS_TRAIN = 0, DS_TEST = 1 } ds_split;

/* One split of a dataset. Created by the loaders below, released with ds_destroy. Every field
 * is read-only for users; change the normalisation only through ds_set_norm (it also rebuilds
 * the lookup table the batch filler uses). */
typedef struct ds_dataset {
    char name[64];    /* "fashion-mnist/train", "cifar10/test", "synthetic/train", ... */
    size_t n;         /* number of images */
    int c, h, w;      /* image shape; pixels of image i start at images + i * c*h*w */
    int classes;      /* labels are in [0, classes) */
    uint8_t *images;  /* n x c x h x w, row-major (CHW within an image) */
    uint16_t *labels; /* n */
    /* Normalisation applied by ds_batch_fill: (x/255 - mean[ch]) / std[ch]. Loaders set it
     * from the split's own pixels; ds_load_splits gives the test split the training split's. */
    float mean[DS_MAX_CHANNELS];
    float std[DS_MAX_CHANNELS];
    float *lut; /* c x 256: the normalised value of every pixel value, per channel */
} ds_dataset;

/* Release a dataset; NULL is fine. */
void ds_destroy(ds_dataset *ds);

/* Bytes of one image (c*h*w). */
static inline size_t ds_image_bytes(const ds_dataset *ds)
{
    return (size_t)ds->c * (size_t)ds->h * (size_t)ds->w;
}

/* Replace the normalisation (mean and std have ds->c entries, in units of x/255; every std
 * must be > 0). Use it to normalise a test split with the training split's statistics. */
int ds_set_norm(ds_dataset *ds, const float *mean, const float *std, es_err *err);

/* Compute the per-channel mean and (population) standard deviation of the split's own
 * pixels, in units of x/255, into mean[c] and std[c]. Loaders already do this. */
void ds_compute_stats(const ds_dataset *ds, float *mean, float *std);

/* ---- loaders: each returns ES_OK and a new dataset in *out, or ES_EIO (file missing or
 * unreadable) / ES_EFORMAT (bad content) / ES_ENOMEM with a message naming the file. ----- */

/* Load one IDX pair: images (magic 0x00000803, N x H x W unsigned bytes) and labels (magic
 * 0x00000801, N unsigned bytes), each plain or gzipped. Labels must be < classes (pass 10 for
 * the MNIST family). `name` becomes ds->name. */
int ds_load_idx(const char *images_path, const char *labels_path, int classes, const char *name,
                ds_dataset **out, es_err *err);

/* Load a split of an MNIST-family dataset (the four standard file names) found by the search
 * order above with <subdir> = `subdir` ("fashion-mnist", "mnist"); `default_dir` is step 3
 * (NULL for none). */
int ds_load_mnist_family(const char *subdir, const char *default_dir, const char *dir,
                         ds_split split, ds_dataset **out, es_err *err);

/* Fashion-MNIST: ds_load_mnist_family("fashion-mnist", DS_FASHION_MNIST_DIR, dir, ...). */
int ds_load_fashion_mnist(const char *dir, ds_split split, ds_dataset **out, es_err *err);

/* CIFAR-10 binary version (3x32x32, 10 classes): train = data_batch_1..5.bin in order,
 * test = test_batch.bin. Directory found by the search order with <subdir>
 * "cifar-10-batches-bin". */
int ds_load_cifar10(const char *dir, ds_split split, ds_dataset **out, es_err *err);

/* CIFAR-100 binary version (3x32x32, fine labels, 100 classes): train.bin / test.bin, found
 * with <subdir> "cifar-100-binary". */
int ds_load_cifar100(const char *dir, ds_split split, ds_dataset **out, es_err *err);

/* Load a dataset by name: "fashion-mnist", "mnist", "cifar10", "cifar100". `dir` as above
 * (NULL to search). An unknown name is ES_EINVAL. */
int ds_load(const char *name, const char *dir, ds_split split, ds_dataset **out, es_err *err);

/* Load both splits and give the test split the training split's normalisation, which is what
 * training wants. On failure nothing is returned (both *train and *test are NULL). */
int ds_load_splits(const char *name, const char *dir, ds_dataset **train, ds_dataset **test,
                   es_err *err);

/* ---- synthetic data ------------------------------------------------------------------ */

/* A deterministic made-up dataset for tests: each class has a smooth random prototype image
 * (from stream "ds_synth/prototype" of `seed`, shared by both splits); a sample is its class's
 * prototype plus a per-image brightness offset plus per-pixel noise of standard deviation
 * `noise` (in pixel units, 0..255; 30 makes a task a small network learns in an epoch or two,
 * 0 gives exact prototypes). Labels are uniform over the classes. The split picks the sample
 * stream, so train and test are different draws from the same distribution. */
typedef struct ds_synth_config {
    size_t n;
    int c, h, w; /* c <= DS_MAX_CHANNELS */
    int classes; /* 2 .. 65535 */
    uint64_t seed;
    ds_split split;
    float noise;
} ds_synth_config;

int ds_synth_create(const ds_synth_config *cfg, ds_dataset **out, es_err *err);

/* ---- batches ------------------------------------------------------------------------- */

/* Training-time augmentation (the usual CIFAR recipe: crop_pad = 4, flip = 1). */
typedef struct ds_augment {
    int crop_pad; /* > 0: pad each side with this many zero (black) pixels, then take a random
                     h x w crop; 0: no crop */
    int flip;     /* nonzero: mirror horizontally with probability 1/2 */
} ds_augment;

/* Fill a batch: x receives count x c x h x w float32 (NCHW), labels (if not NULL) receives
 * count labels, for the images idx[0..count-1]. Pixels are normalised with ds->lut, i.e.
 * (p/255 - mean[ch]) / std[ch]; padding pixels are black (p = 0) before normalisation, as in
 * torchvision's RandomCrop(padding) followed by Normalize.
 * With aug != NULL (rng is then required), the draws for each sample, in batch order, are:
 *   if crop_pad > 0:  oy = rng_below(rng, 2*crop_pad+1), then ox = rng_below(rng, 2*crop_pad+1)
 *   if flip:          f = rng_below(rng, 2)
 * and out[y][x] = in[y + oy - pad][xs + ox - pad] with xs = f ? w-1-x : x (out of range: 0).
 * Returns ES_ERANGE if an index is >= ds->n. */
int ds_batch_fill(const ds_dataset *ds, const uint32_t *idx, size_t count, const ds_augment *aug,
                  rng_stream *rng, float *x, int *labels, es_err *err);

/* The sample order of one epoch: perm[0..n-1] becomes a permutation of 0..n-1, shuffled by
 * stream rng_init_indexed(seed, "shuffle", epoch). It depends only on (seed, epoch, n), so a
 * run resumed at any epoch sees the same order as one that never stopped. */
void ds_epoch_order(uint64_t seed, uint64_t epoch, uint32_t *perm, size_t n);

#endif
