"""A small Python program to profile: worker threads that compute, read files and sleep.

    sudo rtprof run --stacks -- python3 docs/examples/sample_app.py
"""
import hashlib
import os
import tempfile
import threading
import time


def worker(n, path):
    digest = hashlib.sha256()
    for i in range(200):
        with open(path, "rb") as f:          # openat, read, close
            digest.update(f.read())
        if i % 20 == 0:
            time.sleep(0.005)                # voluntary switches, sleep time
        sum(j * j for j in range(2000))      # CPU work under the GIL


def main():
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(os.urandom(64 * 1024))
        path = f.name
    try:
        threads = [threading.Thread(target=worker, args=(n, path), name="worker-%d" % n) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for _ in range(1000):
            try:
                os.stat("/nonexistent")      # newfstatat failing with ENOENT
            except FileNotFoundError:
                pass
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
