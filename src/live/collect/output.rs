//! Writing a collection's files under `collect --out DIR`. The folder and file names come from
//! Azure (subscription ids from the subscription list and management group descendants, scopes
//! of policy definitions), so none is trusted: every path must be one folder and one file name
//! (or a file name alone) that stay inside DIR, and nothing already inside DIR is followed out of
//! it (a symlink, or a hard link to a file elsewhere). The paths are all checked before the first
//! file is written, so a refused collection writes nothing.

use crate::error::InputError;
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// The longest file name Linux and Windows file systems take (bytes on Linux, `NAME_MAX`).
const LONGEST_NAME: usize = 255;

/// Writes each `(relative path, body)` under `dir` as pretty JSON.
pub fn write_all(dir: &Path, files: &[(PathBuf, Value)]) -> Result<(), InputError> {
    for (relative, _) in files {
        check(dir, relative)?;
    }
    std::fs::create_dir_all(dir).map_err(|e| cannot_write(dir, &e))?;
    for (relative, body) in files {
        let path = dir.join(relative);
        if let Some(folder) = relative.parent().filter(|p| !p.as_os_str().is_empty()) {
            enter(&dir.join(folder))?;
        }
        let mut text = serde_json::to_string_pretty(body).unwrap_or_default();
        text.push('\n');
        write_file(&path, text.as_bytes())?;
    }
    Ok(())
}

/// Refuses a path that is not `FOLDER/FILE` or `FILE` of plain names.
fn check(dir: &Path, relative: &Path) -> Result<(), InputError> {
    let text = relative.to_string_lossy();
    let unsafe_name = |why: &str| {
        InputError::new(
            dir,
            None,
            format!("Azure returned a name that cannot be a file name under the output directory: `{}` ({why})", text.escape_debug()),
            "nothing was written; the name came from the tenant (a subscription id or a scope), so report it with the tenant's subscription list",
        )
    };
    let components: Vec<Component> = relative.components().collect();
    for component in &components {
        let Component::Normal(name) = component else {
            return Err(unsafe_name(
                "`..`, `.` and absolute paths leave the directory",
            ));
        };
        let bytes = name.as_encoded_bytes();
        if bytes.len() > LONGEST_NAME {
            return Err(unsafe_name("longer than a file name may be"));
        }
        if bytes.iter().any(|b| matches!(b, 0 | b'\\')) {
            return Err(unsafe_name("a NUL or a path separator"));
        }
    }
    if components.is_empty() || components.len() > 2 {
        return Err(unsafe_name(
            "a path separator: a snapshot file sits at most one folder deep",
        ));
    }
    Ok(())
}

/// Creates the folder `path` (one level under DIR), or checks that the one there is a real
/// directory and not a symlink to somewhere else.
fn enter(path: &Path) -> Result<(), InputError> {
    match std::fs::create_dir(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(cannot_write(path, &e)),
    }
    let meta = std::fs::symlink_metadata(path).map_err(|e| cannot_write(path, &e))?;
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(not_followed(
            path,
            "a symlink or a file where a folder goes",
        ));
    }
    Ok(())
}

/// Writes `bytes` to `path`, never through a symlink (`O_NOFOLLOW`) nor into a file that is
/// also linked elsewhere.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), InputError> {
    let mut file: File = OpenOptions::new()
        .write(true)
        .create(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                not_followed(path, "a symlink")
            } else {
                cannot_write(path, &e)
            }
        })?;
    let meta = file.metadata().map_err(|e| cannot_write(path, &e))?;
    if !meta.is_file() || meta.nlink() > 1 {
        return Err(not_followed(
            path,
            "not a plain file of its own (a hard link or a device)",
        ));
    }
    file.set_len(0)
        .and_then(|()| file.write_all(bytes))
        .map_err(|e| cannot_write(path, &e))
}

fn cannot_write(path: &Path, error: &std::io::Error) -> InputError {
    InputError::new(
        path,
        None,
        format!("cannot write the snapshot: {error}"),
        "choose a writable --out directory",
    )
}

fn not_followed(path: &Path, what: &str) -> InputError {
    InputError::new(
        path,
        None,
        format!("the output directory already holds {what} here; it is not followed out of the directory"),
        "remove it, or give --out an empty directory",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn files(paths: &[&str]) -> Vec<(PathBuf, Value)> {
        paths
            .iter()
            .map(|p| (PathBuf::from(p), json!({"value": []})))
            .collect()
    }

    #[test]
    fn names_that_leave_the_directory_are_refused_before_anything_is_written() {
        let long = format!("{}/x.json", "a".repeat(300));
        for hostile in [
            "../x.json",
            "../../etc/x.json",
            "/tmp/x.json",
            "sub/../../x.json",
            "a/b/x.json",
            "a\\..\\x.json",
            "sub\0/x.json",
            long.as_str(),
            "..",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("out");
            let error = write_all(&out, &files(&["snapshot.json", hostile])).expect_err(hostile);
            assert!(error.problem.contains("Azure returned a name"), "{error:?}");
            assert!(!out.exists(), "{hostile}: something was written");
        }
    }

    #[test]
    fn symlinks_and_hard_links_inside_the_directory_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("victim.json"), "keep").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&outside, out.join("sub")).unwrap();
        assert!(write_all(&out, &files(&["sub/victim.json"])).is_err());
        std::fs::remove_file(out.join("sub")).unwrap();
        std::os::unix::fs::symlink(outside.join("victim.json"), out.join("snapshot.json")).unwrap();
        assert!(write_all(&out, &files(&["snapshot.json"])).is_err());
        std::fs::remove_file(out.join("snapshot.json")).unwrap();
        std::fs::hard_link(outside.join("victim.json"), out.join("snapshot.json")).unwrap();
        assert!(write_all(&out, &files(&["snapshot.json"])).is_err());
        assert_eq!(
            std::fs::read_to_string(outside.join("victim.json")).unwrap(),
            "keep"
        );
        std::fs::remove_file(out.join("snapshot.json")).unwrap();
        write_all(&out, &files(&["snapshot.json", "sub/a.json"])).unwrap();
        assert!(out.join("sub/a.json").is_file());
    }
}
