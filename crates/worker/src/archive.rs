//! The zip archive a WorkingDirectory cache is kept in, as Kestra keeps it: deflated entries
//! named by their path relative to the folder, each dated when the archive was made (local time,
//! as Java's `ZipOutputStream` dates them).
//!
//! When an archive was made drives the cache's time to live. Internal storage keeps no dates, so
//! the archive says it itself: the archive comment records the creation time in Unix
//! milliseconds; an archive without that comment (written by Kestra) is as old as its newest
//! entry.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// Why an archive could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("zip entry '{name}': {source}")]
    Entry {
        name: String,
        source: std::io::Error,
    },
}

/// What the archive comment starts with, followed by the creation time in Unix milliseconds.
const CREATED: &str = "peregrine-cache created=";

/// A read archive: its file entries and, when known, when it was made.
#[derive(Debug, Default, PartialEq)]
pub struct Archive {
    pub entries: Vec<(String, Vec<u8>)>,
    pub created_millis: Option<i64>,
}

/// An archive of `entries` (name relative to the folder, content), made at `created`.
pub fn write(entries: &[(String, Vec<u8>)], created: jiff::Timestamp) -> Result<Vec<u8>, Error> {
    let mut options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(false);
    if let Some(time) = dos_time(created) {
        options = options.last_modified_time(time);
    }
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in entries {
        // Entries past 4 GiB need zip64, which the writer then turns on itself.
        let entry_options = options.large_file(content.len() as u64 >= u64::from(u32::MAX));
        writer.start_file(name.as_str(), entry_options)?;
        writer.write_all(content).map_err(|source| Error::Entry {
            name: name.clone(),
            source,
        })?;
    }
    writer.set_comment(format!("{CREATED}{}", created.as_millisecond()))?;
    Ok(writer.finish()?.into_inner())
}

/// Reads an archive's file entries (directories are skipped), stored or deflated.
pub fn read(bytes: &[u8]) -> Result<Archive, Error> {
    let mut archive = ZipArchive::new(Cursor::new(bytes))?;
    let stamped = String::from_utf8_lossy(archive.comment())
        .strip_prefix(CREATED)
        .and_then(|millis| millis.trim().parse::<i64>().ok());
    let mut entries = Vec::with_capacity(archive.len());
    let mut newest: Option<DateTime> = None;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name()?.into_owned();
        if let Some(modified) = entry.last_modified() {
            newest = Some(newest.map_or(modified, |newest| newest.max(modified)));
        }
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .map_err(|source| Error::Entry {
                name: name.clone(),
                source,
            })?;
        entries.push((name, content));
    }
    let created_millis = stamped.or_else(|| newest.and_then(local_millis));
    Ok(Archive {
        entries,
        created_millis,
    })
}

/// `at` as an MS-DOS date and time in the system's time zone; none before 1980 or after 2107.
pub(crate) fn dos_time(at: jiff::Timestamp) -> Option<DateTime> {
    let local = jiff::tz::TimeZone::system().to_datetime(at);
    DateTime::from_date_and_time(
        u16::try_from(local.year()).ok()?,
        u8::try_from(local.month()).ok()?,
        u8::try_from(local.day()).ok()?,
        u8::try_from(local.hour()).ok()?,
        u8::try_from(local.minute()).ok()?,
        u8::try_from(local.second()).ok()?,
    )
    .ok()
}

/// An MS-DOS date and time, read in the system's time zone, in Unix milliseconds.
fn local_millis(time: DateTime) -> Option<i64> {
    let local = jiff::civil::DateTime::new(
        i16::try_from(time.year()).ok()?,
        i8::try_from(time.month()).ok()?,
        i8::try_from(time.day()).ok()?,
        i8::try_from(time.hour()).ok()?,
        i8::try_from(time.minute()).ok()?,
        i8::try_from(time.second()).ok()?,
        0,
    )
    .ok()?;
    let at = jiff::tz::TimeZone::system().to_timestamp(local).ok()?;
    Some(at.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(millis).expect("a time")
    }

    #[test]
    fn an_archive_reads_back_its_deflated_entries_and_creation_time() {
        let entries = vec![
            ("hello.txt".to_string(), b"HELLO WORLD ".repeat(100)),
            ("sub/empty.txt".to_string(), Vec::new()),
        ];
        let bytes = write(&entries, at(1_700_000_000_000)).expect("written");
        assert!(bytes.len() < 600, "deflated: {} bytes", bytes.len());
        let archive = read(&bytes).expect("read back");
        assert_eq!(archive.entries, entries);
        assert_eq!(archive.created_millis, Some(1_700_000_000_000));
    }

    #[test]
    fn an_archive_without_a_creation_comment_is_as_old_as_its_newest_entry() {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, made) in [
            ("old.txt", 1_600_000_000_000),
            ("new.txt", 1_700_000_000_000),
        ] {
            let time = dos_time(at(made)).expect("a DOS time");
            let options = SimpleFileOptions::default().last_modified_time(time);
            writer.start_file(name, options).expect("an entry");
            writer.write_all(b"text").expect("written");
        }
        let bytes = writer.finish().expect("finished").into_inner();
        let archive = read(&bytes).expect("read back");
        assert_eq!(archive.entries.len(), 2);
        assert_eq!(archive.created_millis, Some(1_700_000_000_000));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(read(b"not a zip"), Err(Error::Zip(_))));
    }
}
