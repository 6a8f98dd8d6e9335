"""`python -m fienet ...` is the same as the `fienet` command."""

from fienet.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
