"""Undo, redo and the user's own edits, also across a restart."""

from __future__ import annotations

import threading
from pathlib import Path

import git
from helpers import ADD_REPLY, ADD_SRC, make_session, run, whole

from chatpkg.core.engine.events import Notice, TurnRedone, TurnUndone, UserEditsCommitted
from chatpkg.core.engine.store import open_session
from chatpkg.core.models import ScriptedModel

MUL_REPLY = whole({"pkg/mul.py": "def mul(a, b):\n    return a * b\n"})


def test_undo_and_redo_survive_a_restart(root: Path) -> None:
    session, _ = make_session(root, [ADD_REPLY, MUL_REPLY])
    run(session, "Add add(a, b).")
    run(session, "Add mul(a, b).")
    second = session.workspace.head().sha

    assert isinstance(session.undo(), TurnUndone)
    assert not (root / "pkg" / "mul.py").exists() and session.position == 1

    # quit and start again: the redo is still there
    model = ScriptedModel([])
    restarted, problems = open_session(root, model)
    assert problems == [] and restarted.session_id == session.session_id
    assert restarted.position == 1 and restarted.state.redo == [2]
    assert isinstance(restarted.redo(), TurnRedone)
    assert restarted.workspace.head().sha == second and (root / "pkg" / "mul.py").exists()

    assert isinstance(restarted.undo(), TurnUndone) and isinstance(restarted.undo(), TurnUndone)
    assert restarted.position == 0 and not (root / "pkg" / "calc.py").exists()
    assert isinstance(restarted.undo(), Notice)  # nothing left to undo


def test_undone_turns_leave_the_models_history(root: Path) -> None:
    session, model = make_session(root, [ADD_REPLY, MUL_REPLY, MUL_REPLY])
    run(session, "Add add(a, b).")
    run(session, "Add mul(a, b).")
    session.undo()
    run(session, "Add mul again.")
    content = model.asked[2][-1]["content"]
    assert "- turn 1: Add add(a, b)." in content and "Add mul(a, b)." not in content


def test_a_new_turn_after_undo_drops_redo_but_keeps_a_ref(root: Path) -> None:
    session, _ = make_session(root, [ADD_REPLY, MUL_REPLY])
    run(session, "Add add(a, b).")
    undone = session.workspace.head().sha
    session.undo()
    run(session, "Add mul instead.")

    assert isinstance(session.redo(), Notice)
    repo = git.Repo(root)
    refs = {r.path: r.commit.hexsha for r in repo.references if r.path.startswith("refs/chatpkg/")}
    assert refs[f"refs/chatpkg/{session.session_id}/turn-1"] == undone
    assert [c.summary for c in repo.iter_commits()][:1] == ["turn 2: Add mul instead."]


def test_undo_refuses_to_destroy_uncommitted_user_changes(root: Path) -> None:
    session, _ = make_session(root, [ADD_REPLY])
    run(session, "Add add(a, b).")
    (root / "pkg" / "calc.py").write_text(ADD_SRC + "# my note\n")

    refusal = session.undo()

    assert isinstance(refusal, Notice) and "pkg/calc.py" in refusal.message
    assert (root / "pkg" / "calc.py").read_text().endswith("# my note\n")
    assert session.position == 1


def test_undo_refuses_when_commits_were_made_outside_chatpkg(root: Path) -> None:
    session, _ = make_session(root, [ADD_REPLY])
    run(session, "Add add(a, b).")
    (root / "NOTES.md").write_text("mine\n")
    repo = git.Repo(root)
    repo.git.add("NOTES.md")
    repo.index.commit("my own commit")

    refusal = session.undo()

    assert isinstance(refusal, Notice) and "commits made since" in refusal.message
    assert (root / "NOTES.md").exists()


def test_dirty_user_edits_are_committed_before_the_turn_and_never_lost(root: Path) -> None:
    session, model = make_session(root, [ADD_REPLY])
    (root / "pkg" / "__init__.py").write_text('"""My package."""\n')
    (root / "NOTES.md").write_text("my notes\n")

    events = run(session, "Add add(a, b).")

    user = next(e for e in events if isinstance(e, UserEditsCommitted))
    assert user.files == {"NOTES.md": "my notes\n", "pkg/__init__.py": '"""My package."""\n'}
    summaries = [c.summary for c in git.Repo(root).iter_commits()]
    assert summaries[:2] == ["turn 1: Add add(a, b).", "user edits before turn 1"]
    assert "my notes" in model.asked[0][-1]["content"]  # the model saw them
    session.undo()
    assert (root / "NOTES.md").read_text() == "my notes\n"  # undo stops at the user's commit


def test_an_existing_repository_is_used_as_it_is(tmp_path: Path) -> None:
    root = tmp_path / "existing"
    root.mkdir()
    repo = git.Repo.init(root)
    (root / "app.py").write_text("print('hi')\n")
    repo.git.add("app.py")
    repo.index.commit("their first commit")

    session, _ = open_session(root, ScriptedModel([]))

    assert [c.summary for c in repo.iter_commits()] == ["their first commit"]
    assert not (root / "pyproject.toml").exists()
    assert session.workspace.text_files() == {"app.py": "print('hi')\n"}


def test_a_non_git_directory_with_files_is_tracked_not_scaffolded(tmp_path: Path) -> None:
    root = tmp_path / "loose"
    root.mkdir()
    (root / "script.py").write_text("x = 1\n")

    open_session(root, ScriptedModel([]), init=True)  # the user agreed (tests/test_safe_start.py)

    repo = git.Repo(root)
    assert [c.summary for c in repo.iter_commits()] == ["chatpkg: start tracking the workspace"]
    assert not (root / "pyproject.toml").exists()


def test_the_workspace_serves_threads_one_at_a_time(root: Path) -> None:
    """A front end's workers read git at once (the TUI refreshes files while it shows a diff).

    GitPython shares one ``git cat-file`` pipe per repository; without the workspace's
    lock these readers garble each other's replies or hang.
    """
    session, _ = make_session(root, [ADD_REPLY, MUL_REPLY])
    run(session, "Add add(a, b).")
    run(session, "Add mul(a, b).")
    ws, sha = session.workspace, session.workspace.head().sha
    expected = ws.snapshot(sha)
    failures: list[str] = []

    def read(times: int) -> None:
        try:
            for _ in range(times):
                if ws.snapshot(sha) != expected or ws.tree_of(sha) != ws.head().tree:
                    failures.append("a read returned another commit's data")
        except Exception as exc:  # noqa: BLE001 - any error is the failure this test looks for
            failures.append(repr(exc))

    threads = [threading.Thread(target=read, args=(100,), daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a reader hung"
    assert failures == []


def test_the_steps_of_the_current_line_keep_requests_that_changed_nothing_until_their_base_is_undone() -> None:
    """``SessionState.steps``: what the whole-program rewrites are told the user asked (agreement.py)."""
    from chatpkg.core.engine.events import TurnCommitted, TurnEnded, TurnStarted
    from chatpkg.core.engine.state import fold

    def turn(n: int, parent: str, commit: str | None) -> list:  # type: ignore[type-arg]
        events = [TurnStarted(n, f"step {n}", parent)]
        if commit:
            events.append(TurnCommitted(n, commit, "tree", f"turn {n}", parent))
        return [*events, TurnEnded(n, "committed" if commit else "no_edits", 1, 0, 0, commit=commit)]

    events = [*turn(1, "base", "c1"), *turn(2, "c1", None), *turn(3, "c1", "c3"), *turn(4, "c3", None)]
    assert fold(events).steps() == ["step 1", "step 2", "step 3", "step 4"]
    assert [h.request for h in fold(events).history()] == ["step 1", "step 3"]
    undone = [*events, TurnUndone(3, "c3", "c1")]
    assert fold(undone).steps() == ["step 1", "step 2"]  # step 4 was asked on top of the undone turn 3
    assert fold([*undone, TurnRedone(3, "c1", "c3")]).steps() == ["step 1", "step 2", "step 3", "step 4"]
    assert fold([*turn(1, "base", None)]).steps() == ["step 1"]
