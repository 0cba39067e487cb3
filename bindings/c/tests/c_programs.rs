//! The C programs, built by the system compiler with `-Wall -Wextra -Werror` against the
//! static library and the committed header: the API test and the threads test (each also
//! under valgrind and built with AddressSanitizer, LeakSanitizer and UBSan, with no leaks or
//! errors allowed; skipped with a message where the tool is missing), the privacy test, and
//! the examples.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `target/<profile>`, where cargo put this crate's static library.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// The shared conformance vectors, which the test program checks.
const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/conformance");

/// The conformance rules compiled to a bundle, as `fanzha compile --rules
/// tests/conformance/rules.toml -o FILE` writes it, once per test run: the test program loads
/// it through `fanzha_engine_from_bundle_path` and `fanzha_engine_from_bundle`.
fn conformance_bundle() -> PathBuf {
    static WRITTEN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    WRITTEN
        .get_or_init(|| {
            let rules = fanzha::RuleSet::from_path(format!("{VECTORS}/rules.toml")).unwrap();
            let bundle = fanzha::Engine::new(&rules).unwrap().to_bundle();
            let path = target_dir().join(format!("fanzha-c-conformance-{}.fzb", std::process::id()));
            std::fs::write(&path, bundle).unwrap();
            path
        })
        .clone()
}

/// The static library, built (or brought up to date) once per test run: `cargo test` links its
/// test binaries against the rlib only, and the C programs need the `.a`.
fn static_lib() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target = target_dir();
            let mut cargo = Command::new(env!("CARGO"));
            cargo.args(["build", "--quiet", "--lib", "-p", "fanzha-c", "--target-dir"]);
            cargo.arg(target.parent().unwrap()).current_dir(env!("CARGO_MANIFEST_DIR"));
            if target.ends_with("release") {
                cargo.arg("--release");
            }
            assert!(cargo.status().expect("run cargo").success(), "cannot build the static library");
            target.join("libfanzha_c.a")
        })
        .clone()
}

/// Compiles `source` into `name` and returns the executable's path.
fn build(source: &str, name: &str) -> PathBuf {
    build_with(source, name, &[]).unwrap_or_else(|| panic!("{source} did not compile"))
}

/// Compiles `source` into `name` with extra compiler flags; `None` if it does not compile.
fn build_with(source: &str, name: &str, flags: &[&str]) -> Option<PathBuf> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let lib = static_lib();
    let target = target_dir();
    let exe = target.join(name);
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"])
        .args(flags)
        .arg("-I")
        .arg(format!("{dir}/include"))
        .arg(format!("{dir}/{source}"))
        .arg(&lib)
        .args(["-pthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .status()
        .expect("run the C compiler");
    status.success().then_some(exe)
}

/// The flags of the sanitizer builds: every report is fatal.
const SANITIZE: &[&str] =
    &["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer"];

/// Whether the C compiler can build and run a sanitized program here (not every compiler or
/// platform has the runtimes).
fn sanitizers_available() -> bool {
    let dir = std::env::temp_dir().join(format!("fanzha-asan-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (src, exe) = (dir.join("probe.c"), dir.join("probe"));
    std::fs::write(&src, "#include <stdlib.h>\nint main(void) { free(malloc(8)); return 0; }\n").unwrap();
    let built = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(SANITIZE)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let ran = built && Command::new(&exe).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    std::fs::remove_dir_all(&dir).ok();
    ran
}

fn valgrind_available() -> bool {
    Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Runs `exe quick` under valgrind's memcheck, failing on any error or definite or indirect
/// leak; returns the exit code and valgrind's report.
fn under_valgrind(exe: &Path) -> (Option<i32>, String) {
    let out = Command::new("valgrind")
        .args([
            "--error-exitcode=3",
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
        ])
        .arg(exe)
        .arg("quick")
        .env("FANZHA_CONFORMANCE_DIR", VECTORS)
        .env("FANZHA_CONFORMANCE_BUNDLE", conformance_bundle())
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs a sanitized `exe` (with `quick`: less work), with leak detection on and every report
/// fatal; returns the exit code and the sanitizers' report.
fn sanitized(exe: &Path, quick: bool) -> (Option<i32>, String) {
    let out = Command::new(exe)
        .args(quick.then_some("quick"))
        .env("FANZHA_CONFORMANCE_DIR", VECTORS)
        .env("FANZHA_CONFORMANCE_BUNDLE", conformance_bundle())
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=23")
        .env("LSAN_OPTIONS", "exitcode=23")
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), report)
}

#[test]
fn the_c_api_test_passes() {
    let exe = build("tests/test.c", "fanzha-c-test");
    let out = Command::new(&exe)
        .env("FANZHA_CONFORMANCE_DIR", VECTORS)
        .env("FANZHA_CONFORMANCE_BUNDLE", conformance_bundle())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_c_api_test_is_clean_under_valgrind() {
    if !valgrind_available() {
        println!("valgrind not installed; skipped");
        return;
    }
    let exe = build("tests/test.c", "fanzha-c-test-vg");
    let (code, report) = under_valgrind(&exe);
    assert_eq!(code, Some(0), "valgrind found errors or leaks:\n{report}");
    assert!(report.contains("ERROR SUMMARY: 0 errors"), "{report}");
}

#[test]
fn the_c_api_test_is_clean_under_address_sanitizer() {
    if !sanitizers_available() {
        println!("the C compiler cannot build with -fsanitize=address,undefined here; skipped");
        return;
    }
    let exe =
        build_with("tests/test.c", "fanzha-c-test-asan", SANITIZE).expect("tests/test.c with sanitizers");
    let (code, report) = sanitized(&exe, true);
    assert_eq!(code, Some(0), "the sanitizers found errors or leaks:\n{report}");
    assert!(report.contains("all checks passed"), "{report}");
}

/// Six threads scan one engine (event by event, in batches, through a monitor) while another
/// swaps its rules every 2 ms: every event answered once, by one version (tests/threads.c).
#[test]
fn the_threads_test_passes() {
    let exe = build("tests/threads.c", "fanzha-c-threads");
    let out = Command::new(&exe).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("C threads: "), "{stdout}");
}

#[test]
fn the_threads_test_is_clean_under_valgrind() {
    if !valgrind_available() {
        println!("valgrind not installed; skipped");
        return;
    }
    let exe = build("tests/threads.c", "fanzha-c-threads-vg");
    let (code, report) = under_valgrind(&exe);
    assert_eq!(code, Some(0), "valgrind found errors or leaks:\n{report}");
    assert!(report.contains("ERROR SUMMARY: 0 errors"), "{report}");
    // The control: the same program leaking its engine is caught.
    let leaky =
        build_with("tests/threads.c", "fanzha-c-threads-vg-leak", &["-DFANZHA_LEAK_ON_PURPOSE"]).unwrap();
    let (code, report) = under_valgrind(&leaky);
    assert_eq!(code, Some(3), "valgrind should have reported the leaked engine:\n{report}");
    assert!(report.contains("definitely lost"), "{report}");
}

#[test]
fn the_threads_test_is_clean_under_address_sanitizer() {
    if !sanitizers_available() {
        println!("the C compiler cannot build with -fsanitize=address,undefined here; skipped");
        return;
    }
    let exe = build_with("tests/threads.c", "fanzha-c-threads-asan", SANITIZE)
        .expect("tests/threads.c with sanitizers");
    let (code, report) = sanitized(&exe, false);
    assert_eq!(code, Some(0), "the sanitizers found errors or leaks:\n{report}");
    assert!(report.contains("C threads: "), "{report}");
    // No leak control here: LeakSanitizer scans conservatively, and in this program a copy
    // of the deliberately leaked pointer can stay on some thread's stack, so the control
    // failed at random (seen in CI). The valgrind run above keeps its leak control.
}

#[test]
fn the_point_of_sale_example_refuses_a_scam_chat_and_prints_an_ordinary_one() {
    let exe = build("examples/pos_check.c", "fanzha-pos-check");
    let dir = env!("CARGO_MANIFEST_DIR");
    let scam = Command::new(&exe).arg(format!("{dir}/examples/scam_chat.jsonl")).output().unwrap();
    let text = String::from_utf8_lossy(&scam.stdout);
    assert_eq!(scam.status.code(), Some(3), "{text}");
    assert!(text.contains("REFUSE") && text.contains("streams.big-order-then-defer"), "{text}");
    let ordinary = Command::new(&exe).arg(format!("{dir}/examples/ordinary_chat.jsonl")).output().unwrap();
    assert_eq!(ordinary.status.code(), Some(0), "{}", String::from_utf8_lossy(&ordinary.stdout));
}

/// `examples/pos_bundle.c` with the bundled packs compiled to a file, as `fanzha compile -o
/// rules.fzb` writes them: the same verdicts, message by message, as the crate's monitor
/// gives; the loading time printed; a damaged bundle refused before anything is scored.
#[test]
fn the_bundle_example_scores_the_chat_with_a_compiled_bundle() {
    let exe = build("examples/pos_bundle.c", "fanzha-pos-bundle");
    let dir = env!("CARGO_MANIFEST_DIR");
    let engine = fanzha::Engine::bundled().unwrap();
    let bundle = engine.to_bundle();
    let path = target_dir().join(format!("fanzha-c-pos-{}.fzb", std::process::id()));
    std::fs::write(&path, &bundle).unwrap();

    let chat = format!("{dir}/examples/scam_chat.jsonl");
    let scam = Command::new(&exe).arg(&path).arg(&chat).output().unwrap();
    let text = String::from_utf8_lossy(&scam.stdout).into_owned();
    assert_eq!(scam.status.code(), Some(3), "{text}{}", String::from_utf8_lossy(&scam.stderr));
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    let loaded = format!("loaded rules {} from {} in ", engine.version(), path.display());
    assert!(first.starts_with(&loaded) && first.ends_with(" ms"), "{first}");
    let ms: f64 = first[loaded.len()..first.len() - 3].parse().unwrap();
    assert!(ms > 0.0 && ms < 60_000.0, "{first}");
    // Each message's verdict, as a monitor over the same rules scores the chat.
    let mut monitor = fanzha::Monitor::new(engine.clone());
    for event in std::fs::read_to_string(&chat).unwrap().lines() {
        let v = monitor.observe(&fanzha::Event::from_json(event).unwrap());
        let mut want = format!("{}: {} (score {})", v.id.as_deref().unwrap(), v.level.as_str(), v.score);
        for h in &v.hits {
            want += &format!(" {}", h.rule);
        }
        assert_eq!(lines.next(), Some(want.as_str()), "{text}");
    }
    assert!(text.contains("REFUSE to print") && text.contains("streams.big-order-then-defer"), "{text}");
    assert!(text.contains("  advice: "), "{text}");

    let ordinary =
        Command::new(&exe).arg(&path).arg(format!("{dir}/examples/ordinary_chat.jsonl")).output().unwrap();
    let text = String::from_utf8_lossy(&ordinary.stdout);
    assert_eq!(ordinary.status.code(), Some(0), "{text}");
    assert!(text.contains("PRINT: nothing in the chat reaches a warning"), "{text}");

    // One byte flipped in transit: refused, nothing scored.
    let mut damaged = bundle;
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x01;
    std::fs::write(&path, &damaged).unwrap();
    let refused = Command::new(&exe).arg(&path).arg(&chat).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("checksum") && stderr.contains(&*path.to_string_lossy()), "{stderr}");
    assert!(refused.stdout.is_empty(), "{}", String::from_utf8_lossy(&refused.stdout));
    std::fs::remove_file(&path).ok();
}

#[test]
fn the_scan_stream_example_prints_what_fanzha_scan_prints() {
    let exe = build("examples/scan_stream.c", "fanzha-scan-stream");
    let sample =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/messages.jsonl")).unwrap();
    let run = |cmd: &mut Command| {
        use std::io::Write;
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(&sample).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let ours = run(&mut Command::new(&exe));
    // The command's own build: the workspace's `fanzha` binary, built by `cargo test`.
    let cli = target_dir().join("fanzha");
    if !cli.exists() {
        println!("{} not built; compared with the committed expectations only", cli.display());
        assert_eq!(ours.lines().count(), sample.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count());
        return;
    }
    let theirs = run(Command::new(cli).arg("scan"));
    assert_eq!(ours, theirs);
}

/// Canary personal data through the C API (`tests/privacy.c`): the error messages a vendor's
/// program logs never quote it, and with `fanzha_engine_mask_personal_data` the verdicts'
/// evidence hides the numbers.
#[test]
fn the_c_api_keeps_personal_data_out_of_errors_and_masks_evidence_on_request() {
    const RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/privacy/numbers.toml");
    const NUMBERS: [&str; 3] = ["13912345678", "11010519491231002X", "6222021234567890123"];
    const OTHERS: [&str; 3] = ["金丝雀暗号鸮鹦", "canary-id-7f3a", "acct-canary-9931"];
    let exe = build("tests/privacy.c", "fanzha-c-privacy");
    for mask in [false, true] {
        let out = Command::new(&exe).arg(RULES).args(mask.then_some("mask")).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let (verdicts, logged) =
            (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
        // Every bad event and the failed reload were logged, and none of it quotes the input.
        assert_eq!(logged.lines().count(), 2 * 6 + 1 + 1, "{logged}");
        for canary in NUMBERS.iter().chain(&OTHERS) {
            assert!(!logged.contains(canary), "the log quotes {canary}:\n{logged}");
        }
        for number in NUMBERS {
            assert_eq!(verdicts.contains(number), !mask, "{number}, mask {mask}:\n{verdicts}");
        }
        if mask {
            assert!(verdicts.contains("evidence: ***************0123"), "{verdicts}");
            assert!(verdicts.contains("*******5678"), "{verdicts}");
        }
    }
}
