//! Configuration: settings from the environment and CLI flags, and the routing file that maps
//! model names to upstream providers.

pub mod routing;
pub mod settings;

pub use routing::{ProviderKind, ProviderSpec, RoutingConfig};
pub use settings::{AuthMode, LogFormat, PolicySource, Settings};
