//! The lab model and the parser (markdown → Lab). Knows nothing of processes.

pub mod check_spec;
pub mod front_matter;
pub mod info;
pub mod model;
pub mod parse;
pub mod source_root;
pub mod workshop;

pub use model::*;
