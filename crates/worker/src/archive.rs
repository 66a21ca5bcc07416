//! The zip archive a WorkingDirectory cache is kept in, as Kestra keeps it. Entries are written
//! stored (not compressed), which any zip reader opens; the archive comment records when it was
//! made, for the cache's time to live. Reading takes stored entries only: an archive with
//! compressed entries (written by another tool) is refused, and the cache is then rebuilt.

/// Why an archive could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("not a zip archive: {0}")]
    Malformed(&'static str),
    #[error("entry '{0}' is compressed: only stored entries are read")]
    Compressed(String),
    #[error("entry '{0}' is too large for a zip archive without zip64")]
    TooLarge(String),
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_DIRECTORY: u32 = 0x0605_4b50;
/// Version 2.0: what a stored entry needs.
const VERSION: u16 = 20;
/// General purpose flag bit 11: names are UTF-8.
const UTF8_NAMES: u16 = 0x0800;
/// 1980-01-01, the earliest DOS date (entry times are not kept).
const DOS_DATE: u16 = 0x0021;
/// What the archive comment starts with, followed by the creation time in Unix milliseconds.
const CREATED: &str = "peregrine-cache created=";

/// An archive of `entries` (name relative to the folder, content), made at `created_millis`.
pub fn write(entries: &[(String, Vec<u8>)], created_millis: i64) -> Result<Vec<u8>, Error> {
    let mut archive = Vec::new();
    let mut directory = Vec::new();
    for (name, content) in entries {
        let too_large = || Error::TooLarge(name.clone());
        let size = u32::try_from(content.len()).map_err(|_| too_large())?;
        let offset = u32::try_from(archive.len()).map_err(|_| too_large())?;
        let name_length = u16::try_from(name.len()).map_err(|_| too_large())?;
        let crc = crc32(content);
        put_u32(&mut archive, LOCAL_HEADER);
        put_u16(&mut archive, VERSION);
        put_u16(&mut archive, UTF8_NAMES);
        put_u16(&mut archive, 0); // stored
        put_u16(&mut archive, 0); // time
        put_u16(&mut archive, DOS_DATE);
        put_u32(&mut archive, crc);
        put_u32(&mut archive, size);
        put_u32(&mut archive, size);
        put_u16(&mut archive, name_length);
        put_u16(&mut archive, 0); // extra field
        archive.extend_from_slice(name.as_bytes());
        archive.extend_from_slice(content);

        put_u32(&mut directory, CENTRAL_HEADER);
        put_u16(&mut directory, VERSION);
        put_u16(&mut directory, VERSION);
        put_u16(&mut directory, UTF8_NAMES);
        put_u16(&mut directory, 0);
        put_u16(&mut directory, 0);
        put_u16(&mut directory, DOS_DATE);
        put_u32(&mut directory, crc);
        put_u32(&mut directory, size);
        put_u32(&mut directory, size);
        put_u16(&mut directory, name_length);
        put_u16(&mut directory, 0); // extra field
        put_u16(&mut directory, 0); // comment
        put_u16(&mut directory, 0); // disk
        put_u16(&mut directory, 0); // internal attributes
        put_u32(&mut directory, 0); // external attributes
        put_u32(&mut directory, offset);
        directory.extend_from_slice(name.as_bytes());
    }
    let count = u16::try_from(entries.len()).map_err(|_| Error::TooLarge("archive".into()))?;
    let directory_offset =
        u32::try_from(archive.len()).map_err(|_| Error::TooLarge("archive".into()))?;
    let directory_size =
        u32::try_from(directory.len()).map_err(|_| Error::TooLarge("archive".into()))?;
    archive.extend_from_slice(&directory);
    let comment = format!("{CREATED}{created_millis}");
    let comment_length =
        u16::try_from(comment.len()).map_err(|_| Error::TooLarge("comment".into()))?;
    put_u32(&mut archive, END_OF_DIRECTORY);
    put_u16(&mut archive, 0);
    put_u16(&mut archive, 0);
    put_u16(&mut archive, count);
    put_u16(&mut archive, count);
    put_u32(&mut archive, directory_size);
    put_u32(&mut archive, directory_offset);
    put_u16(&mut archive, comment_length);
    archive.extend_from_slice(comment.as_bytes());
    Ok(archive)
}

/// A read archive: its file entries and, when it says so, when it was made.
#[derive(Debug, Default, PartialEq)]
pub struct Archive {
    pub entries: Vec<(String, Vec<u8>)>,
    pub created_millis: Option<i64>,
}

/// Reads an archive's file entries (directories are skipped).
pub fn read(bytes: &[u8]) -> Result<Archive, Error> {
    let end = find_end_of_directory(bytes).ok_or(Error::Malformed("no end of directory"))?;
    let count = u16_at(bytes, end + 10).ok_or(Error::Malformed("short end of directory"))?;
    let directory_offset =
        u32_at(bytes, end + 16).ok_or(Error::Malformed("short end of directory"))? as usize;
    let comment_length =
        u16_at(bytes, end + 20).ok_or(Error::Malformed("short end of directory"))? as usize;
    let comment = bytes
        .get(end + 22..end + 22 + comment_length)
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let created_millis = comment
        .strip_prefix(CREATED)
        .and_then(|millis| millis.trim().parse().ok());
    let mut entries = Vec::new();
    let mut at = directory_offset;
    for _ in 0..count {
        if u32_at(bytes, at) != Some(CENTRAL_HEADER) {
            return Err(Error::Malformed("bad central directory entry"));
        }
        let field = |offset: usize| u16_at(bytes, at + offset).map(usize::from);
        let short = Error::Malformed("short central directory entry");
        let method = field(10).ok_or(short.clone())?;
        let size = u32_at(bytes, at + 20).ok_or(short.clone())? as usize;
        let name_length = field(28).ok_or(short.clone())?;
        let extra_length = field(30).ok_or(short.clone())?;
        let comment_length = field(32).ok_or(short.clone())?;
        let local = u32_at(bytes, at + 42).ok_or(short.clone())? as usize;
        let name = bytes
            .get(at + 46..at + 46 + name_length)
            .map(|name| String::from_utf8_lossy(name).to_string())
            .ok_or(short)?;
        at += 46 + name_length + extra_length + comment_length;
        if name.ends_with('/') {
            continue;
        }
        if method != 0 {
            return Err(Error::Compressed(name));
        }
        if u32_at(bytes, local) != Some(LOCAL_HEADER) {
            return Err(Error::Malformed("bad local header"));
        }
        let short = Error::Malformed("short local header");
        let local_name = u16_at(bytes, local + 26).ok_or(short.clone())? as usize;
        let local_extra = u16_at(bytes, local + 28).ok_or(short)? as usize;
        let start = local + 30 + local_name + local_extra;
        let content = bytes
            .get(start..start + size)
            .ok_or(Error::Malformed("entry past the end"))?;
        entries.push((name, content.to_vec()));
    }
    Ok(Archive {
        entries,
        created_millis,
    })
}

/// The end-of-directory record: the last one, searched from the end past a comment.
fn find_end_of_directory(bytes: &[u8]) -> Option<usize> {
    let last = bytes.len().checked_sub(22)?;
    let first = last.saturating_sub(usize::from(u16::MAX));
    (first..=last)
        .rev()
        .find(|&at| u32_at(bytes, at) == Some(END_OF_DIRECTORY))
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn put_u16(bytes: &mut Vec<u8>, value: u16) {
    bytes.extend_from_slice(&value.to_le_bytes());
}

fn put_u32(bytes: &mut Vec<u8>, value: u32) {
    bytes.extend_from_slice(&value.to_le_bytes());
}

/// CRC-32 (IEEE), as zip entries carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn an_archive_reads_back_its_entries_and_creation_time() {
        let entries = vec![
            ("hello.txt".to_string(), b"HELLO WORLD".to_vec()),
            ("sub/empty.txt".to_string(), Vec::new()),
        ];
        let bytes = write(&entries, 1_700_000_000_000).expect("written");
        let archive = read(&bytes).expect("read back");
        assert_eq!(archive.entries, entries);
        assert_eq!(archive.created_millis, Some(1_700_000_000_000));
    }

    #[test]
    fn compressed_entries_and_garbage_are_refused() {
        let mut bytes = write(&[("a".into(), b"a".to_vec())], 0).expect("written");
        // Method of the central directory entry: 8 (deflate).
        let central = bytes.len() - 22 - "peregrine-cache created=0".len() - (46 + 1);
        bytes[central + 10] = 8;
        assert_eq!(read(&bytes), Err(Error::Compressed("a".into())));
        assert!(matches!(read(b"not a zip"), Err(Error::Malformed(_))));
    }
}
