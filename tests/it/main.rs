//! The integration tests: one binary, a module per concern. The real labctl
//! binary on fixture and throwaway workshops (`support::labctl`,
//! `support::workshop`), and the library's checks, shells and sandbox driven
//! directly with real processes, kubectl and HTTP on loopback.

mod support;

mod bad_input;
mod board;
mod book_build;
mod book_protocol;
mod check_command;
mod check_http;
mod check_http_env;
mod check_output;
mod check_retry;
mod egress;
mod examiner;
mod fanout;
mod flag_values;
mod flood;
mod http_body;
mod interactive;
mod job_manifests;
mod kube_checks;
mod lint;
mod list;
mod parser_fuzz;
mod report_merge;
mod report_targets;
mod reports;
mod run;
mod sandbox_api;
mod sandbox_kube_rs;
mod sandbox_kubectl;
mod sandbox_mesh;
mod sandbox_shell;
mod screen;
mod secrets;
mod serve;
mod shell_fences;
mod shell_oneshot;
mod shell_terminals;
mod signals;
mod student;
mod working_copies;
mod xml_reports;
