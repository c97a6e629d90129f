"""Reading a JSON document the user gave (a template, a profile, a mapping, settings).

    data = load_json(text, "conn.json", "a connection template", TemplateError)

Bad JSON and JSON nested too deeply for Python to read (100,000 brackets make the
decoder run out of stack: RecursionError) both become `error` with one sentence that
names the file, so a front end says it and exits 2 rather than showing a traceback.
"""

from __future__ import annotations

import json
from typing import Any

from opus_desktop.errors import AppError


def load_json(
    text: str | bytes, source: str, what: str, error: type[AppError] = AppError, **options: Any
) -> Any:
    """`json.loads(text, **options)`; `error` naming `source` if it is not `what`.

    `source` starts the sentence ("conn.json", "The mapping m.json"); `what` ends it
    ("a connection template"). An AppError the options' hooks raise passes as it is.
    """
    try:
        return json.loads(text, **options)
    except json.JSONDecodeError as exc:
        raise error(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    except RecursionError:
        raise error(f"{source} is nested too deeply to be {what}.") from None
