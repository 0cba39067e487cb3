//! The `fanzha` command: scan event streams, check rule packs, run their examples, explain a
//! verdict, measure packs on a labelled corpus. Exit codes: 0 success; 1 `test` found failing
//! examples, or `corpus` missed its --min-recall or --max-fpr; 2 bad rules, bad usage or
//! unreadable input.

mod cli;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::run());
}
