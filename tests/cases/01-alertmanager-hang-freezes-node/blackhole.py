# A hung peer: accepts TCP connections on loopback and never reads from or answers them
# (what a stopped, wedged or firewalled-with-DROP Alertmanager looks like to a client).
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); held = []
print("listening", flush=True)
while True:
    c, a = s.accept(); held.append(c); print("accepted", a, flush=True)
