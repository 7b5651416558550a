#!/usr/bin/env python3
"""A QuickFIX 4.4 acceptor to trade against: the counterparty of the OMS's FIX session.

It checks the Logon's Username (553) / Password (554), answers every NewOrderSingle (D) with an
ExecutionReport (New, or Rejected when OrderQty is above --max-qty), fills orders on the symbol
FILL right after accepting them, and answers orders on the symbol BMR with a
BusinessMessageReject. With --resend-delay-ms it holds each ResendRequest it sends for that long
(a counterparty whose ResendRequest arrives after what the initiator sent next). Commands on
standard input drive the session-level cases, when standard input is not a terminal (a pipe, as
the tests drive it):

    gap            skip one outbound MsgSeqNum (the next message leaves a gap)
    testrequest    send a TestRequest
    resend N       send a ResendRequest for everything from N
    logout TEXT    log the session out with a Text
    quit           stop

On a terminal it reads nothing (a background job of an interactive shell that read it would be
stopped, SIGTTIN): it serves until it is killed (Ctrl-C, SIGTERM), as it does once a piped
standard input ends.

Every line it prints starts with a word the tests wait for (READY, LOGON, REFUSED, LOGOUT,
IN, OUT, ORDER, ERROR; --quiet leaves out IN, OUT and ORDER); the password is printed as ***.

Setup: .ci/quickfix-setup (a venv under target/quickfix-venv with quickfix-ssl; the FIX tests and
`cargo run --release --example harness -- --exchange fix` run it themselves), then
    target/quickfix-venv/bin/python examples/fix_acceptor.py --port 9878 --store target/fix-acceptor &
An exception raised inside a QuickFIX callback aborts the process, so every callback catches its
own, and a logon is refused by turning the Logon answer into a Logout with a Text, then
disconnecting.
"""

import argparse
import os
import signal
import string
import sys
import threading
import time

import quickfix as fix

SOH = "\x01"


def masked(message):
    fields = message.toString().split(SOH)
    return "|".join("554=***" if f.startswith("554=") else f for f in fields if f)


QUIET = False


def say(*words):
    if QUIET and words[0] in ("IN", "OUT", "ORDER"):
        return
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def field(message, tag, default=""):
    try:
        return message.getField(tag)
    except Exception:  # noqa: BLE001 - quickfix raises FieldNotFound
        return default


def header_field(message, tag, default=""):
    try:
        return message.getHeader().getField(tag)
    except Exception:  # noqa: BLE001
        return default


class Acceptor(fix.Application):
    def __init__(self, args):
        super().__init__()
        self.args = args
        self.refused = {}
        self.exec_id = 0
        self.lock = threading.Lock()

    # Every callback catches everything: an exception escaping into QuickFIX aborts the process.
    def onCreate(self, session_id):
        pass

    def onLogon(self, session_id):
        try:
            if session_id.toString() not in self.refused:
                say("LOGON", session_id.toString())
        except Exception as e:  # noqa: BLE001
            say("ERROR", "onLogon", e)

    def onLogout(self, session_id):
        try:
            self.refused.pop(session_id.toString(), None)
            say("LOGOUT", session_id.toString())
        except Exception as e:  # noqa: BLE001
            say("ERROR", "onLogout", e)

    def fromAdmin(self, message, session_id):
        try:
            msg_type = header_field(message, 35)
            say("IN", msg_type, masked(message))
            if msg_type == "A":
                user, password = field(message, 553), field(message, 554)
                if (user, password) != (self.args.username, self.args.password):
                    self.refused[session_id.toString()] = "unknown username or wrong password"
        except Exception as e:  # noqa: BLE001
            say("ERROR", "fromAdmin", e)

    def toAdmin(self, message, session_id):
        try:
            msg_type = header_field(message, 35)
            text = self.refused.get(session_id.toString())
            if msg_type == "A" and text is not None:
                # Refuse: the Logon answer becomes a Logout with the reason, then disconnect.
                message.getHeader().setField(fix.StringField(35, "5"))
                for tag in (98, 108, 141):
                    message.removeField(tag)
                message.setField(fix.StringField(58, text))
                say("REFUSED", text)
                threading.Timer(0.2, self.disconnect, args=(session_id,)).start()
                msg_type = "5"
            say("OUT", msg_type, masked(message))
            if msg_type == "2" and self.args.resend_delay_ms > 0:
                # Called before QuickFIX writes the message: the ResendRequest leaves this much later.
                time.sleep(self.args.resend_delay_ms / 1000)
        except Exception as e:  # noqa: BLE001
            say("ERROR", "toAdmin", e)

    def disconnect(self, session_id):
        try:
            session = fix.Session.lookupSession(session_id)
            if session is not None:
                session.disconnect()
        except Exception as e:  # noqa: BLE001
            say("ERROR", "disconnect", e)

    def toApp(self, message, session_id):
        try:
            say("OUT", header_field(message, 35), masked(message))
        except Exception as e:  # noqa: BLE001
            say("ERROR", "toApp", e)

    def fromApp(self, message, session_id):
        try:
            msg_type = header_field(message, 35)
            say("IN", msg_type, masked(message))
            if msg_type == "D":
                self.on_order(message, session_id)
        except Exception as e:  # noqa: BLE001
            say("ERROR", "fromApp", e)

    def on_order(self, order, session_id):
        cl_ord_id = field(order, 11)
        symbol = field(order, 55)
        qty = float(field(order, 38, "0"))
        price = field(order, 44, "0")
        say("ORDER", cl_ord_id, symbol, field(order, 54), field(order, 38), price, header_field(order, 34))
        if symbol == "BMR":
            reject = fix.Message()
            reject.getHeader().setField(fix.StringField(35, "j"))
            reject.setField(fix.StringField(45, header_field(order, 34)))
            reject.setField(fix.StringField(372, "D"))
            reject.setField(fix.StringField(379, cl_ord_id))
            reject.setField(fix.StringField(380, "2"))
            reject.setField(fix.StringField(58, "unknown security " + symbol))
            fix.Session.sendToTarget(reject, session_id)
            return
        if qty > self.args.max_qty:
            self.report(order, session_id, "8", "8", 0, "0", text="quantity above the limit")
            return
        self.report(order, session_id, "0", "0", 0, "0")
        if symbol == "FILL":
            self.report(order, session_id, "F", "2", qty, price)

    def report(self, order, session_id, exec_type, status, last_qty, last_px, text=None):
        with self.lock:
            self.exec_id += 1
            exec_id = self.exec_id
        er = fix.Message()
        er.getHeader().setField(fix.StringField(35, "8"))
        values = [
            (37, "O" + field(order, 11)),
            (17, "E%d" % exec_id),
            (150, exec_type),
            (39, status),
            (55, field(order, 55)),
            (54, field(order, 54)),
            (11, field(order, 11)),
            (38, field(order, 38)),
            (44, field(order, 44, "0")),
            (151, "0" if status in ("2", "8") else field(order, 38)),
            (14, "%g" % last_qty),
            (6, last_px if last_qty else "0"),
        ]
        if last_qty:
            values += [(32, "%g" % last_qty), (31, last_px)]
        if text:
            values.append((58, text))
        for tag, value in values:
            er.setField(fix.StringField(tag, str(value)))
        fix.Session.sendToTarget(er, session_id)


def admin(msg_type, fields, session_id):
    m = fix.Message()
    m.getHeader().setField(fix.StringField(35, msg_type))
    for tag, value in fields:
        m.setField(fix.StringField(tag, str(value)))
    fix.Session.sendToTarget(m, session_id)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--store", required=True, help="directory for QuickFIX's store and logs")
    ap.add_argument("--config", default=os.path.join(here, "fix_acceptor.cfg"))
    ap.add_argument("--username", default="trader")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--max-qty", type=float, default=1_000_000)
    ap.add_argument("--resend-delay-ms", type=int, default=0,
                    help="hold each ResendRequest this long before it is sent")
    ap.add_argument("--quiet", action="store_true", help="print no line per message (benchmarks)")
    args = ap.parse_args()
    global QUIET
    QUIET = args.quiet

    dictionary = os.path.join(sys.prefix, "share", "quickfix", "FIX44.xml")
    if not os.path.exists(dictionary):
        sys.exit("no %s: run .ci/quickfix-setup and use target/quickfix-venv/bin/python" % dictionary)
    os.makedirs(args.store, exist_ok=True)
    with open(args.config) as f:
        text = string.Template(f.read()).substitute(
            port=args.port, store=os.path.join(args.store, "store"), log=os.path.join(args.store, "log"),
            dictionary=dictionary)
    # The settings QuickFIX reads, in the store directory (a killed acceptor leaves nothing elsewhere).
    cfg = os.path.join(args.store, "acceptor.cfg")
    with open(cfg, "w") as f:
        f.write(text)

    settings = fix.SessionSettings(cfg)
    app = Acceptor(args)
    acceptor = fix.SocketAcceptor(app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings))
    acceptor.start()
    session_id = fix.SessionID("FIX.4.4", "EXCH", "OMS")
    say("READY", args.port)
    # SIGTERM (`kill`) stops it as Ctrl-C does: QuickFIX's store and logs closed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        if sys.stdin is None or sys.stdin.isatty() or not commands(session_id):
            # No commands to read (a terminal), or standard input closed: serve until killed.
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        acceptor.stop()


def commands(session_id):
    """Runs the commands read from standard input; True if one was `quit`."""
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            session = fix.Session.lookupSession(session_id)
            if words[0] == "quit":
                return True
            elif words[0] == "gap":
                nxt = session.getExpectedSenderNum()
                session.setNextSenderMsgSeqNum(nxt + 1)
                say("GAP", nxt)
            elif words[0] == "testrequest":
                admin("1", [(112, "ACCEPTOR-%d" % int(time.time()))], session_id)
            elif words[0] == "resend":
                admin("2", [(7, words[1]), (16, 0)], session_id)
            elif words[0] == "logout":
                session.logout(" ".join(words[1:]))
            else:
                say("ERROR", "unknown command", words[0])
        except Exception as e:  # noqa: BLE001
            say("ERROR", words[0], e)
    return False


if __name__ == "__main__":
    main()
