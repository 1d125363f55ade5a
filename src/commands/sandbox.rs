//! `labctl sandbox`: the embedded cluster and mesh in the foreground.

use crate::cli::SandboxArgs;
use crate::exit_code::Exit;
use crate::lab::check_spec::parse_duration_str;
use crate::sandbox::{SandboxConfig, run_command};

/// Runs `labctl sandbox`; with `-- CMD` the exit status is CMD's.
pub fn run(args: &SandboxArgs) -> std::process::ExitCode {
    let mesh_delay = match parse_duration_str(&args.mesh_delay) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: --mesh-delay: {e}");
            return Exit::BadInput.into();
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cfg = SandboxConfig {
        users: args.users.max(1),
        mesh_delay,
        refuse: Vec::new(),
        ..Default::default()
    };
    match runtime.block_on(run_command(cfg, args.print_env, args.command.clone())) {
        Ok(code) => std::process::ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: the sandbox could not start: {e}");
            Exit::Environment.into()
        }
    }
}
