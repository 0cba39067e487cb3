//! The command's integration tests, one binary, one module per area (see STYLE.md: fewer
//! binaries link faster). They run the `fanzha` binary of this package from the repository's
//! root, where rules/, tests/data and examples/ are.

mod it;
