"""The authenticated channel's format (protocol.read_channel), as the grader reads what the
child's harness wrote: only signed lines in sequence count."""

from __future__ import annotations

import json

from grader.harness._grader_harness.protocol import channel_mac, read_channel

KEY = b"k" * 32


def line(seq: int, key: bytes = KEY, **record) -> bytes:
    body = json.dumps({"seq": seq, **record}).encode()
    return channel_mac(key, body).encode() + b" " + body + b"\n"


def test_signed_lines_in_sequence_are_read():
    channel = read_channel(line(0, kind="ledger", entry="start") + line(1, kind="verdict", outcome="passed"), KEY)
    assert channel.broken == "" and [r["kind"] for r in channel.records] == ["ledger", "verdict"]


def test_a_line_signed_with_another_key_breaks_the_channel():
    channel = read_channel(line(0, kind="ledger") + line(1, key=b"x" * 32, kind="verdict"), KEY)
    assert "line 2" in channel.broken and "not written by the grader" in channel.broken
    assert len(channel.records) == 1


def test_a_removed_or_moved_line_breaks_the_channel():
    first, second, third = line(0, kind="a"), line(1, kind="b"), line(2, kind="c")
    assert "out of sequence" in read_channel(first + third, KEY).broken  # one dropped
    assert "out of sequence" in read_channel(second + first + third, KEY).broken  # moved
    assert "out of sequence" in read_channel(first + first, KEY).broken  # replayed


def test_a_last_line_cut_by_the_childs_end_is_left_out_not_held_against_the_run():
    channel = read_channel(line(0, kind="a") + line(1, kind="b")[:-10], KEY)
    assert channel.broken == "" and len(channel.records) == 1


def test_garbage_is_not_signed():
    assert read_channel(b"\xff\xfe garbage\n", KEY).broken
    assert read_channel(b"\n", KEY).broken
