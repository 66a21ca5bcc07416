//! Execution and task run ids: 22-character base62 texts, like Kestra's, from time-ordered UUIDs.

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A fresh id: a UUIDv7 (time-ordered, so ids sort by creation) in base62.
pub fn new_id() -> String {
    let mut number = uuid::Uuid::now_v7().as_u128();
    let mut digits = [b'0'; 22];
    for digit in digits.iter_mut().rev() {
        *digit = ALPHABET[(number % 62) as usize];
        number /= 62;
    }
    digits.iter().map(|&byte| byte as char).collect()
}

/// A fresh id whose partition among `count` is `partition` (see `peregrine_ports::partition`):
/// ids are drawn until one falls in it, about `count` draws.
pub fn new_id_in(partition: u16, count: u16) -> String {
    loop {
        let id = new_id();
        if count <= 1 || peregrine_ports::partition::of(&id, count) == partition % count {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_drawn_in_a_partition_fall_in_it() {
        for partition in 0..16 {
            let id = super::new_id_in(partition, 16);
            assert_eq!(peregrine_ports::partition::of(&id, 16), partition);
        }
        assert_eq!(super::new_id_in(3, 1).len(), 22);
    }

    #[test]
    fn ids_are_distinct_base62_and_ordered() {
        let first = super::new_id();
        let second = super::new_id();
        assert_eq!(first.len(), 22);
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(first, second);
        assert!(first < second);
    }
}
