//! What the tests share: the real binary, throwaway workshops, a sandbox,
//! a browser, a served workshop, process lookups.

pub mod alone;
pub mod browser;
pub mod labctl;
pub mod no_scripts;
pub mod processes;
pub mod sandbox;
pub mod served;
pub mod workshop;
