"""The README runner itself (tests/readme_blocks.py): what it takes as a command, what it
compares, and that a broken example fails naming its line. The README is run against a real
server in tests/e2e/test_readme.py."""

from __future__ import annotations

import os
from pathlib import Path

from tests.readme_blocks import compare, parse_shown, run, shell_blocks

FAKE_README = """# A tool

```console no-run
$ make run
```

Some text.

```console
$ echo '{"id": 7, "name": "Solar",
         "fields": []}'
{"id":1,"name":"Solar","fields":[]}
$ X=3   # a variable for later
$ echo "[$X, 4]"
[1, …]
```

```python
print("not shell")
```

```console
$ echo '{"id": 1, "code": "list_not_found", "status": 404}'
{"id": 1, "code": "unknown_fields", "status": 422}
$ false
$ echo never
```
"""


def test_blocks_commands_and_their_lines() -> None:
    blocks = shell_blocks(FAKE_README)
    assert [(b.line, b.runs) for b in blocks] == [(3, False), (9, True), (22, True)]
    first = blocks[1].commands[0]
    assert first.line == 10 and first.text.endswith('"fields": []}\'')  # the open quote went on
    assert first.shown == '{"id":1,"name":"Solar","fields":[]}'
    assert [c.line for c in blocks[1].commands] == [10, 13, 14]
    assert blocks[1].commands[1].shown == ""


def test_shapes_not_values() -> None:
    shown = parse_shown('{"id": 3, "token": "lga_9h…", "flags": [{"code": "x.y"}, …], …}')
    blocks = shell_blocks(FAKE_README)
    command = blocks[1].commands[0]
    assert compare(command, '{"id": 99, "name": "Wind", "fields": []}') == []
    assert compare(command, '{"id": 99, "name": "Wind", "fields": [], "extra": 1}') == [
        "$: the answer also has extra (show them, or end the object with …)"
    ]
    assert compare(command, '{"id": "99", "name": "Wind", "fields": [1]}') == [
        "$.id: the README shows a number, the answer has string",
        "$.fields: the README shows 0 item(s), the answer has 1",
    ]
    assert compare(command, "not json") == ["the README shows JSON, the command printed 'not json'"]
    assert shown.more and shown.keys["flags"].more
    listed = blocks[1].commands[2]
    assert compare(listed, "[3, 4, 5]") == [] and compare(listed, "[]") != []


def test_a_broken_example_fails_naming_its_line(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"]}
    problems = run(shell_blocks(FAKE_README), tmp_path, env, None, timeout=30)
    assert problems[0] == (
        'README.md:23 (block at line 22): `$ echo \'{"id": 1, "code": "list_not_found", '
        "\"status\": 404}'`: $.code: the README shows 'unknown_fields', the answer "
        "'list_not_found'"
    )
    assert "$.status: the README shows 422, the answer 404" in problems[1]
    assert problems[2].startswith("README.md:25 (block at line 22): `$ false` exited with 1")
    assert len(problems) == 3  # `echo never` did not run: the script stopped at `false`
