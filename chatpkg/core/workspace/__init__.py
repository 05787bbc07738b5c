"""The workspace: the git work tree a session edits, and turning replies into file edits.

This layer imports nothing of chatpkg outside itself.
"""

from chatpkg.core.workspace.repository import Commit, Workspace, WorkspaceError

__all__ = ["Commit", "Workspace", "WorkspaceError"]
