//! The bundled packs (`rules/*.toml`), compiled into the crate so `Engine::bundled()` and the
//! CLI need no files. `build.rs` lists them.

include!(concat!(env!("OUT_DIR"), "/bundled_packs.rs"));
