//! The `fanzha` command: scan event streams, check rule packs, run their examples, explain a
//! verdict. Exit codes: 0 success; 1 `test` found failing examples; 2 bad rules, bad usage
//! or unreadable input.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
