"""Chunking along the document's own structure.

A chunk never crosses a `##`/`###` section boundary, so every retrieved passage can be cited as
"title, section". Inside a section, paragraphs, lists and tables are kept whole when they fit;
a table too long for one chunk is split by rows with its header repeated, so each part stays
readable on its own (a fee row without its column names is useless to a customer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.documents import Document

# Version of the chunking rules: part of each chunk's stored hash, so changing the rules re-indexes.
CHUNKER_VERSION = "2"  # 2: chunks carry passage vectors (see passages())
MAX_CHARS = 1200

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_key: str
    section: str  # "Heading > Subheading"; empty for text before the first section heading
    text: str  # what a reader sees and what gets cited
    position: int

    def index_text(self, title: str) -> str:
        return index_text(title, self.section, self.text)

    def passage_texts(self, title: str) -> list[str]:
        """What gets embedded for each passage of this chunk, in its title and section context."""
        return [index_text(title, self.section, p) for p in passages(self.text)]


def index_text(title: str, section: str, text: str) -> str:
    """What gets embedded and BM25-indexed: the text in the context of its title and section."""
    head = f"{title} - {section}" if section else title
    return f"{head}\n{text}"


@dataclass
class _Block:
    kind: str  # paragraph | list | table | code
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    in_code = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("```"):
            if in_code:
                assert current is not None
                current.lines.append(line)
                blocks.append(current)
                current, in_code = None, False
            else:
                if current:
                    blocks.append(current)
                current, in_code = _Block("code", [line]), True
            continue
        if in_code:
            assert current is not None
            current.lines.append(line)
            continue
        if not stripped:
            if current and current.kind != "list":
                blocks.append(current)
                current = None
            continue
        kind = "table" if stripped.startswith("|") else "list" if _LIST_ITEM.match(line) else "paragraph"
        # An indented line right after a list item continues that item.
        if current and current.kind == "list" and kind == "paragraph" and line[:1].isspace():
            kind = "list"
        if current and current.kind == "list" and kind == "paragraph":
            blocks.append(current)
            current = None
        if current is None or current.kind != kind:
            if current:
                blocks.append(current)
            current = _Block(kind, [])
        current.lines.append(line)
    if current:
        blocks.append(current)
    return blocks


def _split_block(block: _Block, limit: int) -> list[str]:
    """Split one oversize block at its natural joints: table rows, list items, sentences."""
    if block.kind == "table" and len(block.lines) > 2:
        header, rows = block.lines[:2], block.lines[2:]
        return _pack(rows, limit, prefix="\n".join(header))
    if block.kind == "list":
        items: list[str] = []
        for line in block.lines:
            if _LIST_ITEM.match(line) or not items:
                items.append(line)
            else:
                items[-1] += "\n" + line
        return _pack(items, limit)
    sentences = _SENTENCE_END.split(block.text)
    return _pack([s for s in sentences if s.strip()], limit, joiner=" ")


def _pack(parts: list[str], limit: int, prefix: str = "", joiner: str = "\n") -> list[str]:
    out: list[str] = []
    current: list[str] = []
    size = len(prefix)
    for part in parts:
        if current and size + len(part) + 1 > limit:
            out.append(joiner.join(([prefix] if prefix else []) + current).strip())
            current, size = [], len(prefix)
        current.append(part)
        size += len(part) + 1
    if current:
        out.append(joiner.join(([prefix] if prefix else []) + current).strip())
    return out


def _section_texts(blocks: list[_Block], limit: int) -> list[str]:
    texts: list[str] = []
    current = ""
    for block in blocks:
        pieces = [block.text] if len(block.text) <= limit else _split_block(block, limit)
        for piece in pieces:
            if current and len(current) + len(piece) + 2 > limit:
                texts.append(current)
                current = ""
            current = f"{current}\n\n{piece}" if current else piece
    if current:
        texts.append(current)
    return texts


def chunk_document(doc: Document, max_chars: int = MAX_CHARS) -> list[Chunk]:
    sections: list[tuple[str, list[str]]] = [("", [])]
    path: dict[int, str] = {}
    in_fence = False
    for line in doc.body.splitlines():
        if line.strip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            sections[-1][1].append(line)
            continue
        level, heading = len(match.group(1)), match.group(2).strip()
        if level == 1:
            continue  # the document title; already carried by the metadata
        path = {lvl: text for lvl, text in path.items() if lvl < level}
        path[level] = heading
        sections.append((" > ".join(path[k] for k in sorted(path)), []))
    chunks: list[Chunk] = []
    for section, lines in sections:
        for text in _section_texts(_blocks(lines), max_chars):
            position = len(chunks)
            chunks.append(Chunk(f"{doc.storage_key}#{position:03d}", doc.key, section, text, position))
    return chunks


def passages(text: str) -> list[str]:
    """The self-contained units of a chunk, each embedded on its own beside the whole chunk.

    A chunk of 1,200 characters averages the meaning of several answers; a question about one of
    them ("can I turn off online payments?") matches that one sentence or list item far better
    than the whole. Units are the chunk's own joints: sentences of a paragraph, items of a list,
    rows of a table (with the header, so a row keeps its column names). A chunk made of one unit
    has no passages: its own vector already says it all.
    """
    units: list[str] = []
    for block in _blocks(text.splitlines()):
        if block.kind == "table" and len(block.lines) > 2:
            header = "\n".join(block.lines[:2])
            units += [f"{header}\n{row}" for row in block.lines[2:] if row.strip()]
        elif block.kind == "list":
            units += _list_items(block.lines)
        elif block.kind == "code":
            units.append(block.text)
        else:
            units += [" ".join(s.split()) for s in _SENTENCE_END.split(block.text) if s.strip()]
    return units if len(units) > 1 else []


_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


def _list_items(lines: list[str]) -> list[str]:
    items: list[str] = []
    for line in lines:
        if _LIST_ITEM.match(line) or not items:
            items.append(line.strip())
        else:
            items[-1] += " " + line.strip()
    return items
