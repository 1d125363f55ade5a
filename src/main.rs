fn main() -> std::process::ExitCode {
    labctl::run()
}
