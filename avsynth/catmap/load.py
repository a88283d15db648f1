"""Read a category map from YAML into the frozen dataclasses of :mod:`avsynth.catmap.schema`.

The loader checks structure only (no vocabularies): valid YAML, a known ``schema_version``,
the expected keys and types, no duplicate keys, non-empty lists, at least one visual source
per category, and that no category name, LVIS name, Open Images MID or VGGSound label is used
twice. Every problem is one line ``FILE:LINE: what is wrong; how to fix``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from avsynth.catmap.schema import (
    MAP_SCHEMA_VERSION,
    Category,
    CategoryMap,
    LvisRef,
    OpenImagesRef,
)
from avsynth.errors import MapError, did_you_mean

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_TOP_KEYS = ("schema_version", "name", "categories")
_CAT_KEYS = ("name", "lvis", "openimages", "vggsound")
_REF_KEYS = {"lvis": ("name", "synset"), "openimages": ("mid", "name")}


@dataclass
class ParsedMap:
    """A parsed map with the problems found and source lines for later messages.

    Attributes:
        source: File name used in messages.
        map: The map built from the parts that parsed (``None`` if nothing usable).
        problems: One line per problem, each starting ``SOURCE:LINE:``.
        lines: Line numbers: ``(i,)`` category *i*; ``(i, kind, j)`` its *j*-th ``kind`` ref,
            where *i* indexes the ``categories`` list in the file.
        index: For each category of ``map``, its index *i* in the file's list.
    """

    source: str
    map: CategoryMap | None = None
    problems: list[str] = field(default_factory=list)
    lines: dict[tuple, int] = field(default_factory=dict)
    index: list[int] = field(default_factory=list)
    _order: list[int] = field(default_factory=list, repr=False)

    def add(self, line: int | None, message: str) -> None:
        where = f"{self.source}:{line}" if line else self.source
        self.problems.append(f"{where}: {message}")
        self._order.append(line or 0)

    def sort(self) -> None:
        """Order problems by line (stable)."""
        order = sorted(range(len(self.problems)), key=lambda k: self._order[k])
        self.problems = [self.problems[k] for k in order]
        self._order = [self._order[k] for k in order]


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _Walker:
    """Walks the composed YAML node tree, building values and recording problems."""

    def __init__(self, loader: yaml.SafeLoader, parsed: ParsedMap) -> None:
        self.loader = loader
        self.p = parsed

    def scalar(self, node: yaml.Node):
        return self.loader.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node, what: str, allowed, required) -> dict | None:
        """Keys -> (key line, value node); reports duplicate, unknown and missing keys."""
        if not isinstance(node, yaml.MappingNode):
            self.p.add(_line(node), f"{what} must be a mapping with keys {', '.join(allowed)}")
            return None
        out: dict[str, yaml.Node] = {}
        for knode, vnode in node.value:
            key = self.scalar(knode) if isinstance(knode, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.p.add(_line(knode), f"{what}: keys must be strings")
            elif key in out:
                self.p.add(_line(knode), f"{what}: duplicate key {key!r}; keep one")
            elif key not in allowed:
                self.p.add(
                    _line(knode),
                    f"{what}: unknown key {key!r} (allowed: {', '.join(allowed)})"
                    + did_you_mean(key, allowed),
                )
            else:
                out[key] = vnode
        for key in required:
            if key not in out:
                self.p.add(_line(node), f"{what}: missing {key!r}")
        return out

    def string(self, node: yaml.Node, what: str) -> str | None:
        value = self.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, str) or not value.strip():
            got = (
                f"got {node.value!r}"
                if isinstance(node, yaml.ScalarNode)
                else "got a " + ("list" if isinstance(node, yaml.SequenceNode) else "mapping")
            )
            self.p.add(_line(node), f"{what} must be a non-empty string, {got} (quote it)")
            return None
        if value != value.strip():
            self.p.add(_line(node), f"{what} {value!r} has leading or trailing spaces")
            return None
        return value

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.p.add(_line(node), f"{what} must be a list")
            return None
        if not node.value:
            self.p.add(_line(node), f"{what} is an empty list; add entries or remove the key")
            return None
        return list(node.value)


def parse_map(text: str | bytes, source: str = "<map>") -> ParsedMap:
    """Parse map text, collecting every structural problem instead of stopping at the first.

    Args:
        text: YAML text (bytes are decoded as UTF-8; the SHA-256 is of these bytes).
        source: Name used in messages (normally the file path).

    Returns:
        A :class:`ParsedMap`; ``problems`` is empty when the map is structurally valid.
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    p = ParsedMap(source)
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        p.add(None, f"not UTF-8 text (byte {e.start}); save the map as UTF-8")
        return p
    loader = yaml.SafeLoader(decoded)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
            p.problems.append(f"{where}: invalid YAML: {e.problem or e.context}")
            p._order.append(0)
            return p
        except yaml.YAMLError as e:
            p.add(None, f"invalid YAML: {e}")
            return p
        if root is None:
            p.add(None, "empty file; expected keys schema_version, name, categories")
            return p
        _build(_Walker(loader, p), root, raw)
    finally:
        loader.dispose()
    p.sort()
    return p


def _build(w: _Walker, root: yaml.Node, raw: bytes) -> None:
    p = w.p
    top = w.mapping(root, "map", _TOP_KEYS, _TOP_KEYS)
    if top is None:
        return
    if "schema_version" in top:
        node = top["schema_version"]
        version = w.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if version != MAP_SCHEMA_VERSION or isinstance(version, bool):
            p.add(
                _line(node),
                f"unknown schema_version {version!r}; this avsynth reads schema_version "
                f"{MAP_SCHEMA_VERSION}",
            )
            return
    name = w.string(top["name"], "map 'name'") if "name" in top else None
    if "categories" not in top:
        return
    nodes = w.sequence(top["categories"], "'categories'")
    if nodes is None:
        return
    built = [(i, _category(w, i, node)) for i, node in enumerate(nodes)]
    built = [(i, c) for i, c in built if c is not None]
    _check_unique(p, built)
    # With problems, the map holds what parsed, so vocabulary checks can still report.
    p.map = CategoryMap(
        schema_version=MAP_SCHEMA_VERSION,
        name=name or "",
        categories=tuple(c for _, c in built),
        sha256="" if p.problems else hashlib.sha256(raw).hexdigest(),
    )
    p.index = [i for i, _ in built]


def _category(w: _Walker, i: int, node: yaml.Node) -> Category | None:
    p = w.p
    p.lines[(i,)] = _line(node)
    label = f"category #{i + 1}"
    if isinstance(node, yaml.MappingNode):
        for knode, vnode in node.value:
            if isinstance(knode, yaml.ScalarNode) and knode.value == "name":
                if isinstance(vnode, yaml.ScalarNode) and vnode.value:
                    label = f"category {vnode.value!r}"
    keys = w.mapping(node, label, _CAT_KEYS, ("name", "vggsound"))
    if keys is None:
        return None
    name = w.string(keys["name"], f"{label}: 'name'") if "name" in keys else None
    if name is not None and not NAME_RE.match(name):
        p.add(
            _line(keys["name"]),
            f"{label}: name must be lower-case letters, digits and '_' "
            f"(e.g. {re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_') or 'dog'!r})",
        )
    refs: dict[str, list] = {"lvis": [], "openimages": [], "vggsound": []}
    for kind in ("lvis", "openimages"):
        if kind in keys:
            refs[kind] = _refs(w, i, kind, keys[kind], label)
    if "vggsound" in keys:
        for item in w.sequence(keys["vggsound"], f"{label}: 'vggsound'") or []:
            text = w.string(item, f"{label}: VGGSound label")
            if text is not None:
                p.lines[(i, "vggsound", len(refs["vggsound"]))] = _line(item)
                refs["vggsound"].append(text)
    if "lvis" not in keys and "openimages" not in keys:
        p.add(_line(node), f"{label}: needs at least one visual source ('lvis' or 'openimages')")
    if name is None:
        return None
    return Category(name, tuple(refs["lvis"]), tuple(refs["openimages"]), tuple(refs["vggsound"]))


def _refs(w: _Walker, i: int, kind: str, node: yaml.Node, label: str) -> list:
    keys = _REF_KEYS[kind]
    out = []
    for j, item in enumerate(w.sequence(node, f"{label}: {kind!r}") or []):
        what = f"{label}: {kind} entry #{j + 1}"
        fields = w.mapping(item, what, keys, keys)
        if fields is None or len(fields) != 2:
            continue
        a, b = (w.string(fields[k], f"{what}: {k!r}") for k in keys)
        if a is not None and b is not None:
            w.p.lines[(i, kind, len(out))] = _line(item)
            out.append(LvisRef(a, b) if kind == "lvis" else OpenImagesRef(a, b))
    return out


def _check_unique(p: ParsedMap, categories: list[tuple[int, Category]]) -> None:
    seen: dict[tuple[str, str], str] = {}
    kinds = {"name": "category name", "lvis": "LVIS category", "openimages": "Open Images MID"}
    kinds["vggsound"] = "VGGSound label"
    for i, c in categories:
        items = [("name", c.name, (i,))]
        items += [("lvis", r.name, (i, "lvis", j)) for j, r in enumerate(c.lvis)]
        items += [("openimages", r.mid, (i, "openimages", j)) for j, r in enumerate(c.openimages)]
        items += [("vggsound", lab, (i, "vggsound", j)) for j, lab in enumerate(c.vggsound)]
        for kind, value, where in items:
            other = seen.get((kind, value))
            line = p.lines.get(where)
            if other is None:
                seen[(kind, value)] = c.name
            elif kind == "name":
                p.add(line, f"duplicate category name {c.name!r}; rename one")
            elif other == c.name:
                p.add(
                    line,
                    f"category {c.name!r}: {kinds[kind]} {value!r} is listed twice; keep one",
                )
            else:
                p.add(
                    line,
                    f"category {c.name!r}: {kinds[kind]} {value!r} is also in category "
                    f"{other!r}; each may serve only one category",
                )


def shipped_maps() -> list[str]:
    """Names of the category maps shipped in the package (``["46", "xl"]``)."""
    from avsynth.catmap.vocab import data_path

    return sorted(p.stem for p in data_path("category_maps").glob("*.yaml"))


_SHIPPED = "category_maps"


def resolve_map_path(path: str | Path) -> Path:
    """The map file ``path`` stands for: the file itself if it exists, else the shipped map a
    bare name such as ``46`` (or ``46.yaml``) names, so pip users need no source tree.

    A path that is neither is returned unchanged (reading it then fails with a clear error).
    """
    from avsynth.catmap.vocab import data_path

    p = Path(path)
    # A bare name, or the README's ``category_maps/NAME.yaml`` outside a source tree.
    if p.exists() or not (len(p.parts) == 1 or (len(p.parts) == 2 and p.parts[0] == _SHIPPED)):
        return p
    stem = p.name[: -len(".yaml")] if p.name.endswith(".yaml") else p.name
    if stem in shipped_maps():
        return data_path(f"category_maps/{stem}.yaml")
    return p


def _read(path: str | Path) -> bytes:
    path = resolve_map_path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        names = shipped_maps()
        hint = (
            f" (give a map file, or a shipped map's name: {', '.join(names)}; e.g. "
            f"`avsynth check-map {names[0]}`)"
            if names
            else ""
        )
        raise MapError(f"{path}: category map not found{hint}") from None
    except IsADirectoryError:
        raise MapError(f"{path}: is a directory; pass the map's .yaml file") from None


def parse_map_file(path: str | Path) -> ParsedMap:
    """:func:`parse_map` on a file's bytes (raises :class:`MapError` if it cannot be read)."""
    return parse_map(_read(path), str(path))


def load_map(path: str | Path) -> CategoryMap:
    """Load a category map, checking its structure (not its labels; see ``check_map``).

    Args:
        path: A YAML map such as ``category_maps/46.yaml``, or the name of a shipped map
            (``46``; see :func:`resolve_map_path`).

    Returns:
        The :class:`CategoryMap`, with ``sha256`` of the file's bytes.

    Raises:
        MapError: The file is missing, invalid YAML, of an unknown schema version, or
            malformed; the message is the first problem (``FILE:LINE: ...``).
    """
    parsed = parse_map_file(path)
    if parsed.problems:
        more = len(parsed.problems) - 1
        tail = f" (and {more} more; run 'avsynth check-map {path}')" if more else ""
        raise MapError(parsed.problems[0] + tail)
    assert parsed.map is not None  # internal invariant: no problems means a map was built
    return parsed.map
