#!/usr/bin/env python3
"""A scriptable stand-in for node, for tests that need a misbehaving peer.

Used as a [node] command:
    python3 fakenode.py --port {port} --index {index} --mode MODE[,MODE...]

It speaks fanout's wire protocol (common/proto.h, encoded and decoded by
tests/harness.py, which it imports) like the real node: readiness byte
on $FANOUT_READY_FD, HELLO with $FANOUT_TOKEN, WELCOME, one ACK per MSG.
Modes change one behaviour each:
    ignore-term     SIGTERM and BYE are ignored (only SIGKILL stops it)
    no-ready        never signals readiness and never listens
    crash-early     prints "fatal: crashed before ready" and exits 3
    bad-crc         acks with a wrong checksum
    bad-len         acks with a wrong length
    unknown-seq     acks a sequence number never sent
    garbage         answers the first message with bytes that are no frame
    bad-version     answers with a frame of protocol version 9
    bad-type        answers with a frame of type 77
    too-big         answers with a header announcing a 16 MiB body
    cut-short       answers with half an ack, then closes the connection
    welcome-wrong   its WELCOME names another index (index + 1)
    old-version     a node of protocol version 1: its WELCOME says so
    no-ack          reads every message and acks none
Python 3 standard library only.
"""
import argparse
import os
import select
import signal
import socket
import sys

from harness import (ACK, BYE, HELLO, MSG, WELCOME, WELCOME_BODY,
                     FrameError, ack_fields, ack_frame, frame, header,
                     read_frame, split_msg, welcome_frame)


def ack_for(seq, index, payload, modes):
    seq, index, length, crc = ack_fields(seq, index, payload)
    if "bad-crc" in modes:
        crc ^= 1
    if "bad-len" in modes:
        length += 1
    if "unknown-seq" in modes:
        seq += 1000000
    return ack_frame(seq, index, length, crc)


def serve(conn, index, modes):
    """Ack messages until BYE or EOF; return the exit status."""
    while True:
        try:
            ftype, body = read_frame(conn)
        except FrameError:
            return 1
        if ftype is None:
            return 0
        if ftype == BYE:
            if "ignore-term" in modes:
                continue
            return 0
        if ftype != MSG:
            return 1
        if "garbage" in modes:
            conn.sendall(b"\xde\xad\xbe\xef" * 8)
            continue
        if "bad-version" in modes:
            conn.sendall(frame(ACK, bytes(20), version=9))
            continue
        if "bad-type" in modes:
            conn.sendall(frame(77, bytes(20)))
            continue
        if "too-big" in modes:
            conn.sendall(header(ACK, 16 << 20))
            continue
        if "no-ack" in modes:
            continue
        seq, payload = split_msg(body)
        if "cut-short" in modes:
            conn.sendall(ack_for(seq, index, payload, modes)[:14])
            conn.close()
            return 0
        conn.sendall(ack_for(seq, index, payload, modes))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--index", type=int, default=0)
    ap.add_argument("--mode", default="")
    args = ap.parse_args()
    modes = set(filter(None, args.mode.split(",")))
    if "ignore-term" in modes:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if "crash-early" in modes:
        print("fatal: crashed before ready", file=sys.stderr, flush=True)
        return 3
    if "no-ready" in modes:
        while True:
            select.select([], [], [])
    token = bytes.fromhex(os.environ["FANOUT_TOKEN"])
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.host, args.port))
    lsock.listen(16)
    ready = os.environ.get("FANOUT_READY_FD")
    if ready:
        os.write(int(ready), b"R")
        os.close(int(ready))
    while True:
        conn, _ = lsock.accept()
        try:
            ftype, body = read_frame(conn)
        except FrameError:
            ftype = body = None
        if ftype != HELLO or body != token:
            conn.close()
            continue
        welcome_index = args.index + ("welcome-wrong" in modes)
        if "old-version" in modes:
            conn.sendall(frame(WELCOME, WELCOME_BODY.pack(args.index,
                                                          os.getpid()),
                               version=1))
            conn.close()
            continue
        conn.sendall(welcome_frame(welcome_index, os.getpid()))
        status = serve(conn, args.index, modes)
        if "ignore-term" in modes:
            while True:
                select.select([], [], [])
        return status


if __name__ == "__main__":
    sys.exit(main())
