//! Kestra's `Hashing.hashToString`: the hex of Guava's 128-bit MurmurHash3 (x64 variant, seed 0)
//! of the UTF-8 text. Kestra names state keys and cache objects with it, so ours must match.

/// The 32 hex digits Kestra computes for `value`.
pub fn hash_to_string(value: &str) -> String {
    let (h1, h2) = murmur3_x64_128(value.as_bytes());
    let mut hex = String::with_capacity(32);
    for byte in h1.to_le_bytes().into_iter().chain(h2.to_le_bytes()) {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

fn mix_k1(k1: u64) -> u64 {
    k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2)
}

fn mix_k2(k2: u64) -> u64 {
    k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1)
}

fn murmur3_x64_128(data: &[u8]) -> (u64, u64) {
    let (mut h1, mut h2) = (0u64, 0u64);
    let mut blocks = data.chunks_exact(16);
    for block in &mut blocks {
        let (low, high) = block.split_at(8);
        let k1 = u64::from_le_bytes(low.try_into().unwrap_or_default());
        let k2 = u64::from_le_bytes(high.try_into().unwrap_or_default());
        h1 ^= mix_k1(k1);
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= mix_k2(k2);
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    let (mut k1, mut k2) = (0u64, 0u64);
    for (index, &byte) in tail.iter().enumerate() {
        if index < 8 {
            k1 |= u64::from(byte) << (8 * index);
        } else {
            k2 |= u64::from(byte) << (8 * (index - 8));
        }
    }
    if tail.len() > 8 {
        h2 ^= mix_k2(k2);
    }
    if !tail.is_empty() {
        h1 ^= mix_k1(k1);
    }
    let length = data.len() as u64;
    h1 ^= length;
    h2 ^= length;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (h1, h2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_guava() {
        // Vectors from Guava's Murmur3Hash128Test (seed 0).
        assert_eq!(
            murmur3_x64_128(b"The quick brown fox jumps over the lazy dog"),
            (0xe34b_bc7b_bc07_1b6c, 0x7a43_3ca9_c49a_9347)
        );
        assert_eq!(
            murmur3_x64_128(b"hell"),
            (0x6299_4269_3e10_f867, 0x92db_0b82_baeb_5347)
        );
        assert_eq!(hash_to_string(""), "00000000000000000000000000000000");
        assert_eq!(
            hash_to_string("The quick brown fox jumps over the lazy dog"),
            "6c1b07bc7bbc4be347939ac4a93c437a"
        );
    }
}
