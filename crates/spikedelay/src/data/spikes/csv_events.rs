//! `CsvEvents`: spike events as text, the way `spikedelay stream` and Python's `Stream` read
//! them — one `time_s,channel` line per spike in time order, a blank line between samples, `#`
//! comments, and an optional `time…` header on the first line. Errors name the source and the
//! line.

use std::io::BufRead;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// One item of an event stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CsvItem {
    /// A spike on `channel` at `time_s` seconds, read from line `line` (counted from 1).
    Event {
        /// Seconds.
        time_s: f64,
        /// Input channel (before pooling).
        channel: u32,
        /// Its line.
        line: usize,
    },
    /// The end of a sample: a blank line after events, or the end of input.
    EndOfSample,
}

/// The items of a text source, in order.
pub struct CsvEvents<R> {
    lines: std::io::Lines<R>,
    name: PathBuf,
    line: usize,
    open: bool,
    done: bool,
}

impl<R: BufRead> CsvEvents<R> {
    /// Reads `reader`; `name` (a file, or `-` for standard input) names it in errors.
    pub fn new(reader: R, name: impl Into<PathBuf>) -> Self {
        CsvEvents {
            lines: reader.lines(),
            name: name.into(),
            line: 0,
            open: false,
            done: false,
        }
    }

    fn bad(&self, text: &str) -> Error {
        Error::data(
            &self.name,
            format!("line {}: `{text}` is not `time_s,channel`", self.line),
        )
    }
}

impl<R: BufRead> Iterator for CsvEvents<R> {
    type Item = Result<CsvItem>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let Some(next) = self.lines.next() else {
                self.done = true;
                return std::mem::take(&mut self.open).then_some(Ok(CsvItem::EndOfSample));
            };
            self.line += 1;
            let text = match next {
                Ok(t) => t,
                Err(source) => {
                    self.done = true;
                    return Some(Err(Error::Io {
                        action: "reading events from",
                        path: self.name.clone(),
                        source,
                    }));
                }
            };
            let text = text.trim();
            if text.is_empty() {
                if std::mem::take(&mut self.open) {
                    return Some(Ok(CsvItem::EndOfSample));
                }
                continue;
            }
            if text.starts_with('#') || (self.line == 1 && text.starts_with("time")) {
                continue;
            }
            let parsed = text.split_once(',').and_then(|(t, c)| {
                Some((t.trim().parse::<f64>().ok()?, c.trim().parse::<u32>().ok()?))
            });
            let Some((time_s, channel)) = parsed else {
                self.done = true;
                return Some(Err(self.bad(text)));
            };
            self.open = true;
            return Some(Ok(CsvItem::Event {
                time_s,
                channel,
                line: self.line,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> Vec<Result<CsvItem>> {
        CsvEvents::new(text.as_bytes(), "x.csv").collect()
    }

    #[test]
    fn samples_end_at_blank_lines_and_at_the_end() {
        let got: Vec<CsvItem> = items("time_s,channel\n0.1,3\n# note\n\n\n0.2, 4\n")
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            got,
            vec![
                CsvItem::Event {
                    time_s: 0.1,
                    channel: 3,
                    line: 2
                },
                CsvItem::EndOfSample,
                CsvItem::Event {
                    time_s: 0.2,
                    channel: 4,
                    line: 6
                },
                CsvItem::EndOfSample,
            ]
        );
        assert!(items("\n\n").is_empty());
    }

    #[test]
    fn a_bad_line_is_named_and_ends_the_stream() {
        let got = items("0.1,1\n0.2,x\n0.3,2\n");
        assert_eq!(got.len(), 2);
        let err = got[1].as_ref().unwrap_err().to_string();
        assert!(
            err.contains("x.csv: line 2: `0.2,x` is not `time_s,channel`"),
            "{err}"
        );
    }
}
