"""Text on a terminal: stored text never drives the terminal.

Run names, params, error messages and every other stored string reach the screen through one console
(``context.console()`` / ``context.err_console()``), a ``TerminalConsole``: each string it renders, in a
``print`` or a table cell, has its control characters (ESC, BEL, NUL, C1 controls, DEL, bidi overrides)
shown as visible escapes such as ``\\x1b``, so a stored ``ESC ]0;…`` can neither retitle the window nor
hide text, and a ``[link=…]`` in stored text makes no hyperlink. Markup that does not parse is shown as it
is instead of failing the command; ``safe()`` keeps stored text out of markup altogether.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape
from rich.text import Span, Text

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional overrides/isolates
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_OR_NEWLINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control character but tab and newline written as a visible escape."""
    return _CONTROL.sub(_visible, text)


def one_line(text: str) -> str:
    """``text`` on one line: newlines and tabs too become visible escapes."""
    return _CONTROL_OR_NEWLINE.sub(_visible, text)


def safe(value: object) -> str:
    """Stored text for a markup string (``f"[bold]{safe(run.name)}[/]"``): shown as it is, never as markup."""
    return escape(str(value))


def _without_links(text: Text, console: Console) -> Text:
    # triops writes no hyperlinks; one in a string came from stored text (an OSC 8 sequence on the terminal)
    spans = []
    for span in text.spans:
        if "link" in str(span.style):
            style = console.get_style(span.style, default="")
            if style.link:
                span = Span(span.start, span.end, style.update_link(None))
        spans.append(span)
    text.spans = spans
    return text


def _escape_rendered(text: Text) -> Text:
    """The same Text with its control characters escaped, keeping the styles of each part."""
    if not _CONTROL.search(text.plain):
        return text
    cuts = sorted({offset for span in text.spans for offset in (span.start, span.end)})
    out = Text(
        style=text.style, justify=text.justify, overflow=text.overflow, no_wrap=text.no_wrap, end=text.end
    )
    for part in text.divide(cuts):
        escaped = Text(escape_controls(part.plain), style=part.style)
        for span in part.spans:  # after dividing at every span edge, a span covers its part whole
            escaped.stylize(span.style)
        out.append_text(escaped)
    return out


class TerminalConsole(Console):
    """A rich Console that escapes control characters in everything it renders from strings."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        try:
            rendered = super().render_str(text, **kwargs)
        except MarkupError:  # stored text that looks like broken markup: show it literally
            rendered = super().render_str(text, **{**kwargs, "markup": False})
        return _escape_rendered(_without_links(rendered, self))
