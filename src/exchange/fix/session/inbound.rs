//! What the [`Session`] does with each inbound message: the Logon's answer, the sequence
//! checks (gaps, duplicates, resets), TestRequests, ResendRequests, Logout, and the fatal
//! errors that end a connection.

use super::*;

impl Session {
    /// Bytes that are not a message: the stream cannot be trusted past them.
    pub fn on_message_garbled(&mut self, now: Now, text: &str, emit: &mut Emit<'_>) -> Command {
        match self.state {
            State::LogonSent { .. }
            | State::Synchronizing { .. }
            | State::Active
            | State::LogoutSent { .. } => self.drop_connection(now, DisconnectCause::Garbled, text, emit),
            _ => Command::None,
        }
    }

    /// One inbound message.
    pub fn on_message<'m>(
        &mut self,
        now: Now,
        m: Message<'m>,
        out: &mut Vec<u8>,
        emit: &mut Emit<'_>,
    ) -> Command {
        if m.get(tags::SENDER_COMP_ID) != Some(self.p.target.as_bytes())
            || m.get(tags::TARGET_COMP_ID) != Some(self.p.sender.as_bytes())
        {
            return self.fatal(
                now,
                out,
                "CompID problem: SenderCompID/TargetCompID do not name this session",
                emit,
            );
        }
        let Some(seq) = m.seq_num() else {
            return self.fatal(now, out, "MsgSeqNum (34) missing", emit);
        };
        self.last_recv_ns = now.mono_ns;
        match self.state {
            State::LogonSent { .. } => self.on_logon_answer(now, m, seq, out, emit),
            State::Synchronizing { .. } | State::Active | State::LogoutSent { .. } => {
                self.in_session(now, m, seq, out, emit)
            }
            // No connection is up in the other states: bytes from a closed one are ignored.
            _ => Command::None,
        }
    }

    fn on_logon_answer(
        &mut self,
        now: Now,
        m: Message<'_>,
        seq: u64,
        out: &mut Vec<u8>,
        emit: &mut Emit<'_>,
    ) -> Command {
        let t = m.msg_type();
        if t != msg::LOGON {
            let retry_in_ns = self.retry_later(now);
            let text =
                if t == msg::LOGOUT { m.get_str(tags::TEXT) } else { "the first message was not a Logon" };
            let text = if text.is_empty() { "Logout without Text (58)" } else { text };
            emit(Output::Event(ExchangeEvent::LogonRefused { text, retry_in_ns }));
            return Command::Disconnect;
        }
        if m.flag(tags::RESET_SEQ_NUM_FLAG) {
            self.next_in = 1;
        }
        if seq < self.next_in {
            self.scratch.clear();
            use std::fmt::Write;
            let _ = write!(self.scratch, "MsgSeqNum too low, expecting {} but received {seq}", self.next_in);
            let text = std::mem::take(&mut self.scratch);
            let _ = self.admin(out, now, msg::LOGOUT, |w| {
                w.str(tags::TEXT, text.as_bytes());
            });
            let retry_in_ns = self.retry_later(now);
            emit(Output::Event(ExchangeEvent::LogonRefused { text: &text, retry_in_ns }));
            self.scratch = text;
            return Command::Disconnect;
        }
        self.reset_next_logon = false;
        self.backoff_ns = self.p.reconnect_min_ns;
        self.test_request = None;
        let gap = seq > self.next_in;
        if !gap {
            self.next_in += 1;
        }
        if self.logon_seq > 1 {
            // Our Logon continues earlier numbers the counterparty may have lost (module docs).
            let cmd = self.synchronize(now, now.mono_ns, out, emit);
            if cmd != Command::None {
                return cmd;
            }
        } else {
            self.in_sync(emit);
        }
        if gap {
            return self.request_resend(now, seq, out, emit);
        }
        Command::None
    }

    fn in_session<'m>(
        &mut self,
        now: Now,
        m: Message<'m>,
        seq: u64,
        out: &mut Vec<u8>,
        emit: &mut Emit<'_>,
    ) -> Command {
        let t = m.msg_type();
        if t == msg::SEQUENCE_RESET && !m.flag(tags::GAP_FILL_FLAG) {
            return self.sequence_reset(now, m, seq, out, emit);
        }
        if seq < self.next_in {
            if m.flag(tags::POSS_DUP_FLAG) {
                return Command::None;
            }
            self.scratch.clear();
            use std::fmt::Write;
            let _ = write!(self.scratch, "MsgSeqNum too low, expecting {} but received {seq}", self.next_in);
            let text = std::mem::take(&mut self.scratch);
            let cmd = self.fatal(now, out, &text, emit);
            self.scratch = text;
            return cmd;
        }
        if seq > self.next_in {
            // Messages past a gap are dropped (they come again), except those that must act now.
            // A Heartbeat answering our TestRequest counts: what the counterparty sent before it
            // on this connection has arrived, and it will not be sent again (a resend gap-fills
            // Heartbeats).
            if t == msg::RESEND_REQUEST {
                let cmd = self.answer_resend(now, m, out, emit);
                if cmd != Command::None {
                    return cmd;
                }
            } else if t == msg::LOGOUT {
                return self.on_logout(now, m, out, emit);
            } else if t == msg::HEARTBEAT {
                self.on_heartbeat(m, emit);
            }
            return self.request_resend(now, seq, out, emit);
        }
        self.next_in += 1;
        if self.resend_until.is_some_and(|u| self.next_in > u) {
            self.resend_until = None;
        }
        match t {
            msg::HEARTBEAT => self.on_heartbeat(m, emit),
            msg::TEST_REQUEST => {
                // A TestRequest without its TestReqID still gets a Heartbeat, without the field
                // (an empty `112=` is not FIX).
                let id = m.get(tags::TEST_REQ_ID);
                if self
                    .admin(out, now, msg::HEARTBEAT, |w| {
                        if let Some(id) = id {
                            w.str(tags::TEST_REQ_ID, id);
                        }
                    })
                    .is_err()
                {
                    return self.drop_connection(
                        now,
                        DisconnectCause::Backlog,
                        "no room for a Heartbeat",
                        emit,
                    );
                }
            }
            msg::RESEND_REQUEST => return self.answer_resend(now, m, out, emit),
            msg::REJECT => emit(Output::Reject {
                ref_seq: m.get_u64(tags::REF_SEQ_NUM).unwrap_or(0),
                reason: m
                    .get_u64(tags::SESSION_REJECT_REASON)
                    .map_or(0, |r| r.min(u64::from(u32::MAX)) as u32),
                text: m.get_str(tags::TEXT),
            }),
            msg::SEQUENCE_RESET => return self.sequence_reset(now, m, seq, out, emit),
            msg::LOGOUT => return self.on_logout(now, m, out, emit),
            msg::LOGON => emit(Output::Event(ExchangeEvent::Unhandled {
                msg_type: "A",
                seq,
                reason: "a Logon inside a logged-on session",
            })),
            _ => emit(Output::App(m)),
        }
        Command::None
    }

    /// SequenceReset (4): gap fill (in sequence, already counted) or reset (any number).
    fn sequence_reset(
        &mut self,
        now: Now,
        m: Message<'_>,
        seq: u64,
        out: &mut Vec<u8>,
        emit: &mut Emit<'_>,
    ) -> Command {
        let gap_fill = m.flag(tags::GAP_FILL_FLAG);
        let Some(new_seq) = m.get_u64(tags::NEW_SEQ_NO) else {
            return self.fatal(now, out, "SequenceReset without NewSeqNo (36)", emit);
        };
        // A gap fill was counted as one message already: it moves `next_in` from seq + 1.
        let current = if gap_fill { seq + 1 } else { self.next_in };
        if new_seq < current {
            // Going backwards is refused (session Reject, reason 5: value incorrect).
            let sent = self.admin(out, now, msg::REJECT, |w| {
                w.uint(tags::REF_SEQ_NUM, seq)
                    .uint(tags::SESSION_REJECT_REASON, 5)
                    .str(tags::TEXT, b"NewSeqNo too low");
            });
            if sent.is_err() {
                return self.drop_connection(now, DisconnectCause::Backlog, "no room for a Reject", emit);
            }
            return Command::None;
        }
        self.next_in = new_seq;
        if self.resend_until.is_some_and(|u| self.next_in > u) {
            self.resend_until = None;
        }
        emit(Output::Event(ExchangeEvent::SequenceReset { new_seq }));
        Command::None
    }

    fn request_resend(&mut self, now: Now, seq: u64, out: &mut Vec<u8>, emit: &mut Emit<'_>) -> Command {
        if let Some(u) = self.resend_until {
            self.resend_until = Some(u.max(seq));
            return Command::None;
        }
        let begin = self.next_in;
        if self
            .admin(out, now, msg::RESEND_REQUEST, |w| {
                w.uint(tags::BEGIN_SEQ_NO, begin).uint(tags::END_SEQ_NO, 0);
            })
            .is_err()
        {
            return self.drop_connection(now, DisconnectCause::Backlog, "no room for a ResendRequest", emit);
        }
        self.resend_until = Some(seq);
        emit(Output::Event(ExchangeEvent::ResendRequested { begin, end: 0 }));
        Command::None
    }

    /// A Heartbeat: the answer to our TestRequest if it carries its TestReqID; while
    /// synchronizing, that answer puts the session in sync.
    fn on_heartbeat(&mut self, m: Message<'_>, emit: &mut Emit<'_>) {
        if self.test_request.is_none() || m.get_u64(tags::TEST_REQ_ID) != self.test_request {
            return;
        }
        self.test_request = None;
        if let State::Synchronizing { .. } = self.state {
            self.in_sync(emit);
        }
    }

    /// Answers a ResendRequest with one gap fill over the range (see the module docs). While
    /// synchronizing, a fill over our TestRequest replaces it: a new one follows the fill.
    fn answer_resend(&mut self, now: Now, m: Message<'_>, out: &mut Vec<u8>, emit: &mut Emit<'_>) -> Command {
        let begin = m.get_u64(tags::BEGIN_SEQ_NO).unwrap_or(1).max(1);
        let end = m.get_u64(tags::END_SEQ_NO).unwrap_or(0);
        let new_seq = if end == 0 || end >= self.next_out { self.next_out } else { end + 1 };
        if begin >= new_seq {
            // Nothing of ours in that range (we have not sent it yet).
            return Command::None;
        }
        let sent = self.write(out, now, msg::SEQUENCE_RESET, begin, |w, _| {
            w.char(tags::POSS_DUP_FLAG, b'Y')
                .timestamp(tags::ORIG_SENDING_TIME, now.wall_ns)
                .char(tags::GAP_FILL_FLAG, b'Y')
                .uint(tags::NEW_SEQ_NO, new_seq);
        });
        if sent.is_ok() {
            self.last_sent_ns = now.mono_ns;
            emit(Output::Event(ExchangeEvent::GapFilled { begin, new_seq }));
            if let State::Synchronizing { since, test_seq } = self.state
                && (begin..new_seq).contains(&test_seq)
            {
                return self.synchronize(now, since, out, emit);
            }
        }
        Command::None
    }

    fn on_logout(&mut self, now: Now, m: Message<'_>, out: &mut Vec<u8>, emit: &mut Emit<'_>) -> Command {
        let text = m.get_str(tags::TEXT);
        if let State::LogoutSent { .. } = self.state {
            self.logged_out(now);
            emit(Output::Event(ExchangeEvent::LoggedOut { text }));
            return Command::Disconnect;
        }
        // The counterparty ends the session inside the window: answer, then try again later.
        let _ = self.admin(out, now, msg::LOGOUT, |_| {});
        let retry_in_ns = self.retry_later(now);
        emit(Output::Event(ExchangeEvent::Disconnected {
            cause: DisconnectCause::PeerLogout,
            text,
            retry_in_ns,
        }));
        Command::Disconnect
    }

    /// A broken session rule: Logout with the reason, report, disconnect, retry later.
    fn fatal(&mut self, now: Now, out: &mut Vec<u8>, text: &str, emit: &mut Emit<'_>) -> Command {
        if matches!(
            self.state,
            State::Active | State::Synchronizing { .. } | State::LogoutSent { .. } | State::LogonSent { .. }
        ) {
            let _ = self.admin(out, now, msg::LOGOUT, |w| {
                w.str(tags::TEXT, text.as_bytes());
            });
        }
        self.drop_connection(now, DisconnectCause::Protocol, text, emit)
    }
}
