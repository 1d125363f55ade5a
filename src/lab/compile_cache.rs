//! Compiled regexes and JSONPaths by their text: workshops repeat the same
//! patterns step after step, and a compiled one is shared (`Arc`), so each
//! distinct text is compiled once per process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A process-wide cache of `T` compiled from text; failures are not kept.
pub(crate) struct CompileCache<T>(OnceLock<Mutex<HashMap<String, Arc<T>>>>);

impl<T> CompileCache<T> {
    /// An empty cache, for a `static`.
    pub(crate) const fn new() -> Self {
        CompileCache(OnceLock::new())
    }

    /// The compiled `text`, from the cache or from `compile`.
    pub(crate) fn get_or_compile<E>(
        &self,
        text: &str,
        compile: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        let cache = self.0.get_or_init(Default::default);
        // A poisoned lock only costs the cache, never the compile.
        if let Some(hit) = cache.lock().ok().and_then(|c| c.get(text).cloned()) {
            return Ok(hit);
        }
        let compiled = Arc::new(compile(text)?);
        if let Ok(mut c) = cache.lock() {
            c.insert(text.to_string(), compiled.clone());
        }
        Ok(compiled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_each_text_once_and_keeps_no_failure() {
        static CACHE: CompileCache<String> = CompileCache::new();
        let calls = std::cell::Cell::new(0);
        let compile = |t: &str| {
            calls.set(calls.get() + 1);
            if t == "bad" {
                Err(())
            } else {
                Ok(t.to_uppercase())
            }
        };
        let a = CACHE.get_or_compile("a", compile).unwrap();
        let again = CACHE.get_or_compile("a", compile).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert!(CACHE.get_or_compile("bad", compile).is_err());
        assert!(CACHE.get_or_compile("bad", compile).is_err());
        assert_eq!(calls.get(), 3);
    }
}
