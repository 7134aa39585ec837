"""One escaper per medium: every string that comes from a file or from Immuta (keys, file names, field names,
statuses, messages) goes through the one of the medium it is written to, so nobody can forge our output.

- **terminal** (`terminal`): control characters — a newline inside a name, ESC sequences that recolour or
  hide text, carriage returns that overwrite a line, bidirectional overrides that reorder it — are shown as
  visible escapes (`\\n`, `\\x1b`, `\\u202e`). A name can therefore never start a line of its own, and the
  one that starts ours cannot be a GitHub workflow command: a leading `::` and any `##[` are escaped too.
  `terminal_lines` does the same to a message of several lines that we composed.
- **Markdown** (`markdown`, `markdown_code`): text is HTML-escaped (no `<details>`, `</details>`, tags or
  comments), table pipes and Markdown's punctuation are backslash-escaped, a code span's fence is longer
  than any run of backticks inside it.
- **GitHub workflow commands** (`workflow_data`, `workflow_property`): percent-encoded as GitHub documents,
  so a message is one line. Where raw text must pass (the action shows a command's output file in the log),
  it is written between `::stop-commands::<random token>` and `::<token>::` lines (action.yml).
- **comment markers** (`without_comment_markers`): no `<!--` can come out of a value, so no value can
  produce the sticky-comment marker of any environment; the renderers add their own marker afterwards.
"""

from __future__ import annotations

import html
import re
from typing import Final

# C0 controls, DEL, C1 controls, and the Unicode controls that reorder or hide text (bidi, zero-width joiners
# are left alone: they are part of some scripts).
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_CONTROL_BUT_NEWLINE: Final = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
_CONTROL_BUT_LINE_ENDS: Final = re.compile(
    "[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# A line the runner would read as a workflow command: `::name …::` after leading spaces, or `##[name]`.
_COMMAND_START: Final = re.compile(r"^(\s*)::", re.MULTILINE)
# What turns text into markup in the middle of a line: emphasis, links and images, strike-through, code, cells.
_MARKDOWN_PUNCTUATION: Final = re.compile(r"([\\`*_\[\]~|])")
_COMMENT_OPEN: Final = "<!--"


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal(text: str) -> str:
    """One line, whatever `text` holds: for a name or value shown in a terminal or a CI log."""
    return _neutral_commands(_CONTROL.sub(_visible, text))


def terminal_lines(text: str) -> str:
    """A message we composed of several lines: its newlines kept, every other control character shown."""
    return _neutral_commands(_CONTROL_BUT_NEWLINE.sub(_visible, text))


def _neutral_commands(text: str) -> str:
    if "::" in text:
        text = _COMMAND_START.sub(lambda start: start.group(1) + "\\x3a:", text)
    return text.replace("##[", "##\\x5b")


def markdown(text: str) -> str:
    """Inline Markdown text (a table cell, a summary, a note): shown as written, never as markup."""
    escaped = html.escape(_CONTROL.sub(_visible, text), quote=False)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", escaped)


def html_block(text: str) -> str:
    """Text inside an HTML block (a `<details><summary>` line), where Markdown is not read: HTML-escaped."""
    return html.escape(_CONTROL.sub(_visible, text))


def markdown_code(text: str, *, in_table: bool = True) -> str:
    """A code span holding `text` exactly: its fence longer than any run of backticks in it; in a table, a
    pipe escaped (GitHub unescapes `\\|` inside code spans in tables); a newline shown as `\\n`."""
    body = _CONTROL.sub(_visible, text)
    if in_table:
        body = body.replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {body} " if longest or not body.strip() else body
    return without_comment_markers(f"{fence}{padded}{fence}")


def without_comment_markers(text: str) -> str:
    """No HTML comment can open in `text` (every `<!--` shown as `&lt;!--`)."""
    return text.replace(_COMMENT_OPEN, "&lt;!--")


def workflow_data(text: str) -> str:
    """The message of a `::error …::message` workflow command: one line, as GitHub documents."""
    text = _CONTROL_BUT_LINE_ENDS.sub(_visible, text).replace("##[", "##\\x5b")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: str) -> str:
    """A property value of a workflow command (`file=…`, `title=…`)."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")
