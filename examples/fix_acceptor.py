#!/usr/bin/env python3
"""A QuickFIX 4.4 acceptor to trade against: the counterparty of the OMS's FIX session.

It checks the Logon's Username (553) / Password (554), answers every NewOrderSingle (D) with an
ExecutionReport (New, or Rejected when OrderQty is above --max-qty or the ClOrdID was seen
before), and keeps each accepted order working until it is filled, cancelled or done for the
day. Orders on the symbol FILL are filled right after they are accepted, in --fill-parts parts
(default 1: in full), --fill-delay-ms apart (default 0); orders on the symbol BMR are answered
with a BusinessMessageReject; orders on any other symbol stay working until a command fills them.

An OrderCancelRequest (F) cancels the order whose live ClOrdID is its OrigClOrdID (41):
ExecutionReport ExecType 4, or an OrderCancelReject (9) when that order is already filled,
cancelled or done (CxlRejReason 0, too late: a cancel that lost the race to a fill), unknown (1)
or the request's ClOrdID was seen before (6). An OrderCancelReplaceRequest (G) replaces it:
ExecutionReport ExecType 5 with the new quantity and price (its ClOrdID is the order's live one
from then on), or an OrderCancelReject for the same reasons, or when the new quantity is at or
below what is filled (99). With --pending-acks a cancel or replace is first acknowledged
ExecType 6 / E (pending). Every ClOrdID is checked against all those seen since the acceptor
started: a duplicate is turned down, as a venue does.

With --resend-delay-ms it holds each ResendRequest it sends for that long (a counterparty whose
ResendRequest arrives after what the initiator sent next). Commands on standard input drive the
rest, when standard input is not a terminal (a pipe, as the tests drive it):

    fill ID QTY    fill QTY of order ID (its OMS order id) at its price
    cancel ID      cancel order ID on the venue's own account (unsolicited: ExecType 4)
    done ID|all    done for the day: ExecType 3 for order ID, or for every working order
    gap            skip one outbound MsgSeqNum (the next message leaves a gap)
    testrequest    send a TestRequest
    resend N       send a ResendRequest for everything from N
    logout TEXT    log the session out with a Text
    quit           stop

On a terminal it reads nothing (a background job of an interactive shell that read it would be
stopped, SIGTTIN): it serves until it is killed (Ctrl-C, SIGTERM), as it does once a piped
standard input ends.

Every line it prints starts with a word the tests wait for (READY, LOGON, REFUSED, LOGOUT,
IN, OUT, ORDER, CANCEL, REPLACE, FILL, DONE, ERROR; --quiet leaves out IN, OUT, ORDER, CANCEL,
REPLACE, FILL and DONE); the password is printed as ***.

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
import socket
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
    if QUIET and words[0] in ("IN", "OUT", "ORDER", "CANCEL", "REPLACE", "FILL", "DONE"):
        return
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def field(message, tag, default=""):
    try:
        return message.getField(tag)
    except Exception:  # noqa: BLE001 - quickfix raises FieldNotFound
        return default


def num(x):
    """A quantity as FIX writes it: whole numbers without a point."""
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


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
        # Orders by their OMS order id (the ClOrdID of the New), every ClOrdID seen, the live
        # ClOrdID of each open order; guarded by the lock (fills on a timer run on other threads).
        self.orders = {}
        self.seen = set()
        self.live = {}
        self.lock = threading.RLock()

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
            with self.lock:
                if msg_type == "D":
                    self.on_order(message, session_id)
                elif msg_type == "F":
                    self.on_cancel(message, session_id)
                elif msg_type == "G":
                    self.on_replace(message, session_id)
        except Exception as e:  # noqa: BLE001
            say("ERROR", "fromApp", e)

    def on_order(self, msg, session_id):
        cl_ord_id = field(msg, 11)
        symbol = field(msg, 55)
        qty = float(field(msg, 38, "0"))
        price = field(msg, 44, "0")
        say("ORDER", cl_ord_id, symbol, field(msg, 54), field(msg, 38), price, header_field(msg, 34))
        if symbol == "BMR":
            reject = fix.Message()
            reject.getHeader().setField(fix.StringField(35, "j"))
            reject.setField(fix.StringField(45, header_field(msg, 34)))
            reject.setField(fix.StringField(372, "D"))
            reject.setField(fix.StringField(379, cl_ord_id))
            reject.setField(fix.StringField(380, "2"))
            reject.setField(fix.StringField(58, "unknown security " + symbol))
            fix.Session.sendToTarget(reject, session_id)
            return
        order = {"id": cl_ord_id, "cl": cl_ord_id, "symbol": symbol, "side": field(msg, 54), "qty": qty,
                 "price": price, "cum": 0.0, "notional": 0.0, "status": "0"}
        duplicate = cl_ord_id in self.seen
        self.seen.add(cl_ord_id)
        if duplicate or qty > self.args.max_qty:
            order["status"] = "8"
            text = "duplicate ClOrdID" if duplicate else "quantity above the limit"
            self.report(order, session_id, "8", text=text)
            return
        self.orders[cl_ord_id] = order
        self.live[cl_ord_id] = order
        self.report(order, session_id, "0")
        if symbol == "FILL":
            self.fill_in_parts(order, session_id)

    def fill_in_parts(self, order, session_id):
        parts = max(1, self.args.fill_parts)
        left = order["qty"]
        sizes = []
        for i in range(parts):
            size = left if i == parts - 1 else max(1.0, float(int(order["qty"] / parts)))
            size = min(size, left)
            if size > 0:
                sizes.append(size)
                left -= size
        if self.args.fill_delay_ms <= 0:
            for size in sizes:
                self.fill(order, size, session_id)
            return
        for i, size in enumerate(sizes):
            delay = self.args.fill_delay_ms * (i + 1) / 1000
            threading.Timer(delay, self.fill_later, args=(order, size, session_id)).start()

    def fill_later(self, order, size, session_id):
        try:
            with self.lock:
                self.fill(order, size, session_id)
        except Exception as e:  # noqa: BLE001
            say("ERROR", "fill", e)

    def fill(self, order, size, session_id):
        """Fills `size` of an open order (no more than is left) at its price."""
        if order["status"] not in ("0", "1"):
            return
        size = min(size, order["qty"] - order["cum"])
        if size <= 0:
            return
        px = float(order["price"])
        order["cum"] += size
        order["notional"] += size * px
        order["status"] = "2" if order["cum"] >= order["qty"] else "1"
        if order["status"] == "2":
            self.live.pop(order["cl"], None)
        self.report(order, session_id, "F", last_qty=size, last_px=order["price"])
        say("FILL", order["cl"], num(size), order["price"], num(order["cum"]), num(self.leaves(order)))

    def request(self, msg, session_id, kind):
        """The order an OrderCancelRequest or OrderCancelReplaceRequest is about, or None when it
        was answered with an OrderCancelReject."""
        cl_ord_id, orig = field(msg, 11), field(msg, 41)
        order = self.live.get(orig)
        duplicate = cl_ord_id in self.seen
        self.seen.add(cl_ord_id)
        if duplicate:
            reason, text = "6", "duplicate ClOrdID"
        elif order is None:
            known = any(o["cl"] == orig or o["id"] == orig for o in self.orders.values())
            reason, text = ("0", "too late: the order is no longer open") if known else ("1", "unknown order")
        else:
            return order
        self.cancel_reject(msg, session_id, kind, reason, text)
        return None

    def on_cancel(self, msg, session_id):
        order = self.request(msg, session_id, "1")
        if order is None:
            say("CANCEL", field(msg, 11), field(msg, 41), "rejected")
            return
        if self.args.pending_acks:
            self.report(order, session_id, "6", status="6", orig=order["cl"], cl=field(msg, 11))
        orig = order["cl"]
        self.close(order, "4")
        order["cl"] = field(msg, 11)
        self.report(order, session_id, "4", orig=orig)
        say("CANCEL", field(msg, 11), orig, "canceled")

    def on_replace(self, msg, session_id):
        order = self.request(msg, session_id, "2")
        if order is None:
            say("REPLACE", field(msg, 11), field(msg, 41), "rejected")
            return
        qty = float(field(msg, 38, "0"))
        if qty <= order["cum"] or qty > self.args.max_qty:
            text = "new quantity at or below the filled quantity" if qty <= order["cum"] else "quantity above the limit"
            self.cancel_reject(msg, session_id, "2", "99", text, order)
            say("REPLACE", field(msg, 11), field(msg, 41), "rejected")
            return
        orig = order["cl"]
        if self.args.pending_acks:
            self.report(order, session_id, "E", status="E", orig=orig, cl=field(msg, 11))
        self.live.pop(orig, None)
        order["cl"] = field(msg, 11)
        order["qty"] = qty
        order["price"] = field(msg, 44, order["price"])
        self.live[order["cl"]] = order
        self.report(order, session_id, "5", orig=orig)
        say("REPLACE", order["cl"], orig, num(qty), order["price"], "replaced")

    def close(self, order, status):
        order["status"] = status
        self.live.pop(order["cl"], None)

    def cancel_reject(self, msg, session_id, response_to, reason, text, order=None):
        m = fix.Message()
        m.getHeader().setField(fix.StringField(35, "9"))
        status = order["status"] if order else "8"
        if order is None:
            known = [o for o in self.orders.values() if o["cl"] == field(msg, 41) or o["id"] == field(msg, 41)]
            status = known[0]["status"] if known else "8"
        for tag, value in [(37, "O" + field(msg, 41)), (11, field(msg, 11)), (41, field(msg, 41)),
                           (39, status), (434, response_to), (102, reason), (58, text)]:
            m.setField(fix.StringField(tag, str(value)))
        fix.Session.sendToTarget(m, session_id)

    def leaves(self, order):
        return 0 if order["status"] not in ("0", "1", "6", "E") else order["qty"] - order["cum"]

    def report(self, order, session_id, exec_type, status=None, last_qty=0, last_px="0", text=None, orig=None,
               cl=None):
        self.exec_id += 1
        status = order["status"] if status is None else status
        avg = order["notional"] / order["cum"] if order["cum"] else 0
        er = fix.Message()
        er.getHeader().setField(fix.StringField(35, "8"))
        values = [
            (37, "O" + order["id"]),
            (17, "E%d" % self.exec_id),
            (150, exec_type),
            (39, status),
            (55, order["symbol"]),
            (54, order["side"]),
            (11, cl or order["cl"]),
            (38, num(order["qty"])),
            (44, order["price"]),
            (151, num(self.leaves(order))),
            (14, num(order["cum"])),
            (6, "%.10g" % avg),
        ]
        if orig:
            values.append((41, orig))
        if last_qty:
            values += [(32, num(last_qty)), (31, last_px)]
        if text:
            values.append((58, text))
        for tag, value in values:
            er.setField(fix.StringField(tag, str(value)))
        fix.Session.sendToTarget(er, session_id)

    def command(self, words, session_id):
        """An order command from standard input (fill, cancel, done); False if it is none."""
        with self.lock:
            if words[0] == "fill":
                order = self.orders.get(words[1])
                if order is None or order["status"] not in ("0", "1"):
                    say("ERROR", "fill", words[1], "is not a working order")
                else:
                    self.fill(order, float(words[2]), session_id)
            elif words[0] == "cancel":
                order = self.orders.get(words[1])
                if order is None or order["status"] not in ("0", "1"):
                    say("ERROR", "cancel", words[1], "is not a working order")
                else:
                    self.close(order, "4")
                    self.report(order, session_id, "4")
                    say("CANCEL", order["cl"], order["cl"], "unsolicited")
            elif words[0] == "done":
                ids = [o["id"] for o in self.orders.values() if o["status"] in ("0", "1")] \
                    if words[1] == "all" else [words[1]]
                for i in ids:
                    order = self.orders.get(i)
                    if order is None or order["status"] not in ("0", "1"):
                        say("ERROR", "done", i, "is not a working order")
                        continue
                    self.close(order, "3")
                    self.report(order, session_id, "3")
                    say("DONE", order["cl"])
            else:
                return False
            return True


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
    ap.add_argument("--fill-parts", type=int, default=1,
                    help="fill each order on the symbol FILL in this many parts (default 1: in full)")
    ap.add_argument("--fill-delay-ms", type=int, default=0,
                    help="wait this long before each part of a FILL order's fill (default 0: at once)")
    ap.add_argument("--pending-acks", action="store_true",
                    help="acknowledge each cancel / replace with ExecType 6 / E before carrying it out")
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

    wait_for_port(args.port)
    settings = fix.SessionSettings(cfg)
    app = Acceptor(args)
    acceptor = fix.SocketAcceptor(app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings))
    acceptor.start()
    session_id = fix.SessionID("FIX.4.4", "EXCH", "OMS")
    say("READY", args.port)
    # SIGTERM (`kill`) stops it as Ctrl-C does: QuickFIX's store and logs closed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        if sys.stdin is None or sys.stdin.isatty() or not commands(app, session_id):
            # No commands to read (a terminal), or standard input closed: serve until killed.
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        acceptor.stop()


def wait_for_port(port, seconds=10.0):
    """Waits until PORT can be listened on, as QuickFIX will (SO_REUSEADDR): an acceptor just
    killed on it may still be closing. QuickFIX aborts the process on a port in use, so this says
    why instead, after SECONDS."""
    deadline = time.monotonic() + seconds
    while True:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", port))
            probe.listen(1)
            return
        except OSError as e:
            if time.monotonic() >= deadline:
                sys.exit("fix_acceptor: cannot listen on port %d: %s (another acceptor still running?)"
                         % (port, e.strerror))
        finally:
            probe.close()
        time.sleep(0.1)


def commands(app, session_id):
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
            elif app.command(words, session_id):
                pass
            else:
                say("ERROR", "unknown command", words[0])
        except Exception as e:  # noqa: BLE001
            say("ERROR", words[0], e)
    return False


if __name__ == "__main__":
    main()
