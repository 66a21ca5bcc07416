//! The writer thread: owns the write connection and commits every waiting request in one
//! transaction, each in its own savepoint.

use std::sync::mpsc;

use peregrine_ports::repository::Error;
use rusqlite::Connection;

/// Called once the transaction holding the request has committed (or failed to).
type Reply = Box<dyn FnOnce(Option<&Error>) + Send>;
/// A request: runs inside a savepoint (or is told why it cannot run); says whether it
/// succeeded and how to answer.
type Work = Box<dyn FnOnce(Result<&Connection, Error>) -> (bool, Reply) + Send>;

/// At most this many requests share one transaction.
const MAX_GROUP: usize = 1024;

#[derive(Clone)]
pub(crate) struct Writer {
    sender: mpsc::Sender<Work>,
}

impl Writer {
    pub(crate) fn start(connection: Connection) -> Self {
        let (sender, receiver) = mpsc::channel::<Work>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(connection, receiver))
            .map(|_| ())
            .unwrap_or_else(|error| eprintln!("cannot start the sqlite writer: {error}"));
        Self { sender }
    }

    /// Runs `work` in the next transaction; resolves once it is committed.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let work: Work = Box::new(move |connection| {
            let result = connection.and_then(|connection| work(connection).map_err(crate::backend));
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |failure| {
                let _ = answer.send(match failure {
                    Some(error) => Err(error.clone()),
                    None => result,
                });
            });
            (ok, reply)
        });
        self.sender
            .send(work)
            .map_err(|_| Error::Backend("the sqlite writer has stopped".into()))?;
        answered
            .await
            .unwrap_or_else(|_| Err(Error::Backend("the sqlite writer has stopped".into())))
    }
}

fn run(mut connection: Connection, receiver: mpsc::Receiver<Work>) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(work) => group.push(work),
                Err(_) => break,
            }
        }
        let replies = commit_group(&mut connection, group);
        let (replies, failure) = match replies {
            Ok(replies) => (replies, None),
            Err((replies, error)) => (replies, Some(crate::backend(error))),
        };
        for reply in replies {
            reply(failure.as_ref());
        }
    }
}

type Group = Result<Vec<Reply>, (Vec<Reply>, rusqlite::Error)>;

fn commit_group(connection: &mut Connection, group: Vec<Work>) -> Group {
    let mut replies = Vec::with_capacity(group.len());
    let mut transaction =
        match connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
            Ok(transaction) => transaction,
            Err(error) => {
                let replies = group.into_iter().map(|work| refuse(work, &error)).collect();
                return Err((replies, error));
            }
        };
    for work in group {
        let savepoint = match transaction.savepoint() {
            Ok(savepoint) => savepoint,
            Err(error) => {
                replies.push(refuse(work, &error));
                continue;
            }
        };
        let (ok, reply) = work(Ok(&savepoint));
        if ok {
            if let Err(error) = savepoint.commit() {
                reply(Some(&crate::backend(error)));
                continue;
            }
        } else {
            drop(savepoint);
        }
        replies.push(reply);
    }
    match transaction.commit() {
        Ok(()) => Ok(replies),
        Err(error) => Err((replies, error)),
    }
}

/// Answers a request that could not run with the error that stopped it.
fn refuse(work: Work, error: &rusqlite::Error) -> Reply {
    work(Err(Error::Backend(format!("sqlite: {error}")))).1
}
