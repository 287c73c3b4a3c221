"""`taizhang` commands: a thin click layer over the toolkit's functions.

Every command is a few lines that parse options, call one public function and
print its result. No command ever shows a traceback to a clerk: unexpected
errors are logged and reported in Chinese with exit code 2.
"""
from __future__ import annotations

import logging
import sys
from datetime import date

import click

log = logging.getLogger("taizhang")


def _console_safe() -> None:
    """GBK consoles on Windows cannot print every character: replace, never crash."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            pass


class DateParam(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        from .dates import parse_date_text
        d = parse_date_text(str(value))
        if d is None:
            self.fail(f"“{value}”不是有效日期，请写作 2010-10-20。", param, ctx)
        return d


DATE = DateParam()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="taizhang")
def cli() -> None:
    """信访积案台账工具：校验村级台账、计算办结期限、汇总乡级总台账。"""


def main(argv: list[str] | None = None) -> int:
    _console_safe()
    try:
        rv = cli.main(args=argv, prog_name="taizhang", standalone_mode=False)
        return int(rv or 0)
    except click.exceptions.Abort:
        click.echo("已取消。", err=True)
        return 2
    except click.ClickException as e:
        e.show()
        return 2 if e.exit_code not in (0, 1) else e.exit_code or 2
    except KeyboardInterrupt:
        click.echo("已中断。", err=True)
        return 2
    except Exception as e:  # never a traceback to a clerk
        log.exception("unexpected error")
        click.echo(f"出现意外错误：{e}。请把本条信息和所用文件发给技术支持。", err=True)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
