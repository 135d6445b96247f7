#!/usr/bin/env python3
"""A stand-in for the QGS socket of a fixture host: a UNIX socket that
listens (host check connects to it) and closes every connection, for as long
as the process OWNER_PID lives. Returns at once; the listener runs in the
background.  Usage: qgs-stand-in.py SOCKET_PATH OWNER_PID"""
import os
import select
import socket
import sys

path, owner = sys.argv[1], int(sys.argv[2])
sock = socket.socket(socket.AF_UNIX)
sock.bind(path)
sock.listen(16)
if os.fork():
    sys.exit(0)
os.setsid()
while True:
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        break
    ready, _, _ = select.select([sock], [], [], 1.0)
    if ready:
        conn, _ = sock.accept()
        conn.close()
