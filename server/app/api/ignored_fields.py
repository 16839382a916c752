"""Form fields a submit does not read: accepted (the contract lets a submit carry other
fields), but named back in the answer and on the job, so a typo such as `pipline_id`
is seen instead of silently running the default pipeline.

The known names are the submit route's own form parameters, read from the route, so a
new parameter is known as soon as it is declared.
"""

from __future__ import annotations

import difflib
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

# How much of a client's field name is echoed (the parser already bounds count and size).
ECHO_CHARS = 64


def known_form_fields(route: APIRoute) -> list[str]:
    """The form field names (aliases) the route's parameters and dependencies read."""
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.body_params)
        pending.extend(dependant.dependencies)
    return sorted(names)


def ignored_field_warnings(names: list[str], known: list[str]) -> list[str]:
    """One sentence per distinct unknown name, with the nearest known name when the
    unknown one looks like a typo of it."""
    sentences = []
    for name in dict.fromkeys(names):
        if name in known:
            continue
        shown = name[:ECHO_CHARS]
        close = difflib.get_close_matches(shown, known, n=1, cutoff=0.75)
        hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(known)}"
        sentences.append(f"the form field {shown!r} is not one a submit reads: ignored ({hint})")
    return sentences


async def submit_warnings(request: Request) -> list[str]:
    """The request's ignored form fields, as sentences (the form is already parsed)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return []
    form = await request.form()
    return ignored_field_warnings(list(form.keys()), known_form_fields(route))


IgnoredFieldsDep = Annotated[list[str], Depends(submit_warnings)]
