"""UserErrorCode holds every code a rule can put in a mutation's userErrors, and no other.

The codes are written where the rules refuse (FieldProblems, the refusal classes of
orders, payments and pricing, the password rules, the resolvers); this reads those
modules' source, so that a new code cannot reach a payload without its enum value (which
would fail the response) and a code nobody gives any more does not linger in the schema.
"""

from __future__ import annotations

import ast
from pathlib import Path

from schema.user_error_codes import UserErrorCode

ROOT = Path(__file__).resolve().parents[2]
# The modules whose refusals become userErrors (feed rows' reasons are FeedRun data).
SOURCES = (
    "auth/passwords.py",
    "services/accounts/users.py",
    "services/accounts/profile.py",
    "services/errors.py",
    "services/dealers.py",
    "services/vehicles/listing.py",
    "services/feeds/sources.py",
    "services/feeds/addresses.py",
    "services/feeds/runs.py",
    "services/orders/errors.py",
    "services/payments/errors.py",
    "services/pricing/errors.py",
    "services/photos/uploads.py",
    "services/photos/gallery.py",
    "services/photos/images.py",
    *sorted(str(path.relative_to(ROOT)) for path in (ROOT / "resolvers").glob("*.py")),
)
# Where each call that makes a refusal takes its code.
CODE_ARGUMENT = {
    "FieldProblem": 1,
    "refuse": 1,
    "input_error": 1,
    "PasswordProblem": 0,
    "ImageRefusedError": 0,
    "_refuse": 1,
}


def _string(node: ast.AST) -> str | None:
    # A code made at run time (an f-string) could be anything: codes are written whole.
    assert not isinstance(node, ast.JoinedStr), f"a code built at run time, line {node.lineno}"
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _codes_in(tree: ast.Module) -> set[str]:
    codes: set[str] = set()
    bases = {b.id for c in ast.walk(tree) if isinstance(c, ast.ClassDef)
             for b in c.bases if isinstance(b, ast.Name)}  # fmt: skip
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            position = CODE_ARGUMENT.get(name or "")
            if position is not None and len(node.args) > position:
                codes.add(_string(node.args[position]) or "")
        elif isinstance(node, ast.ClassDef) and node.name not in bases:
            # A refusal class's `code`, or a codes enum's values (an abstract base's
            # default code is never given).
            for statement in node.body:
                if isinstance(statement, ast.Assign):
                    names = {getattr(target, "id", None) for target in statement.targets}
                    if "code" in names or node.name.endswith("ErrorCode"):
                        codes.add(_string(statement.value) or "")
    return codes - {""}


def test_every_code_a_rule_gives_is_a_user_error_code_and_no_other() -> None:
    given: set[str] = set()
    for source in SOURCES:
        given |= _codes_in(ast.parse((ROOT / source).read_text()))
    assert len(given) > 30  # the scan does find the rules' codes
    assert given == {code.value for code in UserErrorCode}


def test_the_enum_values_are_their_names() -> None:
    assert all(code.name == code.value for code in UserErrorCode)
