//! Errors from building the activity bus (publishing itself never fails).

/// Why an [`ActivityBus`](super::ActivityBus) could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ActivityError {
    /// `REDIS_URL` did not parse as a Redis connection URL.
    #[error("invalid Redis URL: {0}")]
    InvalidRedisUrl(#[source] redis::RedisError),
    /// The Redis link spawns background tasks, which needs a running tokio runtime.
    #[error("the Redis activity bus must be created inside a tokio runtime")]
    NoRuntime,
}
