//! Expected output.
