"""Ends as argv[1] says: "code:N" exits with status N; "signal:N" kills itself with signal N."""
import os
import sys

how, value = sys.argv[1].split(":")
if how == "code":
    sys.exit(int(value))
elif how == "signal":
    os.kill(os.getpid(), int(value))
    raise SystemExit("exit_with: still alive after signal %s" % value)
else:
    raise SystemExit("exit_with: bad argument %r" % sys.argv[1])
