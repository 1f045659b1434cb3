/* Runs a model built by `snnc build` from C, for tests/tests/aot.rs: written against the ABI of
 * the generated header only. Compile with -DSNN_NAME=<name> -DSNN_HEADER='"<name>.h"'.
 *
 *   driver BATCH STEPS SPLIT OUTDIR [INPUT FILE PER_STEP]...
 *
 * Held inputs (PER_STEP 0: FILE holds batch * size values) are set once and the model runs in
 * two calls, SPLIT then STEPS - SPLIT steps; with a per-step input (PER_STEP 1: FILE holds
 * batch * steps * size values, (batch, steps, size)) it is set before each one-step call. Every
 * probe is written to OUTDIR/<probe>.bin ((batch, samples, size) values). Then the model is
 * reset and run again, all STEPS in one call (held inputs), and must give the same bytes; the
 * error paths are checked too. Exit status: 0 good, else what failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include SNN_HEADER

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define F(x) CAT(SNN_NAME, x)

typedef F(real) real;

struct input {
    const char *name;
    real *data;
    size_t n;
    int per_step;
};

static real *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    real *v = malloc(bytes > 0 ? (size_t)bytes : 1);
    *n = (size_t)bytes / sizeof(real);
    if (fread(v, sizeof(real), *n, f) != *n) { free(v); v = NULL; }
    fclose(f);
    return v;
}

static int simulate(F(model) *m, struct input *in, int n_in, uint32_t batch, uint64_t steps,
                    uint64_t split) {
    int per_step = 0;
    for (int i = 0; i < n_in; i++) {
        if (in[i].per_step) { per_step = 1; continue; }
        if (F(set_input)(m, in[i].name, in[i].data, in[i].n)) {
            fprintf(stderr, "set_input %s: %s\n", in[i].name, F(last_error)(m));
            return 10;
        }
    }
    if (!per_step) {
        if (split > 0 && F(run)(m, split)) { fprintf(stderr, "run: %s\n", F(last_error)(m)); return 11; }
        if (steps > split && F(run)(m, steps - split)) { fprintf(stderr, "run: %s\n", F(last_error)(m)); return 11; }
        return 0;
    }
    for (uint64_t k = 0; k < steps; k++) {
        for (int i = 0; i < n_in; i++) {
            if (!in[i].per_step) continue;
            size_t size = in[i].n / batch / steps;
            real *buf = malloc(sizeof(real) * batch * (size ? size : 1));
            for (uint32_t b = 0; b < batch; b++)
                memcpy(buf + b * size, in[i].data + (b * steps + k) * size, sizeof(real) * size);
            int r = F(set_input)(m, in[i].name, buf, batch * size);
            free(buf);
            if (r) { fprintf(stderr, "set_input %s: %s\n", in[i].name, F(last_error)(m)); return 12; }
        }
        if (F(run)(m, 1)) { fprintf(stderr, "run: %s\n", F(last_error)(m)); return 13; }
    }
    return 0;
}

/* Every probe's samples; NULL on failure. */
static real **read_all(F(model) *m, uint32_t batch, size_t *lens) {
    real **out = calloc(F(N_PROBES) + 1, sizeof(real *));
    for (int p = 0; p < F(N_PROBES); p++) {
        const char *name = F(PROBE_NAMES)[p];
        size_t len = batch * F(probe_samples)(m, name) * F(probe_size)(m, name);
        out[p] = malloc(sizeof(real) * (len ? len : 1));
        lens[p] = len;
        if (F(read_probe)(m, name, out[p], len)) {
            fprintf(stderr, "read_probe %s: %s\n", name, F(last_error)(m));
            return NULL;
        }
    }
    return out;
}

int main(int argc, char **argv) {
    if (argc < 5 || (argc - 5) % 3) { fprintf(stderr, "usage\n"); return 2; }
    uint32_t batch = (uint32_t)atoi(argv[1]);
    uint64_t steps = strtoull(argv[2], NULL, 10), split = strtoull(argv[3], NULL, 10);
    const char *outdir = argv[4];
    int n_in = (argc - 5) / 3;
    struct input in[64];
    for (int i = 0; i < n_in && i < 64; i++) {
        in[i].name = argv[5 + 3 * i];
        in[i].data = slurp(argv[6 + 3 * i], &in[i].n);
        in[i].per_step = atoi(argv[7 + 3 * i]);
        if (!in[i].data) { fprintf(stderr, "cannot read %s\n", argv[6 + 3 * i]); return 2; }
    }
    if (F(ABI_VERSION) != 1 || !(F(DT) > 0)) return 3;
    F(model) *m = F(new)(batch);
    if (!m) { fprintf(stderr, "new failed\n"); return 4; }

    /* Error paths: a wrong length, an unknown input and probe. */
    real one = 0;
    if (F(N_INPUTS) > 0) {
        if (F(set_input)(m, F(INPUT_NAMES)[0], &one, 0) == 0) return 5;
        if (strlen(F(last_error)(m)) == 0) return 5;
    }
    if (F(set_input)(m, "no such input", &one, 1) == 0) return 5;
    if (F(probe_size)(m, "no such probe") != 0) return 5;

    int r = simulate(m, in, n_in, batch, steps, split);
    if (r) return r;
    size_t lens[256];
    real **first = read_all(m, batch, lens);
    if (!first) return 6;
    for (int p = 0; p < F(N_PROBES); p++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.bin", outdir, F(PROBE_NAMES)[p]);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(first[p], sizeof(real), lens[p], f) != lens[p]) return 7;
        fclose(f);
    }

    /* Reset: t = 0 again, then everything in one call gives the same bytes. */
    F(reset)(m);
    for (int p = 0; p < F(N_PROBES); p++)
        if (F(probe_samples)(m, F(PROBE_NAMES)[p]) != 0) return 8;
    r = simulate(m, in, n_in, batch, steps, steps);
    if (r) return r;
    size_t lens2[256];
    real **second = read_all(m, batch, lens2);
    if (!second) return 6;
    for (int p = 0; p < F(N_PROBES); p++) {
        if (lens[p] != lens2[p] || memcmp(first[p], second[p], sizeof(real) * lens[p])) {
            fprintf(stderr, "probe %s differs after reset\n", F(PROBE_NAMES)[p]);
            return 9;
        }
    }
    F(free)(m);
    return 0;
}
