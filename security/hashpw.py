"""`python -m security.hashpw [--method scrypt|pbkdf2] [--stdin]`: print a password hash for auth.users.

Asks for the password twice without echoing it (or reads one line from standard input with --stdin,
for scripts), and prints only the hash, ready to paste into config.json as a user's password_hash.
"""
from __future__ import annotations

import argparse
import getpass
import sys

from werkzeug.security import generate_password_hash

# With werkzeug's own cost parameters: scrypt (n=2^15, r=8, p=1), or pbkdf2-sha256 (1,000,000
# rounds in werkzeug 3.1) for Pythons whose OpenSSL lacks scrypt.
METHODS = ("scrypt", "pbkdf2")
MIN_PASSWORD_CHARS = 8


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m security.hashpw",
                                     description="Hash a dashboard password for auth.users[].password_hash.")
    parser.add_argument("--method", choices=METHODS, default="scrypt", help="hash method (default: scrypt)")
    parser.add_argument("--stdin", action="store_true", help="read the password from one line of standard input")
    return parser.parse_args(argv)


def read_password(from_stdin: bool) -> str:
    """The password, typed twice at a prompt, or one line of standard input."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise SystemExit("the two passwords differ; nothing was hashed")
    return first


def main(argv: list[str] | None = None) -> int:
    """Entry point; prints the hash and returns the exit status."""
    args = parse_args(argv)
    password = read_password(args.stdin)
    if len(password) < MIN_PASSWORD_CHARS:
        print(f"a password needs at least {MIN_PASSWORD_CHARS} characters", file=sys.stderr)
        return 2
    print(generate_password_hash(password, method=args.method))
    return 0


if __name__ == "__main__":
    sys.exit(main())
