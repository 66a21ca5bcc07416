//! The server killed with SIGKILL while 100 executions with retries and subflows are running,
//! then started again on the same data folder: every execution reaches a terminal state, none
//! is lost, no task run is reported twice and each parent started exactly one child.

mod common;

use std::time::Duration;

use common::{Server, agent, recovery};

const EXECUTIONS: usize = 100;

#[test]
fn a_killed_server_finishes_every_execution_after_a_restart() {
    let data = tempfile::tempdir().expect("a data folder");
    let agent = agent();
    let server = Server::start(&["--data".as_ref(), data.path().as_os_str()]);
    recovery::start_parents(&agent, &server, EXECUTIONS);
    // Kill it while retries, subflows and loops are in flight.
    std::thread::sleep(Duration::from_millis(600));
    let running = recovery::running_parents(&agent, &server);
    server.kill();
    assert!(running > 0, "the kill must land while executions run");

    let server = Server::start(&["--data".as_ref(), data.path().as_os_str()]);
    recovery::assert_all_end_once(&agent, &server, EXECUTIONS, Duration::from_secs(60));
    server.kill();
}
