//! A key-value store kept in internal storage, as Kestra does: one file per key at
//! `/{namespace}/_kv/{key}.json`, holding the typed value and its dates. Works over any
//! [`Storage`] backend, so it is the memory and the local-filesystem key-value store alike.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Error, KvEntry, KvPut, KvRecord, KvStore, KvType, KvValue, validate_key};
use crate::future::BoxFuture;
use crate::storage::{self, Storage, StoragePath, kv_prefix};

const SUFFIX: &str = ".json";

/// The stored form of one key.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    #[serde(rename = "type")]
    kv_type: KvType,
    value: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    creation_date: Timestamp,
    update_date: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expiration_date: Option<Timestamp>,
}

impl Document {
    fn entry(&self, key: &str) -> KvEntry {
        KvEntry {
            key: key.to_string(),
            description: self.description.clone(),
            created: self.creation_date,
            updated: self.update_date,
            expires: self.expiration_date,
        }
    }
}

/// [`KvStore`] on top of a [`Storage`].
#[derive(Clone)]
pub struct StorageKv {
    storage: Arc<dyn Storage>,
}

impl std::fmt::Debug for StorageKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageKv").finish_non_exhaustive()
    }
}

impl StorageKv {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self { storage }
    }

    fn path(namespace: &str, key: &str) -> Result<StoragePath, Error> {
        validate_key(key)?;
        Ok(kv_prefix(namespace)?.join(&format!("{key}{SUFFIX}"))?)
    }

    async fn read(&self, path: &StoragePath, key: &str) -> Result<Option<Document>, Error> {
        let bytes = match self.storage.get(path).await {
            Ok(bytes) => bytes,
            Err(storage::Error::NotFound(_)) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| Error::Corrupt {
                key: key.to_string(),
                message: error.to_string(),
            })
    }
}

impl KvStore for StorageKv {
    fn get<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Option<KvRecord>, Error>> {
        Box::pin(async move {
            let path = Self::path(namespace, key)?;
            let Some(document) = self.read(&path, key).await? else {
                return Ok(None);
            };
            let entry = document.entry(key);
            if entry.is_expired(now) {
                return Ok(None);
            }
            let value = KvValue::from_json(document.kv_type, document.value).map_err(|error| {
                Error::Corrupt {
                    key: key.to_string(),
                    message: error.to_string(),
                }
            })?;
            Ok(Some(KvRecord { entry, value }))
        })
    }

    fn set<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        put: KvPut,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let path = Self::path(namespace, key)?;
            let expiration_date = match put.ttl {
                Some(ttl) => Some(
                    SignedDuration::try_from(ttl.as_std())
                        .ok()
                        .and_then(|ttl| now.checked_add(ttl).ok())
                        .ok_or(Error::InvalidTtl(ttl))?,
                ),
                None => None,
            };
            let existing = match self.read(&path, key).await {
                Ok(document) => document,
                // An unreadable value is replaced, never an obstacle to writing a good one.
                Err(Error::Corrupt { .. }) => None,
                Err(error) => return Err(error),
            };
            let live = existing.filter(|document| !document.entry(key).is_expired(now));
            if live.is_some() && !put.overwrite {
                return Err(Error::AlreadyExists(key.to_string()));
            }
            let document = Document {
                kv_type: put.value.kv_type(),
                value: put.value.to_json(),
                description: put.description,
                creation_date: live.map_or(now, |document| document.creation_date),
                update_date: now,
                expiration_date,
            };
            let bytes = serde_json::to_vec(&document).map_err(|error| Error::Corrupt {
                key: key.to_string(),
                message: error.to_string(),
            })?;
            self.storage.put(&path, bytes).await?;
            Ok(())
        })
    }

    fn delete<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let path = Self::path(namespace, key)?;
            Ok(self.storage.delete(&path).await?)
        })
    }

    fn list<'a>(
        &'a self,
        namespace: &'a str,
        prefix: Option<&'a str>,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<KvEntry>, Error>> {
        Box::pin(async move {
            let directory = kv_prefix(namespace)?;
            let mut entries = Vec::new();
            for file in self.storage.list(&directory).await? {
                // Only the keys of this namespace: not the files of child namespaces below.
                if file.path.parent().as_ref() != Some(&directory) {
                    continue;
                }
                let Some(key) = file.path.file_name().strip_suffix(SUFFIX) else {
                    continue;
                };
                if validate_key(key).is_err() || prefix.is_some_and(|p| !key.starts_with(p)) {
                    continue;
                }
                if let Some(document) = self.read(&file.path, key).await? {
                    let entry = document.entry(key);
                    if !entry.is_expired(now) {
                        entries.push(entry);
                    }
                }
            }
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(entries)
        })
    }
}
