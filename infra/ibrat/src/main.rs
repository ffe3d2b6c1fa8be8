//! `ibrat`: parses the command line, runs it, and turns any failure into
//! one plain sentence on stderr and a non-zero exit.

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;
use ibrat::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ibrat: {}", ibrat::first_sentence(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ibrat: {e}");
            ExitCode::FAILURE
        }
    }
}
