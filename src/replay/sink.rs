//! A journal sink for batch runs: output that never depends on how far the journal's
//! preparation has got.
//!
//! A live [`JournalWriter`] stops taking requests (the engine leaves them in the rings) while its
//! prepared room is down to the reserve, and prepares more in the engine's idle turns. Replay
//! must give the same journal every time and drives the engine with a bounded number of turns
//! per instant, so [`BatchJournal`] prepares on the spot instead, after any record that leaves
//! the room at the reserve: the engine always takes requests, and only a real failure to prepare
//! (a full disk) still reports no room.

use std::path::Path;

use crate::clock::EngineClock;
use crate::config::{Config, ValidConfig};
use crate::journal::{JournalError, JournalMeta, JournalStats, JournalWriter, WriterOptions};
use crate::record::EventRecord;
use crate::sink::EventSink;

/// A [`JournalWriter`] that prepares its space on the spot rather than in idle turns.
#[derive(Debug)]
pub struct BatchJournal {
    writer: JournalWriter,
}

impl BatchJournal {
    /// Creates the journal of a replay of `config` (validated as `valid`) at `path` (instead of
    /// the configured journal path).
    /// The header records the virtual clock: anchor and creation time are `start_wall_ns`, one
    /// tick per ns, so the same replay writes the same bytes. An existing journal at `path` is
    /// replaced only if `overwrite`.
    pub fn create(
        config: &Config,
        valid: &ValidConfig,
        path: &Path,
        start_wall_ns: i64,
        overwrite: bool,
    ) -> Result<BatchJournal, JournalError> {
        let (clock, _) = EngineClock::manual(start_wall_ns);
        let meta: JournalMeta = config.journal_meta(&clock);
        let mut jcfg = valid.journal.clone();
        jcfg.path = path.to_path_buf();
        let opts = WriterOptions { overwrite, ..WriterOptions::default() };
        JournalWriter::create_with(&jcfg, &meta, opts).map(BatchJournal::new)
    }

    /// Wraps a writer.
    pub fn new(writer: JournalWriter) -> Self {
        BatchJournal { writer }
    }

    /// The writer.
    pub fn writer(&self) -> &JournalWriter {
        &self.writer
    }

    /// Tops the prepared room up once it is down to the reserve (a failure is the writer's
    /// `has_room` to report).
    #[cold]
    fn top_up(&mut self) {
        let _ = self.writer.prepare(0);
    }

    /// Closes the journal (see [`JournalWriter::close`]).
    pub fn close(self) -> Result<JournalStats, JournalError> {
        self.writer.close()
    }
}

impl EventSink for BatchJournal {
    #[inline]
    fn record(&mut self, event: &EventRecord) {
        self.writer.record(event);
        if !self.writer.takes_requests() {
            self.top_up();
        }
    }

    #[inline]
    fn has_room(&self) -> bool {
        self.writer.has_room()
    }

    #[inline]
    fn takes_requests(&self) -> bool {
        self.writer.takes_requests()
    }

    fn housekeep(&mut self) -> bool {
        self.writer.housekeep()
    }

    fn sync(&mut self) {
        self.writer.sync();
    }
}
