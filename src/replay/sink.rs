//! A journal sink for batch runs: output that never depends on the background thread's timing.
//!
//! A live [`JournalWriter`] reports no room (the engine rejects `journal_full`) when its segment
//! is nearly full and the next one is not prepared yet: the engine must never wait. Replay runs
//! far faster than live and must give the same journal every time, so [`BatchJournal`] waits for
//! the background thread instead (the run is a batch; waiting costs throughput, not correctness).
//! Only a real failure to prepare a segment (a full disk) still reports no room. For the same
//! reason it also waits before recording into the reserve, so no record is ever dropped for
//! lack of a prepared segment.

use std::path::Path;
use std::time::Duration;

use crate::clock::EngineClock;
use crate::config::{Config, ValidConfig};
use crate::journal::{JournalError, JournalMeta, JournalStats, JournalWriter, NextSegment, WriterOptions};
use crate::record::EventRecord;
use crate::sink::EventSink;

/// How long to wait for the next segment before calling the journal full.
const WAIT: Duration = Duration::from_secs(60);

/// A [`JournalWriter`] whose [`EventSink::has_room`] waits for the next segment.
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

    /// Waits for the next segment; `true` once it is ready, `false` if preparing it failed.
    #[cold]
    fn wait(&self) -> bool {
        self.writer.wait_next_segment(WAIT) == NextSegment::Ready && self.writer.has_room()
    }

    /// Closes the journal (see [`JournalWriter::close`]).
    pub fn close(self) -> Result<JournalStats, JournalError> {
        self.writer.close()
    }
}

impl EventSink for BatchJournal {
    /// Records `event`, first waiting for the next segment if the current one is down to its
    /// reserve (a burst of records with no `has_room` check in between, such as the
    /// `unanswered` records at shutdown, could otherwise run past the reserve and be dropped).
    #[inline]
    fn record(&mut self, event: &EventRecord) {
        if !self.writer.has_room() {
            self.wait();
        }
        self.writer.record(event);
    }

    #[inline]
    fn has_room(&self) -> bool {
        self.writer.has_room() || self.wait()
    }

    fn sync(&mut self) {
        self.writer.sync();
    }
}
