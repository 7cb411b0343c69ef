"""Byte layouts of the few frames the netlink kernel sends itself: ARP and ICMP echo."""

from __future__ import annotations

import socket
import struct


def _mac_bytes(mac: str) -> bytes:
    return bytes(int(part, 16) for part in mac.split(":"))


def _mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def arp_frame(op: int, src_mac: str, src_ip: str, dst_mac: str, dst_ip: str) -> bytes:
    """An Ethernet frame carrying ARP; a gratuitous ARP is a request for our own IP."""
    eth = _mac_bytes(dst_mac) + _mac_bytes(src_mac) + struct.pack("!H", 0x0806)
    target_mac = b"\x00" * 6 if op == 1 else _mac_bytes(dst_mac)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, op)
    arp += _mac_bytes(src_mac) + socket.inet_aton(src_ip) + target_mac + socket.inet_aton(dst_ip)
    return eth + arp


def parse_arp_reply(frame: bytes) -> dict | None:
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return None
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
    if (htype, ptype, hlen, plen, op) != (1, 0x0800, 6, 4, 2):
        return None
    return {
        "src_mac": _mac_text(frame[22:28]),
        "src_ip": socket.inet_ntoa(frame[28:32]),
        "dst_mac": _mac_text(frame[32:38]),
        "dst_ip": socket.inet_ntoa(frame[38:42]),
    }


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def icmp_echo(ident: int, seq: int, payload: bytes = b"sggit-probe") -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload


def parse_icmp_echo_reply(packet: bytes) -> tuple[int, int] | None:
    """(ident, seq) of an echo reply inside an IPv4 packet, as a raw ICMP socket delivers it."""
    if len(packet) < 20:
        return None
    ihl = (packet[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 8 or icmp[0] != 0:
        return None
    _, _, _, ident, seq = struct.unpack("!BBHHH", icmp[:8])
    return ident, seq
