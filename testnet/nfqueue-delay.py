#!/usr/bin/env python3
"""Holds every packet of one netfilter queue for a fixed time, then lets it through.

The fallback of `chive testnet --netns --link-delay D --link-delay-method nfqueue` for
kernels built without the netem queueing discipline (CONFIG_NET_SCH_NETEM): inside a
node's network namespace an iptables rule sends every packet leaving its veth0 to queue
NUM (`-j NFQUEUE --queue-num NUM --queue-bypass`), and this program, started in the same
namespace, gives each queued packet an ACCEPT verdict DELAY_MS after it was queued. Packets
keep their order (one FIFO; the same delay for all), so the effect is netem's `delay D`
without jitter, loss or reordering.

    python3 nfqueue-delay.py --queue 0 --delay-ms 50

Speaks nfnetlink_queue directly over an AF_NETLINK socket (Python standard library
only; no libnetfilter_queue): bind the queue, copy packet metadata only (the payload is
not needed), read NFQNL_MSG_PACKET messages, answer NFQNL_MSG_VERDICT. Prints
`{"event":"listening","queue":NUM}` on stdout once bound (the launcher waits for it);
exits on SIGTERM / SIGINT. Needs CAP_NET_ADMIN in the namespace (root).

Not here: the iptables rule and starting this program (testnet/netns.ts), netem itself.
"""
import argparse
import heapq
import json
import os
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQNL_CFG_CMD_BIND = 1
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQNL_COPY_META = 1
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NF_ACCEPT = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
AF_UNSPEC = 0
AF_INET = 2
QUEUE_MAXLEN = 65536


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack('=HH', length, kind) + payload + b'\0' * ((4 - length % 4) % 4)


def message(msg_type, flags, seq, family, res_id, attrs):
    body = struct.pack('=BBH', family, 0, socket.htons(res_id)) + b''.join(attrs)
    return struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, seq, 0) + body


def request(sock, seq, msg_type, family, res_id, attrs):
    """Sends a request with NLM_F_ACK and raises when the kernel answers an error."""
    sock.send(message(msg_type, NLM_F_REQUEST | NLM_F_ACK, seq, family, res_id, attrs))
    data = sock.recv(65536)
    length, kind = struct.unpack_from('=IH', data, 0)
    if kind == NLMSG_ERROR:
        (error,) = struct.unpack_from('=i', data, 16)
        if error != 0:
            raise OSError(-error, os.strerror(-error))


def packet_ids(data):
    """The packet ids of the NFQNL_MSG_PACKET messages in one datagram."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from('=IH', data, offset)
        if length < 16:
            break
        if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            a = offset + 20
            end = offset + length
            while a + 4 <= end:
                alen, atype = struct.unpack_from('=HH', data, a)
                if alen < 4:
                    break
                if (atype & 0x7fff) == NFQA_PACKET_HDR:
                    (packet_id,) = struct.unpack_from('!I', data, a + 4)
                    yield packet_id
                a += (alen + 3) & ~3
        offset += (length + 3) & ~3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--queue', type=int, required=True)
    parser.add_argument('--delay-ms', type=float, required=True)
    args = parser.parse_args()
    delay = args.delay_ms / 1000.0

    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sock.bind((0, 0))
    request(sock, 1, NFQNL_MSG_CONFIG, AF_UNSPEC, args.queue,
            [attr(NFQA_CFG_CMD, struct.pack('!BxH', NFQNL_CFG_CMD_BIND, AF_INET))])
    request(sock, 2, NFQNL_MSG_CONFIG, AF_UNSPEC, args.queue,
            [attr(NFQA_CFG_PARAMS, struct.pack('!IB', 0, NFQNL_COPY_META) + b'\0\0\0'),
             attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack('!I', QUEUE_MAXLEN))])
    print(json.dumps({'event': 'listening', 'queue': args.queue}), flush=True)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    pending = []  # (release time, arrival order, packet id)
    order = 0
    seq = 3
    while not stopping:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, packet_id = heapq.heappop(pending)
            verdict = attr(NFQA_VERDICT_HDR, struct.pack('!II', NF_ACCEPT, packet_id))
            sock.send(message(NFQNL_MSG_VERDICT, NLM_F_REQUEST, seq, AF_UNSPEC, args.queue, [verdict]))
            seq += 1
        timeout = max(0.0, pending[0][0] - now) if pending else 0.5
        try:
            ready, _, _ = select.select([sock], [], [], timeout)
        except InterruptedError:
            continue
        if not ready:
            continue
        data = sock.recv(1 << 20)
        arrived = time.monotonic()
        for packet_id in packet_ids(data):
            heapq.heappush(pending, (arrived + delay, order, packet_id))
            order += 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
