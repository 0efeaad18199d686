# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Text made safe for each report format. Strings in records come from the hosts (host names, process names
set with prctl(PR_SET_NAME), file paths, service names) and must never inject markup or escape sequences.

Every function here makes a forbidden character visible as `\\xNN` / `\\uNNNN` instead of dropping it, so
the reader still sees that something odd was there.
"""

from __future__ import annotations

import html
import re
from typing import Any

# XML 1.0 (section 2.2 Char): #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
# Everything else (C0 controls, lone surrogates, U+FFFE/U+FFFF) makes a strict parser reject the document.
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# What a terminal or a Markdown/HTML reader may act on: C0 controls (ESC starts ANSI sequences; CR rewrites
# a line), DEL, C1 controls (U+009B is a one-byte CSI), bidi overrides and isolates (Trojan Source),
# line/paragraph separators, and what XML forbids.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_CONTROL_AND_NEWLINES = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def text(value: Any) -> str:
    return "" if value is None else str(value)


def xml_text(value: Any) -> str:
    """Only characters XML 1.0 allows (the serializer then escapes & < > and quotes); controls as \\xNN."""
    return _XML_FORBIDDEN.sub(_visible, text(value))


def plain(value: Any) -> str:
    """One line or many, with no control character but tab and newline: safe for a terminal, an HTML text
    node and an XML document."""
    return _XML_FORBIDDEN.sub(_visible, _CONTROL.sub(_visible, text(value)))


def one_line(value: Any) -> str:
    """A single line: every control character, CR and LF included, made visible."""
    return _XML_FORBIDDEN.sub(_visible, _CONTROL_AND_NEWLINES.sub(_visible, text(value)))


def terminal(value: Any) -> str:
    """Safe to print on the auditor's terminal: no ESC, CSI, CR, backspace or bidi control survives."""
    return one_line(value)


def html_text(value: Any) -> str:
    """An HTML text node or attribute value (quotes escaped too): no markup, no control character."""
    return html.escape(plain(value), quote=True)


# Characters with a meaning in CommonMark/GFM inline text or tables: escaped with a backslash so they are
# shown as themselves. `<` and `>` and `&` become entities so raw HTML (a <script>) is never passed
# through; a backslash itself is escaped first.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~^$:])")


def markdown_cell(value: Any) -> str:
    """Inline Markdown, safe in a table cell: one line, no link, no emphasis, no raw HTML, no pipe."""
    line = one_line(value)
    line = html.escape(line, quote=False)  # & < >  (before the backslashes, which html.escape leaves alone)
    return _MD_SPECIAL.sub(r"\\\1", line)
