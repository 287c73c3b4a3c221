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


def _settings(path):
    """Clerk settings from the settings workbook (default location when None)."""
    from .settings_workbook import load_settings
    return load_settings(path)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True))
@click.option("--as-of", "as_of", type=DATE, default=None, help="核对日期（默认今天）")
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 对象（供程序使用）")
@click.option("--report", type=click.Path(dir_okay=False), help="把问题清单写入这个 Excel 文件")
@click.option("--annotate", type=click.Path(file_okay=False),
              help="在此文件夹为每个文件生成标注了问题单元格的副本（发回给村里）")
@click.option("--settings", "settings_path", type=click.Path(dir_okay=False), default=None,
              help="设置工作簿（默认 workbooks/设置.xlsx）")
def validate(paths, as_of, as_json, report, annotate, settings_path):
    """校验村级台账：逐个文件列出问题（文件、工作表、单元格）。

    PATHS 可以是文件或文件夹。退出码：0 无错误，1 有错误，2 有文件无法读取。
    """
    import json
    from pathlib import Path

    from .validate import exit_code, validate_paths

    as_of = as_of or date.today()
    ledgers = validate_paths([Path(p) for p in paths], as_of=as_of, settings=_settings(settings_path))
    if report:
        from .report import write_issue_report
        write_issue_report(Path(report), ledgers)
    annotated = []
    if annotate:
        from .fill import annotate_file
        for lg in ledgers:
            if lg.readable and lg.issues:
                annotated.append(annotate_file(lg, Path(annotate)))
    if as_json:
        click.echo(json.dumps({"files": [lg.to_dict() for lg in ledgers]}, ensure_ascii=False,
                              default=str))
    else:
        from .report import format_text_report
        click.echo(format_text_report(ledgers))
        if report:
            click.echo(f"问题清单已写入：{report}")
        for p in annotated:
            click.echo(f"标注副本：{p}")
    return exit_code(ledgers)


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
