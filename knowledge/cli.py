"""`finagent ingest PATH` and `finagent kb search "question"`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer

from finagent.settings import get_settings

kb_app = typer.Typer(no_args_is_help=True, help="Knowledge base: search the indexed documents.")


@contextmanager
def _clear_errors() -> Iterator[None]:
    """A store, model or index that cannot be used is one line on stderr and exit code 1."""
    from knowledge.embeddings import EmbeddingError
    from knowledge.glossary import GlossaryError
    from knowledge.retrieval import RetrievalError
    from knowledge.store import StoreError

    try:
        yield
    except (StoreError, EmbeddingError, GlossaryError, RetrievalError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def ingest_command(
    path: Annotated[
        Path | None, typer.Argument(help="folder or file of documents (default: KB_CORPUS_DIR)")
    ] = None,
    no_progress: Annotated[bool, typer.Option(help="hide progress bars")] = False,
) -> None:
    """Index documents incrementally: unchanged ones are not re-embedded, deleted ones disappear."""
    from knowledge.ingest import ingest

    settings = get_settings()
    target = path or settings.kb_corpus_dir
    if not target.exists():
        typer.echo(f"{target} does not exist", err=True)
        raise typer.Exit(2)
    with _clear_errors():
        summary = ingest(target, settings, progress=not no_progress)
    typer.echo(summary.render())
    if summary.errors:
        raise typer.Exit(1)  # the index is usable, but someone must fix the skipped files


@kb_app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="the question, as a customer would ask it")],
    k: Annotated[int, typer.Option(min=1, max=50, help="number of hits")] = 5,
    audience: Annotated[str, typer.Option(help="public (customers) or internal (staff)")] = "public",
    language: Annotated[str | None, typer.Option(help="only documents in this language (en, zh)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Print the hits for a query with their fused score and relevance."""
    from knowledge.retrieval import Retriever

    if audience not in ("public", "internal"):
        typer.echo("--audience must be public or internal", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    chosen: Literal["public", "internal"] = "internal" if audience == "internal" else "public"
    with _clear_errors():
        hits = Retriever.from_settings(settings).search(query, k=k, audience=chosen, language=language)
    if as_json:
        typer.echo(json.dumps([h.model_dump() for h in hits], indent=2, ensure_ascii=False))
        return
    if not hits:
        typer.echo("no hits (is the index empty? run `finagent ingest`)")
        return
    from finagent.language import detect_language  # the agent's rule for the reply language

    best, minimum = max(h.relevance for h in hits), settings.min_relevance(detect_language(query))
    if best < minimum:
        typer.echo(f"best relevance {best:.2f} is below {minimum}: an agent would say it does not know")
    for rank, hit in enumerate(hits, start=1):
        where = f"{hit.title} > {hit.section}" if hit.section else hit.title
        typer.echo(f"{rank}. [{hit.doc_id}] {where}  score={hit.score:.4f} relevance={hit.relevance:.3f}")
        snippet = " ".join(hit.text.split())
        typer.echo(f"   {snippet[:200]}{'...' if len(snippet) > 200 else ''}")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
    app.add_typer(kb_app, name="kb")
