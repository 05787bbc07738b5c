"""The side panel's views: a turn's diff, a test report, the workspace files, the turn list."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.highlight import highlight
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static, TabbedContent, TabPane, Tree

from chatpkg.core.runner import TestReport

DIFF_STYLES = (("diff --git", "bold"), ("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"),
               ("-", "red"))


def highlight_diff(diff: str) -> Text:
    text = Text(no_wrap=True)
    for line in diff.splitlines():
        style = next((s for prefix, s in DIFF_STYLES if line.startswith(prefix)), "")
        text.append(line + "\n", style=style)
    return text


class SideTabs(TabbedContent):
    """The side panel: one tab per view, its id the lower-cased title; ``show_next`` cycles through them (ctrl+n)."""

    def __init__(self, views: dict[str, Widget]) -> None:
        self.tab_ids = tuple(title.lower() for title in views)
        super().__init__(id="side", initial=self.tab_ids[0])
        for title, view in views.items():
            self.compose_add_child(TabPane(title, view, id=title.lower()))

    def show_next(self) -> None:
        ids = self.tab_ids
        self.active = ids[(ids.index(self.active) + 1) % len(ids)] if self.active in ids else ids[0]


class DiffView(VerticalScroll):
    """A unified diff, highlighted.

    The views keep their parts as attributes rather than querying for them: a turn's diff or
    report can arrive while the app is closing, when a query finds the parts already removed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.body = Static("No turn yet.", id="diff-body")

    def compose(self) -> ComposeResult:
        yield self.body

    def show(self, title: str, diff: str) -> None:
        self.diff = diff
        if not diff.strip():
            self.body.update(Text(f"{title}\n\n(no changes)"))
        else:
            self.body.update(highlight_diff(diff))
        self.border_title = title
        self.scroll_home(animate=False)


class TestsView(VerticalScroll):
    """The last test report: counts, then each failing test with its trimmed output."""

    __test__ = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.body = Static("No test run yet.", id="tests-body")

    def compose(self) -> ComposeResult:
        yield self.body

    def show(self, title: str, report: dict[str, Any] | None) -> None:
        self.report = TestReport.from_dict(report) if report else None
        self.border_title = title
        if self.report is None:
            self.body.update("No test run for this turn.")
            return
        text = Text()
        style = "bold green" if self.report.ok else "bold red"
        text.append(f"{self.report.summary()}\n", style=style)
        for failure in self.report.failures:
            text.append(f"\nFAILED {failure.test_id}\n", style="bold red")
            text.append(f"{failure.message}\n", style="red")
            text.append(failure.output.rstrip() + "\n", style="dim")
        if not self.report.failures and not self.report.ok and self.report.output:
            text.append("\n" + self.report.output.rstrip() + "\n", style="dim")
        if self.report.program_ran:
            text.append(f"\n{self.report.program} printed:\n", style="bold")
            text.append(self.report.printed + "\n")
        self.body.update(text)


class FilesView(Vertical):
    """The workspace tree with git marks (M changed, ? new); selecting a file shows it."""

    @dataclass
    class FileSelected(Message):
        view: FilesView
        path: str

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.file_tree: Tree[str] = Tree("workspace", id="files-tree")
        self.file_tree.show_root = False
        self.file_scroll = VerticalScroll(id="file-scroll")
        self.body = Static("Select a file to see it.", id="file-body")

    def compose(self) -> ComposeResult:
        yield self.file_tree
        with self.file_scroll:
            yield self.body

    def show_tree(self, files: list[str], changed: set[str]) -> None:
        tree = self.file_tree
        tree.clear()
        folders: dict[str, Any] = {"": tree.root}
        for path in sorted(set(files) | changed):
            parts = PurePosixPath(path).parts
            for depth in range(1, len(parts)):
                key = "/".join(parts[:depth])
                if key not in folders:
                    folders[key] = folders["/".join(parts[: depth - 1])].add(parts[depth - 1] + "/", expand=True)
            mark = "?" if path not in files else ("M" if path in changed else " ")
            label = Text.assemble((f"{mark} ", "bold yellow" if mark.strip() else ""), parts[-1])
            folders["/".join(parts[:-1])].add_leaf(label, data=path)
        tree.root.expand()

    def show_file(self, path: str, text: str) -> None:
        self.body.update(highlight(text, path=path))
        self.file_scroll.border_title = path

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()
        if event.node.data:
            self.post_message(self.FileSelected(self, event.node.data))


@dataclass(frozen=True)
class TurnRow:
    number: int
    commit: str | None
    outcome: str
    text: str
    mark: str = ""  # "*" in the workspace, "undone", or a replay verdict


class TurnsView(DataTable[str]):
    """The turns with commit ids and outcomes; selecting one shows its diff and tests."""

    @dataclass
    class TurnSelected(Message):
        view: TurnsView
        number: int

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_columns("#", "commit", "", "outcome", "request")

    def show_turns(self, rows: list[TurnRow]) -> None:
        self.clear()
        for row in rows:
            first_line = row.text.splitlines()[0] if row.text else ""
            self.add_row(str(row.number), (row.commit or "")[:7] or "-", row.mark, row.outcome, first_line[:60],
                         key=str(row.number))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.TurnSelected(self, int(event.row_key.value)))
