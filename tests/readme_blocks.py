"""The README's shell examples as a test runs them: blocks, commands, shown output, shapes.

A block is a fenced block whose language is `console`, `shell`, `sh`, `bash` (or none) with at
least one `$ ` prompt line. Every such block runs, in order, in one bash (`set -euo pipefail`),
unless its info string says `no-run` (```` ```console no-run ````): `make run` itself, servers
started in the background, deploy recipes. A command is a `$ ` line and the lines that continue
it (a trailing `\\`, or a quote still open); the lines below it, up to the next prompt, are its
shown output.

Shown output is compared by shape, not by value: JSON shown (`{...}` or `[...]`, wrapped over
lines, trimmed with `…`) must match the answer's keys and value types, an object without `…`
must have exactly the keys shown, an array without `…` exactly the items shown; ids, names and
timestamps may differ, but the values of `code` and `status` must be the ones shown. An
`HTTP/1.1 304 ...` first line must match the answer's status line. Other text is not compared.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHELL_LANGUAGES = {"", "console", "shell", "sh", "bash", "shell-session"}
NO_RUN = "no-run"
ELLIPSIS = "…"
COMPARED_VALUES = ("code", "status")  # stable vocabulary, not ids or timestamps
_FENCE = re.compile(r"^(`{3,})(.*)$")
_STATUS_LINE = re.compile(r"^HTTP/[\d.]+ (\d{3})\b")


@dataclass
class Command:
    """One `$ ` command of a block: where it is, what bash runs, what the README shows."""

    line: int  # of README.md, 1-based: the prompt's line
    block_line: int  # the opening fence's line
    text: str
    shown: str = ""

    @property
    def where(self) -> str:
        first = self.text.splitlines()[0]
        return f"README.md:{self.line} (block at line {self.block_line}): `$ {first}`"


@dataclass
class Block:
    line: int  # the opening fence's line
    info: str
    commands: list[Command] = field(default_factory=list)

    @property
    def runs(self) -> bool:
        return NO_RUN not in self.info.split()


def _complete(text: str) -> bool:
    """Whether bash would run `text` as it stands (no trailing backslash, no open quote)."""
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:  # "No closing quotation"
        return False
    return True


def shell_blocks(markdown: str) -> list[Block]:
    """The README's shell blocks, in order, each with its commands and their shown output."""
    lines = markdown.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        start, ticks, info = i + 1, fence.group(1), fence.group(2).strip()
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(ticks):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        language = info.split()[0] if info else ""
        if language in SHELL_LANGUAGES and any(b.startswith("$ ") for b in body):
            blocks.append(Block(start, info, _commands(body, start)))
    return blocks


def _commands(body: list[str], fence_line: int) -> list[Command]:
    commands: list[Command] = []
    j = 0
    while j < len(body):
        if not body[j].startswith("$ "):
            if commands:
                commands[-1].shown += body[j] + "\n"
            j += 1
            continue
        command = Command(fence_line + 1 + j, fence_line, body[j][2:])
        while not _complete(command.text) and j + 1 < len(body):
            j += 1
            command.text += "\n" + body[j]
        commands.append(command)
        j += 1
    for c in commands:
        c.shown = c.shown.strip()
    return commands


def script(blocks: list[Block], outputs: str, progress: str, origin: str | None = None) -> str:
    """One bash script running every command of the blocks that run, in order: each command's
    stdout and stderr go to `outputs/N.out|err`, its number to `progress` before it starts.
    `origin` replaces `http://127.0.0.1:8000` (where the README's server listens)."""
    parts = ["set -euo pipefail"]
    for n, command in enumerate(c for b in blocks if b.runs for c in b.commands):
        text = command.text.replace("http://127.0.0.1:8000", origin) if origin else command.text
        parts.append(f"# {command.where}")
        parts.append(f"printf '%s\\n' {n} >> {shlex.quote(progress)}")
        parts.append(f"{{\n{text}\n}} > {outputs}/{n}.out 2> {outputs}/{n}.err")
    return "\n".join(parts) + "\n"


# Shown JSON, parsed leniently: `…` for "more keys / items", strings wrapped over lines.
@dataclass
class Obj:
    keys: dict[str, Any]
    more: bool


@dataclass
class Arr:
    items: list[Any]
    more: bool


class _Anything:
    def __repr__(self) -> str:
        return "…"


ANYTHING = _Anything()


class ShownParseError(ValueError):
    """The README shows JSON this parser cannot read."""


class _Reader:
    _NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def _skip(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def _peek(self) -> str:
        self._skip()
        return self.text[self.at] if self.at < len(self.text) else ""

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise ShownParseError(f"expected {char!r} at {self.text[self.at : self.at + 30]!r}")
        self.at += 1

    def value(self) -> Any:
        char = self._peek()
        if char == "{":
            return self._object()
        if char == "[":
            return self._array()
        if char == '"':
            return self._string()
        if char == ELLIPSIS:
            self.at += 1
            return ANYTHING
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.at):
                self.at += len(word)
                return value
        number = self._NUMBER.match(self.text, self.at)
        if number:
            self.at = number.end()
            return float(number.group()) if "." in number.group() else int(number.group())
        raise ShownParseError(f"no JSON value at {self.text[self.at : self.at + 30]!r}")

    def _string(self) -> str:
        self._expect('"')
        out = []
        while self.at < len(self.text) and self.text[self.at] != '"':
            if self.text[self.at] == "\\":
                self.at += 1
            out.append(self.text[self.at])
            self.at += 1
        self._expect('"')
        return "".join(out)

    def _object(self) -> Obj:
        self._expect("{")
        found = Obj({}, more=False)
        while self._peek() != "}":
            if self._peek() == ELLIPSIS:
                self.at += 1
                found.more = True
            else:
                key = self._string()
                self._expect(":")
                found.keys[key] = self.value()
            if self._peek() == ",":
                self.at += 1
        self._expect("}")
        return found

    def _array(self) -> Arr:
        self._expect("[")
        found = Arr([], more=False)
        while self._peek() != "]":
            item = self.value()
            if item is ANYTHING:
                found.more = True
            else:
                found.items.append(item)
            if self._peek() == ",":
                self.at += 1
        self._expect("]")
        return found


def parse_shown(text: str) -> Any:
    """The JSON the README shows, as Obj / Arr / plain values (`…` marks what it leaves out)."""
    return _Reader(text).value()


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", type(None): "null", dict: "object", list: "array"}.get(
        type(value), type(value).__name__
    )


def differences(shown: Any, actual: Any, path: str = "$") -> list[str]:
    """Where the answer's shape differs from the README's (empty when it matches)."""
    if shown is ANYTHING:
        return []
    if isinstance(shown, Obj):
        if not isinstance(actual, dict):
            return [f"{path}: the README shows an object, the answer is {_kind(actual)}"]
        out = []
        for key, value in shown.keys.items():
            if key not in actual:
                out.append(f"{path}: the answer has no key {key!r}")
                continue
            if key in COMPARED_VALUES and isinstance(value, str | int) and value != actual[key]:
                out.append(f"{path}.{key}: the README shows {value!r}, the answer {actual[key]!r}")
            out += differences(value, actual[key], f"{path}.{key}")
        extra = sorted(set(actual) - set(shown.keys))
        if extra and not shown.more:
            out.append(
                f"{path}: the answer also has {', '.join(extra)} (show them, or end the "
                "object with …)"
            )
        return out
    if isinstance(shown, Arr):
        if not isinstance(actual, list):
            return [f"{path}: the README shows an array, the answer is {_kind(actual)}"]
        if len(actual) < len(shown.items) or (not shown.more and len(actual) != len(shown.items)):
            return [
                f"{path}: the README shows {len(shown.items)} item(s)"
                + (" and more" if shown.more else "")
                + f", the answer has {len(actual)}"
            ]
        out = []
        for n, item in enumerate(shown.items):
            out += differences(item, actual[n], f"{path}[{n}]")
        return out
    if _kind(shown) != _kind(actual):
        return [f"{path}: the README shows a {_kind(shown)}, the answer has {_kind(actual)}"]
    return []


def compare(command: Command, stdout: str) -> list[str]:
    """What is wrong with a command's answer against what the README shows under it."""
    shown = command.shown
    if not shown:
        return []
    status = _STATUS_LINE.match(shown)
    if status:
        got = _STATUS_LINE.match(stdout.lstrip())
        if not got or got.group(1) != status.group(1):
            first = stdout.lstrip().splitlines()[0] if stdout.strip() else "nothing"
            return [f"the README shows status {status.group(1)}, the answer was {first!r}"]
        return []
    if shown[0] not in "{[":
        return []  # text (a progress bar, a message): not compared
    try:
        expected = parse_shown(shown)
    except ShownParseError as exc:
        return [f"the README's output is not JSON this runner reads: {exc}"]
    try:
        actual, _ = json.JSONDecoder().raw_decode(stdout.strip())
    except ValueError:
        return [f"the README shows JSON, the command printed {stdout.strip()[:300]!r}"]
    return differences(expected, actual)


def run(
    blocks: list[Block], workdir: Path, env: dict[str, str], origin: str | None, timeout: float
) -> list[str]:
    """Run the blocks in one bash in `workdir`; every problem, each naming its README line
    (empty when every command succeeded and answered as the README shows)."""
    commands = [c for b in blocks if b.runs for c in b.commands]
    outputs = workdir / ".readme-outputs"
    outputs.mkdir(exist_ok=True)
    progress = outputs / "progress"
    progress.write_text("")
    path = outputs / "readme.sh"
    path.write_text(script(blocks, str(outputs), str(progress), origin))
    try:
        done = subprocess.run(
            ["bash", str(path)], cwd=workdir, env=env, capture_output=True, timeout=timeout
        )
        returncode: int | None = done.returncode
    except subprocess.TimeoutExpired:
        returncode = None
    started = [int(n) for n in progress.read_text().split()]
    problems = []
    last = started[-1] if started else None
    for n in started:
        command = commands[n]
        stdout = (outputs / f"{n}.out").read_text(errors="replace")
        stderr = (outputs / f"{n}.err").read_text(errors="replace")
        if n == last and returncode != 0:
            why = "did not finish in time" if returncode is None else f"exited with {returncode}"
            problems.append(f"{command.where} {why}; it printed:\n{stdout[-1500:]}{stderr[-1500:]}")
            break
        problems += [f"{command.where}: {p}" for p in compare(command, stdout)]
    return problems
