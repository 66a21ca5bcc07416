//! A folder of flow files kept in step with the flow repository: each `.yml`/`.yaml` file
//! under it holds one flow; a new or changed file is saved (a new revision), a removed file
//! deletes its flow. Changes are found by polling modification times and sizes (see
//! [`FLOW_FOLDER_POLL`]); an invalid file is reported and its flow keeps its last revision.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use peregrine_ports::repository::FlowRepository;
use tokio_util::sync::CancellationToken;

/// How often the folder is looked at.
pub const FLOW_FOLDER_POLL: Duration = Duration::from_secs(1);

/// What happened to one file.
#[derive(Debug, Clone, PartialEq)]
pub enum FolderEvent {
    Saved {
        file: PathBuf,
        flow: String,
        revision: u32,
    },
    Invalid {
        file: PathBuf,
        problems: Vec<String>,
    },
    Deleted {
        file: PathBuf,
        flow: String,
    },
}

/// Receives what the folder sync did, to print or log it.
pub type FolderReport = Arc<dyn Fn(FolderEvent) + Send + Sync>;

#[derive(Clone, Copy, PartialEq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

struct Known {
    stamp: Stamp,
    /// The flow the file last provided: (namespace, id).
    flow: Option<(String, String)>,
}

/// The folder and what was last read from it.
pub struct FlowFolder {
    root: PathBuf,
    flows: Arc<dyn FlowRepository>,
    report: FolderReport,
    known: HashMap<PathBuf, Known>,
}

impl FlowFolder {
    pub fn new(root: PathBuf, flows: Arc<dyn FlowRepository>, report: FolderReport) -> Self {
        Self {
            root,
            flows,
            report,
            known: HashMap::new(),
        }
    }

    /// Reads every new or changed file, deletes the flows of removed files.
    pub async fn sync(&mut self) -> std::io::Result<()> {
        let root = self.root.clone();
        let files = tokio::task::spawn_blocking(move || list(&root))
            .await
            .map_err(std::io::Error::other)??;
        let removed: Vec<PathBuf> = self
            .known
            .keys()
            .filter(|path| !files.contains_key(*path))
            .cloned()
            .collect();
        for file in removed {
            if let Some(Known {
                flow: Some((namespace, id)),
                ..
            }) = self.known.remove(&file)
            {
                self.delete(file, &namespace, &id).await;
            }
        }
        for (file, stamp) in files {
            if self
                .known
                .get(&file)
                .is_some_and(|known| known.stamp == stamp)
            {
                continue;
            }
            let path = file.clone();
            let source = tokio::task::spawn_blocking(move || std::fs::read_to_string(path))
                .await
                .map_err(std::io::Error::other)?;
            let previous = self.known.get(&file).and_then(|known| known.flow.clone());
            let flow = match source {
                Ok(source) => self.save(&file, source, previous.clone()).await,
                Err(error) => {
                    (self.report)(FolderEvent::Invalid {
                        file: file.clone(),
                        problems: vec![format!("cannot read the file: {error}")],
                    });
                    previous
                }
            };
            self.known.insert(file, Known { stamp, flow });
        }
        Ok(())
    }

    /// Syncs every [`FLOW_FOLDER_POLL`] until `shutdown`.
    pub async fn watch(mut self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(FLOW_FOLDER_POLL) => {}
            }
            if let Err(error) = self.sync().await {
                (self.report)(FolderEvent::Invalid {
                    file: self.root.clone(),
                    problems: vec![format!("cannot read the flow folder: {error}")],
                });
            }
        }
    }

    /// Saves the file's flow; returns the flow the file now provides.
    async fn save(
        &self,
        file: &Path,
        source: String,
        previous: Option<(String, String)>,
    ) -> Option<(String, String)> {
        // The repository validates the flow; only its identity is read here.
        let identity = peregrine_model::yaml::load_document(&source)
            .ok()
            .and_then(|document| {
                let text = |key| document.root.get(key).and_then(|node| node.scalar_text());
                Some((text("namespace")?, text("id")?))
            });
        let Some((namespace, id)) = identity else {
            (self.report)(FolderEvent::Invalid {
                file: file.to_path_buf(),
                problems: vec!["not a flow: no namespace and id (or malformed YAML)".into()],
            });
            return previous;
        };
        let now = jiff::Timestamp::now();
        match self.flows.save(&namespace, &id, source, now).await {
            Ok(record) => (self.report)(FolderEvent::Saved {
                file: file.to_path_buf(),
                flow: format!("{namespace}.{id}"),
                revision: record.revision,
            }),
            Err(error) => {
                let problems = error.to_string().lines().map(str::to_string).collect();
                (self.report)(FolderEvent::Invalid {
                    file: file.to_path_buf(),
                    problems,
                });
                return previous;
            }
        }
        let current = (namespace, id);
        if let Some((namespace, id)) = previous.filter(|previous| *previous != current) {
            self.delete(file.to_path_buf(), &namespace, &id).await;
        }
        Some(current)
    }

    async fn delete(&self, file: PathBuf, namespace: &str, id: &str) {
        let now = jiff::Timestamp::now();
        if let Ok(true) = self.flows.delete(namespace, id, now).await {
            (self.report)(FolderEvent::Deleted {
                file,
                flow: format!("{namespace}.{id}"),
            });
        }
    }
}

/// Every flow file under `root`, with its stamp, in path order.
fn list(root: &Path) -> std::io::Result<BTreeMap<PathBuf, Stamp>> {
    let mut files = BTreeMap::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let path = entry.path();
            let metadata = entry.metadata()?;
            if metadata.is_dir() {
                folders.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "yml" || extension == "yaml")
            {
                let stamp = Stamp {
                    modified: metadata.modified().ok(),
                    len: metadata.len(),
                };
                files.insert(path, stamp);
            }
        }
    }
    Ok(files)
}
