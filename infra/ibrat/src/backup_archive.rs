//! The stream `GET /local/backup` sends and `ibrat backup` reads: a header
//! line, then each file as a `FILE <bytes> <relative path>` line followed by
//! its bytes, then `END <files>`. The closing count tells a complete backup
//! from one cut short.

/// The first line of every backup stream.
pub const MAGIC: &str = "IBRAT-BACKUP 1";
/// The longest header line a reader accepts.
pub const MAX_LINE: usize = 4096;

/// One line of the stream, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A file of `len` bytes follows, to be written at `path`.
    File { len: u64, path: String },
    /// The stream is complete and held `files` files.
    End { files: u64 },
}

/// The header of one file.
pub fn file_line(len: u64, path: &str) -> String {
    format!("FILE {len} {path}\n")
}

/// The closing line.
pub fn end_line(files: u64) -> String {
    format!("END {files}\n")
}

/// Parses a line (without its newline), checking the path is relative and
/// stays inside the backup folder.
pub fn parse_line(line: &str) -> Result<Line, String> {
    if let Some(rest) = line.strip_prefix("FILE ") {
        let (len, path) = rest.split_once(' ').ok_or_else(|| format!("`{line}` names no file"))?;
        let len = len.parse().map_err(|_| format!("`{len}` is not a file size"))?;
        check_path(path)?;
        return Ok(Line::File { len, path: path.to_owned() });
    }
    if let Some(files) = line.strip_prefix("END ") {
        let files = files.parse().map_err(|_| format!("`{files}` is not a file count"))?;
        return Ok(Line::End { files });
    }
    Err(format!("`{}` is neither a file nor the end", line.chars().take(80).collect::<String>()))
}

/// Accepts `/`-separated relative paths of ordinary names (no `..`, no
/// hidden names, nothing absolute).
pub fn check_path(path: &str) -> Result<(), String> {
    let bad = path.is_empty()
        || path.contains(['\\', '\0', '\n'])
        || path.split('/').any(|s| s.is_empty() || s.starts_with('.'));
    if bad {
        return Err(format!("`{path}` is not a safe relative path"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let file = file_line(12, "blobs/imports/a.csv");
        assert_eq!(parse_line(file.trim_end()), Ok(Line::File { len: 12, path: "blobs/imports/a.csv".into() }));
        assert_eq!(parse_line(end_line(3).trim_end()), Ok(Line::End { files: 3 }));
    }

    #[test]
    fn paths_leaving_the_folder_are_refused() {
        for path in ["../x", "/etc/passwd", "a//b", "a/./b", "", "a/.hidden", "a\\b"] {
            assert!(parse_line(&format!("FILE 1 {path}")).is_err(), "{path}");
        }
        assert!(parse_line("FILE x a").is_err());
        assert!(parse_line("HELLO").is_err());
    }
}
