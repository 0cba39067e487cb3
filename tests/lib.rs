//! One integration-test binary, one module per area (see STYLE.md: fewer binaries link faster).

mod it;
