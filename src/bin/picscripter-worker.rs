//! `picscripter-worker`: publishes posts, refreshes tokens, syncs catalogs and collects metrics.

use std::process::ExitCode;

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let config = match picscripter::config::Config::from_env(&picscripter::config::ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    picscripter::telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("couldn't start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(picscripter::worker::run(
        config,
        picscripter::worker::shutdown_signal(),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
