//! The executor role: owns the state of the executions it runs, feeds them events through the
//! engine's decision function, and hands back the effects to carry out.

mod executor;
mod ids;

pub use executor::{Executor, ExecutorError};
pub use ids::{new_id, new_id_in};
