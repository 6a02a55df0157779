//! Reading a file, with the error every command prints: the leaf the configuration readers
//! (`common.rs`, `embedded.rs`) share.

/// A command's result: an error is the one line printed on stderr.
pub type Result<T> = std::result::Result<T, String>;

/// The file's text, or "cannot read `PATH`: file not found" (the error's kind, in words).
pub fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read `{path}`: {}",
            e.kind()
                .to_string()
                .to_lowercase()
                .replace("entity ", "file ")
        )
    })
}
