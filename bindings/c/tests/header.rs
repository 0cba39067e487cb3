//! The committed header matches the code: regenerate it with cbindgen and compare.

#[test]
fn committed_header_is_current() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::generate_with_config(dir, config).expect("cbindgen").write(&mut generated);
    let path = format!("{dir}/include/fanzha.h");
    if std::env::var_os("FANZHA_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/fanzha.h is stale: run `FANZHA_BLESS=1 cargo test -p fanzha-c --test header` and commit it"
    );
}
