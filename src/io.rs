//! Files written atomically: a temporary name in the destination folder, renamed on success and removed
//! on failure, so no partial file is ever left under the final name.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file being written under a temporary name; [`AtomicFile::commit`] renames it into place.
pub struct AtomicFile {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl AtomicFile {
    /// Creates the temporary file for `dest`. Refuses an existing `dest` unless `force`, and a
    /// destination whose folder does not exist.
    pub fn create(dest: &Path, force: bool) -> Result<Self> {
        check_destination(dest, force)?;
        let name = dest
            .file_name()
            .ok_or_else(|| config_err!("{}: not a file name", dest.display()))?;
        let tmp = dest.with_file_name(format!(
            ".{}.tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(Self {
            file: Some(file),
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("file is open until commit")
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(mut self) -> Result<()> {
        let mut f = self.file.take().expect("file is open until commit");
        f.flush().map_err(|e| Error::io(&self.tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&self.tmp, e))?;
        drop(f);
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io(&self.dest, e))?;
        self.tmp.clear();
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Refuses a destination in a missing folder, or an existing one unless `force`.
pub fn check_destination(dest: &Path, force: bool) -> Result<()> {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(config_err!(
            "{}: the folder {} does not exist",
            dest.display(),
            parent.display()
        ));
    }
    if dest.is_dir() {
        return Err(config_err!(
            "{}: is a folder, expected a file path",
            dest.display()
        ));
    }
    if dest.exists() && !force {
        return Err(config_err!(
            "{}: already exists (pass --force to overwrite)",
            dest.display()
        ));
    }
    Ok(())
}

/// Writes `bytes` to `dest` atomically (overwriting).
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(dest, true)?;
    f.file().write_all(bytes).map_err(|e| Error::io(dest, e))?;
    f.commit()
}

/// Reads a whole text file, naming it on error.
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_refuses_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"one").unwrap();
        assert!(AtomicFile::create(&p, false).is_err());
        {
            let mut f = AtomicFile::create(&p, true).unwrap();
            f.file().write_all(b"partial").unwrap();
            // dropped without commit
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let missing = dir.path().join("nope/b.txt");
        let err = AtomicFile::create(&missing, false)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
