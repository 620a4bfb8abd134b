from __future__ import annotations

from pathlib import Path

from localctl.config.reference import reference_markdown

README = Path(__file__).parent.parent / "README.md"


def test_the_readme_carries_the_current_configuration_reference() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- config-reference:start -->\n") + len(
        "<!-- config-reference:start -->\n"
    )
    end = text.index("<!-- config-reference:end -->")
    assert text[start:end] == reference_markdown(), (
        "run `localctl config-reference` into the README"
    )


def test_every_configuration_key_has_a_meaning() -> None:
    rows = [line for line in reference_markdown().splitlines() if line.startswith("| `")]
    assert len(rows) > 100
    assert all(not row.endswith("|  |") for row in rows), [r for r in rows if r.endswith("|  |")]
