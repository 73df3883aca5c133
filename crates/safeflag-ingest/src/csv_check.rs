//! A strict reading of a CSV file's structure, before the fast reader parses it.
//!
//! A fast, forgiving CSV reader can merge two records into one when a field
//! holds a stray quote, and then one child disappears and another is scored
//! with the wrong attributes, while the counts still add up. So every CSV is
//! first read here, byte by byte (memchr between the bytes that matter), by
//! RFC 4180's rules: a quote opens a field only at its start, a closing quote
//! is followed by a comma or a line end, line ends are LF or CRLF, the text
//! is UTF-8. Anything else is refused, naming the line, never quoting it.
//! The records counted here must then equal the rows the reader returns
//! ([`CsvShape::check_rows`]), or the file is refused: a record is never
//! silently merged, split or dropped. Blank lines are not records.
//!
//! Hand-written because no crate gives this: the `csv` crate is as forgiving
//! as polars by design (decisions #33). It reads the file in 8 MiB blocks, so
//! it holds no copy of the file.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// What the strict reading found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvShape {
    /// Records after the header (blank lines are not records).
    pub records: usize,
    /// The header's column names, as written.
    pub header: Vec<String>,
    /// The rows a line-by-line reader makes of blank lines (0-based, after
    /// the header, counting records and blank lines alike): they are dropped.
    pub blank_rows: Vec<usize>,
}

const BLOCK: usize = 8 << 20;

/// Where the scanner is between bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a record (nothing read on this line yet).
    RecordStart,
    /// At the start of a field after a comma.
    FieldStart,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// A quote inside a quoted field: closing, or the first of a doubled pair.
    QuoteInQuoted,
    /// After a field's closing quote: only a comma or a line end may follow.
    Closed,
    /// After a CR: only an LF may follow.
    CarriageReturn,
}

struct Scanner<'p> {
    path: &'p Path,
    state: State,
    /// The physical line (1-based) of the byte being read.
    line: usize,
    /// The line where the current quoted field began.
    quote_line: usize,
    /// Complete records, the header included.
    records: usize,
    /// The header's bytes, kept until it ends.
    header: Vec<u8>,
    in_header: bool,
    /// Blank lines after the header, as reader rows.
    blank_rows: Vec<usize>,
    /// A CR at the start of a line: if an LF follows, the line was blank.
    blank_cr: bool,
    /// Commas outside quotes in the current record.
    commas: usize,
    /// The header's fields.
    fields: usize,
}

impl Scanner<'_> {
    fn new(path: &Path) -> Scanner<'_> {
        Scanner {
            path,
            state: State::RecordStart,
            line: 1,
            quote_line: 1,
            records: 0,
            header: Vec::new(),
            in_header: true,
            blank_rows: Vec::new(),
            blank_cr: false,
            commas: 0,
            fields: 0,
        }
    }

    /// A blank line: no record, but a row for a line-by-line reader.
    fn blank_line(&mut self) -> Result<()> {
        if self.records == 0 {
            return Err(self.refuse(
                self.line,
                "the line is blank; the header must be the first line",
            ));
        }
        let row = self.records - 1 + self.blank_rows.len();
        self.blank_rows.push(row);
        Ok(())
    }
    fn refuse(&self, line: usize, what: &str) -> Error {
        Error::Parse {
            path: self.path.to_path_buf(),
            format: "csv",
            message: format!("line {line}: {what}"),
        }
    }

    /// A record ends: it must have as many fields as the header.
    fn end_record(&mut self) -> Result<()> {
        let fields = self.commas + 1;
        self.commas = 0;
        if self.in_header {
            self.fields = fields;
        } else if fields != self.fields {
            return Err(self.refuse(
                self.line,
                &format!(
                    "the record has {fields} field(s) but the header has {}",
                    self.fields
                ),
            ));
        }
        self.records += 1;
        self.in_header = false;
        Ok(())
    }

    /// Reads one block; `block` holds whole UTF-8 characters.
    fn feed(&mut self, block: &[u8]) -> Result<()> {
        if self.in_header {
            let end = memchr::memchr(b'\n', block).map_or(block.len(), |i| i + 1);
            self.header.extend_from_slice(&block[..end]);
        }
        let mut i = 0;
        while i < block.len() {
            // Fast path: a whole line with no quote and no CR inside (an LF
            // or CRLF end) is one record; its commas are counted in one
            // vectorised pass. Anything else goes through the state machine.
            if self.state == State::RecordStart
                && !self.in_header
                && let Some(nl) = memchr::memchr(b'\n', &block[i..])
            {
                let line = &block[i..i + nl];
                let body = line.strip_suffix(b"\r").unwrap_or(line);
                if memchr::memchr2(b'"', b'\r', body).is_none() {
                    if body.is_empty() {
                        self.blank_line()?;
                    } else {
                        self.commas = body.iter().filter(|&&c| c == b',').count();
                        self.end_record()?;
                    }
                    self.line += 1;
                    i += nl + 1;
                    continue;
                }
            }
            let b = block[i];
            match self.state {
                State::Quoted => {
                    // Jump to the next quote, counting the line ends inside the field.
                    match memchr::memchr(b'"', &block[i..]) {
                        Some(k) => {
                            self.line += memchr::memchr_iter(b'\n', &block[i..i + k]).count();
                            self.state = State::QuoteInQuoted;
                            i += k + 1;
                        }
                        None => {
                            self.line += memchr::memchr_iter(b'\n', &block[i..]).count();
                            i = block.len();
                        }
                    }
                    continue;
                }
                State::QuoteInQuoted => {
                    self.state = if b == b'"' {
                        State::Quoted
                    } else {
                        State::Closed
                    };
                    if b == b'"' {
                        i += 1;
                    }
                    continue;
                }
                State::CarriageReturn => {
                    if b != b'\n' {
                        return Err(self.refuse(
                            self.line,
                            "a line ends in a lone carriage return (CR); save the file with LF or CRLF line ends",
                        ));
                    }
                    if std::mem::take(&mut self.blank_cr) {
                        self.blank_line()?;
                    }
                    self.state = State::RecordStart;
                    self.line += 1;
                    i += 1;
                    continue;
                }
                State::Closed => {
                    if !matches!(b, b',' | b'\n' | b'\r') {
                        return Err(self.refuse(
                            self.line,
                            "a quoted field goes on after its closing quote (a quote inside a field must be doubled)",
                        ));
                    }
                }
                State::RecordStart | State::FieldStart | State::Unquoted => {}
            }
            // Outside quotes: the bytes that matter are quote, comma, CR, LF.
            match b {
                b'"' => {
                    if self.state == State::Unquoted {
                        return Err(self.refuse(
                            self.line,
                            "a quote inside an unquoted field (quote the whole field and double the quote)",
                        ));
                    }
                    self.state = State::Quoted;
                    self.quote_line = self.line;
                }
                b',' => {
                    self.commas += 1;
                    self.state = State::FieldStart;
                }
                b'\n' => {
                    if self.state == State::RecordStart {
                        self.blank_line()?;
                    } else {
                        self.end_record()?;
                    }
                    self.state = State::RecordStart;
                    self.line += 1;
                }
                b'\r' => {
                    if self.state == State::RecordStart {
                        self.blank_cr = true;
                    } else {
                        self.end_record()?;
                    }
                    self.state = State::CarriageReturn;
                }
                _ => {
                    self.state = State::Unquoted;
                    // Skip the rest of an unquoted run at once.
                    let rest = &block[i + 1..];
                    let k = rest
                        .iter()
                        .position(|&c| matches!(c, b'"' | b',' | b'\n' | b'\r'))
                        .unwrap_or(rest.len());
                    i += k;
                }
            }
            i += 1;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<CsvShape> {
        match self.state {
            State::Quoted => {
                return Err(self.refuse(
                    self.quote_line,
                    "a quoted field is never closed (a quote inside a field must be doubled)",
                ));
            }
            State::CarriageReturn | State::RecordStart => {}
            State::FieldStart | State::Unquoted | State::QuoteInQuoted | State::Closed => {
                self.end_record()?;
            }
        }
        let header = split_header(&self.header);
        let mut seen: Vec<&str> = Vec::with_capacity(header.len());
        for (k, name) in header.iter().enumerate() {
            if let Some(first) = seen.iter().position(|s| *s == name.trim()) {
                return Err(self.refuse(
                    1,
                    &format!(
                        "the column name `{}` appears twice (columns {} and {})",
                        short(name.trim()),
                        first + 1,
                        k + 1
                    ),
                ));
            }
            seen.push(name.trim());
        }
        Ok(CsvShape {
            records: self.records.saturating_sub(1),
            header,
            blank_rows: self.blank_rows,
        })
    }
}

/// A column name in an error: short names as they are, long ones cut.
fn short(name: &str) -> String {
    if name.chars().count() <= 40 {
        name.to_string()
    } else {
        format!("{}...", name.chars().take(40).collect::<String>())
    }
}

/// The header line's fields (quotes removed, doubled quotes undone).
fn split_header(line: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches(['\n', '\r']);
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Reads `path` strictly and returns its shape, or refuses it naming the line.
pub fn scan(path: &Path) -> Result<CsvShape> {
    let mut file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut scanner = Scanner::new(path);
    let mut buf = vec![0u8; BLOCK];
    // Bytes of a UTF-8 character cut by the end of the last block.
    let mut carry = 0usize;
    loop {
        let n = file.read(&mut buf[carry..]).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let end = carry + n;
        if n == 0 {
            if carry > 0 {
                return Err(scanner.refuse(scanner.line, "the file ends inside a UTF-8 character"));
            }
            break;
        }
        let whole = match std::str::from_utf8(&buf[..end]) {
            Ok(_) => end,
            // A character cut by the block's end: keep its bytes for the next block.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => {
                let line =
                    scanner.line + memchr::memchr_iter(b'\n', &buf[..e.valid_up_to()]).count();
                return Err(scanner.refuse(line, "the text is not UTF-8 (save the file as UTF-8)"));
            }
        };
        scanner.feed(&buf[..whole])?;
        buf.copy_within(whole..end, 0);
        carry = end - whole;
    }
    scanner.finish()
}

impl CsvShape {
    /// Refuses the file unless the reader returned exactly the records the
    /// strict reading counted (its rows of blank lines already dropped).
    pub fn check_rows(&self, path: &Path, rows: usize) -> Result<()> {
        if rows == self.records {
            return Ok(());
        }
        Err(Error::Parse {
            path: path.to_path_buf(),
            format: "csv",
            message: format!(
                "the reader returned {rows} rows but the file holds {} records; refusing rather than guessing which records were merged or split",
                self.records
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &[u8]) -> Result<CsvShape> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        scan(&path)
    }

    fn refused(text: &[u8]) -> String {
        shape(text).unwrap_err().to_string()
    }

    #[test]
    fn records_are_counted_by_the_rules() {
        assert_eq!(shape(b"a,b\n1,2\n3,4\n").unwrap().records, 2);
        assert_eq!(shape(b"a,b\r\n1,2\r\n3,4").unwrap().records, 2);
        // Blank lines are not records; a quoted line end is not a record end.
        let s = shape(b"a,b\n1,2\n\n3,4\r\n\r\n\n").unwrap();
        assert_eq!((s.records, s.blank_rows), (2, vec![1, 3, 4]));
        assert!(refused(b"\na,b\n1,2\n").contains("line 1: the line is blank"));
        assert_eq!(
            shape(b"a,b\n\"x\ny\",2\n3,\"\"\"q\"\"\"\n")
                .unwrap()
                .records,
            2
        );
        assert_eq!(shape(b"a,b\n,\n").unwrap().records, 1, "empty fields");
        let s = shape(b"\"a\",\"b,c\"\n1,2\n").unwrap();
        assert_eq!(s.header, ["a", "b,c"]);
    }

    #[test]
    fn each_ambiguity_is_refused_naming_its_line_and_never_its_text() {
        let e = refused(b"a,b\n1,2\n\"R\"\"iver\"side\",3\n4,5\n");
        assert!(e.contains("line 3: a quoted field goes on"), "{e}");
        assert!(!e.contains("iver"), "{e}");
        let e = refused(b"a,b\n1,Riv\"er\n");
        assert!(
            e.contains("line 2: a quote inside an unquoted field"),
            "{e}"
        );
        let e = refused(b"a,b\n1,\"open\n2,3\n");
        assert!(e.contains("line 2: a quoted field is never closed"), "{e}");
        let e = refused(b"a,b\r1,2\r3,4\r");
        assert!(
            e.contains("line 1: a line ends in a lone carriage return"),
            "{e}"
        );
        let e = refused(b"a,b\n1,2\n3,x\xffy\n");
        assert!(e.contains("line 3: the text is not UTF-8"), "{e}");
        let e = refused(b"a,b\n1,2\n3\n");
        assert!(
            e.contains("line 3: the record has 1 field(s) but the header has 2"),
            "{e}"
        );
        let e = refused(b"a,b\n1,2,3\n");
        assert!(e.contains("line 2: the record has 3 field(s)"), "{e}");
        let e = refused(b"a,b,a\n1,2,3\n");
        assert!(e.contains("`a` appears twice (columns 1 and 3)"), "{e}");
    }

    #[test]
    fn blocks_cut_anywhere_give_the_same_reading() {
        // Every cut point of a file with quotes, CRLF and multi-byte text.
        let text = format!(
            "a,b\r\n{}",
            "\"x\"\"y\",é\r\n\"multi\nline\",ü\r\n".repeat(3)
        );
        let whole = shape(text.as_bytes()).unwrap();
        assert_eq!(whole.records, 6);
        for cut in 1..text.len() {
            let mut s = Scanner::new(Path::new("t.csv"));
            s.feed(&text.as_bytes()[..cut]).unwrap();
            s.feed(&text.as_bytes()[cut..]).unwrap();
            assert_eq!(s.finish().unwrap(), whole, "cut at {cut}");
        }
    }
}
