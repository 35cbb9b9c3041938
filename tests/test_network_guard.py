import socket

import pytest

from tests.conftest import NetworkGuardError


def test_guard_blocks_metadata_address() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(NetworkGuardError),
    ):
        sock.connect(("169.254.169.254", 80))


def test_guard_blocks_name_resolution() -> None:
    with pytest.raises(NetworkGuardError):
        socket.getaddrinfo("management.azure.com", 443)


def test_guard_allows_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
