"""Clients that hold sockets, send headers slowly or without end, cannot take the server from others."""

import resource
import socket
import ssl
import threading
import time
from pathlib import Path

import requests

from tests.sdk import call
from tests.serverproc import Server

IDLE_ADDRESS = "127.0.0.3"


def open_idle(server: Server, count: int, source: str = IDLE_ADDRESS) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5, source_address=(source, 0))
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket, wait: float = 0.5) -> bool:
    """Whether the server closes the connection within `wait` (the rest of a reply may come first)."""
    deadline = time.monotonic() + wait
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if sock.recv(65536) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        pass
    return False


def test_one_address_cannot_hold_every_connection(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ("--connection-limit-per-address", "5")).start()
    try:
        idle = open_idle(server, 12)
        time.sleep(0.3)
        assert sum(closed_by_server(sock) for sock in idle) == 7, "the sixth and later were closed at once"
        key_id = call(server.client(), "CreateKey", Alias="still-served")["KeyId"]
        assert key_id
        for sock in idle:
            sock.close()
    finally:
        server.stop()


def test_connections_beyond_the_total_are_closed(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ("--connection-limit", "8")).start()
    try:
        idle = [sock for n in range(4) for sock in open_idle(server, 3, f"127.0.0.{10 + n}")]
        time.sleep(0.3)
        assert sum(closed_by_server(sock) for sock in idle) == 4
        for sock in idle:
            sock.close()
    finally:
        server.stop()


def test_a_request_whose_headers_do_not_arrive_in_time_is_closed(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ("--request-timeout", "1")).start()
    try:
        (silent,) = open_idle(server, 1)
        (slow,) = open_idle(server, 1)
        slow.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        time.sleep(1.5)
        assert closed_by_server(silent) and closed_by_server(slow)
        call(server.client(), "GenerateRandom", NumberOfBytes=4)
    finally:
        server.stop()


def test_headers_without_end_are_refused_at_64_kb(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Filler: ")
            reply = b""
            try:
                for _ in range(64):
                    sock.sendall(b"a" * 4096)
                reply = sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                pass
            assert reply == b"" or reply.startswith(b"HTTP/1.1 431")
            assert closed_by_server(sock, wait=2)
        call(server.client(), "GenerateRandom", NumberOfBytes=4)
    finally:
        server.stop()


def test_the_open_file_limit_is_raised_to_its_hard_limit(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))  # the usual default, inherited
    try:
        server = Server(tmp_path / "data").start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        assert server.process is not None
        limits = Path(f"/proc/{server.process.pid}/limits").read_text().splitlines()
        raised, maximum = next(line for line in limits if line.startswith("Max open files")).split()[3:5]
        assert raised == maximum
    finally:
        server.stop()


def test_an_idle_tls_connection_does_not_hold_up_a_stop(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ("--tls-self-signed",)).start()
    context = ssl.create_default_context(cafile=str(tmp_path / "data" / "tls" / "ca.pem"))
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as idle:
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        server.stop()  # the client keeps its keep-alive connection open and never answers close_notify
        assert time.monotonic() - started < 5, "SIGTERM waited for an idle client (the grace period is 10 s)"


def test_stopping_two_workers_refuses_keep_alive_clients_but_never_resets_them(tmp_path: Path) -> None:
    """While the workers drain, a client reusing a connection gets its answer (with Connection: close)
    or a refused new connection: never a reset, nor a connection closed under its request."""
    server = Server(tmp_path / "data", ("--workers", "2")).start()
    time.sleep(1.0)  # both workers up
    url = f"http://{server.endpoint}/healthz"
    answered, failures = [0], []
    stop = threading.Event()

    def keep_alive_client() -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                answered[0] += session.get(url, timeout=5).status_code == 200
            except requests.ConnectionError as refused:
                if "Connection refused" not in repr(refused):
                    failures.append(repr(refused)[:200])
                time.sleep(0.01)

    clients = [threading.Thread(target=keep_alive_client) for _ in range(4)]
    for client in clients:
        client.start()
    time.sleep(0.5)
    assert server.stop() == 0
    time.sleep(0.3)
    stop.set()
    for client in clients:
        client.join()
    assert answered[0] > 10
    assert failures == []
