#!/usr/bin/env python3
"""A scriptable stand-in for node, for tests that need a misbehaving peer.

Used as a [node] command:
    python3 fakenode.py --port {port} --index {index} --mode MODE[,MODE...]

It speaks fanout's wire protocol (common/proto.h) like the real node:
readiness byte on $FANOUT_READY_FD, HELLO with $FANOUT_TOKEN, WELCOME,
one ACK per MSG. Modes change one behaviour each:
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
Python 3 standard library only.
"""
import argparse
import os
import select
import signal
import socket
import struct
import sys
import zlib

HEADER = struct.Struct(">IBBH")
VERSION = 1
HELLO, WELCOME, MSG, ACK, BYE = 1, 2, 3, 4, 5


def frame(ftype, body=b""):
    return HEADER.pack(len(body), VERSION, ftype, 0) + body


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(sock):
    head = read_exact(sock, HEADER.size)
    if head is None:
        return None, None
    length, _version, ftype, _ = HEADER.unpack(head)
    body = read_exact(sock, length)
    return ftype, body


def ack_for(seq, index, payload, modes):
    length, crc = len(payload), zlib.crc32(payload)
    if "bad-crc" in modes:
        crc ^= 1
    if "bad-len" in modes:
        length += 1
    if "unknown-seq" in modes:
        seq += 1000000
    return frame(ACK, struct.pack(">QIII", seq, index, length, crc))


def serve(conn, index, modes):
    """Ack messages until BYE or EOF; return the exit status."""
    while True:
        ftype, body = read_frame(conn)
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
            conn.sendall(HEADER.pack(20, 9, ACK, 0) + bytes(20))
            continue
        if "bad-type" in modes:
            conn.sendall(HEADER.pack(20, VERSION, 77, 0) + bytes(20))
            continue
        if "too-big" in modes:
            conn.sendall(HEADER.pack(16 << 20, VERSION, ACK, 0))
            continue
        if "cut-short" in modes:
            seq = struct.unpack(">Q", body[:8])[0]
            conn.sendall(ack_for(seq, index, body[8:], modes)[:14])
            conn.close()
            return 0
        seq = struct.unpack(">Q", body[:8])[0]
        conn.sendall(ack_for(seq, index, body[8:], modes))


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
        ftype, body = read_frame(conn)
        if ftype != HELLO or body != token:
            conn.close()
            continue
        welcome_index = args.index + ("welcome-wrong" in modes)
        conn.sendall(frame(WELCOME, struct.pack(">II", welcome_index,
                                                os.getpid())))
        status = serve(conn, args.index, modes)
        if "ignore-term" in modes:
            while True:
                select.select([], [], [])
        return status


if __name__ == "__main__":
    sys.exit(main())
