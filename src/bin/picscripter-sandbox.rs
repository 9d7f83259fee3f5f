//! `picscripter-sandbox`: the local emulator of the platform APIs. See docs/SANDBOX.md.

fn main() -> std::process::ExitCode {
    eprintln!("picscripter-sandbox: not built yet");
    std::process::ExitCode::FAILURE
}
