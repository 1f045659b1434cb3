//! snn-capi: the runtime half of a native library built by `snnc build`, as a static library
//! that `snnc` embeds and links beside the generated code. The generated object defines the
//! model's own C functions (`NAME_new`, `NAME_run`, …, see `snn-aot`), each a direct call of
//! the `snnrt_*` function here with the model's embedded plan and step function; these drive a
//! [`snn_exec::Session`] (the same executor the JIT runs).
//!
//! Every function catches panics (an error, never an unwind across the C boundary) and reports
//! failures through its return value and `snnrt_last_error`.

use snn_exec::{Float, Plan, RunFn, Runner, Session};
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

/// A session in the plan's float type.
enum Sess {
    F64(Session<f64>),
    F32(Session<f32>),
}

/// What `NAME_new` returns: the session and the last error message.
pub struct Model {
    sess: Sess,
    error: Mutex<CString>,
}

impl Model {
    fn fail(&self, e: impl Into<String>) -> i32 {
        let msg = CString::new(e.into().replace('\0', " ")).unwrap_or_default();
        if let Ok(mut slot) = self.error.lock() {
            *slot = msg;
        }
        -1
    }
}

fn session<T: Float>(plan: Plan, run: *const c_void, batch: u32) -> Result<Session<T>, String> {
    if run.is_null() {
        return Err("no step function".into());
    }
    // SAFETY: `run` is the step function generated for this plan (the generated `NAME_new` passes
    // both from one object), with the `RunFn` signature, and lives as long as the library.
    let f: RunFn<T> = unsafe { std::mem::transmute::<*const c_void, RunFn<T>>(run) };
    // SAFETY: as above.
    let runner = unsafe { Runner::new(plan, f) }?;
    Session::new(runner, batch as usize, 0)
}

/// A new model of `batch` elements at `t = 0` from the plan bytes and step function of one
/// build; NULL on failure.
///
/// # Safety
/// `plan` points to `plan_len` bytes written by `snnc build` for the code `run`.
#[no_mangle]
pub unsafe extern "C" fn snnrt_new(
    plan: *const u8,
    plan_len: usize,
    run: *const c_void,
    batch: u32,
) -> *mut Model {
    let made = catch_unwind(|| -> Result<Model, String> {
        if plan.is_null() || batch == 0 {
            return Err("no plan or batch 0".into());
        }
        // SAFETY: the caller's contract.
        let bytes = unsafe { std::slice::from_raw_parts(plan, plan_len) };
        let plan = Plan::from_bytes(bytes)?;
        let sess = match plan.dtype.as_str() {
            "float64" => Sess::F64(session::<f64>(plan, run, batch)?),
            "float32" => Sess::F32(session::<f32>(plan, run, batch)?),
            other => return Err(format!("unknown dtype {other}")),
        };
        Ok(Model { sess, error: Mutex::new(CString::default()) })
    });
    match made {
        Ok(Ok(m)) => Box::into_raw(Box::new(m)),
        _ => std::ptr::null_mut(),
    }
}

/// Frees a model (NULL is ignored).
///
/// # Safety
/// `m` is NULL or was returned by [`snnrt_new`] and not freed.
#[no_mangle]
pub unsafe extern "C" fn snnrt_free(m: *mut Model) {
    if !m.is_null() {
        // SAFETY: the caller's contract.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(m) })));
    }
}

/// Runs `f` on the model with panics turned into errors.
fn with<R>(m: &Model, f: impl FnOnce() -> Result<R, String>) -> Result<R, i32> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(m.fail(e)),
        Err(_) => Err(m.fail("internal error (panic)")),
    }
}

fn name<'a>(s: *const c_char) -> Result<&'a str, String> {
    if s.is_null() {
        return Err("name is NULL".into());
    }
    // SAFETY: the C caller passes a NUL-terminated string.
    unsafe { CStr::from_ptr(s) }.to_str().map_err(|_| "name is not UTF-8".to_string())
}

/// Sets input `input` to `len` values (`(batch, *shape)` row-major, the plan's float type).
///
/// # Safety
/// `m` is a live model, `values` points to `len` values of its float type.
#[no_mangle]
pub unsafe extern "C" fn snnrt_set_input(
    m: *mut Model,
    input: *const c_char,
    values: *const c_void,
    len: usize,
) -> i32 {
    // SAFETY: the caller's contract.
    let Some(m) = (unsafe { m.as_mut() }) else { return -1 };
    let sess = &mut m.sess;
    let r = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        let input = name(input)?;
        if values.is_null() && len > 0 {
            return Err("values is NULL".into());
        }
        match sess {
            // SAFETY: the caller's contract.
            Sess::F64(s) => s.set_input(input, unsafe { slice(values, len) }),
            // SAFETY: the caller's contract.
            Sess::F32(s) => s.set_input(input, unsafe { slice(values, len) }),
        }
    }));
    finish(m, r)
}

/// # Safety
/// `p` points to `len` values of `T` (or `len` is 0).
unsafe fn slice<'a, T>(p: *const c_void, len: usize) -> &'a [T] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts(p.cast::<T>(), len) }
    }
}

fn finish(m: &Model, r: std::thread::Result<Result<(), String>>) -> i32 {
    match r {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => m.fail(e),
        Err(_) => m.fail("internal error (panic)"),
    }
}

/// Advances `steps` steps.
///
/// # Safety
/// `m` is a live model.
#[no_mangle]
pub unsafe extern "C" fn snnrt_run(m: *mut Model, steps: u64) -> i32 {
    // SAFETY: the caller's contract.
    let Some(m) = (unsafe { m.as_mut() }) else { return -1 };
    let sess = &mut m.sess;
    let r = catch_unwind(AssertUnwindSafe(|| match sess {
        Sess::F64(s) => s.run(steps),
        Sess::F32(s) => s.run(steps),
    }));
    finish(m, r)
}

/// The probe's index and its values per sample.
fn probe_info(m: &Model, probe: *const c_char) -> Result<(usize, usize), String> {
    let probe = name(probe)?;
    let plan = match &m.sess {
        Sess::F64(s) => s.runner().plan(),
        Sess::F32(s) => s.runner().plan(),
    };
    plan.probes
        .iter()
        .position(|p| p.name == probe)
        .map(|i| (i, plan.probes[i].size))
        .ok_or_else(|| format!("no probe named `{probe}`"))
}

/// Values per sample of `probe`; 0 when there is no such probe.
///
/// # Safety
/// `m` is a live model.
#[no_mangle]
pub unsafe extern "C" fn snnrt_probe_size(m: *const Model, probe: *const c_char) -> usize {
    // SAFETY: the caller's contract.
    let Some(m) = (unsafe { m.as_ref() }) else { return 0 };
    with(m, || probe_info(m, probe)).map_or(0, |(_, size)| size)
}

/// Samples `probe` recorded since new/reset (0 when there is no such probe).
///
/// # Safety
/// `m` is a live model.
#[no_mangle]
pub unsafe extern "C" fn snnrt_probe_samples(m: *const Model, probe: *const c_char) -> usize {
    // SAFETY: the caller's contract.
    let Some(m) = (unsafe { m.as_ref() }) else { return 0 };
    with(m, || {
        let (i, _) = probe_info(m, probe)?;
        Ok(match &m.sess {
            Sess::F64(s) => s.probe_samples(i),
            Sess::F32(s) => s.probe_samples(i),
        })
    })
    .unwrap_or(0)
}

/// Copies `probe`'s samples, `(batch, samples, size)` row-major, into `out` (`len` values,
/// exactly that many).
///
/// # Safety
/// `m` is a live model, `out` points to `len` writable values of its float type.
#[no_mangle]
pub unsafe extern "C" fn snnrt_read_probe(
    m: *const Model,
    probe: *const c_char,
    out: *mut c_void,
    len: usize,
) -> i32 {
    // SAFETY: the caller's contract.
    let Some(m) = (unsafe { m.as_ref() }) else { return -1 };
    with(m, || {
        let (i, _) = probe_info(m, probe)?;
        if out.is_null() && len > 0 {
            return Err("out is NULL".into());
        }
        match &m.sess {
            // SAFETY: the caller's contract.
            Sess::F64(s) => s.read_probe(i, unsafe { slice_mut(out, len) }),
            // SAFETY: the caller's contract.
            Sess::F32(s) => s.read_probe(i, unsafe { slice_mut(out, len) }),
        }
    })
    .map_or_else(|e| e, |()| 0)
}

/// # Safety
/// `p` points to `len` writable values of `T` (or `len` is 0).
unsafe fn slice_mut<'a, T>(p: *mut c_void, len: usize) -> &'a mut [T] {
    if len == 0 {
        &mut []
    } else {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(p.cast::<T>(), len) }
    }
}

/// Back to `t = 0`, probes cleared (held inputs stay).
///
/// # Safety
/// `m` is a live model.
#[no_mangle]
pub unsafe extern "C" fn snnrt_reset(m: *mut Model) {
    // SAFETY: the caller's contract.
    let Some(m) = (unsafe { m.as_mut() }) else { return };
    let sess = &mut m.sess;
    let r = catch_unwind(AssertUnwindSafe(|| match sess {
        Sess::F64(s) => s.reset(),
        Sess::F32(s) => s.reset(),
    }));
    finish(m, r);
}

/// The message of the last failure on `m` ("" when none); valid until the next call on `m`.
///
/// # Safety
/// `m` is a live model (or NULL).
#[no_mangle]
pub unsafe extern "C" fn snnrt_last_error(m: *const Model) -> *const c_char {
    static NONE: &[u8] = b"no model\0";
    // SAFETY: the caller's contract.
    let Some(m) = (unsafe { m.as_ref() }) else { return NONE.as_ptr().cast() };
    match m.error.lock() {
        Ok(e) => e.as_ptr(),
        Err(_) => NONE.as_ptr().cast(),
    }
}
