//! The scheduler role: fires `io.kestra.plugin.core.trigger.Schedule` (and `ScheduleOnDates`)
//! triggers, once per slot, through the trigger-state port.
//!
//! - `cron`: Kestra's cron expressions in a time zone.
//! - `slots`: the pure part: which slot is due, the next one, missed slots on restart, the
//!   `trigger` variables of a firing. Time is passed in.
//! - `service`: the loop: sleeps until the next due slot or a change (flows, trigger states,
//!   ended executions), claims each due slot with a conditional write, then starts its
//!   execution through a [`Launcher`].

pub mod cron;
mod launcher;
mod service;
pub mod slots;

pub use launcher::{Clock, Firing, LaunchError, Launcher, Started, SystemClock};
pub use service::{CLAIM_GRACE, Report, Scheduler, SchedulerHandle, SchedulerOptions};
