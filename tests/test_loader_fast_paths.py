"""The loader's speed tricks, each tied to the plain formula it replaces (as in test_fast_paths.py):
the text check's character class against its per-character definition."""
from __future__ import annotations

from data.reading.loader import _ODD_CHARACTERS


def test_odd_characters_are_the_control_characters_but_tab_and_line_breaks_and_undecodable_bytes() -> None:
    odd = {chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000 and _ODD_CHARACTERS.fullmatch(chr(c))}
    assert odd == {c for c in map(chr, range(32)) if c not in "\t\r\n\f"} | {"\ufffd"}
