//! What a run starts outside itself, owned by one guard that ends it all on
//! every path: per-user working copies, the sandbox, and the processes steps
//! detached. (Terminals are the engine's: each user's run closes its own.)

use std::path::Path;
use std::time::Duration;

use super::{Request, Stop};
use crate::cancel::Cancel;
use crate::engine::UserPlan;
use crate::plan::User;
use crate::sandbox::Sandbox;
use crate::shell::escapees;

/// Owns what the run started. [`Started::end`] ends it in order; a panic
/// still drops the copies and the sandbox (both clean up on drop).
pub(super) struct Started {
    grace: Duration,
    cancel: Cancel,
    copies: Vec<tempfile::TempDir>,
    sandbox: Option<Sandbox>,
}

impl Started {
    /// Nothing started yet; `grace` and `cancel` are the run's.
    pub(super) fn new(grace: Duration, cancel: Cancel) -> Started {
        Started {
            grace,
            cancel,
            copies: Vec::new(),
            sandbox: None,
        }
    }

    /// SIGTERM → SIGKILL grace of the run.
    pub(super) fn grace(&self) -> Duration {
        self.grace
    }

    /// The run's cancellation (signals cancel it).
    pub(super) fn cancel(&self) -> Cancel {
        self.cancel.clone()
    }

    /// The sandbox, once started.
    pub(super) fn sandbox(&self) -> Option<&Sandbox> {
        self.sandbox.as_ref()
    }

    /// Gives each user a private copy of `workdir`: files steps write never clash.
    pub(super) fn copy_working_folders(
        &mut self,
        plans: &mut [UserPlan],
        workdir: &Path,
    ) -> Result<(), Stop> {
        for p in plans {
            let dir = copy_workdir(workdir).map_err(|e| {
                Stop::Environment(format!(
                    "cannot copy the working directory {} for {}: {e}",
                    workdir.display(),
                    p.user.as_deref().unwrap_or("-")
                ))
            })?;
            p.workdir = dir.path().to_path_buf();
            self.copies.push(dir);
        }
        Ok(())
    }

    /// Starts the sandbox under `--sandbox`, seeded with every user the run names.
    pub(super) async fn sandbox_if_asked(
        &mut self,
        asked: bool,
        request: &Request,
        users: &[Option<User>],
    ) -> Result<Option<&Sandbox>, Stop> {
        let names = sandbox_users(users, request);
        let started = crate::commands::sandbox_if_asked(asked, request.mesh_delay, names)
            .await
            .map_err(Stop::Told)?;
        Ok(started.map(|s| &*self.sandbox.insert(s)))
    }

    /// Ends the processes steps detached, stops the sandbox, removes the copies.
    pub(super) async fn end(self) {
        // Whatever is still adopted now escaped every terminal and command.
        escapees::end(None, self.grace, &self.cancel).await;
        if let Some(s) = self.sandbox {
            s.shutdown().await;
        }
        drop(self.copies);
    }
}

/// Logs each user into the sandbox under their own name; `--var username=alice`
/// alone logs the single user in as alice, as the fan-out users are.
pub(super) fn log_users_in(
    sandbox: &Sandbox,
    plans: &mut [UserPlan],
    named: Option<&String>,
) -> Result<(), Stop> {
    for p in plans {
        let Some(u) = p.user.as_ref().or(named) else {
            continue;
        };
        let env = sandbox
            .env_for_user(u)
            .map_err(|e| Stop::Environment(format!("the sandbox could not prepare {u}: {e}")))?;
        p.env = env.into_iter().filter(|(k, _)| k == "KUBECONFIG").collect();
    }
    Ok(())
}

/// Every user the run names, so the sandbox seeds them all: fan-out users, and a
/// `username` from `--var` or `LABCTL_VAR_username` (user1 is always seeded).
fn sandbox_users(users: &[Option<User>], request: &Request) -> Vec<String> {
    let fan_out = users.iter().flatten().map(|u| u.name.clone());
    let named = request
        .vars()
        .into_iter()
        .filter_map(|v| v.get("username").cloned());
    fan_out.chain(named).collect()
}

fn copy_workdir(src: &Path) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix("labctl-user-").tempdir()?;
    crate::workshop_files::copy(src, dir.path())?;
    Ok(dir)
}
