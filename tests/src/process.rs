//! Running `mati` command lines (`mati staff …`, `mati seed …`) to completion.

use std::process::Stdio;

use tokio::process::Command;

/// Runs a command, writing `input` to its standard input.
pub async fn run_with_stdin(mut command: Command, input: &str) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start mati command");
    if let Some(mut stdin) = child.stdin.take() {
        // A command that fails on its arguments exits before reading: ignore the broken pipe.
        let _ = stdin.write_all(input.as_bytes()).await;
    }
    child.wait_with_output().await.expect("command output")
}

/// Runs a command to completion.
pub async fn run(mut command: Command) -> std::process::Output {
    command.stdin(Stdio::null());
    command.output().await.expect("run mati command")
}
