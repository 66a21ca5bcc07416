//! Partitions of executions: when executors share the load, each holds some partitions and runs
//! the executions whose ids fall in them (docs/adr/0004-partitioned-executors.md). A database
//! has a fixed number of partitions; an execution's partition is a stable hash of its id.

/// The number of partitions of a new database.
pub const DEFAULT_COUNT: u16 = 16;

/// The partition of `execution_id` among `count` (FNV-1a over its bytes, so every process and
/// every version computes the same one). `count` 0 is taken as 1.
pub fn of(execution_id: &str, count: u16) -> u16 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in execution_id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let count = u64::from(count.max(1));
    u16::try_from(hash % count).unwrap_or_default()
}

/// Which partitions a read is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Partitions {
    All,
    /// These partition numbers (of the store's count) only.
    Only(Vec<u16>),
}

impl Partitions {
    /// True when the execution's partition (among `count`) is one of these.
    pub fn hold(&self, execution_id: &str, count: u16) -> bool {
        match self {
            Self::All => true,
            Self::Only(held) => held.contains(&of(execution_id, count)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partition_of_an_id_never_changes() {
        // Stored with the rows: a change here would strand every row written before it.
        assert_eq!(of("", 16), 5);
        assert_eq!(
            of("7Xg1mBvQz2KpL9aYcW3rTe", 16),
            of("7Xg1mBvQz2KpL9aYcW3rTe", 16)
        );
        assert_eq!(of("abc", 1), 0);
        assert_eq!(of("abc", 0), 0);
    }

    #[test]
    fn ids_spread_over_every_partition() {
        let mut seen = [0usize; 16];
        for n in 0..1_600 {
            seen[usize::from(of(&format!("execution-{n}"), 16))] += 1;
        }
        assert!(
            seen.iter().all(|&count| (60..=140).contains(&count)),
            "{seen:?}"
        );
    }

    #[test]
    fn only_the_listed_partitions_are_held() {
        let id = "some-execution";
        let mine = of(id, 16);
        assert!(Partitions::All.hold(id, 16));
        assert!(Partitions::Only(vec![mine]).hold(id, 16));
        assert!(!Partitions::Only(vec![(mine + 1) % 16]).hold(id, 16));
    }
}
