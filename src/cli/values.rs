//! Clap value parsers: a flag's text becomes its typed value while the command
//! line is parsed, so a bad value is clap's error (exit 2, naming the flag)
//! before any command starts.

use std::net::SocketAddr;
use std::time::Duration;

use crate::lab::check_spec::parse_duration_str;
use crate::plan::{User, parse_users};
use crate::vars::Vars;

/// `--var NAME=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VarArg {
    /// What `%NAME%` and `{{ NAME }}` name.
    pub name: String,
    /// Its value, as given (may contain `=`).
    pub value: String,
}

/// A `--var` without `NAME=`.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` must be NAME=VALUE")]
pub(crate) struct VarArgError(String);

impl VarArg {
    /// Parses `NAME=VALUE`; the value may be empty, the name may not.
    pub(crate) fn parse(arg: &str) -> Result<VarArg, VarArgError> {
        arg.split_once('=')
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, value)| VarArg {
                name: name.to_string(),
                value: value.to_string(),
            })
            .ok_or_else(|| VarArgError(arg.to_string()))
    }

    /// Every `--var` as variables; a later one wins over an earlier one.
    pub(crate) fn collect(args: &[VarArg]) -> Vars {
        args.iter()
            .map(|a| (a.name.clone(), a.value.clone()))
            .collect()
    }
}

/// `--users SPEC`: the users it names, in order (a newtype so clap takes the
/// spec as one value, not a list of values).
#[derive(Debug, Clone)]
pub(crate) struct UserList(pub Vec<User>);

/// Parses `user1..user40`, `1..40`, `alice,bob` or `@FILE`.
pub(crate) fn users(spec: &str) -> Result<UserList, String> {
    parse_users(spec).map(UserList)
}

/// A duration that is not zero (a poll every 0s would spin).
pub(crate) fn nonzero_duration(text: &str) -> Result<Duration, String> {
    match parse_duration_str(text).map_err(|e| e.to_string())? {
        d if d.is_zero() => Err("must be longer than 0s".into()),
        d => Ok(d),
    }
}

/// `--listen ADDR`: an IP address and a port.
pub(crate) fn listen_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|e| format!("{e} (e.g. 127.0.0.1:8080)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_args() {
        let a = VarArg::parse("k=v=w").unwrap();
        assert_eq!((a.name.as_str(), a.value.as_str()), ("k", "v=w"));
        assert_eq!(VarArg::parse("k=").unwrap().value, "");
        assert!(VarArg::parse("=v").is_err());
        assert!(VarArg::parse("k").is_err());
    }

    #[test]
    fn zero_is_no_interval() {
        assert!(nonzero_duration("0s").is_err());
        assert_eq!(nonzero_duration("2s").unwrap(), Duration::from_secs(2));
    }
}
