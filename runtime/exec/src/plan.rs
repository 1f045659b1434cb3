//! Everything a compiled program needs at run time besides its code: the [`Layout`] with its
//! kernels, the inputs and probes by name, the time step. A native library embeds it as bytes
//! ([`Plan::to_bytes`]); the JIT keeps it in memory.

use crate::layout::Layout;
use serde::{Deserialize, Serialize};

/// Version of the serialised form (bumped whenever [`Plan`] or what it holds changes shape).
pub const PLAN_VERSION: u32 = 1;

/// One input of the program.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputInfo {
    /// Its name in the model.
    pub name: String,
    /// Shape of one sample.
    pub shape: Vec<usize>,
}

impl InputInfo {
    /// Values per sample.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }
}

/// One probe of the program.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProbeInfo {
    /// Its name in the model.
    pub name: String,
    /// Shape of one sample.
    pub shape: Vec<usize>,
    /// Sampling period in steps (>= 1).
    pub every: usize,
    /// Values per sample (the probed signal's size).
    pub size: usize,
}

/// A compiled program minus its code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    /// The float type the code computes in (`float32` or `float64`).
    pub dtype: String,
    /// Simulation time step in seconds.
    pub dt: f64,
    /// Inputs, in the program's order.
    pub inputs: Vec<InputInfo>,
    /// Probes, in the program's order.
    pub probes: Vec<ProbeInfo>,
    /// Inputs read by hoisted ops (they must be held over a run).
    pub hoisted_inputs: Vec<usize>,
    /// State block, kernels, context slots.
    pub layout: Layout,
}

#[derive(Serialize)]
struct VersionedRef<'a> {
    version: u32,
    plan: &'a Plan,
}

impl Plan {
    /// The plan as bytes (versioned).
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let v = VersionedRef { version: PLAN_VERSION, plan: self };
        postcard::to_stdvec(&v).map_err(|e| format!("plan: {e}"))
    }

    /// A plan read back from [`Plan::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Plan, String> {
        let version: u32 = match postcard::take_from_bytes::<u32>(bytes) {
            Ok((v, _)) => v,
            Err(e) => return Err(format!("plan: {e}")),
        };
        if version != PLAN_VERSION {
            return Err(format!("plan version {version}, this runtime reads {PLAN_VERSION}"));
        }
        let (_, plan): (u32, Plan) =
            postcard::from_bytes(bytes).map_err(|e| format!("plan: {e}"))?;
        Ok(plan)
    }
}
