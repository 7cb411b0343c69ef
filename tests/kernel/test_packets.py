from __future__ import annotations

import struct

from sggit.kernel.packets import _checksum, arp_frame, icmp_echo, parse_arp_reply, parse_icmp_echo_reply


def test_arp_reply_round_trips() -> None:
    frame = arp_frame(op=2, src_mac="02:00:00:00:00:01", src_ip="10.0.0.1", dst_mac="02:00:00:00:00:02", dst_ip="10.0.0.2")
    assert len(frame) == 42
    assert parse_arp_reply(frame) == {
        "src_mac": "02:00:00:00:00:01", "src_ip": "10.0.0.1", "dst_mac": "02:00:00:00:00:02", "dst_ip": "10.0.0.2",
    }


def test_gratuitous_arp_is_a_broadcast_request_for_our_own_ip() -> None:
    frame = arp_frame(op=1, src_mac="02:00:00:00:00:01", src_ip="10.0.0.1", dst_mac="ff:ff:ff:ff:ff:ff", dst_ip="10.0.0.1")
    assert frame[:6] == b"\xff" * 6
    assert parse_arp_reply(frame) is None  # a request, not a reply
    assert frame[28:32] == frame[38:42]


def test_icmp_echo_checksum_verifies_and_reply_parses() -> None:
    packet = icmp_echo(0x1234, 7)
    assert _checksum(packet) == 0
    reply = b"\x00" + packet[1:]
    ip_header = bytes([0x45]) + b"\x00" * 19
    assert parse_icmp_echo_reply(ip_header + reply) == (0x1234, 7)
    assert parse_icmp_echo_reply(ip_header + packet) is None
    assert struct.unpack("!H", packet[4:6])[0] == 0x1234
