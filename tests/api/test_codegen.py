"""The schema as client code generators read it: graphql-codegen (typescript and
typescript-operations, from npm) on schema.graphql and every operation the README and
GraphiQL show, with the README's codegen config, gives TypeScript without an error and
without an untyped scalar; tsc accepts it.

Needs Node and `npm ci --prefix tests/codegen` (CI does both, and sets
AUTOBROKER_REQUIRE_NODE=1 so a missing install fails instead of skipping).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    parse,
    print_ast,
)

from core.graphiql_examples import EXAMPLE_TABS
from tests.node_packages import TESTS_DIR, require_node

ROOT = Path(__file__).resolve().parents[2]
CODEGEN_DIR = TESTS_DIR / "codegen"
CONFIG = CODEGEN_DIR / "codegen.yml"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# An operation inside a JavaScript or TypeScript snippet: gql`…`, graphql(`…`), or a
# template marked /* GraphQL */ (the markers codegen's own document loader reads).
TEMPLATE = re.compile(r"(?:\bgql|\bgraphql\(|/\* GraphQL \*/)\s*`([^`]*)`")


def graphiql_examples() -> list[str]:
    """The operations of GraphiQL's example tabs."""
    return [tab.query for tab in EXAMPLE_TABS]


SNIPPET_LANGUAGES = frozenset({"js", "ts", "tsx", "javascript", "typescript"})


def readme_documents(readme: str, *, snippets_only: bool = False) -> list[str]:
    """Every GraphQL document the README shows: ```graphql blocks (unless `snippets_only`),
    and the templates of its JavaScript and TypeScript snippets."""
    found = []
    for language, body in FENCE.findall(readme):
        if language == "graphql" and not snippets_only:
            found.append(body)
        elif language in SNIPPET_LANGUAGES:
            found.extend(TEMPLATE.findall(body))
    return found


def _name(definition: ExecutableDefinitionNode) -> str:
    assert definition.name is not None, f"unnamed operation:\n{print_ast(definition)}"
    return definition.name.value


def merged_definitions(documents: list[str]) -> list[str]:
    """The documents' operations and fragments, each once: one shown twice (the same
    subscription over WebSocket and SSE) must read the same both times."""
    by_name: dict[str, str] = {}
    for text in documents:
        document: DocumentNode = parse(text)
        for definition in document.definitions:
            assert isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode)
            printed = print_ast(definition)
            name = _name(definition)
            assert by_name.get(name, printed) == printed, f"two different {name}"
            by_name[name] = printed
    return list(by_name.values())


def test_the_readme_shows_the_codegen_config_that_is_tested() -> None:
    readme = (ROOT / "README.md").read_text()
    assert CONFIG.read_text() in [body for language, body in FENCE.findall(readme)]


def test_the_readme_and_graphiql_operations_are_found() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme_documents(readme, snippets_only=True)) >= 3
    definitions = merged_definitions([*readme_documents(readme), *graphiql_examples()])
    names = {definition.split("(")[0].split()[-1] for definition in definitions}
    assert {"VehicleCards", "VehicleCard", "LogIn", "PlaceOrder", "FollowOrder",  # README
            "CatalogPage", "SignIn", "CreateOrder", "Checkout", "OrderStatus"} <= names  # fmt: skip


def test_codegen_types_every_operation_with_every_scalar_mapped(tmp_path: Path) -> None:
    node = require_node(CODEGEN_DIR, "@graphql-codegen/cli")
    documents = [*readme_documents((ROOT / "README.md").read_text()), *graphiql_examples()]
    (tmp_path / "src").mkdir()
    for number, definition in enumerate(merged_definitions(documents)):
        (tmp_path / "src" / f"operation{number}.graphql").write_text(definition + "\n")
    shutil.copy(ROOT / "schema.graphql", tmp_path / "schema.graphql")
    shutil.copy(CONFIG, tmp_path / "codegen.yml")
    (tmp_path / "node_modules").symlink_to(CODEGEN_DIR / "node_modules")
    cli = CODEGEN_DIR / "node_modules" / "@graphql-codegen" / "cli" / "cjs" / "bin.js"
    generated = subprocess.run(
        [node, str(cli), "--config", "codegen.yml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    schema_types = (tmp_path / "src" / "gql" / "schema.ts").read_text()
    operation_types = (tmp_path / "src" / "gql" / "operations.ts").read_text()
    scalars = schema_types[schema_types.index("export type Scalars = {") :].split("};", 1)[0]
    for scalar in ("Date", "DateTime", "Decimal"):
        assert f"{scalar}: {{ input: string; output: string; }}" in scalars
    assert "unknown" not in scalars
    assert ": any" not in schema_types + operation_types
    # Each operation has its own types; a Decimal, a DateTime, an enum are typed.
    assert "export type FollowOrderSubscription = " in operation_types
    assert "dealer: { name: string, rating: string }" in operation_types
    assert "code: UserErrorCode" in operation_types
    tsc = CODEGEN_DIR / "node_modules" / "typescript" / "bin" / "tsc"
    checked = subprocess.run(
        [node, str(tsc), "--noEmit", "--strict", "--skipLibCheck", "--target", "es2022",
         "--module", "esnext", "--moduleResolution", "bundler",
         "src/gql/schema.ts", "src/gql/operations.ts"],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
