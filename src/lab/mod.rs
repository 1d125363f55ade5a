//! The lab model and the parser (markdown → Lab). Knows nothing of processes.

pub mod check_spec;
pub(crate) mod front_matter;
pub(crate) mod info;
pub mod model;
pub mod parse;
pub(crate) mod source_root;
pub(crate) mod workshop;

pub use model::*;
