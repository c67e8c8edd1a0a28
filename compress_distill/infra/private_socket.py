"""Unix sockets only this user can reach: a folder that is this user's alone, and the uid at the other end.

A folder in the shared temporary folder may have been created by someone else first (a fixed name is easy to guess):
one not owned by this user, or open to others, is refused, never reused — whoever owns it could read every request
sent through it (a job's environment holds its secrets) and answer in the server's place. Each end of a connection
also checks the other's uid (the kernel's peer credentials), so a socket reached another way is refused as well.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
import tempfile

SOCKET_PATH_MAX = 107  # bytes of a Unix socket's path on Linux


class NotPrivate(PermissionError):
    pass


def private_folder(folder: str) -> str:
    """``folder``, created mode 0700 if missing; NotPrivate, naming it, if it is not a real folder of this user's
    alone."""
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise NotPrivate(f"{folder} is not a folder (a link or a file is there)")
    if info.st_uid != os.getuid():
        raise NotPrivate(f"{folder} belongs to uid {info.st_uid}, not to this user (uid {os.getuid()})")
    if info.st_mode & 0o077:
        raise NotPrivate(f"{folder} is open to other users (mode {stat.S_IMODE(info.st_mode):o}, not 700)")
    return folder


def socket_in_temp(folder_name: str, key: str) -> str:
    """``<temporary folder>/<folder_name>/<key>.sock``, the folder private (/tmp where that path would be too long
    for a socket)."""
    folder = os.path.join(tempfile.gettempdir(), folder_name)
    if len(folder) > SOCKET_PATH_MAX - len(key) - 6:
        folder = os.path.join("/tmp", folder_name)
    return os.path.join(private_folder(folder), key + ".sock")


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a connected Unix socket (Linux's SO_PEERCRED)."""
    _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid


def same_user(conn: socket.socket) -> bool:
    return peer_uid(conn) == os.getuid()
