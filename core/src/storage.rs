//! File storage: uploaded documents live outside the database, behind one trait, so a node
//! can keep them under its data dir today and in an object store tomorrow without the modules
//! noticing. Keys always carry the tenant: no code path can name another tenant's file.

use crate::{Error, Result};
use std::path::PathBuf;
use uuid::Uuid;

/// Where a stored file lives: a tenant, a collection (`documents`) and the file's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageKey {
    tenant_id: Uuid,
    collection: &'static str,
    id: Uuid,
}

impl StorageKey {
    /// The key of file `id` of `collection` in tenant `tenant_id`. Only ids, never names a
    /// client chose, make up a key, so a key cannot escape its tenant's folder.
    pub fn tenant(tenant_id: Uuid, collection: &'static str, id: Uuid) -> Self {
        Self {
            tenant_id,
            collection,
            id,
        }
    }

    fn relative(&self) -> PathBuf {
        PathBuf::from(self.tenant_id.to_string())
            .join(self.collection)
            .join(self.id.to_string())
    }
}

/// A store of files by key.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Stores `bytes` under `key`, replacing nothing: a key is written once. Either the whole
    /// file is stored or nothing is.
    async fn put(&self, key: &StorageKey, bytes: &[u8]) -> Result<()>;
    /// The file under `key`, or `None` when there is none.
    async fn get(&self, key: &StorageKey) -> Result<Option<Vec<u8>>>;
    /// Removes the file under `key`; removing a missing file is not an error.
    async fn delete(&self, key: &StorageKey) -> Result<()>;
}

/// Files in a folder (`<data_dir>/files/<tenant>/<collection>/<id>`).
#[derive(Debug, Clone)]
pub struct FsStorage {
    root: PathBuf,
}

impl FsStorage {
    /// A store rooted at `root`, created on first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

#[async_trait::async_trait]
impl Storage for FsStorage {
    async fn put(&self, key: &StorageKey, bytes: &[u8]) -> Result<()> {
        let path = self.root.join(key.relative());
        let dir = path
            .parent()
            .ok_or_else(|| Error::internal("storage path"))?;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(Error::internal)?;
        // Written aside then renamed, so a reader never sees half a file and a crash leaves
        // only a temporary file behind.
        let tmp = dir.join(format!(".{}.part", key.id));
        tokio::fs::write(&tmp, bytes)
            .await
            .map_err(Error::internal)?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(Error::internal)
    }

    async fn get(&self, key: &StorageKey) -> Result<Option<Vec<u8>>> {
        match tokio::fs::read(self.root.join(key.relative())).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::internal(e)),
        }
    }

    async fn delete(&self, key: &StorageKey) -> Result<()> {
        match tokio::fs::remove_file(self.root.join(key.relative())).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::internal(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_round_trip_per_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStorage::new(dir.path());
        let (a, b, id) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let key = StorageKey::tenant(a, "documents", id);
        store.put(&key, b"%PDF-1.7").await.unwrap();
        assert_eq!(
            store.get(&key).await.unwrap().as_deref(),
            Some(&b"%PDF-1.7"[..])
        );
        // The same id in another tenant is another file.
        let other = StorageKey::tenant(b, "documents", id);
        assert_eq!(store.get(&other).await.unwrap(), None);
        store.delete(&key).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), None);
        store.delete(&key).await.unwrap();
    }
}
