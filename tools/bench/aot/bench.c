/* Times a library built by `snnc build`: compile with -DSNN_NAME=<name> -DSNN_HEADER='"<name>.h"'.
 *
 *   bench BATCH STEPS REPEAT [INPUT FILE]...
 *
 * FILE holds an input's held values (batch * size, the library's float type). Each repeat
 * resets the model, sets the inputs and times one NAME_run(STEPS) call (the simulation alone);
 * prints {"batch": B, "steps": S, "run_s": [...]} as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include SNN_HEADER

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define F(x) CAT(SNN_NAME, x)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 4 || (argc - 4) % 2) return 2;
    uint32_t batch = (uint32_t)atoi(argv[1]);
    uint64_t steps = strtoull(argv[2], NULL, 10);
    int repeat = atoi(argv[3]);
    F(model) *m = F(new)(batch);
    if (!m) return 3;
    printf("{\"batch\": %u, \"steps\": %llu, \"run_s\": [", batch, (unsigned long long)steps);
    for (int r = 0; r < repeat; r++) {
        F(reset)(m);
        for (int i = 4; i + 1 < argc; i += 2) {
            FILE *f = fopen(argv[i + 1], "rb");
            if (!f) return 4;
            fseek(f, 0, SEEK_END);
            size_t n = (size_t)ftell(f) / sizeof(F(real));
            fseek(f, 0, SEEK_SET);
            F(real) *v = malloc(n * sizeof *v);
            if (fread(v, sizeof *v, n, f) != n) return 4;
            fclose(f);
            if (F(set_input)(m, argv[i], v, n)) { fprintf(stderr, "%s\n", F(last_error)(m)); return 5; }
            free(v);
        }
        double t0 = now();
        if (F(run)(m, steps)) { fprintf(stderr, "%s\n", F(last_error)(m)); return 6; }
        printf("%s%.6f", r ? ", " : "", now() - t0);
    }
    printf("]}\n");
    F(free)(m);
    return 0;
}
