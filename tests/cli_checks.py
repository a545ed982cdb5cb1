"""Checks shared by the command-line tests."""


def one_line(err: str) -> str:
    """The single line of a CLI error on stderr (fails unless there is exactly one, with no traceback)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qsp: error:") and "Traceback" not in err, err
    return lines[0]


def run_cli(capfd, *args) -> tuple[int, str]:
    """Run ``qsp ARGS`` in this process; returns (exit status, what it wrote on stderr)."""
    from qsp.cli import main

    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:
        rc = exc.code
    return rc, capfd.readouterr().err
