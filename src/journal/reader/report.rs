//! What a walk over a journal found: [`VerifyReport`] ([`Journal::verify`]), the last good
//! record, a torn tail, each segment's summary.

use std::path::PathBuf;

use super::{Journal, JournalError};

/// Where the last valid record is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastGood {
    /// Its sequence number.
    pub seq: u64,
    /// Its segment file.
    pub path: PathBuf,
    /// Its byte offset in that file.
    pub offset: u64,
}

/// A slot after the last good record holding the body of a record that was never published
/// (the writer stopped between writing it and publishing it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file.
    pub path: PathBuf,
    /// Byte offset of the slot.
    pub offset: u64,
    /// The sequence number the slot would have had.
    pub seq: u64,
}

/// One segment in a [`VerifyReport`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentSummary {
    /// The file.
    pub path: PathBuf,
    /// Segment index.
    pub index: u32,
    /// Sequence number of its first slot.
    pub first_seq: u64,
    /// Slots.
    pub capacity: u64,
    /// Valid records in it.
    pub records: u64,
    /// The writer's count of dropped records when it last updated this segment's header (a
    /// running count: the last segment's is the journal's total).
    pub dropped: u64,
    /// Whether the writer closed the journal with this segment last.
    pub closed: bool,
}

/// The result of [`Journal::verify`].
#[derive(Debug)]
pub struct VerifyReport {
    /// Valid records.
    pub records: u64,
    /// Sequence number of the first valid record.
    pub first_seq: Option<u64>,
    /// The last valid record.
    pub last_good: Option<LastGood>,
    /// An unpublished record after the last good one (normal after a crash; ignored).
    pub torn_tail: Option<TornTail>,
    /// Records the writer had to drop (journal full even after the reserve).
    pub dropped: u64,
    /// Whether the writer closed the journal cleanly.
    pub closed: bool,
    /// Whether the writer saw a flush to disk fail (a segment header's `sync_failed` flag).
    pub sync_failed: bool,
    /// Per segment.
    pub segments: Vec<SegmentSummary>,
    /// The first corruption, if any.
    pub error: Option<JournalError>,
}

impl VerifyReport {
    /// No corruption (a torn tail is not corruption).
    pub fn is_sound(&self) -> bool {
        self.error.is_none()
    }
}

impl Journal {
    /// Walks the whole journal and reports its state (never fails: problems are in the report).
    pub fn verify(&self) -> VerifyReport {
        let mut it = self.records();
        let mut records = 0u64;
        let mut first_seq = None;
        let mut error = None;
        for r in &mut it {
            match r {
                Ok(rec) => {
                    records += 1;
                    first_seq.get_or_insert(rec.seq);
                }
                Err(e) => error = Some(e),
            }
        }
        let last_good = it.last_good();
        let last_seq = last_good.as_ref().map(|g| g.seq).unwrap_or(0);
        let segments = self
            .segments
            .iter()
            .map(|s| {
                let h = &s.header;
                let n = last_seq.checked_sub(h.first_seq).map_or(0, |before| (before + 1).min(h.capacity()));
                SegmentSummary {
                    path: s.path.clone(),
                    index: h.segment_index,
                    first_seq: h.first_seq,
                    capacity: h.capacity(),
                    records: n,
                    dropped: h.dropped,
                    closed: h.closed,
                }
            })
            .collect::<Vec<_>>();
        VerifyReport {
            records,
            first_seq,
            last_good,
            torn_tail: it.torn,
            // Each header holds the writer's running count as of its last update: the journal's
            // count is the largest, not the sum.
            dropped: segments.iter().map(|s| s.dropped).max().unwrap_or(0),
            closed: segments.iter().any(|s| s.closed),
            sync_failed: self.segments.iter().any(|s| s.header.sync_failed),
            segments,
            error,
        }
    }
}
