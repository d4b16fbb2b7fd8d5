//! The `mati` binary: the server and its command line.

fn main() -> std::process::ExitCode {
    mati_api::cli::main()
}
