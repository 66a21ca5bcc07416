//! The working directory of one attempt: a fresh folder under the system temp dir, with an output
//! folder inside it, removed when the attempt ends (or its future is dropped).

use std::os::unix::fs::DirBuilderExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use peregrine_plugin_api::TaskError;

/// A unique name for a file or folder: process id, a counter and the clock.
pub(crate) fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!("{:x}{count:x}{nanos:x}", std::process::id())
}

/// A task attempt's working directory.
#[derive(Debug)]
pub(crate) struct WorkingDir {
    path: PathBuf,
    output_dir: PathBuf,
    removed: bool,
}

impl WorkingDir {
    /// Creates `<temp>/peregrine/<unique>` and its output folder (blocking: call off the runtime).
    pub fn create() -> std::io::Result<Self> {
        let root = std::env::temp_dir().join("peregrine");
        std::fs::create_dir_all(&root)?;
        let mut builder = std::fs::DirBuilder::new();
        builder.mode(0o700);
        let path = loop {
            let candidate = root.join(unique_name());
            match builder.create(&candidate) {
                Ok(()) => break candidate,
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(error),
            }
        };
        let output_dir = path.join(unique_name());
        let working_dir = Self {
            path,
            output_dir,
            removed: false,
        };
        builder.create(&working_dir.output_dir)?;
        Ok(working_dir)
    }

    /// The folder of an enclosing WorkingDirectory task: used as it is and left in place.
    pub fn shared(path: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(path)?;
        let output_dir = path.join(unique_name());
        std::fs::create_dir_all(&output_dir)?;
        Ok(Self {
            path: path.to_path_buf(),
            output_dir,
            removed: true,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn output_dir(&self) -> &Path {
        &self.output_dir
    }

    /// The path of a file named relative to the working directory; names that would leave it
    /// (absolute, or with `..`) are refused.
    pub fn resolve(&self, property: &str, name: &str) -> Result<PathBuf, TaskError> {
        let relative = Path::new(name);
        let inside = relative
            .components()
            .all(|component| matches!(component, Component::Normal(_) | Component::CurDir));
        if name.is_empty() || !inside {
            return Err(TaskError::Property {
                property: property.to_string(),
                message: format!("'{name}' is not a relative path inside the working directory"),
            });
        }
        Ok(self.path.join(relative))
    }

    /// Writes a file (creating its folders), blocking.
    pub fn write(&self, property: &str, name: &str, contents: &[u8]) -> Result<PathBuf, TaskError> {
        let path = self.resolve(property, name)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| io_error(&path, &error))?;
        }
        std::fs::write(&path, contents).map_err(|error| io_error(&path, &error))?;
        Ok(path)
    }

    /// Removes the folder and everything in it, off the runtime threads.
    pub async fn remove(mut self) {
        if self.removed {
            // A shared folder: only the output folder made for this attempt goes.
            let output_dir = self.output_dir.clone();
            let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(output_dir)).await;
            return;
        }
        self.removed = true;
        let path = self.path.clone();
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(path)).await;
    }
}

impl Drop for WorkingDir {
    /// Dropped without [`WorkingDir::remove`] (the task's future was dropped, or an early error):
    /// removes it on a plain thread, which also runs while the runtime shuts down.
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let path = std::mem::take(&mut self.path);
        let for_thread = path.clone();
        let spawned = std::thread::Builder::new()
            .name("peregrine-script-cleanup".to_string())
            .spawn(move || std::fs::remove_dir_all(for_thread));
        if spawned.is_err() {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

pub(crate) fn io_error(path: &Path, error: &std::io::Error) -> TaskError {
    TaskError::Failed(format!("{}: {error}", path.display()))
}
