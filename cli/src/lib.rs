//! The `snnc` tool as a library: command implementations and diagnostic rendering. The only crate
//! that prints.

pub mod accuracy;
pub mod bench;
pub mod build;
pub mod explain;
pub mod import;
pub mod io;
pub mod output;
pub mod plot;
pub mod render;
pub mod run;
pub mod train;
pub mod verify;

/// `2, 3` for messages about array shapes.
pub(crate) fn render_shape(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    parts.join(", ")
}
