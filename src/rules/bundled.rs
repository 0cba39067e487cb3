//! The bundled packs, compiled into the crate so `Engine::bundled()` needs no files.

pub(super) static PACKS: &[(&str, &str)] = &[
    ("rules/common.toml", include_str!("../../rules/common.toml")),
];
