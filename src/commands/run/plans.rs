//! The run's first phase: pages loaded, every user's plan filled and selected,
//! every mistake found before anything starts.

use std::path::PathBuf;

use super::{Request, Stop, bad};
use crate::cli::RunArgs;
use crate::commands::{Output, load_all, print_diagnostics};
use crate::diag::{Diagnostic, Severity, has_errors};
use crate::engine::UserPlan;
use crate::exit_code::Exit;
use crate::lab::parse::ParseOptions;
use crate::lab::workshop::Loaded;
use crate::plan::{FillMode, User, fill_workshop};
use crate::redact::Redactor;
use crate::shell::preflight;
use crate::vars::Sources;

/// Every user's plan, and where the run works.
pub(super) struct Prepared {
    /// One per user, in order.
    pub plans: Vec<UserPlan>,
    /// The terminals' folder (`--workdir`, else the workshop's).
    pub workdir: PathBuf,
    /// The workshop's own folder, where `workshop/examiner/tests` lives.
    pub workshop_root: PathBuf,
    /// Every user's secrets, for what is printed outside one user's run.
    pub redactor: Redactor,
}

/// Loads the pages and fills a plan per user; bad input stops here.
pub(super) fn prepare(
    args: &RunArgs,
    request: &Request,
    users: &[Option<User>],
    out: Output,
) -> Result<Prepared, Stop> {
    let loaded = load(args, out)?;
    let Some(first) = loaded.first() else {
        return Err(bad("no lab paths given"));
    };
    let pages: Vec<PathBuf> = loaded
        .iter()
        .flat_map(|l| l.workshop.labs.iter().map(|lab| lab.path.clone()))
        .collect();
    crate::report::check_targets(&request.targets, &pages).map_err(bad)?;
    let workshop_root = first.workshop.default_workdir();
    let workdir = args
        .workdir
        .clone()
        .unwrap_or_else(|| workshop_root.clone());
    preflight::check(&args.shell, &workdir).map_err(|e| Stop::Environment(e.to_string()))?;
    let mut plans = Vec::new();
    for user in users {
        let (plan, problems) = plan_for(args, request, &loaded, user, &workdir)?;
        plans.push(plan);
        // One user's problems are every user's: the first is enough to say.
        if !problems.is_empty() {
            let redactor = union_of(&plans);
            eprint!(
                "{}",
                redactor.apply(&crate::diag::render(&problems, out.color))
            );
            return Err(Stop::Told(Exit::BadInput));
        }
    }
    let redactor = union_of(&plans);
    Ok(Prepared {
        plans,
        workdir,
        workshop_root,
        redactor,
    })
}

fn union_of(plans: &[UserPlan]) -> Redactor {
    let each: Vec<Redactor> = plans.iter().map(|p| p.redactor.clone()).collect();
    Redactor::union(&each)
}

/// The pages, or their errors printed.
fn load(args: &RunArgs, out: Output) -> Result<Vec<Loaded>, Stop> {
    let options = ParseOptions {
        shell_blocks: args.shell_blocks,
    };
    let (loaded, diags) = load_all(&args.paths, options);
    if has_errors(&diags) {
        let errors: Vec<Diagnostic> = diags
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        print_diagnostics(&errors, out);
        return Err(Stop::Told(Exit::BadInput));
    }
    Ok(loaded)
}

/// One user's plan, and the problems filling it found.
fn plan_for(
    args: &RunArgs,
    request: &Request,
    loaded: &[Loaded],
    user: &Option<User>,
    workdir: &std::path::Path,
) -> Result<(UserPlan, Vec<Diagnostic>), Stop> {
    let sources = Sources {
        user: user.as_ref().map(User::variables).unwrap_or_default(),
        cli: request.cli_vars.clone(),
        env: request.env_vars.clone(),
        ..Sources::default()
    };
    let redactor = secrets_of(&args.secrets, loaded, &sources).map_err(bad)?;
    let mode = FillMode {
        allow_unsafe: args.allow_unsafe_vars,
        require_defined: true,
    };
    let mut labs = Vec::new();
    let mut problems = Vec::new();
    for l in loaded {
        let (filled, d) = fill_workshop(&l.workshop, &sources, mode);
        labs.extend(filled);
        problems.extend(d);
    }
    request.selection.apply(&mut labs).map_err(bad)?;
    let plan = UserPlan {
        user: user.as_ref().map(|u| u.name.clone()),
        vars: sources.user,
        labs,
        workdir: workdir.to_path_buf(),
        env: Vec::new(),
        redactor,
    };
    Ok((plan, problems))
}

/// The `--secret` values of one user: every value a lab of the run may resolve
/// the name to (front matter, book.toml, environment, --var, fan-out).
fn secrets_of(
    names: &[String],
    loaded: &[Loaded],
    sources: &Sources,
) -> Result<Redactor, crate::redact::SecretError> {
    let mut per_lab = Vec::new();
    for l in loaded {
        let mut s = sources.clone();
        s.book = l.workshop.book_vars.clone();
        for lab in &l.workshop.labs {
            per_lab.push(Redactor::new(names, &s.resolve(&lab.settings.vars))?);
        }
    }
    if per_lab.is_empty() {
        per_lab.push(Redactor::new(names, &sources.resolve(&Default::default()))?);
    }
    Ok(Redactor::union(&per_lab))
}

/// `--dry-run`: the plan with variables filled, each user's under their name.
pub(super) fn print(plans: &[UserPlan], out: Output) {
    let mut text = String::new();
    for p in plans {
        if let Some(u) = &p.user {
            text.push_str(&format!("== {u}\n"));
        }
        text.push_str(
            &p.redactor
                .apply(&crate::commands::list::to_text(&p.labs, out.color)),
        );
    }
    crate::stdout::print(&text);
}
