//! `picscripter`: the web server and the admin commands. See `picscripter --help`.

fn main() -> std::process::ExitCode {
    picscripter::cli::main()
}
