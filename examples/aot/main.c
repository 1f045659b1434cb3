/* examples/aot/main.c: examples/square.snn as a native library, from C.
 *
 *   snnc build examples/square.snn -o build
 *   cc examples/aot/main.c -Ibuild -Lbuild -lsquare -o square && LD_LIBRARY_PATH=build ./square
 *
 * Three inputs x held for one second (two calls of 500 steps), then the last sample of the
 * probe `out` (≈ x², spiking LIF neurons' estimate) for each. */
#include <stdio.h>
#include <stdlib.h>
#include "square.h"

int main(void) {
    enum { BATCH = 3, STEPS = 1000 };
    const square_real x[BATCH] = {-0.8, 0.3, 0.9};
    square_model *m = square_new(BATCH);
    if (!m) return 1;
    if (square_set_input(m, square_INPUT_x, x, BATCH * square_INPUT_x_SIZE) ||
        square_run(m, STEPS / 2) || square_run(m, STEPS / 2)) {
        fprintf(stderr, "error: %s\n", square_last_error(m));
        return 1;
    }
    size_t samples = square_probe_samples(m, square_PROBE_out);
    size_t size = square_probe_size(m, square_PROBE_out);
    size_t len = BATCH * samples * size;
    square_real *out = malloc(len * sizeof *out);
    if (!out || square_read_probe(m, square_PROBE_out, out, len)) {
        fprintf(stderr, "error: %s\n", square_last_error(m));
        return 1;
    }
    printf("out at t = %g s:", samples * square_DT);
    for (int b = 0; b < BATCH; b++) printf(" %.17e", out[(b * samples + samples - 1) * size]);
    printf("\n");
    free(out);
    square_free(m);
    return 0;
}
