"""examples/aot/run.py: examples/square.snn as a native library, from Python with ctypes only.

    snnc build examples/square.snn -o build
    python3 examples/aot/run.py build/libsquare.so

Three inputs x held for one second (two calls of 500 steps), then the last sample of the probe
`out` for each (what main.c prints)."""
import ctypes
import sys

lib = ctypes.CDLL(sys.argv[1] if len(sys.argv) > 1 else "build/libsquare.so")
real = ctypes.c_double  # float64 build (`--dtype float32`: ctypes.c_float)
model_p = ctypes.c_void_p

lib.square_new.restype = model_p
lib.square_new.argtypes = [ctypes.c_uint32]
lib.square_free.argtypes = [model_p]
lib.square_set_input.argtypes = [model_p, ctypes.c_char_p, ctypes.POINTER(real), ctypes.c_size_t]
lib.square_run.argtypes = [model_p, ctypes.c_uint64]
lib.square_probe_size.restype = ctypes.c_size_t
lib.square_probe_size.argtypes = [model_p, ctypes.c_char_p]
lib.square_probe_samples.restype = ctypes.c_size_t
lib.square_probe_samples.argtypes = [model_p, ctypes.c_char_p]
lib.square_read_probe.argtypes = [model_p, ctypes.c_char_p, ctypes.POINTER(real), ctypes.c_size_t]
lib.square_last_error.restype = ctypes.c_char_p
lib.square_last_error.argtypes = [model_p]

BATCH, STEPS, DT = 3, 1000, 0.001
m = lib.square_new(BATCH)
if not m:
    sys.exit("square_new failed")


def check(status):
    if status != 0:
        sys.exit("error: " + lib.square_last_error(m).decode())


x = (real * BATCH)(-0.8, 0.3, 0.9)
check(lib.square_set_input(m, b"x", x, BATCH))
check(lib.square_run(m, STEPS // 2))
check(lib.square_run(m, STEPS // 2))
samples = lib.square_probe_samples(m, b"out")
size = lib.square_probe_size(m, b"out")
out = (real * (BATCH * samples * size))()
check(lib.square_read_probe(m, b"out", out, len(out)))
last = [out[(b * samples + samples - 1) * size] for b in range(BATCH)]
print("out at t = %g s: %s" % (samples * DT, " ".join("%.17e" % v for v in last)))
lib.square_free(m)
