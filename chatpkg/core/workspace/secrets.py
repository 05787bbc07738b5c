"""Files that look like secrets: never sent to a model, never copied into a transcript.

chatpkg never adds them to git itself, the model may not write them, and a
transcript records only that they exist. Templates meant to be committed
(``.env.example``) are not secrets.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import PurePosixPath

SECRET_NAMES = (
    ".env", ".env.*", ".envrc",
    "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore",
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_rsa.*", "id_dsa.*", "id_ecdsa.*", "id_ed25519.*",
    ".netrc", ".pypirc", ".git-credentials", ".npmrc",
    "credentials.json", "service-account*.json", "*.kdbx",
)
SECRET_DIRS = (".ssh", ".aws", ".gnupg", ".docker")
NOT_SECRET = (".env.example", ".env.sample", ".env.template", ".env.dist", "*.pub")


def is_secret(rel: str) -> bool:
    """Whether the workspace path ``rel`` (POSIX, relative) looks like it holds a secret."""
    path = PurePosixPath(rel)
    name = path.name.lower()
    if any(fnmatchcase(name, pattern) for pattern in NOT_SECRET):
        return False
    if any(part.lower() in SECRET_DIRS for part in path.parts[:-1]):
        return True
    return any(fnmatchcase(name, pattern) for pattern in SECRET_NAMES)


def exclude_lines() -> list[str]:
    """The same names as gitignore lines, for a repository chatpkg creates."""
    lines = [f"**/{d}/" for d in SECRET_DIRS] + list(SECRET_NAMES)
    return lines + [f"!{pattern}" for pattern in NOT_SECRET]
