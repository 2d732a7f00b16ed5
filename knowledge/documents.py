"""Loading the bank's documents: Markdown, plain text, HTML, PDF and JSON records.

Every format ends up as the same `Document`: validated metadata plus a Markdown-like body, so the
chunker only has to understand one structure (headings, lists, tables).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from knowledge.types import ProductType

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".json")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)

DocType = Literal["guide", "terms", "fees", "faq", "product", "policy", "procedure"]
Product = Literal[
    "accounts",
    "cards",
    "transfers",
    "loans",
    "credit-cards",
    "deposits",
    "wealth",
    "complaints",
    "privacy",
    "kyc",
    "general",
]


_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,99}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-]+")


def storage_key(doc_id: str) -> str:
    """A key for a document id that is safe in Chroma ids and file names, one key per id.

    An id of ASCII letters, digits, `.`, `_` and `-` (up to 100 characters) is its own key, so
    existing indexes keep their chunk ids. Any other id becomes a readable slug plus 20 hex digits
    of the SHA-256 of the exact id: "Fees (2024)" and "Fees [2024]" slug alike but hash apart, and
    the `~` between them never occurs in a safe id, so the two kinds of key cannot collide.
    """
    if _SAFE_ID.fullmatch(doc_id):
        return doc_id
    slug = _UNSAFE.sub("-", doc_id).strip("-.")[:40]
    return f"{slug}~{hashlib.sha256(doc_id.encode()).hexdigest()[:20]}"


class DocumentError(ValueError):
    """A document that cannot be indexed; the message names the file and the field."""


class DocumentMeta(BaseModel):
    """The metadata every document carries (see docs/knowledge-base.md)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1)  # any text: a bank's ids are not ours to choose (see storage_key)
    title: str = Field(min_length=1)
    type: DocType = "guide"
    product: Product = "general"
    product_type: ProductType = "general"  # a translation without one takes its original's (ingest)
    audience: Literal["public", "internal"] = "public"
    version: int = Field(default=1, ge=1)
    effective_date: date | None = None
    language: Literal["en", "zh"] = "en"
    translation_of: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_misspelt_fields(cls, raw: Any) -> Any:
        # Unknown fields are a bank's own and are ignored, but one that is nearly ours is a typo
        # ("product-type: fund"), and ignoring it would silently serve the page as "general".
        unknown = [str(key) for key in raw if key not in cls.model_fields] if isinstance(raw, dict) else []
        for key in unknown:
            close = difflib.get_close_matches(key, cls.model_fields, n=1, cutoff=0.8)
            if close:
                raise ValueError(f"unknown field {key!r}; did you mean {close[0]!r}?")
        return raw

    @field_validator("id", "title", "translation_of", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # `id: 1042` in YAML or JSON is the id "1042"
        return value.strip() if isinstance(value, str) else value


@dataclass(frozen=True)
class Document:
    meta: DocumentMeta
    body: str  # Markdown-like: headings, lists and pipe tables
    source: str  # path relative to the corpus root (plus #n for JSON records)

    @property
    def key(self) -> str:
        """One stored version of one document, as people read it (ingest summary, metadata)."""
        return f"{self.meta.id}@v{self.meta.version}"

    @property
    def storage_key(self) -> str:
        """The same version as a safe key, for Chroma ids."""
        return f"{storage_key(self.meta.id)}@v{self.meta.version}"

    @property
    def content_hash(self) -> str:
        """Changes when anything that reaches the index changes: text or metadata."""
        payload = json.dumps(
            {"meta": self.meta.model_dump(mode="json"), "body": self.body}, sort_keys=True, ensure_ascii=False
        )
        return hashlib.sha256(payload.encode()).hexdigest()


def _meta(raw: dict[str, Any], where: str) -> DocumentMeta:
    try:
        return DocumentMeta.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise DocumentError(f"{where}: {problems}") from exc


def _first_heading(body: str) -> str | None:
    match = re.search(r"^#\s+(.+)$", body, re.MULTILINE)
    return match.group(1).strip() if match else None


def parse_front_matter(text: str, where: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise DocumentError(f"{where}: front matter is not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise DocumentError(f"{where}: front matter must be a mapping")
    return data, text[match.end() :]


def _with_defaults(raw: dict[str, Any], body: str, path: Path) -> dict[str, Any]:
    # A file without an id or title still indexes: the file name and first heading stand in.
    merged = dict(raw)
    merged.setdefault("id", re.sub(r"[^A-Za-z0-9._\-]+", "-", path.stem).strip("-") or "document")
    merged.setdefault("title", _first_heading(body) or path.stem.replace("-", " ").replace("_", " "))
    return merged


def load_markdown(path: Path, source: str) -> Document:
    text = path.read_text(encoding="utf-8")
    raw, body = parse_front_matter(text, source)
    return Document(_meta(_with_defaults(raw, body, path), source), body.strip(), source)


def load_html(path: Path, source: str) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    raw: dict[str, Any] = {}
    for tag in soup.find_all("meta"):
        name = str(tag.get("name") or "")
        if name.startswith("finagent:"):
            raw[name.removeprefix("finagent:")] = str(tag.get("content") or "")
    if "title" not in raw and soup.title and soup.title.string:
        raw["title"] = soup.title.string.strip()
    root = soup.body or soup
    body = html_to_markdown(root)
    return Document(_meta(_with_defaults(raw, body, path), source), body, source)


def html_to_markdown(root: Any) -> str:
    """Keep the structure the chunker needs: headings, list items, table rows, paragraphs."""
    lines: list[str] = []
    for el in root.find_all(["h1", "h2", "h3", "h4", "p", "li", "table", "pre"]):
        if el.find_parent(["table", "li"]) is not None and el.name != "table":
            continue  # nested text is emitted by its container
        if el.name == "table":
            if el.find_parent("table") is not None:
                continue
            rows = [
                [c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])] for tr in el.find_all("tr")
            ]
            rows = [r for r in rows if r]
            if rows:
                lines.append("")
                lines.append("| " + " | ".join(rows[0]) + " |")
                lines.append("|" + " --- |" * len(rows[0]))
                lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
                lines.append("")
            continue
        text = el.get_text(" ", strip=True)
        if not text:
            continue
        if el.name in ("h1", "h2", "h3", "h4"):
            lines += ["", "#" * int(el.name[1]) + " " + text, ""]
        elif el.name == "li":
            lines.append("- " + text)
        else:
            lines += [text, ""]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def load_pdf(path: Path, source: str) -> Document:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    # Metadata lives in the document information dictionary as /finagent:<field>, like HTML meta tags.
    info: dict[str, Any] = dict(reader.metadata or {})
    raw: dict[str, Any] = {}
    for key, value in info.items():
        name = str(key).lstrip("/")
        if name.startswith("finagent:"):
            raw[name.removeprefix("finagent:")] = str(value)
    if "title" not in raw and info.get("/Title"):
        raw["title"] = str(info["/Title"])
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    # PDFs have no reliable heading markup; each page becomes a section so citations can say "page n".
    body = "\n\n".join(f"## Page {n}\n\n{text}" for n, text in enumerate(pages, start=1) if text)
    return Document(_meta(_with_defaults(raw, body, path), source), body, source)


def load_json_records(path: Path, source: str) -> list[Document]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{source}: not valid JSON ({exc})") from exc
    records = data if isinstance(data, list) else [data]
    docs = []
    for n, record in enumerate(records):
        where = f"{source}#{n}"
        if not isinstance(record, dict) or not isinstance(record.get("content"), str):
            raise DocumentError(f"{where}: a record needs at least id, title and a string 'content'")
        docs.append(Document(_meta(record, where), record["content"].strip(), where))
    return docs


def load_file(path: Path, root: Path) -> list[Document]:
    source = path.relative_to(root).as_posix() if path != root else path.name
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown", ".txt"):
        return [load_markdown(path, source)]
    if suffix in (".html", ".htm"):
        return [load_html(path, source)]
    if suffix == ".pdf":
        return [load_pdf(path, source)]
    if suffix == ".json":
        return load_json_records(path, source)
    raise DocumentError(f"{source}: unsupported file type {suffix!r}")


def inherit_from_originals(docs: list[Document], errors: list[str]) -> list[Document]:
    """A translation is the same product as its original: without a product type of its own it
    takes the original's, and one that contradicts it is skipped (reported in `errors`), since a
    Chinese fund page served as "general" would be answered without the fund's disclosures."""
    originals: dict[str, Document] = {}
    for doc in sorted(docs, key=lambda d: d.meta.version):  # the newest version of an id wins
        if doc.meta.translation_of is None:
            originals[doc.meta.id] = doc
    kept = []
    for doc in docs:
        original = originals.get(doc.meta.translation_of or "")
        if original is not None and doc.meta.product_type != original.meta.product_type:
            if "product_type" in doc.meta.model_fields_set:
                errors.append(
                    f"{doc.source}: product_type: {doc.meta.product_type!r} differs from "
                    f"{original.meta.product_type!r} of its original {original.source}"
                )
                continue
            meta = doc.meta.model_copy(update={"product_type": original.meta.product_type})
            doc = dataclasses.replace(doc, meta=meta)
        kept.append(doc)
    return kept


def iter_corpus_files(root: Path) -> Iterator[Path]:
    """Supported files under root, in a stable order.

    Hidden files and folders, and README files (notes about the corpus, not bank documents), are skipped.
    """
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if (
            path.is_file()
            and path.suffix.lower() in SUPPORTED_SUFFIXES
            and path.stem.upper() != "README"
            and not any(p.startswith(".") for p in rel)
        ):
            yield path
