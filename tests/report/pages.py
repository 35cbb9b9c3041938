"""Read the boxes of a report page back out of its HTML, for assertions."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# The rule ids of the findings planted in demo/estate.json.
PLANTED_RULES = {
    "workspace.image-build-compute",
    "registry.quarantine",
    "storage.private-endpoint",
    "private-endpoint.dns",
    "compute.outbound-path",
    "compute.outbound-rules",
    "endpoint.stale-network",
    "endpoint.studio-invoke",
}


@dataclass
class DrawnBox:
    """A `<g class="box ...">` or `<g class="group ...">` element and the text inside it."""

    classes: list[str]
    resource: str
    # The id attribute of the enclosing workspace section (the lowercased workspace id).
    section: str
    text: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return next(c.removeprefix("state-") for c in self.classes if c.startswith("state-"))

    @property
    def joined(self) -> str:
        return " ".join(self.text)


class _BoxParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.boxes: list[DrawnBox] = []
        self._open: list[DrawnBox | None] = []
        self.tags: list[str] = []
        self._section = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "section":
            self._section = values.get("id") or ""
        if tag != "g":
            return
        classes = (values.get("class") or "").split()
        if "box" in classes or "group" in classes:
            box = DrawnBox(classes, values.get("data-resource") or "", self._section)
            self.boxes.append(box)
            self._open.append(box)
        else:
            self._open.append(None)

    def handle_endtag(self, tag: str) -> None:
        if tag == "g" and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for box in self._open:
            if box is not None:
                box.text.append(data)


def drawn_boxes(page: str) -> list[DrawnBox]:
    parser = _BoxParser()
    parser.feed(page)
    return parser.boxes


def tag_names(page: str) -> set[str]:
    parser = _BoxParser()
    parser.feed(page)
    return set(parser.tags)


def box_of(page: str, resource_id: str, workspace_id: str | None = None) -> DrawnBox:
    """Return the one box drawn for `resource_id`, in the section of `workspace_id` if given."""
    matches = [
        b
        for b in drawn_boxes(page)
        if b.resource.lower() == resource_id.lower()
        and (workspace_id is None or b.section == workspace_id.lower())
    ]
    if len(matches) != 1:
        raise AssertionError(f"expected one box for {resource_id}, found {len(matches)}")
    return matches[0]
