"""Safe extraction of a tar archive into a folder.

Every member is checked before anything is written: absolute names, ``..`` components, links
(symbolic or hard) whose target leaves the destination, device files and fifos are refused with
a ``UserError`` naming the archive and the member. Then the archive is extracted with tarfile's
``data`` filter (which enforces the same rules again and drops special permission bits).
"""

from __future__ import annotations

import os
import posixpath
import tarfile
from pathlib import Path

from robustbench_dm.errors import UserError


# tarfile's own checks where the Python version has them (3.10.12+, 3.11.4+); ours run anyway
_DATA_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def _inside(path: str) -> bool:
    """Whether the normalised relative POSIX ``path`` stays inside its root."""
    norm = posixpath.normpath(path)
    return not (norm == ".." or norm.startswith("../") or posixpath.isabs(norm))


def member_problem(member: tarfile.TarInfo) -> str | None:
    """Why ``member`` may not be extracted, or None when it is a plain file, folder or a link
    that stays inside the destination."""
    name = member.name
    if name.startswith(("/", "\\")) or posixpath.isabs(name) or (len(name) > 1 and name[1] == ":"):
        return "has an absolute path"
    if ".." in name.replace("\\", "/").split("/"):
        return "has a '..' component"
    if member.ischr() or member.isblk():
        return "is a device file"
    if member.isfifo():
        return "is a fifo"
    if member.issym():
        if posixpath.isabs(member.linkname):
            return f"is a symlink to the absolute path {member.linkname}"
        if not _inside(posixpath.join(posixpath.dirname(name), member.linkname)):
            return f"is a symlink pointing outside the destination ({member.linkname})"
    if member.islnk() and (posixpath.isabs(member.linkname) or not _inside(member.linkname)):
        return f"is a hard link pointing outside the destination ({member.linkname})"
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return "is not a file, folder or link"
    return None


def extract_tar(archive: str | os.PathLike, destination: str | os.PathLike) -> int:
    """Extract ``archive`` (tar, optionally gzip/bzip2/xz compressed) into the existing folder
    ``destination``; returns the number of bytes of the regular files written. Refuses the
    whole archive (writing nothing) when any member is unsafe."""
    archive, destination = Path(archive), Path(destination)
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as err:
        raise UserError(f"{archive} is not a readable tar archive ({err})") from None
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, OSError, EOFError) as err:
            raise UserError(f"{archive} is damaged ({err})") from None
        for member in members:
            problem = member_problem(member)
            if problem is not None:
                raise UserError(f"refused to extract {archive}: member {member.name!r} "
                                f"{problem}; nothing was extracted")
        try:
            tar.extractall(destination, members=members, **_DATA_FILTER)
        except (tarfile.TarError, OSError, EOFError) as err:
            raise UserError(f"extracting {archive} failed ({err})") from None
    return sum(m.size for m in members if m.isfile())
