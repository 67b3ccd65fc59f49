//! Files written atomically: a temporary name in the destination folder, renamed on success and removed
//! on failure, so no partial file is ever left under the final name. Output folders that replace an
//! earlier result are filled beside it and swapped in only on success ([`OutDir`]). Temporary names
//! carry the writer's process id; those of a process that no longer runs are removed by the next
//! writer in that folder.

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
            .ok_or_else(|| config_err!("{}: not a file name", dest.display()))?
            .to_string_lossy();
        let prefix = format!(".{name}.tmp-");
        remove_stale(dest.parent().unwrap_or(Path::new(".")), &[&prefix]);
        let tmp = dest.with_file_name(format!("{prefix}{}", std::process::id()));
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

/// A folder a command writes its results into. When it replaces an earlier result (`--force` over a
/// folder that holds one), the new results are written beside it, in `.NAME.new-PID`, and
/// [`OutDir::commit`] swaps them in: a command that fails (or is killed) leaves the old folder exactly
/// as it was. Otherwise the results are written in place. A folder is only ever replaced whole when
/// everything in it is something the command writes (its `owned` names), so `--force` never takes a
/// user's other files with it.
pub struct OutDir {
    out: PathBuf,
    stage: Option<PathBuf>,
    created: bool,
    done: bool,
}

impl OutDir {
    /// Prepares `out`: refuses a path that is not a folder, removes what killed writers left behind,
    /// and stages the new results beside `out` when `replace` is set and `out` holds anything — which
    /// must then be only entries named in `owned` (exact names, or `*.ext`).
    pub fn begin(out: &Path, replace: bool, owned: &[&str]) -> Result<Self> {
        Self::open(out, replace, false, owned)
    }

    /// Like [`OutDir::begin`], but the results are always written beside `out` (which must be new or
    /// empty) and moved in whole by [`OutDir::commit`]: `out` never holds a partial set of them.
    pub fn staged(out: &Path) -> Result<Self> {
        Self::open(out, true, true, &[])
    }

    fn open(out: &Path, replace: bool, always: bool, owned: &[&str]) -> Result<Self> {
        refuse_file(out)?;
        // `.` or `..` have no name of their own: use the folder's real path.
        let out = &match out.file_name() {
            Some(_) => out.to_path_buf(),
            None => out.canonicalize().map_err(|e| Error::io(out, e))?,
        };
        let name = out
            .file_name()
            .ok_or_else(|| config_err!("{}: not a folder name", out.display()))?
            .to_string_lossy()
            .into_owned();
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        recover_stale(&parent, &name);
        let created = !out.exists();
        let holds = !created
            && std::fs::read_dir(out)
                .map_err(|e| Error::io(out, e))?
                .next()
                .is_some();
        if holds {
            remove_stale(out, &["."]);
        }
        if replace && holds {
            refuse_foreign(out, owned, always)?;
        }
        let stage = if replace && (holds || always) {
            let s = parent.join(format!(".{name}.new-{}", std::process::id()));
            std::fs::create_dir(&s).map_err(|e| Error::io(&s, e))?;
            Some(s)
        } else {
            create_dir(out)?;
            None
        };
        Ok(Self {
            out: out.to_path_buf(),
            stage,
            created,
            done: false,
        })
    }

    /// Where the results go now (the staging folder while replacing).
    pub fn path(&self) -> &Path {
        self.stage.as_deref().unwrap_or(&self.out)
    }

    /// Whether an earlier result in the folder is being replaced (and stays until [`OutDir::commit`]).
    pub fn replacing(&self) -> bool {
        self.stage.is_some()
    }

    /// Makes the new results the folder's: swaps a staged folder in and removes the old one.
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        let Some(stage) = self.stage.take() else {
            return Ok(());
        };
        let name = self.out.file_name().unwrap_or_default().to_string_lossy();
        let old = stage.with_file_name(format!(".{name}.old-{}", std::process::id()));
        // An empty folder is simply replaced; one with contents is moved aside until the swap is done.
        let aside = self.out.exists() && std::fs::remove_dir(&self.out).is_err();
        if aside {
            std::fs::rename(&self.out, &old).map_err(|e| Error::io(&self.out, e))?;
        }
        if let Err(e) = std::fs::rename(&stage, &self.out) {
            if aside {
                let _ = std::fs::rename(&old, &self.out);
            }
            let _ = std::fs::remove_dir_all(&stage);
            return Err(Error::io(&self.out, e));
        }
        if aside {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(())
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(stage) = &self.stage {
            let _ = std::fs::remove_dir_all(stage);
        } else if self.created {
            // Only an empty folder goes: a failed run's checkpoints stay.
            let _ = std::fs::remove_dir(&self.out);
        }
    }
}

/// Refuses to replace `out` whole when it holds an entry the command does not write (one not matching
/// `owned`; temporary names excepted): `fresh` commands want a new or empty folder.
fn refuse_foreign(out: &Path, owned: &[&str], fresh: bool) -> Result<()> {
    let mine = |n: &str| {
        n.starts_with('.')
            || owned.iter().any(|o| match o.strip_prefix('*') {
                Some(ext) => n.ends_with(ext),
                None => n == *o,
            })
    };
    for e in std::fs::read_dir(out).map_err(|e| Error::io(out, e))? {
        let n = e.map_err(|e| Error::io(out, e))?.file_name();
        let n = n.to_string_lossy();
        if !mine(&n) {
            return Err(config_err!(
                "{}: holds {n}, which this command does not write; {}",
                out.display(),
                if fresh {
                    "choose a new or empty folder"
                } else {
                    "--force replaces the whole folder, so choose another --out (or move it away)"
                }
            ));
        }
    }
    Ok(())
}

/// Refuses an output folder path that names an existing file (checked before any work starts).
pub fn refuse_file(out: &Path) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(config_err!(
            "{}: is a file, expected a folder (or a path to create one)",
            out.display()
        ));
    }
    Ok(())
}

/// Creates the output folder `dir` (and its parents), refusing a path that names a file.
pub fn create_dir(dir: &Path) -> Result<()> {
    refuse_file(dir)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

/// Whether process `pid` may still be running (on Linux, whether `/proc/PID` exists; elsewhere
/// every other process is assumed to run, so nothing of it is removed).
fn running(pid: u32) -> bool {
    pid == std::process::id()
        || !cfg!(target_os = "linux")
        || Path::new("/proc").join(pid.to_string()).exists()
}

/// The process id at the end of a temporary name `PREFIX…PID`, when the name starts with one of
/// `prefixes` and holds `.tmp-`, `.new-` or `.old-` before the id.
fn writer_pid(name: &str, prefixes: &[&str]) -> Option<u32> {
    if !prefixes.iter().any(|p| name.starts_with(p)) {
        return None;
    }
    let (head, pid) = name.rsplit_once('-')?;
    [".tmp", ".new", ".old"]
        .iter()
        .any(|t| head.ends_with(t))
        .then(|| pid.parse().ok())
        .flatten()
}

/// Removes the temporary files and folders in `dir` whose names start with one of `prefixes` and
/// whose writer no longer runs.
fn remove_stale(dir: &Path, prefixes: &[&str]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if writer_pid(&name, prefixes).is_some_and(|p| !running(p)) {
            let path = e.path();
            tracing::debug!(
                "removing {}, left by a process that no longer runs",
                path.display()
            );
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

/// Cleans up after a writer of folder `name` in `parent` that was killed: its staged new folder goes;
/// an old folder it had moved aside goes back into place when the folder is missing.
fn recover_stale(parent: &Path, name: &str) {
    let out = parent.join(name);
    if !out.exists() {
        if let Ok(entries) = std::fs::read_dir(parent) {
            let old = format!(".{name}.old-");
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if writer_pid(&n, &[&old]).is_some_and(|p| !running(p)) {
                    let _ = std::fs::rename(e.path(), &out);
                    break;
                }
            }
        }
    }
    remove_stale(
        parent,
        &[&format!(".{name}.new-"), &format!(".{name}.old-")],
    );
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

    /// Names and contents of the files directly in `dir`.
    fn files(dir: &Path) -> Vec<(String, String)> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                (p.file_name().unwrap().to_string_lossy().into_owned(), text)
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn an_output_folder_is_replaced_only_on_commit_and_killed_writers_are_cleaned_up() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        // Fresh: written in place; an uncommitted empty folder goes again.
        drop(OutDir::begin(&out, true, &["a", "b"]).unwrap());
        assert!(!out.exists());
        let d = OutDir::begin(&out, false, &[]).unwrap();
        assert_eq!(d.path(), out);
        std::fs::write(out.join("a"), "old").unwrap();
        d.commit().unwrap();
        // Replacing: staged beside; dropped without commit, the old folder is untouched.
        let d = OutDir::begin(&out, true, &["a", "b"]).unwrap();
        assert!(d.replacing() && d.path() != out);
        std::fs::write(d.path().join("b"), "new").unwrap();
        let stage = d.path().to_path_buf();
        drop(d);
        assert!(!stage.exists());
        assert_eq!(files(&out), [("a".into(), "old".into())]);
        // Committed: the new contents replace the old ones whole.
        let d = OutDir::begin(&out, true, &["a", "b"]).unwrap();
        std::fs::write(d.path().join("b"), "new").unwrap();
        d.commit().unwrap();
        assert_eq!(files(&out), [("b".into(), "new".into())]);
        assert_eq!(files(tmp.path()).len(), 1, "{:?}", files(tmp.path()));
        // A killed writer (no process has this id) left a staged folder and a temporary file: the
        // next writer removes both.
        let dead = 999_999_999;
        std::fs::create_dir(tmp.path().join(format!(".run.new-{dead}"))).unwrap();
        std::fs::write(out.join(format!(".b.tmp-{dead}")), "partial").unwrap();
        std::fs::write(out.join(".b.tmp-notapid"), "kept").unwrap();
        OutDir::begin(&out, false, &[]).unwrap().commit().unwrap();
        assert_eq!(files(tmp.path()).len(), 1);
        assert_eq!(files(&out).len(), 2, "{:?}", files(&out));
        // Killed between moving the old folder aside and moving the new one in: the old one returns.
        std::fs::rename(&out, tmp.path().join(format!(".run.old-{dead}"))).unwrap();
        OutDir::begin(&out, false, &[]).unwrap().commit().unwrap();
        assert!(files(&out).contains(&("b".into(), "new".into())));
        assert_eq!(files(tmp.path()).len(), 1);
        // A file where the folder should be is refused by name.
        let f = tmp.path().join("file");
        std::fs::write(&f, "x").unwrap();
        let e = OutDir::begin(&f, true, &[]).err().unwrap().to_string();
        assert!(e.contains("file: is a file"), "{e}");
        // Replacing never takes a file the command does not write; a fresh folder must be empty.
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        let e = OutDir::begin(&out, true, &["a", "b"])
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("holds notes.txt") && e.contains("--force"),
            "{e}"
        );
        let e = OutDir::staged(&out).err().unwrap().to_string();
        assert!(e.contains("new or empty folder"), "{e}");
        assert!(out.join("notes.txt").exists() && out.join("b").exists());
    }
}
