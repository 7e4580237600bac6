//! The admin key: configured, or generated once and kept in the data dir.
//!
//! With `ADMIN_API_KEY` unset, a key is generated on first start and stored with mode 0600 in
//! the data dir; it is printed once, when created. The agent behind the gateway runs on the
//! same machine, so there is no localhost bypass.

use std::path::Path;
use std::sync::Arc;

use subtle::ConstantTimeEq;

/// The admin key in force.
#[derive(Clone)]
pub struct AdminKey(Arc<String>);

impl AdminKey {
    /// The configured key, or the one stored in `data_dir` (created on first start).
    pub fn resolve(configured: Option<&str>, data_dir: &Path) -> std::io::Result<Self> {
        if let Some(k) = configured.filter(|k| !k.is_empty()) {
            return Ok(Self(Arc::new(k.to_owned())));
        }
        let path = data_dir.join("admin_api_key");
        if let Ok(k) = std::fs::read_to_string(&path) {
            let k = k.trim().to_owned();
            if !k.is_empty() {
                return Ok(Self(Arc::new(k)));
            }
        }
        std::fs::create_dir_all(data_dir)?;
        let key = format!(
            "luthien-admin-{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        write_private(&path, &key)?;
        eprintln!(
            "Luthien generated an admin API key (stored in {}): {key}",
            path.display()
        );
        Ok(Self(Arc::new(key)))
    }

    /// True when `presented` is the admin key (constant-time).
    pub fn matches(&self, presented: &str) -> bool {
        bool::from(presented.as_bytes().ct_eq(self.0.as_bytes()))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, key: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(key.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, key: &str) -> std::io::Result<()> {
    std::fs::write(path, key)
}
