"""What every `taizhang` command shares: Chinese help pages and usage errors, the date
parameter, the --config/--settings options (and the first line that says a run fell back to
the demo), the JSON printer and a console that never crashes on a character.

The commands themselves are in :mod:`toolkit.shells.cli`.
"""
from __future__ import annotations

import functools
import json
import sys

import click

from toolkit import api
from toolkit.core.errors import TaizhangError


def console_safe() -> None:
    """GBK consoles on Windows cannot print every character: replace, never crash."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            pass


class DateParam(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        try:
            return api.as_date(value)
        except TaizhangError as e:
            self.fail(str(e), param, ctx)


DATE = DateParam()


class _ChineseHelp(click.HelpFormatter):
    """`-h` pages in Chinese: click writes its headings in English."""

    _HEADINGS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix="用法：")

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{self._HEADINGS.get(heading, heading)}：\n")


class _Context(click.Context):
    formatter_class = _ChineseHelp


class _ChineseHelpOption:
    context_class = _Context

    def get_help_option(self, ctx):
        opt = super().get_help_option(ctx)  # type: ignore[misc]
        if opt is not None:
            opt.help = "显示本说明并退出。"
        return opt


class Command(_ChineseHelpOption, click.Command):
    pass


class Group(_ChineseHelpOption, click.Group):
    command_class = Command

    def invoke(self, ctx):
        """Every command: a TaizhangError is its Chinese sentence and its exit code."""
        try:
            return super().invoke(ctx)
        except TaizhangError as e:
            click.echo(str(e), err=True)
            ctx.exit(e.exit_code)


# --- options every command that reads the office's files takes ------------------------------
def config_option(f=None, *, notice: str = "first"):
    """--config on every command that reads taizhang.toml (the one rule otherwise finds it).

    ``notice``: where the command says that no taizhang.toml was found and the demo is used:
    "first" (its first line; on stderr when it prints JSON), "settings" (a command that reads
    only the settings and whose first line programs read: on stderr, and not when --settings
    names the workbook), or "none" (a command that says it in its own words)."""
    def wrap(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            if notice != "none" and not (notice == "settings" and kwargs.get("settings_path")):
                demo_run = func.__name__ in CONSOLIDATING and not (kwargs.get("inbox") or kwargs.get("as_of"))
                text = api.demo_notice(kwargs.get("config_path"), consolidating=demo_run)
                if text:
                    click.echo(text, err=notice == "settings" or bool(kwargs.get("as_json")))
            return func(*args, **kwargs)
        return click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                            help="配置文件 taizhang.toml（默认依次查找：环境变量 TAIZHANG_CONFIG、当前文件夹"
                                 "及其上级文件夹）")(run)
    return wrap(f) if f is not None else wrap


# their demo line names the demo inbox and its date (unless the command names another inbox or date)
CONSOLIDATING = ("consolidate", "brief")


def settings_option(f):
    return click.option("--settings", "settings_path", type=click.Path(dir_okay=False), default=None,
                        help="设置工作簿（默认 taizhang.toml 中的 settings_workbook，即 taizhang.toml 旁的 "
                             "设置.xlsx）")(f)


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


# --- usage errors in Chinese ----------------------------------------------------------------
def usage_message(e: click.UsageError) -> str:
    """click's usage errors in Chinese (click itself speaks English), with where to get help."""
    cmd = e.ctx.command_path if e.ctx else "taizhang"
    name = ""
    param = getattr(e, "param", None)
    if param is not None:
        name = _ARGUMENT_WORDS.get(param.name) or "、".join(param.opts) or param.human_readable_name
    if isinstance(e, click.MissingParameter):
        what = f"缺少{name or '必需的参数'}"
    elif isinstance(e, click.NoSuchOption):
        what = f"没有“{e.option_name}”这个选项"
        if e.possibilities:
            what += f"，是不是想写“{'”或“'.join(sorted(e.possibilities))}”？"
    elif isinstance(e, click.BadParameter):
        what = f"“{name}”的值不对：{_chinese_detail(e.message)}"
    elif isinstance(e, click.BadOptionUsage):
        what = f"选项“{e.option_name}”用法不对"
    elif "No such command" in e.message:
        what = f"没有这个命令（{e.message.split(chr(39))[1] if chr(39) in e.message else e.message}）"
    else:
        what = e.message
    what = what.rstrip("。.")
    end = "" if what.endswith("？") else "。"
    return f"命令写得不对：{what}{end}\n请运行 {cmd} -h 查看用法和示例。"


# What a command's positional arguments are, in the words of its help text.
_ARGUMENT_WORDS = {"paths": "要检查的文件或文件夹", "files": "要处理的台账文件", "inbox": "收件箱文件夹",
                   "start": "起算日期", "submission_id": "报送编号"}


def _chinese_detail(message: str) -> str:
    if " does not exist" in message:
        return f"找不到 {message.split(chr(39))[1] if chr(39) in message else message}，请检查路径"
    if " is a directory" in message:
        return "这里要写文件，不是文件夹"
    if " is a file" in message:
        return "这里要写文件夹，不是文件"
    if "is not a valid integer" in message or "is not in the range" in message:
        return "要写一个合适的整数"
    return message
