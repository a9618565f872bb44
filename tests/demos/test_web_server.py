"""The web demo's server against hostile requests: NUL and unencodable paths, links out of the site,
other Host names (DNS rebinding), clients that drop the connection; none of them prints a traceback."""

import http.client
import socket
import struct
import threading

import pytest

from keras_seq.demos.web_server import SiteServer


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "site"
    (folder / "sub").mkdir(parents=True)
    (folder / "index.html").write_text("<p>hi</p>")
    (folder / "sub" / "page.html").write_text("<p>sub</p>")
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "key.txt").write_text("secret")
    (folder / "out.txt").symlink_to(tmp_path / "secret.txt")
    (folder / "private").symlink_to(tmp_path / "private")
    (folder / "in.html").symlink_to(folder / "sub" / "page.html")
    with SiteServer(folder, port=0) as server:
        yield server


def request(server, path, method="GET", hosts=None):
    """``(status, body)`` of one request; ``hosts``: the Host headers to send (default: http.client's own)."""
    connection = http.client.HTTPConnection("127.0.0.1", server._server.server_port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=hosts is not None)
        for host in hosts or ():
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def finish_requests():
    """Wait for the server's request threads, so anything they print has been printed."""
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(timeout=10)


@pytest.mark.parametrize("path", ["/%00", "/index.html%00", "/sub%00/page.html", "/%ED%A0%80"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_path_that_is_no_file_name_gets_400_quietly(site, capfd, path, method):
    assert request(site, path, method)[0] == 400
    finish_requests()
    assert "Traceback" not in capfd.readouterr().err
    assert request(site, "/")[0] == 200  # the server still answers


@pytest.mark.parametrize("path", ["/out.txt", "/private/key.txt", "/private/"])
def test_links_out_of_the_site_are_not_followed(site, path):
    status, body = request(site, path)
    assert status == 404 and b"secret" not in body


def test_links_inside_the_site_and_the_site_folder_itself_behind_a_link_still_serve(site, tmp_path):
    assert request(site, "/in.html") == (200, b"<p>sub</p>")
    assert request(site, "/sub/page.html") == (200, b"<p>sub</p>")
    (tmp_path / "linked").symlink_to(tmp_path / "site")
    with SiteServer(tmp_path / "linked", port=0) as server:
        assert request(server, "/sub/page.html") == (200, b"<p>sub</p>")
        assert request(server, "/out.txt")[0] == 404


def test_only_this_machines_names_with_this_port_are_answered(site):
    port = site._server.server_port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}", f"[::1]:{port}"):
        assert request(site, "/", hosts=[host]) == (200, b"<p>hi</p>"), host
    refused = [f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}", "127.0.0.1", "localhost",
               f"127.0.0.1.evil.example:{port}", f"localhost:{port}@evil.example", ""]
    for host in refused:
        for method in ("GET", "HEAD"):
            status, body = request(site, "/", method, hosts=[host])
            assert status == 403 and b"<p>hi</p>" not in body, host
    assert request(site, "/", hosts=[])[0] == 403  # no Host header
    assert request(site, "/", hosts=[f"127.0.0.1:{port}", f"evil.example:{port}"])[0] == 403  # two


def test_port_80_may_be_left_out_of_the_host():
    from keras_seq.demos.web_server import allowed_hosts

    assert "localhost" in allowed_hosts(80) and "localhost:80" in allowed_hosts(80)
    assert "localhost" not in allowed_hosts(8000) and "[::1]:8000" in allowed_hosts(8000)


def test_a_client_that_drops_the_connection_mid_answer_prints_nothing(site, capfd):
    (site.folder / "big.bin").write_bytes(bytes(32 << 20))  # more than the socket buffers hold
    for _ in range(3):
        client = socket.create_connection(("127.0.0.1", site._server.server_port), timeout=10)
        client.sendall(f"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1:{site._server.server_port}\r\n\r\n".encode())
        assert client.recv(1024).startswith(b"HTTP/1.0 200")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        client.close()
    finish_requests()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Error" not in err, err
    assert request(site, "/")[0] == 200
