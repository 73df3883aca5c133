//! Crash points for the crash tests.
//!
//! The nightly job promises that a run killed at any moment, then rerun,
//! leaves the same history and outputs as one clean run. Tests check it by
//! killing the process at named points with a real SIGKILL, as a power cut or
//! the OOM killer would. Debug builds only: release builds compile [`point`]
//! to nothing, and [`injected`] to false.

/// When the environment variable `SAFEFLAG_FAULT` equals `name`, the process
/// sends itself SIGKILL here.
pub fn point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("SAFEFLAG_FAULT").is_ok_and(|p| p == name) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status();
        // SIGKILL is not delivered synchronously; never run past the point.
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// Whether the failure `name` is to be injected here: true when
/// `SAFEFLAG_FAULT` equals `name`, in debug builds only. The crash tests use
/// it to force failures no real input can cause (a broken invariant), to
/// check that they end as internal errors with nothing half published.
pub fn injected(name: &str) -> bool {
    #[cfg(debug_assertions)]
    {
        std::env::var("SAFEFLAG_FAULT").is_ok_and(|p| p == name)
    }
    #[cfg(not(debug_assertions))]
    {
        let _ = name;
        false
    }
}
